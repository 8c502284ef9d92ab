"""The realize task of ``copyloop finetune``: prompts, judging, targets and examples (no model)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from copyloop.agents.llm import FakeLLM
from copyloop.tools.plan import PlanFact
from copyloop.tools.schemas import ProductBrief
from copyloop.training.finetune_realize import (
    PromptGroup,
    RealizePrompt,
    SampleCache,
    choose_targets,
    draw_samples,
    judge,
    prompts_for,
    reason_class,
    training_examples,
)

SAMPLES = [ProductBrief(**p) for p in json.loads(resources.files("copyloop").joinpath("data/sample_products.json").read_text())]
MONITOR = SAMPLES[4]
FACT = PlanFact(text="Works without Wi-Fi")


class _Scored:
    def __init__(self, score: float) -> None:
        self.score = score


class FakeScorer:
    """Longer texts 'appeal' more: enough to tell which option won."""

    def score(self, texts: list[str], channel: str | None = None) -> list[_Scored]:
        return [_Scored(min(1.0, len(t) / 100)) for t in texts]


class FakeEmbedder:
    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = np.array([[len(t), t.count(" ") + 1.0] for t in texts], dtype=np.float32)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_prompts_are_the_planned_facts_and_one_headline_with_fixed_seeds() -> None:
    prompts = prompts_for(MONITOR, seed=0)
    assert [p.kind for p in prompts].count("headline") == 1 and prompts[-1].kind == "headline"
    assert 3 <= len(prompts) - 1 <= 5
    assert [p.seed for p in prompts] == [p.seed for p in prompts_for(MONITOR, seed=0)]


def test_judging_keeps_what_serving_keeps_and_targets_fall_back_to_the_rule() -> None:
    prompt = RealizePrompt(str(MONITOR.id), "fact", FACT, 1)
    raw = ["The monitor works without Wi-Fi.", "It works well.", "Works without Wi-Fi"]
    g = judge(MONITOR, prompt, raw)
    assert g.passed == ["The monitor works without Wi-Fi."]  # the echo is neither kept nor rejected
    assert len(g.rejected) == 1 and reason_class(g.rejected[0][1]) == "keeps too little of the fact"
    none_passed = judge(MONITOR, prompt, ["It works well."])
    choose_targets([g, none_passed], FakeScorer(), FakeEmbedder(), lam=0.3)
    assert (g.target, g.source) == ("The monitor works without Wi-Fi.", "llm") and g.reward > 0
    assert none_passed.source == "rule" and "Wi-Fi" in none_passed.target

    sft, pairs = training_examples([g, none_passed], render=lambda grp: "PROMPT " + grp.prompt.fact.text)
    assert [e.completion for e in sft] == [g.target, none_passed.target]
    assert abs(sum(e.weight for e in sft) / len(sft) - 1.0) < 1e-9
    assert [(p.chosen, p.rejected) for p in pairs] == [(g.target, "It works well."), (none_passed.target, "It works well.")]


def test_samples_are_drawn_through_the_serving_request_and_cached(tmp_path: Path) -> None:
    llm = FakeLLM(default="The monitor works without Wi-Fi.")
    prompt = RealizePrompt(str(MONITOR.id), "fact", FACT, 7)
    assert draw_samples(llm, MONITOR, prompt, 3) == ["The monitor works without Wi-Fi."] * 3
    call = llm.history[-1]
    assert (call.n, call.seed, call.grammar is not None) == (3, 7, True) and "Wi-Fi" in call.messages[-1]["content"]
    cache = SampleCache(tmp_path / "s.jsonl")
    cache.put(prompt.key, ["a", "b"])
    assert SampleCache(tmp_path / "s.jsonl").get(prompt.key) == ["a", "b"]
    assert isinstance(PromptGroup(MONITOR, prompt).passed, list)
