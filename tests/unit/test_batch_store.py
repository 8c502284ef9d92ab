"""Job store and batch output files: durability, round-trips, atomic replacement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copyloop.batch.output import (
    ErrorRow,
    OutputRow,
    atomic_write_bytes,
    check_output_path,
    exclusive_lock,
    read_errors,
    read_output,
    sidecar,
    write_errors,
    write_output,
)
from copyloop.errors import InputError
from copyloop.batch.jobstore import JobStore, StoredResult

ROWS = [
    OutputRow(product_id="p1", channel="product_description", text='Line one, with "quotes"\nand a second line; ok',
              score=0.61, passed=True, stop_reason="threshold_met", iterations=2, first_draft_score=0.4,
              open_critiques=[], redrafted=False, seconds=1.5),
    OutputRow(product_id="p1", channel="amazon_bullet", text="Bullet one\nBullet two", score=0.3, passed=False,
              stop_reason="max_iterations", iterations=3, open_critiques=["cta", "sentiment"], redrafted=True, seconds=2.0),
    OutputRow(product_id="p,2 ü", channel="product_description", error="LLMOutputError: nothing usable", seconds=0.2),
]


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_output_round_trip(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    write_output(out, ROWS)
    assert read_output(out) == ROWS


def test_empty_output_round_trip(tmp_path: Path) -> None:
    for ext in (".jsonl", ".csv"):
        out = tmp_path / f"empty{ext}"
        write_output(out, [])
        assert read_output(out) == []


def test_errors_round_trip_and_sidecar_names(tmp_path: Path) -> None:
    out = tmp_path / "cat.csv"
    path = sidecar(out, "errors.jsonl")
    assert path.name == "cat.csv.errors.jsonl"
    errs = [ErrorRow(row=3, product_id="x", kind="input", reason="missing title"),
            ErrorRow(row=9, product_id="y", channel="sms", kind="refine", reason="boom")]
    write_errors(path, errs)
    assert read_errors(path) == errs


def test_bad_output_extension() -> None:
    with pytest.raises(InputError, match="must end in"):
        check_output_path(Path("out.txt"))


def test_atomic_write_never_leaves_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "o.jsonl"
    atomic_write_bytes(target, b"old complete\n")

    def boom(fd: int) -> None:
        raise OSError("disk died")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new but never synced\n")
    monkeypatch.undo()
    assert target.read_bytes() == b"old complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"]  # temp file cleaned up


def test_lock_is_exclusive(tmp_path: Path) -> None:
    lock = tmp_path / "o.jsonl.lock"
    with exclusive_lock(lock):
        with pytest.raises(InputError, match="already writing"):
            with exclusive_lock(lock):
                pass
    with exclusive_lock(lock):  # released again
        pass


def test_job_store_records_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    with JobStore(path) as store:
        assert store.journal_mode() == "wal"
        store.register_job("j1", "in.csv", ["a", "b"], {"seed": 0})
        store.record("j1", StoredResult("p1", "a", "draft", "h1", "failed", row=1, error="boom"))
        store.record("j1", StoredResult("p1", "a", "draft", "h1", "done", row=1, text="t", score=0.5,
                                        passed=True, extra={"k": [1]}))
        store.record("j2", StoredResult("p1", "a", "draft", "h1", "done", text="other job"))
    with JobStore(path) as store:  # reopened: everything committed
        got = store.result_map("j1", "draft")
        assert list(got) == [("p1", "a")]
        r = got[("p1", "a")]
        assert (r.status, r.text, r.passed, r.extra) == ("done", "t", True, {"k": [1]})
        assert store.count("j1") == 1 and store.count("j2") == 1
        assert store.result_map("j1", "diversity") == {}
        assert store.jobs()[0]["channels"] == ["a", "b"]


def test_progress_columns_use_the_phase_average() -> None:
    from rich.progress import Progress

    from copyloop.batch.progress import EtaColumn, ItemsPerSecondColumn

    progress = Progress()
    tid = progress.add_task("x", total=10)
    task = progress.tasks[0]
    assert str(ItemsPerSecondColumn().render(task)) == "? items/s"
    assert str(EtaColumn().render(task)) == "ETA -:--:--"
    progress.start_task(tid)
    task.start_time = progress.get_time() - 600.0  # ten minutes in, five items done
    progress.update(tid, completed=5)
    assert str(ItemsPerSecondColumn().render(task)).startswith("0.50 items/min")
    assert str(EtaColumn().render(task)) in ("ETA 0:10:00", "ETA 0:09:59")
