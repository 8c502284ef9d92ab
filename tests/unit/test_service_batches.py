"""Batch jobs through the HTTP API: upload, background run in a child process, progress, downloads,
resume after the service stops mid-job.

The child runs the real ``rewrite_catalog`` with the scripted batch engine
(``tests/unit/batch_engines.py``: instant, logs every refine call), so these tests measure the
service's plumbing — ledger, supervisor, child process, job store, files — not a model.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from service_client import AUTH, make_client

HERE = Path(__file__).resolve().parent


@pytest.fixture()
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Batch children build the scripted engine and log their calls to the returned folder."""
    log = tmp_path / "calls"
    log.mkdir()
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", "batch_engines:scripted_engine")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("BATCH_TEST_LOG", str(log))
    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    return log


def _catalog(n: int, bad: bool = True) -> bytes:
    rows = [f"p{i},Garden Hose Reel {i},Home | Garden,$1{i}.99,Winds neatly | Steel frame" for i in range(1, n + 1)]
    if bad:
        rows.insert(1, "p-bad,,Home,,no title here")
    return ("id,title,category,price,facts\n" + "\n".join(rows) + "\n").encode()


def _wait(c, bid: str, until: tuple[str, ...], timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = c.get(f"/v1/batches/{bid}", headers=AUTH).json()
        if status["status"] in until:
            return status
        time.sleep(0.2)
    raise AssertionError(f"batch {bid} still {status['status']} after {timeout} s: {status}")


def _calls(log: Path) -> Counter[str]:
    path = log / "calls.log"
    return Counter(line.split(" ", 1)[1].strip() for line in path.read_text().splitlines()) if path.exists() else Counter()


def test_batch_runs_in_the_background_and_its_files_download(tmp_path: Path, scripted: Path) -> None:
    with make_client(tmp_path / "home") as c:
        r = c.post("/v1/batches", headers=AUTH, files={"file": ("shop.csv", _catalog(4), "text/csv")},
                   data={"channels": "product_description,amazon_bullet", "diversity": "false"})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("queued", "running") and job["items"] == 8 and job["products"] == 4
        done = _wait(c, job["id"], ("done", "failed"))
        assert done["status"] == "done", done
        assert done["progress"] == 1.0 and done["done"] == 8 and done["failed"] == 0 and done["runs"] == 1
        assert done["summary"]["bad_rows"] == 1 and done["results_ready"]

        results = c.get(f"/v1/batches/{job['id']}/results", headers=AUTH)
        assert results.status_code == 200 and "attachment" in results.headers["content-disposition"]
        rows = [json.loads(line) for line in results.text.splitlines()]
        assert len(rows) == 8 and {r["channel"] for r in rows} == {"product_description", "amazon_bullet"}
        errors = [json.loads(line) for line in c.get(f"/v1/batches/{job['id']}/errors", headers=AUTH).text.splitlines()]
        assert [e["kind"] for e in errors] == ["input"] and "title" in errors[0]["reason"]

        # the same catalog again, by id, for another channel and as CSV
        r = c.post("/v1/batches", headers=AUTH, data={"catalog_id": job["catalog_id"], "channels": "sms", "output_format": "csv",
                                                     "diversity": "false"})
        assert r.status_code == 202
        second = _wait(c, r.json()["id"], ("done", "failed"))
        assert second["status"] == "done" and second["items"] == 4
        assert c.get(f"/v1/batches/{second['id']}/results", headers=AUTH).text.startswith("product_id,")
        listed = c.get("/v1/batches", headers=AUTH).json()
        assert {b["id"] for b in listed} == {job["id"], second["id"]}
    assert sum(_calls(scripted).values()) == 12  # one refine per item, nothing twice


@pytest.mark.parametrize(
    "data, files, message",
    [
        ({"channels": "product_description"}, None, "send a catalog file"),
        ({"channels": "tiktok"}, {"file": ("c.csv", b"title\nBoard\n", "text/csv")}, "Unknown channel"),
        ({"channels": "sms", "catalog_id": "0" * 32}, None, "no catalog"),
        ({"channels": "sms", "output_format": "xlsx"}, {"file": ("c.csv", b"title\nBoard\n", "text/csv")}, "output_format"),
        ({"channels": "sms"}, {"file": ("c.csv", b"name\nBoard\n", "text/csv")}, "column"),
    ],
)
def test_bad_batch_requests_are_4xx(tmp_path: Path, data: dict, files: dict | None, message: str) -> None:
    with make_client(tmp_path) as c:
        r = c.post("/v1/batches", headers=AUTH, data=data, files=files)
        assert 400 <= r.status_code < 500, r.text
        assert message in r.text
        assert c.get("/v1/batches/" + "f" * 32, headers=AUTH).status_code == 404


def test_a_job_cut_off_by_a_stop_resumes_on_the_next_start(tmp_path: Path, scripted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TEST_SLEEP", "0.4")
    home = tmp_path / "home"
    with make_client(home) as c:
        r = c.post("/v1/batches", headers=AUTH, files={"file": ("shop.csv", _catalog(10, bad=False), "text/csv")},
                   data={"channels": "product_description", "diversity": "false"})
        bid = r.json()["id"]
        deadline = time.monotonic() + 60
        while c.get(f"/v1/batches/{bid}", headers=AUTH).json()["done"] < 3:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.2)
    # the service stopped (its child was terminated) with the job unfinished
    before = _calls(scripted)
    assert 3 <= sum(before.values()) < 10
    monkeypatch.setenv("BATCH_TEST_SLEEP", "0")
    with make_client(home) as c:
        done = _wait(c, bid, ("done", "failed"))
        assert done["status"] == "done" and done["runs"] == 2 and done["done"] == 10
        rows = c.get(f"/v1/batches/{bid}/results", headers=AUTH).text.splitlines()
        assert len(rows) == 10
    after = _calls(scripted)
    redone = [k for k, n in after.items() if n > 1]
    assert len(redone) <= 1, f"finished items were drafted again: {redone}"  # at most the one in flight
    assert len(after) == 10
