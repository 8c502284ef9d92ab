"""`copyloop batch --engine ray`: the same batch on Ray Data actors, with the local pool's contract.

One local Ray cluster for the module (``ray.init(num_cpus=2, include_dashboard=False)``, usage
stats off). The engine is the scripted fake of tests/unit/batch_engines.py (no model), so what is
tested is the Ray plumbing: identical copy to the local pool (the per-item seed rule), bad rows
and failing items, the diversity pass, a SIGKILLed driver whose actors die and whose re-run
resumes without duplicates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

from copyloop.batch import rewrite_catalog  # noqa: E402
from copyloop.batch.output import read_errors, read_output  # noqa: E402

pytestmark = pytest.mark.integration

UNIT_TESTS = Path(__file__).resolve().parent.parent / "unit"
SCRIPTED = "batch_engines:scripted_engine"
CHANNELS = ["product_description", "amazon_bullet"]
FORWARD = "PYTHONPATH,BATCH_TEST_LOG,BATCH_TEST_SLEEP"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The module's Ray; actors find tests/unit (batch_engines) through the forwarded PYTHONPATH."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
    mp.setenv("PYTHONPATH", os.pathsep.join([str(UNIT_TESTS), os.environ.get("PYTHONPATH", "")]))
    mp.setenv("COPYLOOP_RAY_ENV", FORWARD)
    mp.syspath_prepend(str(UNIT_TESTS))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        mp.undo()


@pytest.fixture()
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "log"
    folder.mkdir()
    monkeypatch.setenv("BATCH_TEST_LOG", str(folder))
    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    return folder


def _catalog(path: Path) -> Path:
    path.write_text(
        "id,title,category,facts\n"
        "r1,Enamel Camping Mug,Outdoors,Holds hot drinks\n"
        "r2,Wool Beanie,Clothing,Soft knit\n"
        "r3,,Toys,\n"  # no title: a bad row
        "r4,Wooden Puzzle FAIL Box,Toys,Hidden drawer\n"  # the scripted engine raises on FAIL
        "r5,Picnic Blanket TEMPLATE One,Home,Folds small\n"
        "r6,Garden Hose TEMPLATE Two,Garden,Fifty feet\n"
        "r7,Desk Lamp TEMPLATE Three,Office,Warm light\n"
        "r8,Yoga Mat TEMPLATE Four,Sports,Non-slip\n"
        "r1,Duplicate Mug,Outdoors,Again\n"  # a duplicate id: a bad row
    )
    return path


def test_ray_and_the_local_pool_write_the_same_batch(cluster: str, tmp_path: Path, logs: Path) -> None:
    src = _catalog(tmp_path / "cat.csv")
    # the local engine in-process (its 1- and 2-worker copy agree: tests/unit/test_batch.py)
    local = rewrite_catalog(src, CHANNELS, tmp_path / "local.jsonl", workers=1, quiet=True, engine_factory=SCRIPTED)
    onray = rewrite_catalog(src, CHANNELS, tmp_path / "ray.jsonl", workers=2, quiet=True, engine_factory=SCRIPTED,
                            engine="ray")
    assert onray.engine == "ray" and onray.workers == 2
    rows_local, rows_ray = read_output(tmp_path / "local.jsonl"), read_output(tmp_path / "ray.jsonl")
    strip = lambda rows: [r.model_dump(exclude={"seconds"}) for r in rows]  # noqa: E731
    assert strip(rows_ray) == strip(rows_local)  # same rows, fields, copy, scores, order
    for s in (local, onray):
        assert (s.products, s.items, s.done, s.failed, s.bad_rows) == (7, 14, 12, 2, 2)
        assert s.exit_code() == 1
        assert s.redrafted > 0 and s.diversity_after is not None  # the catalog diversity pass ran on Ray too
    assert [e.model_dump() for e in read_errors(onray.errors_path)] == [e.model_dump() for e in read_errors(local.errors_path)]
    failed = [r for r in rows_ray if r.error]
    assert {(r.product_id, r.channel) for r in failed} == {("r4", c) for c in CHANNELS}
    # one engine per process (the driver for the local run, then each actor), built once, not per item
    built = [line.split()[0] for line in (logs / "engines.log").read_text().splitlines()]
    assert len(built) == len(set(built)) <= 1 + 4  # in-process; 2 draft + at most 2 re-draft actors
    assert len((logs / "calls.log").read_text().splitlines()) > 2 * len(built)


def test_a_local_ray_dies_with_its_driver(tmp_path: Path) -> None:
    """Without --address the driver starts its own Ray: SIGKILL it and its actors, raylet and GCS
    go within seconds (Ray's per-node agents notice the raylet is gone and follow within a minute)."""
    src = tmp_path / "cat.csv"
    src.write_text("id,title,category\n" + "".join(f"q{i},Kettle {i},Kitchen\n" for i in range(6)))
    env = dict(os.environ, BATCH_TEST_SLEEP="3", BATCH_TEST_LOG=str(tmp_path), RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=os.pathsep.join([str(UNIT_TESTS), os.environ.get("PYTHONPATH", "")]), COPYLOOP_RAY_ENV=FORWARD)
    cmd = [sys.executable, "-c", "from copyloop.cli import main; main()", "batch", str(src), "--out",
           str(tmp_path / "out.jsonl"), "--workers", "2", "--engine", "ray", "--engine-factory", SCRIPTED,
           "--quiet", "--no-diversity"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "calls.log").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the local Ray batch never started an item"
            time.sleep(0.2)
        family = psutil.Process(proc.pid).children(recursive=True)
        essential = [p for p in family if any(k in " ".join(p.cmdline()) for k in ("CopyActor", "raylet", "gcs_server"))]
        assert len(essential) >= 3
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        alive = essential
        while alive and time.monotonic() < deadline:
            alive = [p for p in essential if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            time.sleep(0.3)
        assert not alive, [p.pid for p in alive]
    finally:
        for p in [psutil.Process(proc.pid)] if proc.poll() is None else []:
            p.kill()
        for p in family:  # the agents, if the test ends before they do
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


def test_a_broken_engine_aborts_with_its_reason(cluster: str, tmp_path: Path, logs: Path) -> None:
    from copyloop.errors import CopyloopError

    src = _catalog(tmp_path / "cat.csv")
    with pytest.raises(CopyloopError, match="could not start.*model.gguf"):
        rewrite_catalog(src, CHANNELS, tmp_path / "out.jsonl", workers=1, quiet=True, engine="ray",
                        engine_factory="batch_engines:broken_engine", diversity=False)


def _cli(src: Path, out: Path, address: str) -> list[str]:
    return [sys.executable, "-c", "from copyloop.cli import main; main()", "batch", str(src), "--out", str(out),
            "--channels", ",".join(CHANNELS), "--workers", "2", "--engine", "ray", "--address", address,
            "--engine-factory", SCRIPTED, "--quiet", "--json", "--no-diversity", "--snapshot-seconds", "0"]


def _done(store: Path) -> int:
    import sqlite3

    if not store.exists():
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM results WHERE status = 'done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_kill_the_driver_then_resume(cluster: str, tmp_path: Path, logs: Path) -> None:
    """SIGKILL the `copyloop batch --engine ray --address ...` driver mid-run: its actors die with
    it, and the same command resumes with each (product, channel) in the output exactly once."""
    src = tmp_path / "cat.csv"
    src.write_text("id,title,category\n" + "".join(f"k{i},Lantern {i},Outdoor\n" for i in range(8)))
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, BATCH_TEST_SLEEP="1.0")
    proc = subprocess.Popen(_cli(src, out, cluster), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while _done(tmp_path / "out.jsonl.jobs.sqlite") < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else "driver exited"
            assert time.monotonic() < deadline, "the Ray batch never committed an item"
            time.sleep(0.2)
        actors = {int(line.split()[0]) for line in (logs / "engines.log").read_text().splitlines()}
        assert len(actors) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if proc.stderr:
            proc.stderr.close()
    finished = _done(tmp_path / "out.jsonl.jobs.sqlite")
    assert 3 <= finished < 16
    deadline = time.monotonic() + 30
    alive = actors
    while alive and time.monotonic() < deadline:
        alive = {p for p in actors if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
        time.sleep(0.5)
    assert not alive, "the killed driver's actors are still running"

    (logs / "calls.log").unlink()
    rerun = subprocess.run(_cli(src, out, cluster), env=dict(os.environ), capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == finished and summary["done"] == 16 - finished
    rows = read_output(out)
    keys = [(r.product_id, r.channel) for r in rows]
    assert keys == [(f"k{i}", c) for i in range(8) for c in CHANNELS]  # each exactly once, in catalog order
    redone = {tuple(line.split()[1:3]) for line in (logs / "calls.log").read_text().splitlines()}
    assert len(redone) == 16 - finished  # nothing finished before the kill was refined again
