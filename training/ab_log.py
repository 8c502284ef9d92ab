"""Reading A/B test logs: one row per variant shown in a randomized test.

Columns: ``test_id, text, impressions, clicks`` and optionally ``conversions, channel, category``
(Upworthy's ``headline`` column is accepted for ``text``; header case and surrounding spaces do
not matter). CSV/TSV, JSON lines and Parquet are read. Every row is validated with pydantic; bad
rows are collected with their line number and reason instead of aborting, so a user sees all
problems at once, and training goes on with the good rows. A file with no usable row, or without
a required column, is an ``InputError``.

When a ``conversions`` column is present the outcome is conversions per impression (CVR) and
clicks are only validated; otherwise it is clicks per impression (CTR).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from copyloop.errors import InputError

REQUIRED = ("test_id", "text", "impressions", "clicks")
OPTIONAL = ("conversions", "channel", "category")
ALIASES = {"headline": "text", "copy": "text", "variant_text": "text", "test": "test_id", "views": "impressions"}


class ABRow(BaseModel):
    """One variant of one A/B test."""

    test_id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    impressions: int = Field(ge=1, description="how often the variant was shown")
    clicks: int = Field(ge=0)
    conversions: int | None = Field(None, ge=0)
    channel: str | None = None
    category: str | None = None

    @field_validator("test_id", "text", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return ""
        return " ".join(str(v).split()) if v is not None else v

    @field_validator("channel", "category", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        s = str(v).strip()
        return s or None

    @field_validator("impressions", "clicks", "conversions", mode="before")
    @classmethod
    def _whole_number(cls, v: Any) -> Any:
        """Accept "3052", "3052.0", 3052.0; reject 12.5, "", "n/a" with a clear message."""
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if isinstance(v, float) and math.isnan(v):
            return None
        try:
            f = float(str(v).strip().replace(",", "")) if isinstance(v, str) else float(v)
        except ValueError:
            raise ValueError(f"not a number: {v!r}") from None
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"not a whole number: {v!r}")
        return int(f)

    @model_validator(mode="after")
    def _consistent(self) -> "ABRow":
        if self.clicks > self.impressions:
            raise ValueError(f"clicks ({self.clicks}) exceed impressions ({self.impressions})")
        if self.conversions is not None and self.conversions > self.impressions:
            raise ValueError(f"conversions ({self.conversions}) exceed impressions ({self.impressions})")
        return self

    def successes(self, outcome: Literal["ctr", "cvr"]) -> int:
        """Clicks for CTR, conversions for CVR."""
        if outcome == "cvr":
            assert self.conversions is not None, "cvr rows are validated to carry conversions"
            return self.conversions
        return self.clicks


class RowError(BaseModel):
    """A row that was skipped, and why (line is 1-based in the file; the CSV header is line 1)."""

    line: int
    error: str


class ABLog(BaseModel):
    """The valid rows of a log, the rejected ones, and where it came from."""

    rows: list[ABRow]
    errors: list[RowError] = Field(default_factory=list)
    outcome: Literal["ctr", "cvr"] = "ctr"
    source: str = ""
    sha256: str = ""

    @property
    def n_tests(self) -> int:
        return len({r.test_id for r in self.rows})


def _canonical(name: str) -> str:
    key = name.strip().lower().replace(" ", "_")
    return ALIASES.get(key, key)


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        first_line = fh.readline()
        fh.seek(0)
        tab = path.suffix.lower() == ".tsv" or ("\t" in first_line and "," not in first_line)
        reader = csv.DictReader(fh, delimiter="\t" if tab else ",")
        columns = {_canonical(h) for h in (reader.fieldnames or []) if h}
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise InputError(
                f"A/B log {path} lacks column(s) {', '.join(missing)}; it has {', '.join(sorted(columns)) or 'none'}. "
                f"Needed: {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)}; 'headline' is accepted for 'text').",
                field="ab_log",
            )
        for rec in reader:
            yield reader.line_num, rec


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw record) pairs; unreadable JSON lines come back as ``{"__error__": ...}``."""
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, {"__error__": f"not JSON: {exc.msg}"}
                    continue
                yield n, obj if isinstance(obj, dict) else {"__error__": "not a JSON object"}
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for n, rec in enumerate(pq.read_table(path).to_pylist(), start=2):
            yield n, rec
    else:
        yield from _csv_records(path)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_ab_log(path: str | Path) -> ABLog:
    """Read and validate an A/B log; bad rows are reported in ``ABLog.errors``, not raised."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"A/B log not found: {path}", field="ab_log")
    good: list[tuple[int, ABRow]] = []
    errors: list[RowError] = []
    for line, raw in _records(path):
        if "__error__" in raw:
            errors.append(RowError(line=line, error=str(raw["__error__"])))
            continue
        rec = {_canonical(str(k)): v for k, v in raw.items() if k is not None}
        try:
            good.append((line, ABRow.model_validate({k: rec.get(k) for k in REQUIRED + OPTIONAL})))
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
            errors.append(RowError(line=line, error=reasons))
    outcome: Literal["ctr", "cvr"] = "ctr"
    if any(r.conversions is not None for _, r in good):
        # a conversions column is in use: rows without a value cannot be compared on CVR
        outcome = "cvr"
        errors += [RowError(line=n, error="conversions: missing (other rows have conversions)") for n, r in good if r.conversions is None]
        good = [(n, r) for n, r in good if r.conversions is not None]
    if not good:
        detail = f" First problems: {'; '.join(f'line {e.line}: {e.error}' for e in errors[:3])}" if errors else ""
        raise InputError(f"A/B log {path} has no usable row.{detail}", field="ab_log")
    errors.sort(key=lambda e: e.line)
    return ABLog(rows=[r for _, r in good], errors=errors, outcome=outcome, source=str(path), sha256=file_sha256(path))


__all__ = ["ABLog", "ABRow", "RowError", "read_ab_log", "file_sha256", "REQUIRED", "OPTIONAL"]
