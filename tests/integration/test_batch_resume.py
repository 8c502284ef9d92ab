"""Crash safety for real: SIGKILL a running `copyloop batch` and resume it.

The batch runs in a subprocess with two spawned workers and a slow fake engine (every item
sleeps), the test waits until some items are committed to the SQLite job store, then kills the
parent with SIGKILL (and its orphaned workers). Whatever the kill interrupted, the output file on
disk must be complete (no torn row), and re-running the same command must finish the catalog
without redoing any item that had finished and without duplicating any row.
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

from copyloop.batch.output import read_output

pytestmark = pytest.mark.integration

UNIT_TESTS = Path(__file__).resolve().parent.parent / "unit"
CHANNELS = "product_description,amazon_bullet"
PRODUCTS = 12


def _cmd(src: Path, out: Path, factory: str) -> list[str]:
    return [
        sys.executable, "-c", "from copyloop.cli import main; main()",
        "batch", str(src), "--out", str(out), "--channels", CHANNELS, "--workers", "2",
        "--engine-factory", factory, "--quiet", "--json", "--snapshot-seconds", "0", "--no-diversity",
    ]


def _env(log: Path, sleep: float) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(UNIT_TESTS), env.get("PYTHONPATH", "")])
    env["BATCH_TEST_LOG"] = str(log)
    env["BATCH_TEST_SLEEP"] = str(sleep)
    env["HF_HUB_OFFLINE"] = "1"
    log.mkdir(parents=True, exist_ok=True)
    return env


def _done_keys(store: Path) -> set[tuple[str, str]]:
    if not store.exists():
        return set()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return set(db.execute("SELECT product_id, channel FROM results WHERE status = 'done' AND phase = 'draft'"))
    except sqlite3.OperationalError:  # tables not created yet
        return set()
    finally:
        db.close()


def _calls(log: Path) -> list[tuple[str, str]]:
    path = log / "calls.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        _, pid, channel, phase = line.split()
        if phase == "draft":
            out.append((pid, channel))
    return out


@pytest.mark.parametrize("factory", ["batch_engines:scripted_engine"])
def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path: Path, factory: str) -> None:
    src = tmp_path / "catalog.csv"
    src.write_text(
        "id,title,category,price,facts\n"
        + "".join(f"k{i},Picnic Blanket {i},Home | Outdoor,$2{i},Folds small | Washable\n" for i in range(PRODUCTS))
    )
    out = tmp_path / "out.jsonl"
    store = tmp_path / "out.jsonl.jobs.sqlite"

    proc = subprocess.Popen(
        _cmd(src, out, factory), env=_env(tmp_path / "log1", sleep=0.5),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_done_keys(store)) < 4:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "batch exited early"
            assert time.monotonic() < deadline, "the batch never committed an item"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)  # the batch parent dies without any cleanup (its workers follow: lifeline.py)
        proc.wait(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # and its orphaned workers
        except ProcessLookupError:
            pass
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    finished = _done_keys(store)
    total = PRODUCTS * 2
    assert 4 <= len(finished) < total, "the kill should land mid-run"
    # the output on disk at the moment of the kill is a complete, parseable snapshot
    if out.exists():
        snapshot = read_output(out)
        keys = [(r.product_id, r.channel) for r in snapshot]
        assert len(keys) == len(set(keys)) and set(keys) <= finished
        assert all(r.text for r in snapshot)

    rerun = subprocess.run(_cmd(src, out, factory), env=_env(tmp_path / "log2", sleep=0.0),
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == len(finished) and summary["done"] == total - len(finished)
    redone = set(_calls(tmp_path / "log2"))
    assert not (redone & finished), "finished items were refined again"
    rows = read_output(out)
    keys = [(r.product_id, r.channel) for r in rows]
    assert len(keys) == total and len(set(keys)) == total
    assert keys == [(f"k{i}", c) for i in range(PRODUCTS) for c in CHANNELS.split(",")]
    assert all(r.text and r.error is None for r in rows)
    assert not list(tmp_path.glob(".out.jsonl.*.tmp"))
