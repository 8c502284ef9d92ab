"""bench/realizer.py counts what FactRealizer keeps and why it drops the rest (FakeLLM, no model)."""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path

from copyloop.agents.llm import FakeLLM
from copyloop.agents.realizer import FactRealizer
from copyloop.tools.plan import PlanFact
from copyloop.tools.schemas import ProductBrief

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_realizer", ROOT / "bench" / "realizer.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_realizer"] = bench  # dataclasses look their module up
_spec.loader.exec_module(bench)  # type: ignore[union-attr]

SAMPLES = [ProductBrief(**p) for p in json.loads(resources.files("copyloop").joinpath("data/sample_products.json").read_text())]
MONITOR = SAMPLES[4]


def test_judging_agrees_with_what_the_realizer_keeps() -> None:
    fact = PlanFact(text="Works without Wi-Fi")
    raw = ["The monitor works without Wi-Fi.", "It works well.", "Works without Wi-Fi", "It is not without Wi-Fi."]
    kept = FactRealizer(FakeLLM().enqueue(*raw), samples=len(raw)).realize(MONITOR, "Video Baby Monitor", fact, seed=0)
    judged = bench.judge_fact_samples(raw, fact, MONITOR, "Video Baby Monitor")
    assert [s for s, problem in judged if not problem] == kept == ["The monitor works without Wi-Fi."]
    assert judged[2][1] == bench.ECHO and judged[3][1] == "changes a negation"

    tally = bench.Tally()
    tally.add(judged, seconds=2.0)
    figures = tally.figures()
    assert (figures["samples"], figures["acceptance"], figures["usable"], figures["prompts_with_usable"]) == (4, 0.5, 0.25, 1.0)
    assert figures["rejections"] == {"keeps too little of the fact": 1, bench.ECHO: 1, "changes a negation": 1}
    assert figures["seconds_per_sample"] == 0.5


def test_run_products_samples_planned_facts_and_a_headline() -> None:
    llm = FakeLLM(default="It works without Wi-Fi.")
    tallies = bench.run_products(llm, [MONITOR], facts=3, samples=2, seed=0)
    body, top = bench.planned(MONITOR, 3)
    assert tallies["fact"].prompts == len(body) and tallies["fact"].samples == 2 * len(body)
    assert tallies["headline"].prompts == (1 if top else 0)
    assert len(llm.history) == len(body) + tallies["headline"].prompts
