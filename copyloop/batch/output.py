"""Batch output files: one row per (product, channel), plus an errors file beside it.

Why atomic rewrites instead of appending: the job store (SQLite) is the durable record and the
output is a view of it. Each write goes to a temporary file in the same folder, is flushed and
fsynced, then ``os.replace``d over the old file (and the folder fsynced), so a reader or a crash
only ever sees the previous complete file or the new complete file — never a torn row, never a
duplicated row after a resume. The format follows the extension: ``.jsonl``, ``.csv`` or
``.parquet``.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from pydantic import BaseModel, Field, field_validator

from copyloop.errors import InputError

OUTPUT_FORMATS = (".jsonl", ".csv", ".parquet")


class OutputRow(BaseModel):
    """One (product, channel) result. ``error`` is set (and ``text`` empty) for a failed item."""

    product_id: str
    channel: str
    text: str | None = None
    score: float | None = None
    passed: bool | None = None
    stop_reason: str | None = None
    iterations: int | None = None
    first_draft_score: float | None = None
    open_critiques: list[str] = Field(default_factory=list, description="critics the returned text still fails")
    redrafted: bool = Field(False, description="rewritten by the catalog-diversity pass")
    seconds: float | None = None
    error: str | None = None

    @field_validator("open_critiques", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        # CSV stores the list as "a; b"
        if isinstance(v, str):
            return [p.strip() for p in v.split(";") if p.strip()]
        return [] if v is None else v

    @field_validator("text", "stop_reason", "error", "first_draft_score", "score", "passed", "iterations",
                     "seconds", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and v == "" else v


class ErrorRow(BaseModel):
    """A bad input row or a failed item, as listed in ``OUT.errors.jsonl``."""

    row: int | None = Field(None, description="1-based data row of the input (header excluded)")
    product_id: str | None = None
    channel: str | None = None
    kind: str = Field(..., description="'input' for a rejected catalog row, 'refine' for a failed item")
    reason: str


def check_output_path(out: Path) -> str:
    """The output format for ``out``'s extension; InputError for anything else."""
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(
            f"output file must end in {', '.join(OUTPUT_FORMATS)} (got {out.name!r})", field="out"
        )
    return suffix


def sidecar(out: Path, what: str) -> Path:
    """A file beside the output: ``OUT.errors.jsonl``, ``OUT.jobs.sqlite``, ``OUT.lock``."""
    return out.with_name(out.name + "." + what)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(str(folder), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that no reader or crash ever sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a killed writer left beside ``path`` (call only while holding the lock)."""
    n = 0
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        tmp.unlink(missing_ok=True)
        n += 1
    return n


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    return v


def encode_rows(rows: Sequence[BaseModel], fmt: str) -> bytes:
    """Serialise pydantic rows as JSONL, CSV or Parquet bytes."""
    dicts = [r.model_dump(mode="json") for r in rows]
    if fmt == ".jsonl":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dicts).encode("utf-8")
    if fmt == ".csv":
        names = list(type(rows[0]).model_fields) if rows else list(OutputRow.model_fields)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for d in dicts:
            writer.writerow({k: _csv_value(d.get(k)) for k in names})
        return buf.getvalue().encode("utf-8")
    if fmt == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(dicts) if dicts else pa.Table.from_pylist([], schema=_empty_schema())
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    raise InputError(f"unsupported output format {fmt!r}", field="out")


def _empty_schema() -> Any:
    import pyarrow as pa

    return pa.schema([(name, pa.string()) for name in OutputRow.model_fields])


def write_output(out: Path, rows: Sequence[OutputRow]) -> None:
    """Atomically (re)write the batch output in the format of its extension."""
    atomic_write_bytes(out, encode_rows(rows, check_output_path(out)))


def write_errors(path: Path, rows: Sequence[ErrorRow]) -> None:
    """Atomically (re)write the errors file (JSONL); an empty file when nothing went wrong."""
    atomic_write_bytes(path, encode_rows(rows, ".jsonl"))


def read_output(out: Path) -> list[OutputRow]:
    """Read a batch output back (any supported format) into typed rows."""
    fmt = check_output_path(out)
    if fmt == ".jsonl":
        with out.open(encoding="utf-8") as fh:
            return [OutputRow.model_validate_json(line) for line in fh if line.strip()]
    if fmt == ".csv":
        with out.open(encoding="utf-8", newline="") as fh:
            return [OutputRow.model_validate(d) for d in csv.DictReader(fh)]
    import pyarrow.parquet as pq

    return [OutputRow.model_validate(d) for d in pq.read_table(out).to_pylist()]


def read_errors(path: Path) -> list[ErrorRow]:
    with path.open(encoding="utf-8") as fh:
        return [ErrorRow.model_validate_json(line) for line in fh if line.strip()]


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on ``path`` so two batches never write the same output at once.

    The kernel drops the lock when the process dies, so a ``kill -9`` never leaves it stale.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another batch is already writing this output (lock held on {path})", field="out") from None
        yield
    finally:
        fh.close()


__all__ = [
    "ErrorRow",
    "OUTPUT_FORMATS",
    "OutputRow",
    "atomic_write_bytes",
    "check_output_path",
    "encode_rows",
    "exclusive_lock",
    "read_errors",
    "read_output",
    "remove_stale_temps",
    "sidecar",
    "write_errors",
    "write_output",
]
