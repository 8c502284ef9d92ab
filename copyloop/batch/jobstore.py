"""The batch job store: one SQLite file (WAL mode) beside a batch's output.

Why SQLite: a catalog run takes hours and must survive ``kill -9``. Each (product, channel)
result is committed the moment it finishes (``synchronous=FULL``), so a crash loses at most the
items that were still being written; a re-run reads the store and skips what is finished. Only
the parent process writes (workers return results to it), so there is a single writer and no
lock contention. Several jobs can share one store: results are keyed by ``job_id``, a hash of
what determines the output (input path, channels, settings, column mapping, seed), so a
different job never reuses another one's results. Each result also remembers a hash of the
product row it was written for (``input_hash``); when a row of the catalog changes, only that row
is redone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

Phase = Literal["draft", "diversity"]
Status = Literal["done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id      TEXT PRIMARY KEY,
    created     REAL NOT NULL,
    source      TEXT NOT NULL,
    channels    TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    job_id      TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    channel     TEXT NOT NULL,
    phase       TEXT NOT NULL,
    input_hash  TEXT NOT NULL,
    row         INTEGER,
    status      TEXT NOT NULL,
    text        TEXT,
    score       REAL,
    passed      INTEGER,
    stop_reason TEXT,
    iterations  INTEGER,
    error       TEXT,
    seconds     REAL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    extra       TEXT NOT NULL DEFAULT '{}',
    finished    REAL NOT NULL,
    PRIMARY KEY (job_id, product_id, channel, phase)
);
"""


@dataclass
class StoredResult:
    """One finished (or failed) item as recorded in the store."""

    product_id: str
    channel: str
    phase: Phase
    input_hash: str
    status: Status
    row: int | None = None
    text: str | None = None
    score: float | None = None
    passed: bool | None = None
    stop_reason: str | None = None
    iterations: int | None = None
    error: str | None = None
    seconds: float | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    finished: float = 0.0


class JobStore:
    """Results of batch jobs, committed one by one. Use as a context manager or call close()."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; every write below is its own durable transaction.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed result survives a power cut too, not only a process crash; the cost
        # (one fsync per item) is nothing next to seconds of LLM time per item.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    # lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "JobStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    # jobs --------------------------------------------------------------------------------
    def register_job(self, job_id: str, source: str, channels: list[str], fingerprint: dict[str, Any]) -> None:
        """Record what a job id stands for (kept for humans inspecting the store)."""
        self._db.execute(
            "INSERT OR IGNORE INTO jobs (job_id, created, source, channels, fingerprint) VALUES (?, ?, ?, ?, ?)",
            (job_id, time.time(), source, ",".join(channels), json.dumps(fingerprint, sort_keys=True, default=str)),
        )

    def jobs(self) -> list[dict[str, Any]]:
        cur = self._db.execute("SELECT job_id, created, source, channels, fingerprint FROM jobs ORDER BY created")
        return [
            {"job_id": j, "created": c, "source": s, "channels": ch.split(","), "fingerprint": json.loads(f)}
            for j, c, s, ch, f in cur.fetchall()
        ]

    # results -----------------------------------------------------------------------------
    def record(self, job_id: str, result: StoredResult) -> None:
        """Commit one result now (replacing an older attempt of the same item and phase)."""
        self._db.execute(
            """INSERT OR REPLACE INTO results (job_id, product_id, channel, phase, input_hash, row, status,
                   text, score, passed, stop_reason, iterations, error, seconds, attempts, extra, finished)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                job_id,
                result.product_id,
                result.channel,
                result.phase,
                result.input_hash,
                result.row,
                result.status,
                result.text,
                result.score,
                None if result.passed is None else int(result.passed),
                result.stop_reason,
                result.iterations,
                result.error,
                result.seconds,
                result.attempts,
                json.dumps(result.extra, sort_keys=True, default=str),
                result.finished or time.time(),
            ),
        )

    def results(self, job_id: str, phase: Phase | None = None) -> Iterator[StoredResult]:
        sql = (
            "SELECT product_id, channel, phase, input_hash, status, row, text, score, passed, stop_reason,"
            " iterations, error, seconds, attempts, extra, finished FROM results WHERE job_id = ?"
        )
        args: tuple[Any, ...] = (job_id,)
        if phase is not None:
            sql += " AND phase = ?"
            args += (phase,)
        for r in self._db.execute(sql, args):
            yield StoredResult(
                product_id=r[0],
                channel=r[1],
                phase=r[2],
                input_hash=r[3],
                status=r[4],
                row=r[5],
                text=r[6],
                score=r[7],
                passed=None if r[8] is None else bool(r[8]),
                stop_reason=r[9],
                iterations=r[10],
                error=r[11],
                seconds=r[12],
                attempts=r[13],
                extra=json.loads(r[14] or "{}"),
                finished=r[15],
            )

    def result_map(self, job_id: str, phase: Phase) -> dict[tuple[str, str], StoredResult]:
        """``{(product_id, channel): result}`` of one phase of a job."""
        return {(r.product_id, r.channel): r for r in self.results(job_id, phase)}

    def count(self, job_id: str, status: Status | None = None, phase: Phase | None = None) -> int:
        """Results of a job, optionally of one status and one phase (a progress bar reads this)."""
        sql, args = "SELECT COUNT(*) FROM results WHERE job_id = ?", [job_id]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        if phase is not None:
            sql += " AND phase = ?"
            args.append(phase)
        return int(self._db.execute(sql, args).fetchone()[0])


__all__ = ["JobStore", "Phase", "Status", "StoredResult"]
