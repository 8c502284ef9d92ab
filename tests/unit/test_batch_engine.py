"""rewrite_catalog through the real Engine and graph (FakeLLM, hash scorer, no retrieval store),
in-process and in two spawned workers, plus the shared Amazon catalog read as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyloop.batch import rewrite_catalog
from copyloop.batch_output import read_errors, read_output

FAKE = "batch_engines:fake_llm_engine"
CHANNELS = ["product_description", "amazon_bullet"]


@pytest.fixture()
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    monkeypatch.setenv("BATCH_TEST_LOG", str(tmp_path))
    src = tmp_path / "cat.jsonl"
    src.write_text(
        '{"id": "m1", "title": "Enamel Camping Mug", "category": "Outdoors", "facts": ["Holds hot drinks", "Light to carry"]}\n'
        '{"id": "m2", "title": "Wool Beanie", "category": "Clothing", "facts": ["Soft knit", "One size"]}\n'
        '{"id": "m3", "title": "Wooden Puzzle Box", "category": "Toys", "facts": ["Hidden drawer"]}\n'
        '{"id": "m4", "title": "", "category": "Toys"}\n'
    )
    return src


def test_real_engine_in_process_and_in_two_workers_agree(tmp_path: Path, catalog: Path) -> None:
    one = rewrite_catalog(catalog, CHANNELS, tmp_path / "one.csv", workers=1, quiet=True, engine_factory=FAKE)
    two = rewrite_catalog(catalog, CHANNELS, tmp_path / "two.jsonl", workers=2, quiet=True, engine_factory=FAKE)
    rows_one, rows_two = read_output(tmp_path / "one.csv"), read_output(tmp_path / "two.jsonl")
    assert [(r.product_id, r.channel) for r in rows_one] == [(p, c) for p in ("m1", "m2", "m3") for c in CHANNELS]
    # same seeds per item -> the same copy whatever the worker count (and CSV keeps it intact)
    assert [(r.product_id, r.channel, r.redrafted, r.text) for r in rows_one] == [
        (r.product_id, r.channel, r.redrafted, r.text) for r in rows_two
    ]
    assert [r.score for r in rows_one] == [r.score for r in rows_two]
    for r in rows_one:
        assert r.text and r.error is None and r.stop_reason and r.iterations >= 1
    bullets = [r for r in rows_one if r.channel == "amazon_bullet"]
    assert all(len(r.text.splitlines()) == 5 for r in bullets)
    for s in (one, two):
        assert (s.products, s.done, s.failed, s.bad_rows) == (3, 6, 0, 1)
        assert s.exit_code() == 1  # the row without a title was rejected
        assert s.diversity_before is not None and s.diversity_before.mean_similarity is not None
    [bad] = read_errors(one.errors_path)
    assert bad.row == 4 and "title" in bad.reason
    pids = [line.split()[0] for line in (tmp_path / "engines.log").read_text().splitlines()]
    assert len(pids) == 3 and len(set(pids)) == 3  # in-process, then one engine per worker process


def test_shared_amazon_catalog_dry_run_and_ids(tmp_path: Path, amazon_csv: Path) -> None:
    dry = rewrite_catalog(amazon_csv, CHANNELS, tmp_path / "a.jsonl", dry_run=True, quiet=True)
    assert dry.products > 500 and dry.items == 2 * dry.products and dry.pending == dry.items
    limited = rewrite_catalog(amazon_csv, CHANNELS, tmp_path / "a.jsonl", dry_run=True, limit=20, quiet=True)
    assert limited.products + limited.bad_rows == 20


def test_shared_amazon_rows_keep_uniq_id(tmp_path: Path, amazon_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    with amazon_csv.open(encoding="utf-8") as fh:
        first_ids = [row["uniq_id"] for _, row in zip(range(2), csv.DictReader(fh))]
    out = tmp_path / "a.jsonl"
    s = rewrite_catalog(amazon_csv, ["amazon_bullet"], out, workers=1, limit=2, quiet=True,
                        engine_factory=FAKE, diversity=False)
    assert [r.product_id for r in read_output(out)] == first_ids[: s.products]
