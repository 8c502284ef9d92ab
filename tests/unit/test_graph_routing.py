"""Stop rules, routing and ranking of the refinement graph (pure functions, no models)."""

from __future__ import annotations

import pytest

from copyloop.graph import ranking
from copyloop.graph.routing import route_after_decide, route_after_draft, stop_reason
from copyloop.graph.state import Judged, State, merge_critiques
from copyloop.tools.schemas import Critique, Draft, ProductBrief

PRODUCT = ProductBrief(title="Test Mug", facts=["12 oz"])


def judged(text: str, score: float, *, hard_fail: bool = False, soft: float = 1.0, source: str = "llm") -> Judged:
    crits = [
        Critique(critic="grounding", score=0.0 if hard_fail else 1.0, passed=not hard_fail, hard=True,
                 message="Remove the unsupported claim '5 years'" if hard_fail else ""),
        Critique(critic="sentiment", score=soft, passed=soft >= 0.5, hard=False, message="Sound warmer" if soft < 0.5 else ""),
    ]
    return Judged(draft=Draft(text=text, source=source), score=score, critiques=crits)


def state(**kw) -> State:
    return State(product=PRODUCT, **kw)


def test_threshold_met_needs_a_hard_passing_best() -> None:
    assert stop_reason(state(best=judged("a", 0.7), threshold=0.6)) == "threshold_met"
    # a high-scoring hard-failing draft is only ever least_bad, never best
    s = state(best=None, least_bad=judged("b", 0.99, hard_fail=True), threshold=0.6, iteration=0, max_iterations=3)
    assert stop_reason(s) is None


def test_below_threshold_revises_until_the_cap() -> None:
    assert stop_reason(state(best=judged("a", 0.4), threshold=0.6, iteration=0, max_iterations=3)) is None
    assert stop_reason(state(best=judged("a", 0.4), threshold=0.6, iteration=2, max_iterations=3)) == "max_iterations"


def test_no_valid_draft_at_the_cap_without_any_hard_pass() -> None:
    s = state(best=None, least_bad=judged("b", 0.9, hard_fail=True), iteration=1, max_iterations=2)
    assert stop_reason(s) == "no_valid_draft"


def test_llm_failure_wins_over_everything() -> None:
    assert stop_reason(state(best=judged("a", 0.9), threshold=0.5, llm_error="empty output")) == "llm_failed"


def test_single_iteration_stops_after_first_round() -> None:
    assert stop_reason(state(best=judged("a", 0.1), max_iterations=1)) == "max_iterations"


def test_routes() -> None:
    assert route_after_draft(state(drafts=[Draft(text="x")])) == "repair"
    assert route_after_draft(state(drafts=[])) == "finish"
    assert route_after_draft(state(drafts=[Draft(text="x")], llm_error="boom")) == "finish"
    assert route_after_decide(state(stop_reason="threshold_met")) == "finish"
    assert route_after_decide(state()) == "draft"


def test_critique_reducer_merges_critic_nodes_and_resets() -> None:
    cta = Critique(critic="cta", score=1.0, passed=True)
    rules = Critique(critic="channel_rules", score=0.0, passed=False, hard=True)
    merged = merge_critiques(merge_critiques({}, {0: [cta], 1: [cta]}), {0: [rules], 1: [rules]})
    assert set(merged) == {0, 1} and [c.critic for c in merged[0]] == ["cta", "channel_rules"]
    # a critic's new verdict replaces its old one for the same candidate
    again = merge_critiques(merged, {0: [cta.model_copy(update={"score": 0.5})]})
    assert [c.critic for c in again[0]] == ["channel_rules", "cta"] and again[0][1].score == 0.5
    assert merge_critiques(merged, None) == {}


def test_ranking_prefers_hard_pass_then_threshold_then_blend() -> None:
    bad_high = judged("bad", 0.99, hard_fail=True)
    ok_low = judged("ok", 0.3)
    ok_high = judged("good", 0.7)
    assert ranking.top([bad_high, ok_low], threshold=0.6) is ok_low
    assert ranking.top([ok_low, ok_high, bad_high], threshold=0.6) is ok_high
    # above threshold, the soft critics break near-ties
    warm = judged("warm", 0.70, soft=1.0)
    cold = judged("cold", 0.72, soft=0.0)
    assert ranking.top([cold, warm], threshold=0.6) is warm


def test_best_never_takes_a_hard_failing_candidate() -> None:
    assert ranking.better_best(None, [judged("bad", 0.99, hard_fail=True)], 0.5) is None
    keep = judged("keep", 0.6)
    assert ranking.better_best(keep, [judged("worse", 0.4), judged("bad", 0.99, hard_fail=True)], 0.5) is keep


def test_least_bad_prefers_fewer_hard_failures() -> None:
    two_fails = Judged(
        draft=Draft(text="x"),
        score=0.9,
        critiques=[Critique(critic=n, score=0, passed=False, hard=True) for n in ("grounding", "channel_rules")],
    )
    one_fail = judged("y", 0.2, hard_fail=True)
    assert ranking.better_least_bad(two_fails, [one_fail]) is one_fail


def test_feedback_lists_hard_failures_first_then_human_then_soft() -> None:
    j = judged("t", 0.3, hard_fail=True, soft=0.1)
    fb = ranking.feedback_for(j, 0.6, ["make it shorter"])
    assert fb[0] == "Remove the unsupported claim '5 years'"
    assert fb[1] == "make it shorter"
    assert fb[2] == "Sound warmer"
    assert fb[3] == ranking.SCORE_FEEDBACK
    assert not any(ch.isdigit() for ch in fb[3])  # the small model copies numbers it reads


def test_feedback_never_drops_hard_failures() -> None:
    crits = [Critique(critic=f"rule{i}", score=0, passed=False, hard=True, message=f"fix {i}") for i in range(7)]
    j = Judged(draft=Draft(text="x"), score=0.1, critiques=crits)
    fb = ranking.feedback_for(j, 0.5)
    assert fb == [f"fix {i}" for i in range(7)]


@pytest.mark.parametrize("score,expect_scorer_hint", [(0.9, False), (0.2, True)])
def test_feedback_mentions_score_only_below_threshold(score: float, expect_scorer_hint: bool) -> None:
    fb = ranking.feedback_for(judged("t", score), 0.5)
    assert (ranking.SCORE_FEEDBACK in fb) is expect_scorer_hint
