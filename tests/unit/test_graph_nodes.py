"""Single nodes of the refinement graph, run through ``compiled.nodes[name]``."""

from __future__ import annotations

from typing import Any

import pytest
from _refine_fakes import ALL_INVENTED, GOOD_DESC, ONE_INVENTED, PRODUCT, FakeScorer, FakeStore
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime

from copyloop.agents.drafter import Drafter
from copyloop.agents.llm import FakeLLM
from copyloop.graph.build import build_graph, is_transient
from copyloop.graph.context import RunContext
from copyloop.graph.state import Judged, State
from copyloop.tools.channels import ChannelRegistry
from copyloop.tools.schemas import Critique, Draft

# How LangGraph hands a node its Runtime outside a full run (langgraph's CONFIG_KEY_RUNTIME).
RUNTIME_KEY = "__pregel_runtime"


@pytest.fixture(scope="module")
def compiled() -> Any:
    return build_graph(checkpointer=InMemorySaver())


def ctx(store: Any = None, scorer: Any = None, llm: FakeLLM | None = None) -> RunContext:
    return RunContext(
        drafter=Drafter(llm or FakeLLM(default=GOOD_DESC)),
        scorer=scorer or FakeScorer(0.7),
        channels=ChannelRegistry(),
        store=store,
        embedder=None,
    )


def call(compiled: Any, name: str, value: Any, context: RunContext) -> dict[str, Any]:
    return compiled.nodes[name].invoke(value, {"configurable": {RUNTIME_KEY: Runtime(context=context)}})


def test_retrieve_without_a_store_drafts_without_exemplars(compiled: Any) -> None:
    assert call(compiled, "retrieve", State(product=PRODUCT), ctx(store=None)) == {"exemplars": []}


def test_retrieve_returns_exemplar_texts(compiled: Any) -> None:
    store = FakeStore(texts=["A", "B", "  "])
    out = call(compiled, "retrieve", State(product=PRODUCT, channel="google_ads_headline"), ctx(store=store))
    assert out["exemplars"] == ["A", "B"]
    assert store.queries[0][1] == "google_ads_headline"


def test_draft_resets_the_round_and_seeds_by_round(compiled: Any) -> None:
    llm = FakeLLM(default=GOOD_DESC)
    out = call(compiled, "draft", State(product=PRODUCT, candidates=2, seed=5, iteration=2), ctx(llm=llm))
    assert len(out["drafts"]) == 2
    assert out["critiques"] is None and out["judged"] == []
    assert min(c.seed for c in llm.history) >= 5 + 2000


def test_draft_turns_llm_garbage_into_llm_error(compiled: Any) -> None:
    out = call(compiled, "draft", State(product=PRODUCT, candidates=1), ctx(llm=FakeLLM(default="")))
    assert out["drafts"] == [] and out["llm_error"]


def test_repair_adds_a_fixed_variant_and_dedupes(compiled: Any) -> None:
    drafts = [Draft(text=ONE_INVENTED, candidate=0), Draft(text=ONE_INVENTED, candidate=1), Draft(text=GOOD_DESC, candidate=2)]
    out = call(compiled, "repair", State(product=PRODUCT, drafts=drafts), ctx())
    texts = [d.text for d in out["drafts"]]
    assert texts.count(ONE_INVENTED) == 1
    repaired = [d for d in out["drafts"] if d.source == "repair"]
    assert len(repaired) == 1 and "20,000" not in repaired[0].text
    assert len(texts) == len(set(texts))


def test_repair_skips_a_variant_with_nothing_left(compiled: Any) -> None:
    out = call(compiled, "repair", State(product=PRODUCT, drafts=[Draft(text=ALL_INVENTED)]), ctx())
    assert [d.source for d in out["drafts"]] == ["llm"]


def test_repair_drops_a_sentence_with_an_offensive_word(compiled: Any) -> None:
    rude = GOOD_DESC.replace("Order yours today.", "Fun with your molester. Order yours today.")
    out = call(compiled, "repair", State(product=PRODUCT, drafts=[Draft(text=rude)]), ctx())
    [repaired] = [d for d in out["drafts"] if d.source == "repair"]
    assert repaired.text == GOOD_DESC


def test_finish_refuses_an_offensive_best(compiled: Any) -> None:
    text = "Harbor puzzle, fuck yeah"
    best = Judged(draft=Draft(text=text), score=0.9, critiques=[Critique(critic="channel_rules", score=1, passed=True, hard=True)])
    state = State(product=PRODUCT, channel="google_ads_headline", best=best, least_bad=best, stop_reason="threshold_met", threshold=0.5)
    result = call(compiled, "finish", state, ctx())["result"]
    assert result.passed is False and result.stop_reason == "no_valid_draft"


def test_each_critic_node_judges_every_candidate(compiled: Any) -> None:
    from copyloop.agents.critics import CRITIC_NAMES

    assert set(CRITIC_NAMES) <= set(compiled.nodes)
    state = State(product=PRODUCT, channel="product_description",
                  drafts=[Draft(text=ONE_INVENTED), Draft(text=GOOD_DESC, source="repair")])
    out = call(compiled, "grounding", state, ctx())
    assert set(out["critiques"]) == {0, 1}
    assert [c.critic for c in out["critiques"][0]] == ["grounding"]
    assert not out["critiques"][0][0].passed and out["critiques"][1][0].passed
    rules = call(compiled, "channel_rules", state, ctx())
    assert [c.critic for c in rules["critiques"][1]] == ["channel_rules"]
    # the diversity node sees the whole round and records each candidate's nearest sibling
    div = call(compiled, "diversity", state, ctx())
    assert all("round_max_similarity" in c.details for cs in div["critiques"].values() for c in cs)


def _judged_state(**kw: Any) -> State:
    drafts = [Draft(text="bad", source="llm"), Draft(text="good", source="repair")]
    fail = Critique(critic="grounding", score=0.0, passed=False, hard=True, message="Remove '20,000'")
    ok = Critique(critic="grounding", score=1.0, passed=True, hard=True)
    return State(product=PRODUCT, drafts=drafts, critiques={0: [fail], 1: [ok]}, threshold=0.6, **kw)


def test_score_updates_best_least_bad_and_first_draft(compiled: Any) -> None:
    scorer = FakeScorer(lambda t: 0.9 if t == "bad" else 0.5)
    out = call(compiled, "score", _judged_state(), ctx(scorer=scorer))
    assert scorer.calls == [(["bad", "good"], "product_description")]  # one batch
    assert out["best"].draft.text == "good"  # the only hard-passing candidate
    assert out["least_bad"].draft.text == "good"
    assert out["first_draft_score"] == pytest.approx(0.9)  # the unrepaired first LLM draft


def test_decide_records_trace_and_prepares_revision(compiled: Any) -> None:
    state = _judged_state(max_iterations=3, feedback=["shorter please"])
    scored = call(compiled, "score", state, ctx(scorer=FakeScorer(0.4)))
    for k, v in scored.items():
        setattr(state, k, v)
    out = call(compiled, "decide", state, ctx())
    assert out["iteration"] == 1
    assert out["previous"] == "good"
    assert "shorter please" in out["next_feedback"]
    (trace,) = out["trace"]
    assert trace.decision == "revise" and len(trace.candidates) == 2
    assert [c.hard_pass for c in trace.candidates] == [False, True]


def test_finish_rechecks_rules_the_critics_missed(compiled: Any) -> None:
    # a "best" whose critiques all passed but which breaks the headline's 30-character limit
    text = "Calm harbor puzzle for quiet evenings at home with family"
    best = Judged(draft=Draft(text=text), score=0.9, critiques=[Critique(critic="channel_rules", score=1, passed=True, hard=True)])
    state = State(product=PRODUCT, channel="google_ads_headline", best=best, least_bad=best, stop_reason="threshold_met", threshold=0.5)
    result = call(compiled, "finish", state, ctx())["result"]
    assert result.passed is False
    assert result.stop_reason == "no_valid_draft"
    assert any(c.critic == "final_check" for c in result.critiques)


def test_finish_without_any_draft(compiled: Any) -> None:
    state = State(product=PRODUCT, llm_error="LLM returned empty text (after 3 attempts)")
    result = call(compiled, "finish", state, ctx())["result"]
    assert result.stop_reason == "llm_failed" and result.text == "" and not result.passed


def test_transient_errors_are_retried_ours_are_not() -> None:
    from copyloop.errors import InputError, LLMOutputError

    assert is_transient(ConnectionError("reset"))
    assert is_transient(TimeoutError())
    assert not is_transient(LLMOutputError("empty", attempts=3, last_output=""))
    assert not is_transient(InputError("bad"))
    assert not is_transient(ValueError("bug"))
