"""Which Slack event deliveries were already taken on, so retries never start duplicate work.

Slack re-sends an Events API delivery (with ``X-Slack-Retry-Num``) when it did not see a 200
within 3 seconds — after a slow network hop, or while the app was restarting. The ledger records
each ``event_id`` the first time it is seen, in SQLite next to the session store, so a retry that
arrives after a restart, or at another replica sharing the folder, is recognised too. Entries
older than a day are pruned (Slack gives up retrying after about an hour).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

KEEP_SECONDS = 24 * 3600


class EventLedger:
    """``first_time(event_id)`` is True exactly once per event id."""

    def __init__(self, path: Path | str | None = None) -> None:
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS slack_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)")
            self._conn.execute("DELETE FROM slack_events WHERE seen_at < ?", (time.time() - KEEP_SECONDS,))

    def first_time(self, event_id: str) -> bool:
        """Record ``event_id``; True if it was not recorded before."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO slack_events (event_id, seen_at) VALUES (?, ?)", (event_id, time.time())
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["EventLedger"]
