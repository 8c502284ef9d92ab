"""Candidate sampling for fine-tuning, with the fake LLM: the cache makes an interrupted or
re-run sampling cheap, seeds do not depend on order, failures are recorded, and a time budget
stops drawing without losing what was drawn."""

from __future__ import annotations

import time
from pathlib import Path

from _refine_fakes import GOOD_DESC, PRODUCT, FakeStore

from copyloop.agents.drafter import Drafter
from copyloop.agents.llm import FakeLLM
from copyloop.tools.channels import ChannelRegistry
from copyloop.training.candidates import CandidateCache, cache_key, product_seed, sample_candidates

REG = ChannelRegistry()
OTHER = PRODUCT.model_copy(update={"id": "puzzle-2"})


def run(llm: FakeLLM, cache: CandidateCache, products=(PRODUCT, OTHER), **kw):  # noqa: ANN001, ANN003
    return sample_candidates(list(products), ["product_description"], drafter=Drafter(llm, attempts=1), registry=REG,
                             store=FakeStore(), cache=cache, n=2, seed=3, **kw)


def test_records_are_cached_and_a_rerun_draws_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    llm = FakeLLM(default=GOOD_DESC)
    records = run(llm, CandidateCache(path))
    assert [(r.product_id, len(r.candidates)) for r in records] == [("puzzle-1", 2), ("puzzle-2", 2)]
    assert records[0].exemplars and records[0].templates
    drawn = len(llm.history)
    again = run(llm, CandidateCache(path))  # a new process reading the same file
    assert len(llm.history) == drawn
    assert [r.to_json() for r in again] == [r.to_json() for r in records]


def test_seeds_come_from_the_product_id_not_its_position(tmp_path: Path) -> None:
    llm = FakeLLM(default=GOOD_DESC)
    run(llm, CandidateCache(tmp_path / "a.jsonl"), products=(OTHER,))
    alone = [c.seed for c in llm.history]
    llm2 = FakeLLM(default=GOOD_DESC)
    run(llm2, CandidateCache(tmp_path / "b.jsonl"), products=(PRODUCT, OTHER))
    assert [c.seed for c in llm2.history][-2:] == alone
    assert alone[0] == product_seed(3, "puzzle-2")


def test_a_killed_run_resumes_after_a_corrupt_last_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    run(FakeLLM(default=GOOD_DESC), CandidateCache(path), products=(PRODUCT,))
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"product_id": "puzzle-2", "chan')  # killed mid-write
    llm = FakeLLM(default=GOOD_DESC)
    records = run(llm, CandidateCache(path))
    assert [r.product_id for r in records] == ["puzzle-1", "puzzle-2"]
    assert {c.seed for c in llm.history} == {product_seed(3, "puzzle-2"), product_seed(3, "puzzle-2") + 1}


def test_garbage_is_recorded_as_an_error_not_raised(tmp_path: Path) -> None:
    [rec, _] = run(FakeLLM(default=""), CandidateCache(tmp_path / "c.jsonl"))
    assert rec.candidates == [] and "no usable" in (rec.error or "")


def test_a_passed_deadline_draws_nothing_new_but_keeps_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    run(FakeLLM(default=GOOD_DESC), CandidateCache(path), products=(PRODUCT,))
    llm = FakeLLM(default=GOOD_DESC)
    ticks: list[int] = []
    records = run(llm, CandidateCache(path), deadline=time.time() - 1, progress=ticks.append)
    assert [r.product_id for r in records] == ["puzzle-1"] and llm.history == []
    assert len(ticks) == 2  # the progress bar still reaches its total


def test_cache_key_changes_with_what_changes_the_draws(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 10)
    base = cache_key(model_path=model, n=4, seed=0)
    assert base == cache_key(model_path=model, n=4, seed=0)
    assert len({base, cache_key(model_path=model, n=3, seed=0), cache_key(model_path=model, n=4, seed=1)}) == 3
