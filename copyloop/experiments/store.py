"""Where experiments, assignments and events live: SQLite (WAL) by default, Postgres with a DSN.

Durability is the point: an event is recorded when its transaction commits, and a commit is on
disk before ``record`` returns (SQLite: WAL with ``synchronous=FULL``, so even a power cut keeps
it; Postgres: its own WAL). ``kill -9`` mid-ingest loses only the uncommitted batch, and
re-sending it is harmless: ``(experiment_id, event_id)`` is the primary key and inserts use
``ON CONFLICT DO NOTHING``, so every event counts exactly once.

One SQL text serves both databases: SQLite >= 3.24 understands ``ON CONFLICT DO NOTHING``, and
``?`` placeholders are rewritten to ``%s`` for psycopg.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from copyloop.errors import DependencyError, UnknownExperimentError

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS exp_experiments (
        experiment_id TEXT PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL,
        channel TEXT NOT NULL,
        metric TEXT NOT NULL,
        allocation TEXT NOT NULL,
        product_json TEXT NOT NULL,
        policy_json TEXT NOT NULL,
        origin TEXT,
        state TEXT NOT NULL DEFAULT 'running',
        closed_at DOUBLE PRECISION,
        winner TEXT,
        close_json TEXT,
        generation INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS exp_experiments_origin ON exp_experiments (origin)",
    """CREATE TABLE IF NOT EXISTS exp_variants (
        experiment_id TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        is_control INTEGER NOT NULL,
        source TEXT NOT NULL,
        predicted_score DOUBLE PRECISION,
        active INTEGER NOT NULL DEFAULT 1,
        created_at DOUBLE PRECISION NOT NULL,
        retired_at DOUBLE PRECISION,
        PRIMARY KEY (experiment_id, variant_id)
    )""",
    """CREATE TABLE IF NOT EXISTS exp_periods (
        experiment_id TEXT NOT NULL,
        period INTEGER NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        weights_json TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (experiment_id, period)
    )""",
    """CREATE TABLE IF NOT EXISTS exp_assignments (
        experiment_id TEXT NOT NULL,
        unit TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        period INTEGER NOT NULL,
        probability DOUBLE PRECISION NOT NULL,
        assigned_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (experiment_id, unit)
    )""",
    """CREATE TABLE IF NOT EXISTS exp_events (
        experiment_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        variant_id TEXT NOT NULL,
        type TEXT NOT NULL,
        unit TEXT,
        ts DOUBLE PRECISION NOT NULL,
        period INTEGER NOT NULL,
        recorded_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (experiment_id, event_id)
    )""",
    "CREATE INDEX IF NOT EXISTS exp_events_counts ON exp_events (experiment_id, period, variant_id, type)",
]


_SHARED: dict[tuple[int, str], "ExperimentStore"] = {}
_SHARED_LOCK = threading.Lock()


class ExperimentStore:
    """Thread-safe access to the experiment tables (one connection, one lock)."""

    def __init__(self, conn: Any, dialect: str, where: str) -> None:
        self._conn = conn
        self.dialect = dialect
        self.where = where
        self._lock = threading.RLock()
        self._closed = False
        with self.transaction() as tx:
            for statement in SCHEMA:
                tx.execute(statement)

    # construction -----------------------------------------------------------------------------
    @classmethod
    def sqlite(cls, path: Path | str) -> "ExperimentStore":
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return cls(conn, "sqlite", str(path))

    @classmethod
    def postgres(cls, dsn: str) -> "ExperimentStore":
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - the [postgres] extra is installed in CI
            raise DependencyError("psycopg", "Postgres experiment store needs: pip install 'copyloop[postgres]'") from exc
        conn = psycopg.connect(dsn, autocommit=False)
        safe = f"postgres://{conn.info.host}:{conn.info.port}/{conn.info.dbname}"  # never the password
        return cls(conn, "postgres", safe)

    @classmethod
    def from_settings(cls, settings: Any) -> "ExperimentStore":
        """A new store (its own connection) for the configured database."""
        dsn = settings.experiments_dsn()
        return cls.postgres(dsn) if dsn else cls.sqlite(settings.experiments_path())

    @classmethod
    def shared(cls, settings: Any) -> "ExperimentStore":
        """The process's store for the configured database, opened once and reused.

        ``Experiment.create``/``open`` use it when no store is passed, so a service that opens an
        experiment per request does not open a connection (and check the schema) per request.
        Keyed by database and process id: a forked worker opens its own connection.
        """
        dsn = settings.experiments_dsn()
        key = (os.getpid(), dsn or str(Path(settings.experiments_path()).expanduser().resolve()))
        with _SHARED_LOCK:
            store = _SHARED.get(key)
            if store is None or store._closed:
                store = cls.from_settings(settings)
                _SHARED[key] = store
            return store

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()

    # transactions -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["_Tx"]:
        """One write transaction; committed (and on disk) when the block ends without error."""
        with self._lock:
            if self.dialect == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")
            tx = _Tx(self._conn, self.dialect)
            try:
                yield tx
            except BaseException:
                self._conn.rollback()
                raise
            else:
                self._conn.commit()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read-only statement (no write lock: SQLite runs it in its own implicit transaction)."""
        with self._lock:
            if self.dialect == "sqlite":
                return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]
            try:
                with self._conn.cursor() as cur:
                    cur.execute(sql.replace("?", "%s"), tuple(params))
                    rows = [tuple(r) for r in cur.fetchall()]
            finally:
                self._conn.rollback()  # end the implicit transaction psycopg opened
            return rows

    # experiments ------------------------------------------------------------------------------
    def experiment(self, experiment_id: str) -> dict[str, Any]:
        rows = self.read(
            "SELECT experiment_id, created_at, channel, metric, allocation, product_json, policy_json, origin, state, "
            "closed_at, winner, close_json, generation FROM exp_experiments WHERE experiment_id = ?",
            (experiment_id,),
        )
        if not rows:
            raise UnknownExperimentError(experiment_id)
        keys = ("experiment_id", "created_at", "channel", "metric", "allocation", "product_json", "policy_json",
                "origin", "state", "closed_at", "winner", "close_json", "generation")
        return dict(zip(keys, rows[0]))

    def find_by_origin(self, origin: str) -> str | None:
        rows = self.read("SELECT experiment_id FROM exp_experiments WHERE origin = ? ORDER BY created_at DESC", (origin,))
        return str(rows[0][0]) if rows else None

    def experiment_ids(self, state: str | None = None) -> list[str]:
        if state is None:
            rows = self.read("SELECT experiment_id FROM exp_experiments ORDER BY created_at")
        else:
            rows = self.read("SELECT experiment_id FROM exp_experiments WHERE state = ? ORDER BY created_at", (state,))
        return [str(r[0]) for r in rows]

    def variants(self, experiment_id: str) -> list[dict[str, Any]]:
        rows = self.read(
            "SELECT variant_id, text, is_control, source, predicted_score, active, created_at, retired_at, position "
            "FROM exp_variants WHERE experiment_id = ? ORDER BY position",
            (experiment_id,),
        )
        keys = ("variant_id", "text", "is_control", "source", "predicted_score", "active", "created_at", "retired_at", "position")
        out = []
        for row in rows:
            rec = dict(zip(keys, row))
            rec["is_control"] = bool(rec["is_control"])
            rec["active"] = bool(rec["active"])
            out.append(rec)
        return out

    def periods(self, experiment_id: str) -> list[tuple[int, float, dict[str, float], str]]:
        rows = self.read(
            "SELECT period, started_at, weights_json, reason FROM exp_periods WHERE experiment_id = ? ORDER BY period",
            (experiment_id,),
        )
        return [(int(p), float(s), json.loads(w), str(r)) for p, s, w, r in rows]

    def counts(self, experiment_id: str) -> list[tuple[str, int, str, int]]:
        """(variant_id, period, type, events) for every combination that occurred."""
        rows = self.read(
            "SELECT variant_id, period, type, COUNT(*) FROM exp_events WHERE experiment_id = ? GROUP BY variant_id, period, type",
            (experiment_id,),
        )
        return [(str(v), int(p), str(t), int(n)) for v, p, t, n in rows]

    def assignment_counts(self, experiment_id: str) -> list[tuple[str, int, int]]:
        rows = self.read(
            "SELECT variant_id, period, COUNT(*) FROM exp_assignments WHERE experiment_id = ? GROUP BY variant_id, period",
            (experiment_id,),
        )
        return [(str(v), int(p), int(n)) for v, p, n in rows]

    def window_counts(self, experiment_id: str, start: float, width: float) -> list[tuple[str, int, str, int]]:
        """(variant_id, window, type, events) with window = floor((ts - start) / width)."""
        # SQLite's CAST truncates (= floor for ts >= start; FLOOR needs its optional math functions);
        # Postgres' CAST rounds, so it gets FLOOR.
        window = "CAST(FLOOR((ts - ?) / ?) AS INTEGER)" if self.dialect == "postgres" else "CAST((ts - ?) / ? AS INTEGER)"
        rows = self.read(
            f"SELECT variant_id, {window} AS w, type, COUNT(*) FROM exp_events "
            "WHERE experiment_id = ? AND ts >= ? GROUP BY variant_id, w, type",
            (start, width, experiment_id, start),
        )
        return [(str(v), int(w), str(t), int(n)) for v, w, t, n in rows]

    def first_event_ts(self, experiment_id: str) -> float | None:
        rows = self.read("SELECT MIN(ts) FROM exp_events WHERE experiment_id = ?", (experiment_id,))
        return float(rows[0][0]) if rows and rows[0][0] is not None else None


class _Tx:
    """The statements of one transaction, with the placeholder style of the database."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self._conn = conn
        self._pg = dialect == "postgres"

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        if self._pg:
            with self._conn.cursor() as cur:
                cur.execute(self._sql(sql), tuple(params))
                return int(cur.rowcount)
        cur = self._conn.execute(sql, tuple(params))
        return int(cur.rowcount)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._pg:
            with self._conn.cursor() as cur:
                cur.execute(self._sql(sql), tuple(params))
                return [tuple(r) for r in cur.fetchall()]
        return [tuple(r) for r in self._conn.execute(sql, tuple(params)).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None


__all__ = ["ExperimentStore", "SCHEMA"]
