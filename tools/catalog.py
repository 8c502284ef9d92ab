"""Reading product catalogs (CSV, JSONL, Parquet) into ``ProductBrief``s, row by row.

A catalog is untrusted: malformed CSV lines, missing titles, duplicate ids, non-UTF-8 bytes,
megabyte-long fields, HTML. ``read_catalog`` never dies on a bad row: it yields a ``CatalogRow``
with the reason and carries on, lazily and in order, so a batch can report the row and keep going.
Only problems with the file as a whole (missing, empty, unknown columns) raise ``InputError``,
and they do so when ``read_catalog`` is called, before the first row.

``AMAZON_COLUMNS`` reads the shared Amazon sample as it is: seller bullets (``about_product``)
and the useful parts of the specification string become facts; shipping policies, ASINs, sales
ranks and the page's boilerplate are dropped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections import deque
from pathlib import Path
from typing import IO, Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copyloop.errors import InputError
from copyloop.tools.markup import clean_text, strip_html
from copyloop.tools.schemas import ProductBrief

log = logging.getLogger(__name__)

#: raw fields are clipped to this many characters before any parsing (ProductBrief clips further)
MAX_FIELD_CHARS = 20_000
#: a CSV record (possibly several physical lines) larger than this is rejected
MAX_RECORD_CHARS = 16 * 1024 * 1024
_READ_CHUNK = 1024 * 1024

csv.field_size_limit(MAX_RECORD_CHARS)


class ColumnMap(BaseModel):
    """Which input columns hold which product field.

    ``facts`` columns hold lists (a JSON list, or text split on ``list_separator``);
    ``spec_facts`` columns hold ``"Key: value|Key: value"`` strings of which only the keys in
    ``SPEC_LABELS`` are kept; ``description`` columns are joined. With ``strict`` every mapped
    column must exist; otherwise only ``title`` must and missing optional columns are ignored.
    Column names match case-insensitively.
    """

    model_config = ConfigDict(frozen=True)

    id: str | None = "id"
    title: str = "title"
    category: str | None = "category"
    price: str | None = "price"
    brand: str | None = "brand"
    facts: tuple[str, ...] = ("facts",)
    spec_facts: tuple[str, ...] = ()
    description: tuple[str, ...] = ("description",)
    list_separator: str = " | "
    spec_separator: str = "|"
    drop_facts: tuple[str, ...] = Field((), description="fact texts to drop (case-insensitive exact match)")
    strict: bool = True

    def columns(self) -> list[str]:
        """Every input column this mapping reads."""
        single = [self.id, self.title, self.category, self.price, self.brand]
        return [c for c in single if c] + [*self.facts, *self.spec_facts, *self.description]

    def resolve(self, available: list[str], source: str = "catalog", *, schemaless: bool = False) -> "ColumnMap":
        """Map onto the real (case-differing) column names; raise ``InputError`` for missing ones.

        ``schemaless`` (JSONL, where keys may differ per line and ``available`` are the first
        object's keys) only requires the title; other names are kept as given.
        """
        by_fold = {a.strip().casefold(): a for a in available}

        def find(name: str | None) -> str | None:
            if not name:
                return None
            return by_fold.get(name.strip().casefold()) or (name if schemaless else None)

        missing = [c for c in self.columns() if by_fold.get(c.strip().casefold()) is None]
        if by_fold.get(self.title.strip().casefold()) is None or (self.strict and missing and not schemaless):
            shown = missing if self.strict and not schemaless else [self.title]
            raise InputError(
                f"{source}: column(s) {', '.join(repr(m) for m in shown)} not found; "
                f"available columns: {', '.join(repr(a) for a in available) or '(none)'}",
                field=shown[0],
            )
        return self.model_copy(
            update={
                "id": find(self.id),
                "title": find(self.title),
                "category": find(self.category),
                "price": find(self.price),
                "brand": find(self.brand),
                "facts": tuple(c for c in map(find, self.facts) if c),
                "spec_facts": tuple(c for c in map(find, self.spec_facts) if c),
                "description": tuple(c for c in map(find, self.description) if c),
            }
        )


#: a generic catalog: id, title, category, price, brand, facts, description (only title required)
DEFAULT_COLUMNS = ColumnMap(strict=False)

#: the shared Amazon sample (../shared/data/amazon_products/products.csv) as it is
AMAZON_COLUMNS = ColumnMap(
    id="uniq_id",
    title="product_name",
    category="category",
    price="selling_price",
    brand=None,
    facts=("about_product",),
    spec_facts=("product_specification",),
    description=("technical_details",),
    list_separator=" | ",
    spec_separator="|",
    drop_facts=(
        "Make sure this fits by entering your model number.",
        "Enter Your Model Number",
        "Above To Make Sure This Fits",
        "N/A",
        "NA",
        "None",
    ),
)

#: specification keys worth keeping, by key with spaces removed and case-folded → label
SPEC_LABELS = {
    "productdimensions": "Product dimensions",
    "packagedimensions": "Package dimensions",
    "itemdimensions": "Item dimensions",
    "itemweight": "Item weight",
    "itemmodelnumber": "Model number",
    "modelnumber": "Model number",
    "manufacturerrecommendedage": "Recommended age",
    "recommendedage": "Recommended age",
    "agerange": "Age range",
    "batteries": "Batteries",
    "material": "Material",
    "color": "Color",
    "size": "Size",
    "department": "Department",
}
#: specification keys that name the maker (used as brand when the catalog has no brand column)
_BRAND_KEYS = {"manufacturer", "brand", "brandname"}

_DESCRIPTION_JUNK = [
    re.compile(r"^go to your orders (and|to) start the return\b.*ship it!?$", re.I),
    re.compile(r"^[\d.,]+\s*(ounces|pounds|grams|kilograms|kg|g|oz|lbs?)\s*\(view shipping rates and policies\)$", re.I),
]
_DESCRIPTION_PREFIX = re.compile(r"^\s*show up to \d+ reviews by default\s*", re.I)
_PRICE = re.compile(r"\$\s*\d[\d,]*(?:\.\d+)?")
_SPLIT_PRICE = re.compile(r"^\$\s*(\d[\d,]*)\s+(\d{2})\b")  # "$ 19 99" = $19.99
_PRICE_RANGE = re.compile(r"^(\$\s*\d[\d,]*(?:\.\d+)?)\s*-\s*(\$\s*\d[\d,]*(?:\.\d+)?)")


class CatalogRow(BaseModel):
    """One catalog row: a product, or the reason the row could not be read.

    ``row`` counts data rows from 1 (the header is not a row); ``line`` is the physical line
    (CSV/JSONL) where the row starts, for error messages.
    """

    row: int
    product_id: str | None = None
    product: ProductBrief | None = None
    error: str | None = None
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.product is not None


# ------------------------------------------------------------------------------- field cleaning
def clean_price(raw: Any) -> str | None:
    """A readable price from messy shop text ('$ 19 99 $39.95 #listPrice{...}' → '$19.99')."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)):
        return f"${raw:,.2f}"
    text = " ".join(str(raw).split())
    if not text:
        return None
    m = _SPLIT_PRICE.match(text)
    if m:
        return f"${m.group(1)}.{m.group(2)}"
    m = _PRICE_RANGE.match(text)
    if m:
        return f"{m.group(1).replace(' ', '')} - {m.group(2).replace(' ', '')}"
    m = _PRICE.search(text)
    if m:
        return m.group(0).replace(" ", "")
    text = clean_text(text)
    return text if re.search(r"\d", text) and len(text) <= 40 else None


def _prettify_spec_value(value: str) -> str:
    """'17x12x1inches' → '17 x 12 x 1 inches', '36months-4years' → '36 months - 4 years'."""
    value = re.sub(r"(?<=\d)\s*x\s*(?=\d)", " x ", value)
    value = re.sub(r"(?<=\d)(?=[A-Za-z]{2,})", " ", value)
    value = re.sub(r"(?<=[a-z])-(?=\d)", " - ", value)
    value = re.sub(r"(?<=[a-z])\((?=[A-Za-z])", " (", value)
    value = re.sub(r"(?i)(years?|months?)andup\b", r"\1 and up", value)
    value = re.sub(r"(?i)batter(y|ies)(required|included)", r" batter\1 \2", value)
    value = value.replace(".(", ". (")
    return " ".join(value.split()).strip(" ;,")


def parse_spec(text: str, separator: str = "|") -> tuple[list[str], str | None]:
    """Facts from a 'Key: value|Key: value' string, and the manufacturer if one is named."""
    facts: list[str] = []
    brand: str | None = None
    for part in text.split(separator):
        key, sep, value = part.partition(":")
        if not sep:
            continue  # sales rank ("#474 in Longboards") and other unlabeled noise
        norm = re.sub(r"[^a-z]", "", key.casefold())
        value = _prettify_spec_value(clean_text(value))
        if not re.search(r"[0-9A-Za-z]", value):
            continue
        if norm in _BRAND_KEYS:
            brand = brand or value
        elif norm in SPEC_LABELS:
            fact = f"{SPEC_LABELS[norm]}: {value}"
            if fact not in facts:
                facts.append(fact)
    return facts, brand


def _clean_description(text: str, separator: str) -> str:
    """Plain text of a description column, minus the shop page's boilerplate segments."""
    text = clean_text(text, keep_newlines=True)
    parts = []
    for part in text.split(separator) if separator and separator.strip() else [text]:
        part = _DESCRIPTION_PREFIX.sub("", part).strip()
        if part and not any(p.match(part) for p in _DESCRIPTION_JUNK):
            parts.append(part)
    return "\n".join(parts)


def _clip(value: str, name: str, warnings: list[str]) -> str:
    if len(value) > MAX_FIELD_CHARS:
        warnings.append(f"{name} truncated from {len(value)} to {MAX_FIELD_CHARS} characters while reading")
        return value[:MAX_FIELD_CHARS]
    return value


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw != raw:  # NaN from Parquet/pandas exports
        return ""
    return raw if isinstance(raw, str) else str(raw)


def _items(raw: Any, separator: str, name: str, warnings: list[str]) -> list[Any]:
    """List items of a facts cell: a real list, or text (markup decoded) split on the separator and lines."""
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, dict):
        return [f"{k}: {v}" for k, v in raw.items()]
    text = strip_html(_clip(_text(raw), name, warnings))
    parts = text.split(separator) if separator else [text]
    return [line for part in parts for line in part.split("\n")]


def build_product(record: dict[str, Any], cols: ColumnMap, warnings: list[str] | None = None) -> ProductBrief:
    """One ``ProductBrief`` from a raw record under a resolved ``ColumnMap`` (raises ``ValueError``)."""
    warnings = list(warnings or [])

    def field(name: str | None) -> str:
        return clean_text(_clip(_text(record.get(name)), name, warnings)) if name else ""

    title = field(cols.title)
    if not title:
        raise ValueError(f"missing title (column {cols.title!r})")
    drop = {d.casefold() for d in cols.drop_facts}
    facts: list[str] = []
    for col in cols.facts:
        for item in _items(record.get(col), cols.list_separator, col, warnings):
            fact = clean_text(_clip(_text(item), col, warnings))
            if fact and fact.casefold() not in drop and fact not in facts:
                facts.append(fact)
    brand = field(cols.brand) or None
    for col in cols.spec_facts:
        spec_facts, maker = parse_spec(_clip(_text(record.get(col)), col, warnings), cols.spec_separator)
        facts += [f for f in spec_facts if f not in facts]
        brand = brand or maker
    description = "\n".join(
        d
        for col in cols.description
        if (d := _clean_description(_clip(_text(record.get(col)), col, warnings), cols.list_separator))
    )
    category = " | ".join(p for p in (clean_text(s) for s in field(cols.category).split("|")) if p)
    return ProductBrief(
        id=field(cols.id) or None,
        title=title,
        category=category,
        facts=facts,
        price=clean_price(record.get(cols.price)) if cols.price else None,
        brand=brand,
        description=description,
        warnings=warnings,
    )


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'product'}: {e.get('msg', 'invalid')}".replace(
            "Value error, ", ""
        )
        for e in exc.errors()
    )


# --------------------------------------------------------------------------------- raw readers
#: (line or row number, record or None, error or None, warnings) from a raw reader
_Raw = tuple[int, "dict[str, Any] | None", "str | None", "list[str]"]


class _RecordTooLarge(Exception):
    pass


class _Lines:
    """Physical lines of a binary file, decoded one at a time, with push-back.

    Decoding per line lets a non-UTF-8 byte cost one replaced character and a warning instead of
    the whole file; push-back lets the CSV reader re-synchronise after a malformed record (an
    unbalanced quote would otherwise swallow the rest of the file).
    """

    def __init__(self, fh: IO[bytes], max_chars: int = MAX_RECORD_CHARS) -> None:
        self.fh = fh
        self.max_chars = max_chars
        self.line_no = 0
        self.pending: deque[tuple[int, str]] = deque()
        self.consumed: list[tuple[int, str]] = []
        self.bad_lines: set[int] = set()
        self._chars = 0

    def start_record(self) -> None:
        self.consumed = []
        self._chars = 0

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self.pending.extendleft(reversed(items))

    def _read(self) -> tuple[int, str] | None:
        raw = self.fh.readline(self.max_chars + 1)
        if not raw:
            return None
        self.line_no += 1
        if len(raw) > self.max_chars and not raw.endswith(b"\n"):
            while (chunk := self.fh.readline(_READ_CHUNK)) and not chunk.endswith(b"\n"):
                pass  # skip the rest of a line too long to be a record
            raise _RecordTooLarge(self.line_no)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            self.bad_lines.add(self.line_no)
        if self.line_no == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return self.line_no, text.replace("\x00", "")

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        item = self.pending.popleft() if self.pending else self._read()
        if item is None:
            raise StopIteration
        self.consumed.append(item)
        self._chars += len(item[1])
        if self._chars > self.max_chars:
            raise _RecordTooLarge(self.consumed[0][0])
        return item[1]


def _csv_records(path: Path, delimiter: str) -> tuple[list[str], Iterator[_Raw]]:
    """Header and an iterator of (line, record | None, error | None, warnings)."""
    fh = path.open("rb")
    lines = _Lines(fh)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except (csv.Error, _RecordTooLarge) as exc:
        fh.close()
        raise InputError(f"{path}: cannot read the header line: {exc}", line=1) from None
    if not header or not any(h.strip() for h in header):
        fh.close()
        raise InputError(f"catalog file is empty (no header line): {path}", field="path")
    header = [h.strip() for h in header]

    def records() -> Iterator[_Raw]:
        nonlocal reader
        with fh:
            while True:
                lines.start_record()
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except _RecordTooLarge as exc:
                    lines.push_back(lines.consumed[1:])  # an unbalanced quote: re-read the lines after it
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    yield int(exc.args[0]), None, f"record longer than {MAX_RECORD_CHARS} characters", []
                    continue
                except csv.Error as exc:
                    start = lines.consumed[0][0] if lines.consumed else lines.line_no
                    lines.push_back(lines.consumed[1:])  # re-read what followed the bad line
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    yield start, None, f"malformed CSV line: {exc}", []
                    continue
                consumed = lines.consumed
                start = consumed[0][0] if consumed else lines.line_no
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    lines.push_back(consumed[1:])
                    reader = csv.reader(lines, delimiter=delimiter, strict=True)
                    yield start, None, f"malformed CSV line: expected {len(header)} fields, found {len(fields)}", []
                    continue
                bad = sorted(n for n, _ in consumed if n in lines.bad_lines)
                warnings = [f"line {n}: bytes that are not UTF-8 were replaced" for n in bad]
                yield start, dict(zip(header, fields)), None, warnings

    return header, records()


def _jsonl_records(path: Path) -> tuple[list[str], Iterator[_Raw]]:
    fh = path.open("rb")
    lines = _Lines(fh)

    def parse() -> Iterator[_Raw]:
        while True:
            lines.start_record()
            try:
                text = next(lines)
            except StopIteration:
                return
            except _RecordTooLarge as exc:
                yield int(exc.args[0]), None, f"line longer than {MAX_RECORD_CHARS} characters", []
                continue
            line_no = lines.consumed[-1][0]
            if not text.strip():
                continue
            warnings = [f"line {line_no}: bytes that are not UTF-8 were replaced"] if line_no in lines.bad_lines else []
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line_no, None, f"invalid JSON: {exc.msg} (column {exc.colno})", []
                continue
            if not isinstance(data, dict):
                yield line_no, None, f"expected a JSON object, got {type(data).__name__}", []
                continue
            yield line_no, data, None, warnings

    it = parse()
    buffered: list[_Raw] = []
    for item in it:  # the first valid object names the columns; bad lines before it are replayed
        buffered.append(item)
        if item[1] is not None:
            break
    if not buffered:
        fh.close()
        raise InputError(f"catalog file is empty: {path}", field="path")
    header = list(buffered[-1][1].keys()) if buffered[-1][1] else []

    def records() -> Iterator[_Raw]:
        with fh:
            yield from buffered
            yield from it

    return header, records()


def _parquet_records(path: Path) -> tuple[list[str], Iterator[_Raw]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise InputError(f"not a readable Parquet file: {path} ({exc})", field="path") from None
    if pf.metadata.num_rows == 0:
        raise InputError(f"catalog file is empty (no rows): {path}", field="path")
    header = list(pf.schema_arrow.names)

    def records() -> Iterator[_Raw]:
        n = 0
        for batch in pf.iter_batches(batch_size=512):
            for record in batch.to_pylist():
                n += 1
                yield n, record, None, []

    return header, records()


# ------------------------------------------------------------------------------------ public
def _open(path: Path) -> tuple[list[str], Iterator[_Raw], str]:
    if not path.is_file():
        raise InputError(f"catalog file does not exist: {path}", field="path")
    if path.stat().st_size == 0:
        raise InputError(f"catalog file is empty: {path}", field="path")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return (*_jsonl_records(path), "jsonl")
    if suffix in (".parquet", ".pq"):
        return (*_parquet_records(path), "parquet")
    if suffix == ".json":
        raise InputError(f"{path}: a .json file is a product list; use read_products, or JSONL for catalogs", field="path")
    return (*_csv_records(path, "\t" if suffix == ".tsv" else ","), "csv")


def _default_columns(header: list[str]) -> ColumnMap:
    folded = {h.casefold() for h in header}
    if {"uniq_id", "product_name"} <= folded:
        return AMAZON_COLUMNS
    return DEFAULT_COLUMNS


def read_catalog(path: Path | str, columns: ColumnMap | None = None, limit: int | None = None) -> Iterator[CatalogRow]:
    """Rows of a catalog, in order and lazily; bad rows carry ``error`` instead of stopping the read.

    ``columns`` defaults to ``AMAZON_COLUMNS`` when the file has the Amazon sample's columns and to
    ``DEFAULT_COLUMNS`` otherwise. Raises ``InputError`` here (not on iteration) when the file is
    missing or empty or a mapped column does not exist. Duplicate ids: the first row wins, later
    ones are error rows. ``limit`` stops after that many rows (good or bad).
    """
    path = Path(path)
    header, raw, kind = _open(path)
    cols = (columns or _default_columns(header)).resolve(header, source=str(path), schemaless=kind == "jsonl")
    first = next(raw, None)
    if first is None:
        raise InputError(f"catalog file has no rows: {path}", field="path")
    return _rows(path, _prepend(first, raw), cols, limit, line_based=kind != "parquet")


def _prepend(first: _Raw, rest: Iterator[_Raw]) -> Iterator[_Raw]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


def _rows(
    path: Path,
    raw: Iterator[_Raw],
    cols: ColumnMap,
    limit: int | None,
    line_based: bool,
) -> Iterator[CatalogRow]:
    seen: dict[str, int] = {}
    row = 0
    warned_encoding = False
    try:
        for line, record, error, warnings in raw:
            if limit is not None and row >= limit:
                return
            row += 1
            where = line if line_based else None
            if error is not None or record is None:
                yield CatalogRow(row=row, line=where, error=f"line {line}: {error}" if line_based else error)
                continue
            if warnings and not warned_encoding:
                log.warning("%s contains bytes that are not UTF-8 (first at %s); they were replaced", path, warnings[0].split(":")[0])
                warned_encoding = True
            pid = _text(record.get(cols.id)).strip() if cols.id else ""
            if cols.id and not pid:
                yield CatalogRow(row=row, line=where, error=f"missing id (column {cols.id!r})")
                continue
            try:
                product = build_product(record, cols, warnings)
            except ValidationError as exc:
                yield CatalogRow(row=row, line=where, product_id=pid or None, error=_describe(exc))
                continue
            except ValueError as exc:
                yield CatalogRow(row=row, line=where, product_id=pid or None, error=str(exc))
                continue
            if not pid:  # no id column: a stable id from the content, so reruns find the same key
                pid = "h-" + hashlib.sha256(f"{product.title}\n{product.category}\n{product.facts}".encode()).hexdigest()[:16]
                product = product.model_copy(update={"id": pid})
            first = seen.get(pid)
            if first is not None:
                yield CatalogRow(row=row, line=where, product_id=pid, error=f"duplicate id {pid!r} (first seen in row {first})")
                continue
            seen[pid] = row
            yield CatalogRow(row=row, line=where, product_id=pid, product=product)
    finally:
        close = getattr(raw, "close", None)
        if close is not None:
            close()


def _product_from_dict(data: Any, where: str, line: int | None) -> ProductBrief:
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object for a product, got {type(data).__name__}", line=line)
    data = dict(data)
    for name in ("title", "description", "category", "brand", "audience"):
        if isinstance(data.get(name), str):
            data[name] = clean_text(data[name][: MAX_FIELD_CHARS], keep_newlines=name == "description")
    facts = data.get("facts")
    if isinstance(facts, list):
        data["facts"] = [clean_text(str(f)[:MAX_FIELD_CHARS]) for f in facts if f is not None]
    elif isinstance(facts, str):
        data["facts"] = [clean_text(facts[:MAX_FIELD_CHARS])]
    if not str(data.get("title") or "").strip():
        raise InputError(f"{where}: title is required and must not be empty", field="title", line=line)
    try:
        return ProductBrief.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else None
        raise InputError(f"{where}: {_describe(exc)}", field=field, line=line) from None


def read_products(path: Path | str) -> list[ProductBrief]:
    """Products from a JSON file (an object, a list, or ``{"products": [...]}``) or JSONL.

    HTML in text fields is reduced to plain text. Any invalid product raises ``InputError``
    naming it (a hand-written product file should be fixed, not half-used). CSV/TSV/Parquet
    files go through ``read_catalog`` with the same all-or-nothing rule.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"product file does not exist: {path}", field="path")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".ndjson"):
        products = []
        for r in read_catalog(path):
            if r.error or r.product is None:
                raise InputError(f"{path} row {r.row}: {r.error}", line=r.line)
            products.append(r.product)
        return products
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
        log.warning("%s is not valid UTF-8; undecodable bytes were replaced", path)
    if not text.strip():
        raise InputError(f"product file is empty: {path}", field="path")
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", line=exc.lineno) from None
        if isinstance(data, dict) and isinstance(data.get("products"), list):
            data = data["products"]
        items = data if isinstance(data, list) else [data]
        if not items:
            raise InputError(f"product file has no products: {path}", field="path")
        return [_product_from_dict(item, f"{path} product {i}", None) for i, item in enumerate(items, 1)]
    products = []
    for line_no, line in enumerate(io.StringIO(text), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {line_no}: invalid JSON: {exc.msg}", line=line_no) from None
        products.append(_product_from_dict(item, f"{path} line {line_no}", line_no))
    if not products:
        raise InputError(f"product file has no products: {path}", field="path")
    return products


__all__ = [
    "AMAZON_COLUMNS",
    "DEFAULT_COLUMNS",
    "MAX_FIELD_CHARS",
    "SPEC_LABELS",
    "CatalogRow",
    "ColumnMap",
    "build_product",
    "clean_price",
    "parse_spec",
    "read_catalog",
    "read_products",
]
