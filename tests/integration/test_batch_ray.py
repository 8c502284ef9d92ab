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
