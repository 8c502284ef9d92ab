"""rewrite_catalog plumbing with a scripted engine: output, resume, bad rows, failures, workers.

The scripted engine (tests/unit/batch_engines.py) answers at once, so these tests exercise the
batch itself — job store, resume rules, worker pool, crash isolation, files — in seconds. The
FakeLLM-backed real Engine runs in test_batch_engine.py.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from copyloop.batch import BatchSummary, item_seed, rewrite_catalog, worker_threads
from copyloop.batch.output import read_errors, read_output
from copyloop.errors import InputError, UnknownChannelError
from copyloop.batch.jobstore import JobStore
from copyloop.settings import Settings

SCRIPTED = "batch_engines:scripted_engine"
CHANNELS = ["product_description", "amazon_bullet"]
HEADER = "id,title,category,price,facts\n"


def _catalog(tmp_path: Path, rows: list[str], name: str = "cat.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _good_rows(n: int, start: int = 1) -> list[str]:
    return [f"p{i},Garden Hose Reel {i},Home | Garden,$1{i}.99,Winds neatly | Steel frame" for i in range(start, start + n)]


@pytest.fixture()
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "engine_log"
    folder.mkdir()
    monkeypatch.setenv("BATCH_TEST_LOG", str(folder))
    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    return folder


def _calls(log_dir: Path) -> Counter[str]:
    path = log_dir / "calls.log"
    if not path.exists():
        return Counter()
    return Counter(line.split(" ", 1)[1].strip() for line in path.read_text().splitlines())


def _engines(log_dir: Path) -> list[str]:
    path = log_dir / "engines.log"
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def run(source: Path, out: Path, **kw) -> BatchSummary:
    kw.setdefault("workers", 1)
    kw.setdefault("quiet", True)
    kw.setdefault("engine_factory", SCRIPTED)
    kw.setdefault("diversity", False)
    return rewrite_catalog(source, kw.pop("channels", CHANNELS), out, **kw)


def test_one_row_per_product_and_channel_in_input_order(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(3))
    out = tmp_path / "out.jsonl"
    s = run(src, out)
    rows = read_output(out)
    assert [(r.product_id, r.channel) for r in rows] == [(f"p{i}", c) for i in (1, 2, 3) for c in CHANNELS]
    assert all(r.text and r.text.startswith("Garden Hose Reel") and r.error is None for r in rows)
    assert all(r.stop_reason in ("threshold_met", "max_iterations") and r.iterations == 2 for r in rows)
    assert rows[0].open_critiques == ["sentiment"] and rows[0].first_draft_score is not None
    assert (s.products, s.items, s.done, s.skipped, s.failed, s.bad_rows) == (3, 6, 6, 0, 0, 0)
    assert s.exit_code() == 0
    assert s.mean_score == pytest.approx(sum(r.score for r in rows) / 6, abs=1e-3)
    assert s.pass_rate == pytest.approx(sum(r.passed for r in rows) / 6, abs=1e-3)
    assert s.items_per_second and s.items_per_second > 0
    assert read_errors(s.errors_path) == []
    assert s.store_path == tmp_path / "out.jsonl.jobs.sqlite"
    with JobStore(s.store_path) as store:
        assert store.journal_mode() == "wal"
        assert store.count(s.job_id, "done") == 6


def test_rerun_skips_finished_work_and_limit_extends_it(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(4))
    out = tmp_path / "out.jsonl"
    first = run(src, out, limit=2)
    assert (first.products, first.done) == (2, 4)
    assert len(read_output(out)) == 4
    second = run(src, out)
    assert (second.done, second.skipped) == (4, 4)
    third = run(src, out)
    assert (third.done, third.skipped) == (0, 8)
    assert third.items_per_second is None
    assert max(_calls(log_dir).values()) == 1  # no item was ever refined twice
    assert len(read_output(out)) == 8
    assert first.job_id == second.job_id == third.job_id


def test_edited_row_is_redone_and_other_jobs_do_not_reuse_results(tmp_path: Path, log_dir: Path) -> None:
    rows = _good_rows(3)
    src = _catalog(tmp_path, rows)
    out = tmp_path / "out.csv"
    base = run(src, out)
    rows[1] = rows[1].replace("Garden Hose Reel 2", "Garden Hose Reel Two")
    _catalog(tmp_path, rows)
    again = run(src, out)
    assert (again.done, again.skipped) == (2, 4)
    assert again.job_id == base.job_id
    assert [r.text.split(":")[0] for r in read_output(out)][2:4] == ["Garden Hose Reel Two"] * 2
    # another seed or another channel set is another job: nothing reused
    assert run(src, out, seed=7).done == 6
    other = run(src, out, channels=["product_description"])
    assert other.done == 3 and other.job_id != base.job_id
    assert [r.channel for r in read_output(out)] == ["product_description"] * 3


def test_resume_with_other_worker_count_reuses_results() -> None:
    # threads are excluded from the job id, so workers=1 then workers=2 is the same job
    from copyloop.batch import job_fingerprint

    a = job_fingerprint(Path("x.csv"), ["b", "a"], Settings(llm={"n_threads": 1}), None, 0, SCRIPTED)[0]
    b = job_fingerprint(Path("x.csv"), ["a", "b"], Settings(llm={"n_threads": 2}), None, 0, SCRIPTED)[0]
    c = job_fingerprint(Path("x.csv"), ["a", "b"], Settings(refine={"threshold": 0.7}), None, 0, SCRIPTED)[0]
    assert a == b != c


def test_bad_rows_are_reported_and_skipped(tmp_path: Path, log_dir: Path) -> None:
    big = "x" * 1_000_000
    content = (
        HEADER
        + "p1,Good One,Toys,$5,Soft\n"
        + "p2,,Toys,$5,no title here\n"  # missing title
        + "p1,Duplicate Of One,Toys,$5,Soft\n"  # duplicate id
        + 'p3,"Unclosed quote,Toys,$5,Soft\n'  # malformed CSV from here to the end of file?
    )
    src = tmp_path / "bad.csv"
    src.write_bytes(
        content.encode()
        + "p4,Caf\xe9 Mug,Kitchen,$9,Holds tea\n".encode("latin-1")  # non-UTF-8 byte
        + f"p5,Huge Field Lamp,Home,$20,{big}\n".encode()
        + b"p6,Fine Lamp,Home,$20,Bright\n"
    )
    out = tmp_path / "out.jsonl"
    s = run(src, out, channels=["product_description"])
    errors = read_errors(s.errors_path)
    by_row = {e.row: e for e in errors}
    assert 2 in by_row and "title" in by_row[2].reason
    assert 3 in by_row and "duplicate" in by_row[3].reason
    assert all(e.kind == "input" for e in errors)
    done = {r.product_id for r in read_output(out)}
    assert "p1" in done and "p2" not in done
    assert s.bad_rows == len(errors) >= 2
    assert s.products == len(done)
    assert s.exit_code() == 1
    assert s.bad_row_examples and s.bad_row_examples[0].row == 2


def test_non_utf8_and_megabyte_fields_do_not_stop_the_batch(tmp_path: Path, log_dir: Path) -> None:
    src = tmp_path / "odd.csv"
    src.write_bytes(
        HEADER.encode()
        + "p4,Caf\xe9 Mug,Kitchen,$9,Holds tea\n".encode("latin-1")
        + f"p5,Huge Field Lamp,Home,$20,{'y' * 1_000_000}\n".encode()
        + b"p6,Fine Lamp,Home,$20,Bright\n"
    )
    out = tmp_path / "out.jsonl"
    s = run(src, out, channels=["product_description"])
    assert {r.product_id for r in read_output(out)} | {e.product_id for e in read_errors(s.errors_path)} >= {"p4", "p5", "p6"}
    assert "p6" in {r.product_id for r in read_output(out)}


def test_failed_item_is_an_error_row_and_is_retried_on_rerun(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(2) + ["p9,Broken FAIL Thing,Toys,$1,Nothing"])
    out = tmp_path / "out.jsonl"
    s = run(src, out)
    assert (s.done, s.failed) == (4, 2)
    assert s.exit_code() == 1
    failed = [r for r in read_output(out) if r.error]
    assert [(r.product_id, r.channel) for r in failed] == [("p9", c) for c in CHANNELS]
    assert all("InputError" in r.error and r.text is None for r in failed)
    errs = read_errors(s.errors_path)
    assert [(e.row, e.kind, e.channel) for e in errs] == [(3, "refine", "amazon_bullet"), (3, "refine", "product_description")]
    again = run(src, out)
    assert (again.done, again.skipped, again.failed) == (0, 4, 2)  # failures are retried, finished work is not
    assert _calls(log_dir)["p9 product_description draft"] == 2


def test_transient_failure_is_retried(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, ["f1,FLAKY Kettle,Kitchen,$30,Boils fast"])
    out = tmp_path / "out.jsonl"
    s = run(src, out, channels=["product_description"])
    assert (s.done, s.failed) == (1, 0)
    with JobStore(s.store_path) as store:
        assert store.result_map(s.job_id, "draft")[("f1", "product_description")].attempts == 2


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d / "missing.csv", "does not exist"),
        (lambda d: _file(d / "empty.csv", ""), "empty"),
        (lambda d: _file(d / "header.csv", HEADER), "no"),
    ],
)
def test_whole_input_problems_raise(tmp_path: Path, log_dir: Path, make, match: str) -> None:
    with pytest.raises(InputError, match=match):
        run(make(tmp_path), tmp_path / "out.jsonl")
    assert _engines(log_dir) == []


def test_usage_errors_raise(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(1))
    with pytest.raises(UnknownChannelError, match="Known channels"):
        run(src, tmp_path / "o.jsonl", channels=["tiktok_dance"])
    with pytest.raises(InputError, match="must end in"):
        run(src, tmp_path / "o.txt")
    with pytest.raises(InputError, match="not found"):
        run(src, tmp_path / "o.jsonl", columns={"title": "product_nme"})
    with pytest.raises(InputError, match="unknown column key"):
        run(src, tmp_path / "o.jsonl", columns={"colour": "x"})


def test_column_mapping(tmp_path: Path, log_dir: Path) -> None:
    src = tmp_path / "own.csv"
    src.write_text("sku,name,notes\nA1,Blue Teapot,Holds four cups\nA2,Red Teapot,Holds two cups\n")
    out = tmp_path / "o.jsonl"
    s = run(src, out, channels=["product_description"], columns={"id": "sku", "title": "name", "facts": "notes"})
    assert [r.product_id for r in read_output(out)] == ["A1", "A2"] and s.exit_code() == 0


def test_dry_run_loads_no_engine_and_counts(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(3) + ["p2,Duplicate,Toys,$1,x"])
    out = tmp_path / "out.jsonl"
    dry = run(src, out, dry_run=True)
    assert (dry.products, dry.items, dry.pending, dry.bad_rows, dry.skipped) == (3, 6, 6, 1, 0)
    assert not out.exists() and not dry.store_path.exists()
    assert _engines(log_dir) == []
    run(src, out, limit=1)
    assert run(src, out, dry_run=True).skipped == 2


def test_workers_two_match_workers_one(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(5))
    one = run(src, tmp_path / "one.jsonl")
    two = run(src, tmp_path / "two.jsonl", workers=2)
    strip = lambda rows: [r.model_dump(exclude={"seconds"}) for r in rows]  # noqa: E731
    assert strip(read_output(one.output)) == strip(read_output(two.output))
    assert two.workers == 2 and two.done == 10
    pids = _engines(log_dir)
    assert pids[0] == str(os.getpid())  # workers=1 builds its engine in-process
    assert len(pids) == 3 and len(set(pids[1:])) == 2 and str(os.getpid()) not in pids[1:]


def test_a_worker_crash_fails_only_the_culprit(tmp_path: Path, log_dir: Path) -> None:
    src = _catalog(tmp_path, _good_rows(3) + ["c1,CRASH Toaster,Kitchen,$9,Pops"])
    s = run(src, tmp_path / "out.jsonl", workers=2, channels=["product_description"])
    rows = {r.product_id: r for r in read_output(s.output)}
    assert rows["c1"].error and "worker process died" in rows["c1"].error
    assert all(rows[f"p{i}"].text for i in (1, 2, 3))
    assert (s.done, s.failed) == (3, 1)


@pytest.mark.parametrize("workers", [1, 2])
def test_missing_model_aborts_the_batch_with_the_reason(tmp_path: Path, log_dir: Path, workers: int) -> None:
    from copyloop.errors import CopyloopError

    src = _catalog(tmp_path, _good_rows(2))
    with pytest.raises(CopyloopError, match="does not exist: /nowhere/model.gguf"):
        run(src, tmp_path / "out.jsonl", workers=workers, engine_factory="batch_engines:broken_engine")
    with JobStore(tmp_path / "out.jsonl.jobs.sqlite") as store:
        assert [j["job_id"] for j in store.jobs()] and sum(store.count(j["job_id"]) for j in store.jobs()) == 0


def test_diversity_pass_redrafts_template_copy(tmp_path: Path, log_dir: Path) -> None:
    rows = [f"t{i},TEMPLATE Gadget {i},Toys,$5,Fun" for i in range(1, 5)] + _good_rows(2)
    src = _catalog(tmp_path, rows)
    out = tmp_path / "out.jsonl"
    s = run(src, out, channels=["product_description"], diversity=True)
    before, after = s.diversity_before, s.diversity_after
    assert before is not None and after is not None
    assert before.near_duplicates >= 3 and after.near_duplicates < before.near_duplicates
    assert after.mean_similarity < before.mean_similarity
    got = {r.product_id: r for r in read_output(out)}
    assert not got["t1"].redrafted  # the first of the cluster keeps its copy
    assert all(got[f"t{i}"].redrafted for i in (2, 3, 4))
    assert s.redrafted >= 3 and s.redraft_attempts >= s.redrafted
    calls = _calls(log_dir)
    # the re-run reuses the re-drafts too
    again = run(src, out, channels=["product_description"], diversity=True)
    assert again.redrafted == s.redrafted and again.redraft_attempts == 0 and _calls(log_dir) == calls


def test_item_seed_and_threads() -> None:
    assert item_seed(0, "a", "sms") == item_seed(0, "a", "sms") != item_seed(0, "b", "sms")
    assert item_seed(1, "a", "sms") != item_seed(0, "a", "sms")
    assert worker_threads(2, cores=2) == 1 and worker_threads(1, cores=2) == 1 and worker_threads(8, cores=2) == 1
    assert worker_threads(1, cores=8) == 4 and worker_threads(2, cores=8) == 4 and worker_threads(8, cores=8) == 1


def test_cli_exit_codes_and_json(tmp_path: Path, log_dir: Path) -> None:
    from typer.testing import CliRunner

    from copyloop.cli import app

    src = _catalog(tmp_path, _good_rows(2))
    out = tmp_path / "out.jsonl"
    cli = CliRunner()
    base = ["batch", str(src), "--out", str(out), "--workers", "1", "--engine-factory", SCRIPTED, "--no-diversity", "-q"]
    res = cli.invoke(app, base + ["--channels", "product_description,amazon_bullet", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["done"] == 4
    res = cli.invoke(app, base + ["--dry-run"])
    assert res.exit_code == 0 and "would run" in res.stdout
    assert cli.invoke(app, ["batch", str(tmp_path / "nope.csv"), "--out", str(out)]).exit_code == 2
    assert cli.invoke(app, base + ["--channels", "nope"]).exit_code == 2
    assert cli.invoke(app, base + ["--column", "title"]).exit_code == 2
    bad = _catalog(tmp_path, _good_rows(1) + ["p1,Dup,Toys,$1,x"], name="dup.csv")
    res = cli.invoke(app, ["batch", str(bad), "--out", str(tmp_path / "d.csv"), "-w", "1", "--engine-factory", SCRIPTED,
                           "--no-diversity", "-q"])
    assert res.exit_code == 1 and "duplicate" in res.stdout
