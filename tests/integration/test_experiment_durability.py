"""Nothing recorded is lost after kill -9, and re-sending the same events counts each exactly once.

A real ``copyloop experiment ingest`` child process is killed with SIGKILL while it writes; the
SQLite store (WAL, synchronous=FULL) must open cleanly afterwards, and ingesting the same file
again must leave every event counted once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copyloop import Experiment
from copyloop.cli import app
from copyloop.settings import Settings

pytestmark = [pytest.mark.integration]


def _write_events(path: Path, n: int) -> dict[str, int]:
    counts = {"impression": 0, "click": 0, "conversion": 0}
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            vid = ("v1", "v2")[i % 2]
            fh.write(json.dumps({"event_id": f"i{i}", "variant_id": vid, "type": "impression", "unit": f"u{i}"}) + "\n")
            counts["impression"] += 1
            if i % 7 == 0:
                fh.write(json.dumps({"event_id": f"c{i}", "type": "click", "unit": f"u{i}"}) + "\n")
                counts["click"] += 1
            if i % 29 == 0:
                fh.write(json.dumps({"event_id": f"v{i}", "type": "conversion", "unit": f"u{i}", "ts": 1_900_000_000 + i}) + "\n")
                counts["conversion"] += 1
    return counts


def _count(db: Path) -> int:
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM exp_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_kill_9_mid_ingest_loses_nothing_and_reingest_counts_each_event_once(tmp_path: Path) -> None:
    settings = Settings()  # COPYLOOP_HOME is the test's temp home (conftest)
    exp = Experiment.create({"title": "Mug"}, "sms", texts=["Hot coffee, cozy mug", "Your new favourite mug"], settings=settings)
    events = tmp_path / "events.jsonl"
    expected = _write_events(events, 40000)
    total = sum(expected.values())
    db = settings.experiments_path()

    child = subprocess.Popen(
        [sys.executable, "-m", "copyloop.cli", "experiment", "ingest", exp.experiment_id, str(events)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 120
    while _count(db) < 2000 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.poll() is None, f"ingest finished before it could be killed: {child.stderr.read() if child.stderr else ''}"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    survived = _count(db)
    assert 2000 <= survived < total  # killed mid-ingest; every committed chunk is there
    ids_before = {r[0] for r in sqlite3.connect(str(db)).execute("SELECT event_id FROM exp_events")}

    res = CliRunner().invoke(app, ["experiment", "ingest", exp.experiment_id, str(events), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["duplicates"] == survived and summary["recorded"] == total - survived

    status = Experiment.open(exp.experiment_id, settings).status()
    assert sum(v.impressions for v in status.variants) == expected["impression"]
    assert sum(v.clicks for v in status.variants) == expected["click"]
    assert sum(v.conversions for v in status.variants) == expected["conversion"]
    ids_after = {r[0] for r in sqlite3.connect(str(db)).execute("SELECT event_id FROM exp_events")}
    assert ids_before <= ids_after and len(ids_after) == total
