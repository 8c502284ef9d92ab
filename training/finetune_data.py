"""Fine-tuning data: a fixed train / held-out split of the catalog and the seller's own copy.

The split is by product id (``uniq_id``) with a fixed seed, so the same products are held out on
every machine and evaluation never sees a product the adapter was trained on. The held-out ids
are written next to the adapter; ``copyloop evaluate --ids`` reads them back.

The catalog's ``about_product`` column holds the seller's bullet points: real human marketing
copy. After cleaning (Amazon's boilerplate "Make sure this fits ..." line, HTML, blank bullets)
they serve as human-written targets for channels they fit (Amazon bullets; a product description
made of them), next to candidates sampled from the base model. Every target still has to pass
the same hard rules and grounding check as model output before it is trained on.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from copyloop.errors import InputError
from copyloop.tools.schemas import ProductBrief

FINETUNE_CHANNELS: tuple[str, ...] = ("product_description", "google_ads_headline", "amazon_bullet")
DEFAULT_SPLIT_SEED = 20240611
DEFAULT_HELDOUT_FRACTION = 0.2
ID_COLUMN = "uniq_id"
BULLET_COLUMN = "about_product"

_BOILERPLATE = (
    re.compile(r"^make sure this fits", re.I),
    re.compile(r"^see more product details", re.I),
)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Split:
    """Product ids on each side of the split (each list sorted)."""

    train: list[str]
    heldout: list[str]
    seed: int
    heldout_fraction: float

    def fingerprint(self) -> str:
        """Short hash of the held-out ids: tells whether two runs used the same split."""
        return hashlib.sha256("\n".join(self.heldout).encode()).hexdigest()[:12]


@dataclass
class CatalogProduct:
    """A product brief plus the seller's own bullets (cleaned), for one catalog row."""

    product: ProductBrief
    seller_bullets: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.product.id)


def split_ids(ids: Iterable[str], *, seed: int = DEFAULT_SPLIT_SEED, heldout_fraction: float = DEFAULT_HELDOUT_FRACTION) -> Split:
    """Deterministic split: unique ids sorted, then permuted by a seeded generator.

    Sorting first makes the result independent of row order; the seed makes it reproducible.
    """
    if not 0.0 < heldout_fraction < 1.0:
        raise InputError(f"heldout_fraction must be between 0 and 1, got {heldout_fraction}", field="heldout_fraction")
    unique = sorted({i for i in ids if i})
    if len(unique) < 2:
        raise InputError("need at least two product ids to split", field=ID_COLUMN)
    order = np.random.default_rng(seed).permutation(len(unique))
    n_heldout = max(1, int(round(len(unique) * heldout_fraction)))
    heldout = sorted(unique[i] for i in order[:n_heldout])
    train = sorted(unique[i] for i in order[n_heldout:])
    return Split(train=train, heldout=heldout, seed=seed, heldout_fraction=heldout_fraction)


def clean_bullets(about_product: str) -> list[str]:
    """The seller's bullets without HTML, boilerplate and empties (order kept, duplicates dropped)."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in (about_product or "").split("|"):
        text = " ".join(_TAG.sub(" ", html.unescape(raw)).split())
        if not text or any(p.search(text) for p in _BOILERPLATE):
            continue
        key = text.lower()
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def read_seller_bullets(csv_path: Path) -> dict[str, list[str]]:
    """uniq_id -> cleaned seller bullets, straight from the catalog CSV."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    out: dict[str, list[str]] = {}
    with open(csv_path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or ID_COLUMN not in reader.fieldnames:
            raise InputError(f"{csv_path}: no {ID_COLUMN!r} column", field=ID_COLUMN)
        for row in reader:
            pid = (row.get(ID_COLUMN) or "").strip()
            if pid:
                out[pid] = clean_bullets(row.get(BULLET_COLUMN) or "")
    return out


def load_catalog(csv_path: Path, *, limit: int | None = None) -> list[CatalogProduct]:
    """Every readable product of an Amazon-style catalog, with its seller bullets.

    Rows the catalog reader rejects (no title, ...) are skipped: they cannot be prompted.
    """
    from copyloop.tools.catalog import AMAZON_COLUMNS, read_catalog

    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"catalog file does not exist: {path}", field="products")
    bullets = read_seller_bullets(path)
    products: list[CatalogProduct] = []
    for row in read_catalog(path, columns=AMAZON_COLUMNS):
        if row.product is None or not row.product_id:
            continue
        products.append(CatalogProduct(row.product, bullets.get(row.product_id, [])))
        if limit is not None and len(products) >= limit:
            break
    return products


def split_catalog(products: Sequence[CatalogProduct], split: Split) -> tuple[list[CatalogProduct], list[CatalogProduct]]:
    """(train, held-out) products in catalog order."""
    heldout = set(split.heldout)
    train = [p for p in products if p.id not in heldout]
    test = [p for p in products if p.id in heldout]
    return train, test


def training_order(products: Sequence[CatalogProduct], seed: int) -> list[CatalogProduct]:
    """Train products in a seeded random order: any prefix is a random sample of the catalog
    (so ``--train-products N`` takes a fair N and a larger N extends the cached samples)."""
    ordered = sorted(products, key=lambda p: p.id)
    order = np.random.default_rng(seed).permutation(len(ordered))
    return [ordered[i] for i in order]


def write_ids(path: Path, ids: Sequence[str], header: str = "") -> Path:
    """One id per line; ``#`` lines are comments."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}" for line in header.splitlines() if line.strip()] + list(ids)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_ids(path: Path) -> list[str]:
    """Ids from a file written by ``write_ids`` (or any one-id-per-line file)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"id list does not exist: {path}", field="ids")
    ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [i for i in ids if i and not i.startswith("#")]


__all__ = [
    "BULLET_COLUMN",
    "CatalogProduct",
    "DEFAULT_HELDOUT_FRACTION",
    "DEFAULT_SPLIT_SEED",
    "FINETUNE_CHANNELS",
    "ID_COLUMN",
    "Split",
    "clean_bullets",
    "load_catalog",
    "read_ids",
    "read_seller_bullets",
    "split_catalog",
    "split_ids",
    "training_order",
    "write_ids",
]
