"""rewrite_catalog through the real Engine and graph (FakeLLM, hash scorer, no retrieval store)
in this process and in two spawned worker processes: same copy, one engine per process.

Integration because each spawned worker imports torch and loads MiniLM (tens of seconds on a
busy 2-core machine); the batch plumbing with workers 1 and 2 is unit-tested with a scripted
engine in tests/unit/test_batch.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from copyloop.batch import rewrite_catalog
from copyloop.batch.output import read_errors, read_output

pytestmark = [pytest.mark.integration, pytest.mark.llama]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # batch_engines, for spawned workers too

FAKE = "batch_engines:fake_llm_engine"
CHANNELS = ["product_description", "amazon_bullet"]


@pytest.fixture()
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BATCH_TEST_SLEEP", raising=False)
    monkeypatch.setenv("BATCH_TEST_LOG", str(tmp_path))
    src = tmp_path / "cat.jsonl"
    src.write_text(
        '{"id": "m1", "title": "Enamel Camping Mug", "category": "Outdoors", "facts": ["Holds hot drinks", "Light to carry",'
        ' "Enamel coating over steel", "Holds 12 ounces", "Rolled rim for easy sipping"]}\n'
        '{"id": "m2", "title": "Wool Beanie", "category": "Clothing", "facts": ["Soft knit", "One size fits most",'
        ' "Made of merino wool", "Folded cuff", "Machine washable on a wool cycle"]}\n'
        '{"id": "m3", "title": "Wooden Puzzle Box", "category": "Toys", "facts": ["Hidden drawer", "Made of walnut",'
        ' "Opens in 10 moves", "Measures 4 x 3 x 2 inches", "Includes a solution card"]}\n'
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
    assert all(3 <= len(r.text.splitlines()) <= 5 for r in bullets), [r.text for r in bullets]
    for s in (one, two):
        assert (s.products, s.done, s.failed, s.bad_rows) == (3, 6, 0, 1)
        assert s.exit_code() == 1  # the row without a title was rejected
        assert s.diversity_before is not None and s.diversity_before.mean_similarity is not None
    [bad] = read_errors(one.errors_path)
    assert bad.row == 4 and "title" in bad.reason
    pids = [line.split()[0] for line in (tmp_path / "engines.log").read_text().splitlines()]
    assert len(pids) == 3 and len(set(pids)) == 3  # in-process, then one engine per worker process


