"""Orphaned workers: SIGKILL a running 2-worker `copyloop batch`; none of its workers may live on.

Before the fix both spawned workers survived the parent (parented to PID 1, ~1 GB each with the
real model) for hours. The batch runs with the scripted engine (no model) and slow items so the
workers are busy when the parent dies; the test never kills the process group itself until it
has checked, so only the workers' own lifeline can end them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

UNIT_TESTS = Path(__file__).resolve().parent.parent / "unit"


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


def test_sigkill_of_the_batch_leaves_no_worker_behind(tmp_path: Path) -> None:
    src = tmp_path / "catalog.csv"
    src.write_text("id,title,category\n" + "".join(f"o{i},Lantern {i},Outdoor\n" for i in range(20)))
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(UNIT_TESTS), os.environ.get("PYTHONPATH", "")]),
               BATCH_TEST_SLEEP="3", BATCH_TEST_LOG=str(tmp_path), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-c", "from copyloop.cli import main; main()", "batch", str(src), "--out", str(out),
           "--workers", "2", "--engine-factory", "batch_engines:scripted_engine", "--quiet", "--no-diversity"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    parent = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 60
        calls = tmp_path / "calls.log"
        # both workers are busy refining an item (each call logs a line before it sleeps)
        while not (calls.exists() and len({ln.split()[0] for ln in calls.read_text().splitlines()}) >= 2):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "batch exited early"
            assert time.monotonic() < deadline, "the workers never started an item"
            time.sleep(0.1)
        family = parent.children(recursive=True)
        worker_pids = {int(ln.split()[0]) for ln in calls.read_text().splitlines()}
        assert worker_pids <= {p.pid for p in family}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 8
        while _alive(family) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _alive(family)
        assert not left, f"processes of the killed batch still running: {[(p.pid, p.cmdline()[:4]) for p in left]}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # never leave anything behind, even when the test fails
        except ProcessLookupError:
            pass
        if proc.stderr:
            proc.stderr.close()


def test_a_process_that_arms_its_lifeline_dies_with_its_parent(tmp_path: Path) -> None:
    """The mechanism alone: a grandchild armed with ``die_with_parent`` outlives a SIGKILLed
    child by at most a moment, on the parent-death signal or on the watchdog alone."""
    child_code = (
        "import os, subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3], str(os.getpid())])\n"
        "time.sleep(60)\n"
    )
    grand_code = (
        "import os, sys, time\n"
        "from copyloop.batch import lifeline\n"
        "if sys.argv[1] == '0':\n"
        "    lifeline.set_parent_death_signal = lambda *a: False  # the watchdog alone\n"
        "lifeline.die_with_parent(int(sys.argv[3]))\n"
        "open(sys.argv[2], 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    for prctl in ("1", "0"):
        armed = tmp_path / f"armed-{prctl}"
        child = subprocess.Popen([sys.executable, "-c", child_code, grand_code, prctl, str(armed)], start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not (armed.exists() and armed.read_text()):
                assert time.monotonic() < deadline and child.poll() is None, "the grandchild never armed its lifeline"
                time.sleep(0.1)
            grandchild = psutil.Process(int(armed.read_text()))
            child.kill()
            child.wait(timeout=10)
            deadline = time.monotonic() + 8
            while _alive([grandchild]) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive([grandchild]), f"prctl={prctl}: the grandchild outlived its parent"
        finally:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
