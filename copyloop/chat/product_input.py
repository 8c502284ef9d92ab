"""Turning what a person types into a ProductBrief: free text, JSON, or a catalog id.

Used by the Slack ``/copy`` command and app mentions (``/copy <product> [channel]``) and by the
terminal chat's ``--title/--fact`` flags. Everything here is untrusted input: it becomes a
ProductBrief (which caps every field) or an ``InputError`` whose message a person can act on.
"""

from __future__ import annotations

import html
import json
import re
import threading
from pathlib import Path
from typing import Any, Iterable

from copyloop.errors import InputError
from copyloop.tools.schemas import ProductBrief

MAX_COMMAND_CHARS = 8000
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_ID_LIKE = re.compile(r"^[A-Za-z0-9_\-]{8,}$")

USAGE = (
    "Usage: /copy <product text | product JSON | catalog id> [channel]\n"
    "e.g. /copy Bamboo cutting board; 3 sizes; dishwasher safe  amazon_title"
)


def slack_plain_text(text: str) -> str:
    """Undo Slack's message formatting: mentions removed, links to their label, entities decoded."""
    text = _MENTION.sub("", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return html.unescape(text).strip()


def split_channel(text: str, channels: Iterable[str]) -> tuple[str, str | None]:
    """Split a trailing channel name off ``text`` ("... amazon_title" -> ("...", "amazon_title"))."""
    known = {c.lower(): c for c in channels}
    stripped = text.rstrip()
    head, _, last = stripped.rpartition(" ")
    if head and last.lower() in known:
        return head.rstrip(), known[last.lower()]
    if "\n" in stripped:
        head, _, last = stripped.rpartition("\n")
        if head and last.strip().lower() in known:
            return head.rstrip(), known[last.strip().lower()]
    return stripped, None


def product_from_text(text: str) -> ProductBrief:
    """Free text -> brief: the first part is the title, the rest are facts.

    Parts are separated by new lines, ';' or ' | '; with none of those, by ', ' (so
    "Bamboo cutting board, 3 sizes, dishwasher safe" gives a title and two facts).
    """
    text = text.strip()
    if not text:
        raise InputError("Product text is empty. " + USAGE, field="product")
    parts = [p.strip() for p in re.split(r"\n|;|\s\|\s", text) if p.strip()]
    if len(parts) == 1:
        parts = [p.strip() for p in parts[0].split(", ") if p.strip()]
    return ProductBrief(title=parts[0], facts=parts[1:])


def product_from_json(text: str) -> ProductBrief:
    """A JSON object with at least a title (the ProductBrief fields)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"Product JSON is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field="product") from exc
    if not isinstance(data, dict):
        raise InputError("Product JSON must be an object with at least a \"title\"", field="product")
    return brief_from_dict(data)


def brief_from_dict(data: dict[str, Any]) -> ProductBrief:
    """Validate a product dict with the Engine's own rules and messages."""
    from copyloop.engine import coerce_product

    return coerce_product(data)


class ProductCatalog:
    """Products by id from a catalog file (CSV via read_catalog, JSON/JSONL via read_products).

    The file is read once, on the first lookup, so building a Slack app stays instant.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._by_id: dict[str, ProductBrief] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, ProductBrief]:
        with self._lock:
            if self._by_id is None:
                if not self.path.is_file():
                    raise InputError(f"Catalog file does not exist: {self.path}", field="catalog_path")
                from copyloop.tools import catalog

                by_id: dict[str, ProductBrief] = {}
                if self.path.suffix.lower() in (".json", ".jsonl"):
                    for product in catalog.read_products(self.path):
                        if product.id:
                            by_id[product.id] = product
                else:
                    for row in catalog.read_catalog(self.path):
                        if row.product is not None and row.product_id:
                            by_id[row.product_id] = row.product
                self._by_id = by_id
            return self._by_id

    def get(self, product_id: str) -> ProductBrief | None:
        return self._load().get(product_id.strip())

    def __len__(self) -> int:
        return len(self._load())


def parse_product(spec: str, catalog: ProductCatalog | None = None) -> ProductBrief:
    """Product JSON, a catalog id, or free text — in that order of precedence."""
    spec = spec.strip()
    if not spec:
        raise InputError("No product given. " + USAGE, field="product")
    if len(spec) > MAX_COMMAND_CHARS:
        raise InputError(f"Product text too long ({len(spec)} characters; at most {MAX_COMMAND_CHARS})", field="product")
    if spec.startswith("{"):
        return product_from_json(spec)
    if " " not in spec and catalog is not None:
        found = catalog.get(spec)
        if found is not None:
            return found
        if _ID_LIKE.match(spec) and any(ch.isdigit() for ch in spec):
            raise InputError(f"No product with id {spec!r} in the catalog {catalog.path.name}", field="product")
    return product_from_text(spec)


__all__ = [
    "USAGE",
    "ProductCatalog",
    "brief_from_dict",
    "parse_product",
    "product_from_json",
    "product_from_text",
    "slack_plain_text",
    "split_channel",
]
