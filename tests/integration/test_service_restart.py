"""A batch job survives a real server crash: ``copyloop serve`` is killed with SIGKILL mid-job,
started again on the same data folder, and finishes the job without redoing finished items.

The server and its batch child are real processes (uvicorn on a free loopback port; the child runs
``rewrite_catalog``); the engine is the scripted batch engine (``tests/unit/batch_engines.py``),
which logs every refine call so the test can tell what was drafted twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from services import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "restart-test-key"


def _start(home: Path, log: Path, port: int, sleep: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        COPYLOOP_HOME=str(home),
        COPYLOOP_API_KEYS=KEY,
        COPYLOOP_ENGINE_FACTORY="batch_engines:scripted_engine",
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "unit"), str(ROOT / "tests")]),
        BATCH_TEST_LOG=str(log),
        BATCH_TEST_SLEEP=sleep,
    )
    proc = subprocess.Popen([sys.executable, "-m", "copyloop", "serve", "--port", str(port), "--lazy"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(home / f"server-{port}-{time.time()}.log", "wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not answer /healthz within 60 s")


def _batch_children(spec: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"copyloop.service.batch_child" in cmd and str(spec).encode() in cmd:
                pids.append(int(proc.name))
    return pids


def test_a_batch_resumes_after_the_server_is_killed(tmp_path: Path) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to find the batch process")
    home, log = tmp_path / "home", tmp_path / "calls"
    home.mkdir()
    log.mkdir()
    rows = "".join(f"p{i},Garden Hose Reel {i},Home | Garden,$1{i}.99,Winds neatly | Steel frame\n" for i in range(1, 13))
    catalog = ("id,title,category,price,facts\n" + rows).encode()
    auth = {"Authorization": f"Bearer {KEY}"}

    port = free_port()
    server = _start(home, log, port, sleep="0.5")
    try:
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(f"{base}/v1/batches", headers=auth, files={"file": ("shop.csv", catalog, "text/csv")},
                       data={"channels": "product_description", "diversity": "false"}, timeout=30)
        assert r.status_code == 202, r.text
        bid = r.json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/v1/batches/{bid}", headers=auth, timeout=10).json()["done"] < 3:
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)

    spec = home / "service" / "batches" / bid / "spec.json"
    deadline = time.monotonic() + 15
    while _batch_children(spec):  # the orphaned batch process notices and exits
        assert time.monotonic() < deadline, "the batch process outlived its server"
        time.sleep(0.2)
    calls = Counter(line.split(" ", 1)[1] for line in (log / "calls.log").read_text().splitlines())
    assert 3 <= sum(calls.values()) < 12

    port = free_port()
    server = _start(home, log, port, sleep="0")
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while (status := httpx.get(f"{base}/v1/batches/{bid}", headers=auth, timeout=10).json())["status"] != "done":
            assert status["status"] != "failed", status
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
        assert status["runs"] == 2 and status["done"] == 12 and status["progress"] == 1.0
        out = httpx.get(f"{base}/v1/batches/{bid}/results", headers=auth, timeout=10).text.splitlines()
        assert len(out) == 12
    finally:
        server.terminate()
        server.wait(20)
    calls = Counter(line.split(" ", 1)[1] for line in (log / "calls.log").read_text().splitlines())
    assert len(calls) == 12
    assert sum(n - 1 for n in calls.values()) <= 1, f"finished items drafted again: {calls}"
