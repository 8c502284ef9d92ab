"""The service's own records: uploaded catalogs, batch jobs, accepted human edits (SQLite, WAL).

Why a ledger beside the stores that already exist: the batch job store (``OUT.jobs.sqlite``)
knows which items are finished but not that the service owes someone a job, and the session
checkpointer knows the drafts but not a text the marketer wrote. This file is the service's
memory across restarts: on start-up every batch still ``queued`` or ``running`` here is run again,
and ``rewrite_catalog`` resumes it from its job store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalogs (
    id        TEXT PRIMARY KEY,
    created   REAL NOT NULL,
    filename  TEXT NOT NULL,
    path      TEXT NOT NULL,
    products  INTEGER NOT NULL,
    bad_rows  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id         TEXT PRIMARY KEY,
    created    REAL NOT NULL,
    catalog_id TEXT NOT NULL,
    channels   TEXT NOT NULL,
    out_format TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    limit_n    INTEGER,
    diversity  INTEGER NOT NULL DEFAULT 1,
    status     TEXT NOT NULL,
    started    REAL,
    finished   REAL,
    runs       INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    summary    TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id         TEXT PRIMARY KEY,
    created    REAL NOT NULL,
    title      TEXT NOT NULL,
    channel    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edits (
    session_id TEXT NOT NULL,
    at         REAL NOT NULL,
    verdict    TEXT NOT NULL,
    PRIMARY KEY (session_id, at)
);
"""

BATCH_COLUMNS = ("id", "created", "catalog_id", "channels", "out_format", "seed", "limit_n", "diversity", "status", "started",
                 "finished", "runs", "error", "summary")


class Ledger:
    """Thread-safe access to ``<service path>/service.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # catalogs ----------------------------------------------------------------------------------
    def add_catalog(self, cid: str, filename: str, path: Path, products: int, bad_rows: int) -> None:
        self._exec("INSERT INTO catalogs (id, created, filename, path, products, bad_rows) VALUES (?, ?, ?, ?, ?, ?)",
                   (cid, time.time(), filename, str(path), products, bad_rows))

    def catalog(self, cid: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT id, created, filename, path, products, bad_rows FROM catalogs WHERE id = ?", (cid,))
        return _catalog(rows[0]) if rows else None

    def catalogs(self) -> list[dict[str, Any]]:
        return [_catalog(r) for r in self._rows(
            "SELECT id, created, filename, path, products, bad_rows FROM catalogs ORDER BY created DESC")]

    # batches -----------------------------------------------------------------------------------
    def add_batch(self, bid: str, catalog_id: str, channels: list[str], out_format: str, seed: int, limit: int | None,
                  diversity: bool = True) -> None:
        self._exec(
            "INSERT INTO batches (id, created, catalog_id, channels, out_format, seed, limit_n, diversity, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
            (bid, time.time(), catalog_id, ",".join(channels), out_format, seed, limit, int(diversity)),
        )

    def batch(self, bid: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches WHERE id = ?", (bid,))
        return _batch(rows[0]) if rows else None

    def batches(self, statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches"
        args: tuple[Any, ...] = ()
        if statuses:
            sql += f" WHERE status IN ({', '.join('?' for _ in statuses)})"
            args = statuses
        return [_batch(r) for r in self._rows(sql + " ORDER BY created", args)]

    def mark_running(self, bid: str) -> None:
        self._exec("UPDATE batches SET status = 'running', started = COALESCE(started, ?), runs = runs + 1 WHERE id = ?",
                   (time.time(), bid))

    def requeue(self, bid: str) -> None:
        self._exec("UPDATE batches SET status = 'queued', error = NULL, summary = NULL, finished = NULL WHERE id = ?", (bid,))

    def mark_finished(self, bid: str, status: str, summary: dict[str, Any] | None, error: str | None) -> None:
        self._exec("UPDATE batches SET status = ?, finished = ?, summary = ?, error = ? WHERE id = ?",
                   (status, time.time(), json.dumps(summary) if summary is not None else None, error, bid))

    # sessions ----------------------------------------------------------------------------------
    def add_session(self, sid: str, title: str, channel: str) -> None:
        self._exec("INSERT OR IGNORE INTO sessions (id, created, title, channel) VALUES (?, ?, ?, ?)",
                   (sid, time.time(), title[:300], channel))

    def sessions(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, created, title, channel FROM sessions ORDER BY created DESC LIMIT ?", (limit,))
        return [{"session_id": r[0], "created": r[1], "title": r[2], "channel": r[3]} for r in rows]

    # edits -------------------------------------------------------------------------------------
    def add_edit(self, session_id: str, verdict: dict[str, Any]) -> None:
        self._exec("INSERT OR REPLACE INTO edits (session_id, at, verdict) VALUES (?, ?, ?)",
                   (session_id, float(verdict.get("at") or time.time()), json.dumps(verdict)))

    def last_edit(self, session_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT verdict FROM edits WHERE session_id = ? ORDER BY at DESC LIMIT 1", (session_id,))
        return json.loads(rows[0][0]) if rows else None


def _catalog(r: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": r[0], "created": r[1], "filename": r[2], "path": r[3], "products": r[4], "bad_rows": r[5]}


def _batch(r: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(BATCH_COLUMNS, r))
    d["channels"] = [c for c in d["channels"].split(",") if c]
    d["diversity"] = bool(d["diversity"])
    d["summary"] = json.loads(d["summary"]) if d["summary"] else None
    return d


__all__ = ["Ledger"]
