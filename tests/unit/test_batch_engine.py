"""rewrite_catalog on the shared Amazon catalog as it is (dry run; a tiny run through the real
Engine and graph with a FakeLLM). The two-worker real-graph run is in
tests/integration/test_batch_workers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyloop.batch import rewrite_catalog
from copyloop.batch.output import read_output

FAKE = "batch_engines:fake_llm_engine"
CHANNELS = ["product_description", "amazon_bullet"]


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
