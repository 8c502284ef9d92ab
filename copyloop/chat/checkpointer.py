"""Where conversation sessions are persisted: a LangGraph checkpointer chosen from settings.

SQLite (``Settings.checkpoint_path()``) by default, so a session survives a process restart on
a fresh machine with nothing to configure; the Postgres saver when ``settings.store.postgres_dsn``
is set, so a team (several Slack app replicas) can share sessions. Postgres is an optional
dependency (``pip install 'copyloop[postgres]'``); asking for it without the package installed
is a clear ``DependencyError``, not an ``ImportError`` deep in a worker thread.

Checkpoints are deserialised with msgpack's strict allow-list: session state holds only plain
JSON types, so nothing in the database can make the loader build arbitrary objects.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, contextmanager
from typing import Iterator

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from copyloop.errors import DependencyError
from copyloop.settings import Settings


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
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise DependencyError(
            "langgraph-checkpoint-postgres",
            "store.postgres_dsn is set, but Postgres sessions need the optional dependency: "
            "pip install 'copyloop[postgres]'",
        ) from exc
    # autocommit for setup()'s DDL, dict_row because the saver reads rows by column name,
    # prepare_threshold=0 so it works behind pgbouncer.
    with Connection.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn, serde=_strict_serde())
        saver.setup()
        yield saver


def open_checkpointer(settings: Settings) -> AbstractContextManager[BaseCheckpointSaver]:
    """The configured checkpointer as a context manager that closes its connection on exit."""
    dsn = settings.store.postgres_dsn
    if dsn is not None and dsn.get_secret_value().strip():
        return _postgres_saver(dsn.get_secret_value())
    return _sqlite_saver(settings)


__all__ = ["open_checkpointer"]
