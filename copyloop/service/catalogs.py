"""Uploaded catalogs: kept under ``<service path>/catalogs/<id>/``, read with copyloop's own reader.

A catalog is untrusted input. The upload keeps only its extension (the name a browser sends is
never used as a path), is read once with ``plan_catalog`` (the batch planner: bad rows are counted
and listed, duplicate ids skipped, an empty or unreadable file is a clear ``InputError``) and is
then used twice: as the source of a batch job, and as the list a marketer picks a product from.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from copyloop.errors import InputError
from copyloop.service.errors import NotFound
from copyloop.service.ledger import Ledger
from copyloop.tools.schemas import ProductBrief

CATALOG_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".pq")
CATALOG_ID_PATTERN = r"^[0-9a-f]{32}$"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


class CatalogInfo(BaseModel):
    id: str
    filename: str
    products: int = Field(..., description="valid products (first occurrence of each id)")
    bad_rows: int = Field(..., description="rows rejected (missing title, malformed line, duplicate id, ...)")
    bad_row_examples: list[dict[str, Any]] = Field(default_factory=list)
    created: float = 0.0


class ProductSummary(BaseModel):
    id: str
    title: str
    category: str = ""


class CatalogStore:
    def __init__(self, root: Path, ledger: Ledger) -> None:
        self.root = Path(root)
        self.ledger = ledger
        self._products: dict[str, list[ProductBrief]] = {}
        self._lock = threading.Lock()

    def add(self, filename: str, data: IO[bytes], columns: dict[str, str] | None = None) -> CatalogInfo:
        """Store an upload and read it; InputError (nothing kept) when it is not a catalog."""
        from copyloop.batch import column_map, plan_catalog

        name = _SAFE_NAME.sub("_", Path(filename or "catalog.csv").name)[:120] or "catalog.csv"
        suffix = Path(name).suffix.lower()
        if suffix not in CATALOG_SUFFIXES:
            raise InputError(f"a catalog must be {', '.join(CATALOG_SUFFIXES)} (got {name!r})", field="file")
        cid = uuid.uuid4().hex
        folder = self.root / cid
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"catalog{suffix}"
        try:
            with open(dest, "wb") as fh:
                shutil.copyfileobj(data, fh, length=1 << 20)
            if columns:
                (folder / "columns.json").write_text(json.dumps(columns), encoding="utf-8")
            plan = plan_catalog(dest, column_map(dest, columns) if columns else None)
        except InputError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise InputError(str(exc).replace(str(dest), name), field="file", line=exc.line) from None
        except Exception as exc:  # noqa: BLE001 - a reader failure on a hostile file is bad input, not a crash
            shutil.rmtree(folder, ignore_errors=True)
            raise InputError(f"could not read {name!r} as a catalog: {type(exc).__name__}: {exc}"[:500], field="file") from None
        if not plan.products:
            shutil.rmtree(folder, ignore_errors=True)
            first = plan.bad[0].reason if plan.bad else "no rows"
            raise InputError(f"{name!r} has no valid product rows (first problem: {first})", field="file")
        self.ledger.add_catalog(cid, name, dest, len(plan.products), len(plan.bad))
        with self._lock:
            self._products[cid] = [p.product for p in plan.products]
        return CatalogInfo(id=cid, filename=name, products=len(plan.products), bad_rows=len(plan.bad),
                           bad_row_examples=[b.model_dump(mode="json") for b in plan.bad[:5]])

    def info(self, cid: str) -> CatalogInfo:
        row = self.ledger.catalog(cid)
        if row is None:
            raise NotFound(f"no catalog {cid!r}", field="catalog_id")
        return CatalogInfo(id=row["id"], filename=row["filename"], products=row["products"], bad_rows=row["bad_rows"],
                           created=row["created"])

    def list(self) -> list[CatalogInfo]:
        return [CatalogInfo(id=r["id"], filename=r["filename"], products=r["products"], bad_rows=r["bad_rows"],
                            created=r["created"]) for r in self.ledger.catalogs()]

    def path(self, cid: str) -> Path:
        row = self.ledger.catalog(cid)
        if row is None:
            raise NotFound(f"no catalog {cid!r}", field="catalog_id")
        return Path(row["path"])

    def columns(self, cid: str) -> dict[str, str] | None:
        f = self.path(cid).parent / "columns.json"
        return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None

    def products(self, cid: str) -> list[ProductBrief]:
        with self._lock:
            cached = self._products.get(cid)
        if cached is not None:
            return cached
        from copyloop.batch import column_map, plan_catalog

        path = self.path(cid)
        columns = self.columns(cid)
        plan = plan_catalog(path, column_map(path, columns) if columns else None)
        products = [p.product for p in plan.products]
        with self._lock:
            self._products[cid] = products
        return products

    def search(self, cid: str, query: str = "", limit: int = 50) -> list[ProductSummary]:
        q = query.strip().casefold()
        out: list[ProductSummary] = []
        for p in self.products(cid):
            if q and q not in p.title.casefold() and q != (p.id or "").casefold():
                continue
            out.append(ProductSummary(id=p.id or "", title=p.title, category=p.category))
            if len(out) >= limit:
                break
        return out

    def product(self, cid: str, pid: str) -> ProductBrief:
        for p in self.products(cid):
            if p.id == pid:
                return p
        raise NotFound(f"no product {pid!r} in catalog {cid!r}", field="product_id")


__all__ = ["CATALOG_ID_PATTERN", "CATALOG_SUFFIXES", "CatalogInfo", "CatalogStore", "ProductSummary"]
