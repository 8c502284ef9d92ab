"""Where conversation sessions are persisted: a LangGraph checkpointer chosen from settings.

SQLite (``Settings.checkpoint_path()``) by default, so a session survives a process restart on
a fresh machine with nothing to configure; the Postgres saver when ``settings.store.postgres_dsn``
is set, so a team (several Slack app replicas) can share sessions. Postgres is an optional
dependency (``pip install 'copyloop[postgres]'``); asking for it without the package installed
is a clear ``DependencyError``, not an ``ImportError`` deep in a worker thread.

Checkpoints are deserialised with msgpack's strict allow-list: session state holds only plain
JSON types, so nothing in the database can make the loader build arbitrary objects.

Postgres connections come from a small pool that checks a connection before lending it: a server
restart (or a dropped connection) costs nothing but a reconnect, and the next turn works. While
the server is unreachable, a turn fails with ``SessionStoreError`` (a ``CopyloopError``: a clear
message at the surface, the DSN and its password never in it) instead of a raw driver error. A
turn is written as LangGraph checkpoints, each committed on its own (autocommit), and a turn that
failed half-way resumes from the last complete checkpoint: the thread's history is never torn.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Iterator

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from copyloop.errors import CopyloopError, DependencyError
from copyloop.settings import Settings

POOL_MAX = 4  # the Slack app drives sessions from a few threads; each turn holds one connection briefly
CONNECT_TIMEOUT_S = 10.0


class SessionStoreError(CopyloopError):
    """The session checkpointer's database cannot be reached (the message never holds the DSN)."""


def _strict_serde() -> JsonPlusSerializer:
    # allowed_msgpack_modules=None: only LangGraph's own safe types are revived.
    return JsonPlusSerializer(allowed_msgpack_modules=None)


@contextmanager
def _sqlite_saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = settings.checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False is safe: SqliteSaver serialises access with its own lock, and the
    # Slack app drives sessions from worker threads.
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # readers (another chat process) never block the writer
        saver = SqliteSaver(conn, serde=_strict_serde())
        saver.setup()
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres_saver(dsn: str) -> Iterator[BaseCheckpointSaver]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:
        raise DependencyError(
            "langgraph-checkpoint-postgres",
            "store.postgres_dsn is set, but Postgres sessions need the optional dependency: "
            "pip install 'copyloop[postgres]'",
        ) from exc

    unreachable = (psycopg.OperationalError, PoolTimeout)

    class ReconnectingPostgresSaver(PostgresSaver):
        """PostgresSaver over a checked pool; a database it cannot reach is a SessionStoreError.

        Every query of the saver goes through ``_cursor``, the one place to translate errors.
        """

        @contextmanager
        def _cursor(self, *, pipeline: bool = False) -> Iterator[Any]:
            try:
                with super()._cursor(pipeline=pipeline) as cur:
                    yield cur
            except unreachable as exc:
                raise SessionStoreError(
                    f"the session database (PostgreSQL) cannot be reached: {type(exc).__name__}: "
                    f"{_redacted(str(exc), dsn)}; the session is unchanged, try again when it is back"
                ) from None

    # autocommit for setup()'s DDL and so each checkpoint is durable on its own, dict_row because
    # the saver reads rows by column name, prepare_threshold=0 so it works behind pgbouncer;
    # check_connection: a connection the server dropped (restart, failover) is replaced, not lent
    pool = ConnectionPool(
        dsn, min_size=1, max_size=POOL_MAX, timeout=CONNECT_TIMEOUT_S, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=ConnectionPool.check_connection, name="copyloop-sessions",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except unreachable as exc:
        pool.close()
        raise SessionStoreError(
            f"the session database (PostgreSQL) cannot be reached: {type(exc).__name__}: {_redacted(str(exc), dsn)}"
        ) from None
    try:
        saver = ReconnectingPostgresSaver(pool, serde=_strict_serde())  # type: ignore[arg-type]
        saver.setup()
        yield saver
    finally:
        pool.close()


def _redacted(message: str, dsn: str) -> str:
    """``message`` without the DSN's password (drivers sometimes echo connection strings)."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    return message.replace(password, "***") if password else message


def open_checkpointer(settings: Settings) -> AbstractContextManager[BaseCheckpointSaver]:
    """The configured checkpointer as a context manager that closes its connection on exit."""
    dsn = settings.store.postgres_dsn
    if dsn is not None and dsn.get_secret_value().strip():
        return _postgres_saver(dsn.get_secret_value())
    return _sqlite_saver(settings)


__all__ = ["SessionStoreError", "open_checkpointer"]
