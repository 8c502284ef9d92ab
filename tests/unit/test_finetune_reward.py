"""The fine-tuning reward: hard filters zero out ungrounded or rule-breaking candidates; λ trades
conversion for creativity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pytest

from copyloop.errors import InputError
from copyloop.tools.channels import ChannelRegistry
from copyloop.tools.schemas import Critique, ProductBrief
from copyloop.training.reward import RewardModel, RewardWeights, combine, reward_from_critiques

PRODUCT = ProductBrief(
    id="p1",
    title="Wooden Rainbow Stacker",
    category="Toys & Games | Baby & Toddler Toys",
    facts=["Made of solid beech wood", "Seven arches in rainbow colours", "For ages 12 months and up"],
)


@dataclass
class _Scored:
    score: float
    explanation: str = ""


class ConstantScorer:
    """Scores every text the same, so only the critics can tell candidates apart."""

    def __init__(self, value: float) -> None:
        self.value = value

    def score(self, texts: Sequence[str], channel: str | None = None) -> list[_Scored]:
        return [_Scored(self.value) for _ in texts]


def _crit(name: str, score: float, passed: bool = True, hard: bool = False) -> Critique:
    return Critique(critic=name, score=score, passed=passed, hard=hard)


def _critiques(grounded: bool = True, rules: bool = True, diversity: float = 0.5) -> list[Critique]:
    return [
        _crit("sentiment", 0.8),
        _crit("diversity", diversity),
        _crit("cta", 0.7),
        _crit("grounding", 1.0 if grounded else 0.0, grounded, hard=True),
        _crit("channel_rules", 1.0 if rules else 0.0, rules, hard=True),
    ]


def test_failed_hard_filter_zeroes_the_reward() -> None:
    w = RewardWeights()
    good = reward_from_critiques(0.9, _critiques(), w)
    assert good.hard_pass and good.total > 0
    ungrounded = reward_from_critiques(0.9, _critiques(grounded=False), w)
    assert ungrounded.total == 0.0 and ungrounded.unsupported and ungrounded.failed_hard == ["grounding"]
    illegal = reward_from_critiques(0.9, _critiques(rules=False), w)
    assert illegal.total == 0.0 and not illegal.unsupported and illegal.failed_hard == ["channel_rules"]


def test_missing_hard_filter_critic_is_an_error_not_a_pass() -> None:
    with pytest.raises(InputError, match="grounding"):
        reward_from_critiques(0.9, [c for c in _critiques() if c.critic != "grounding"], RewardWeights())


def test_lambda_trades_conversion_for_creativity() -> None:
    safe = dict(conversion=0.9, diversity=0.2, sentiment=0.5, cta=0.5, hard_pass=True)
    novel = dict(conversion=0.5, diversity=0.95, sentiment=0.5, cta=0.5, hard_pass=True)
    for lam, winner in ((0.0, "safe"), (1.0, "novel")):
        w = RewardWeights(lam=lam)
        r_safe, r_novel = combine(**safe, weights=w), combine(**novel, weights=w)
        assert (r_safe > r_novel) == (winner == "safe")
    # per-category λ overrides the global one for that category only
    w = RewardWeights(lam=0.0, lambda_by_category={"Toys & Games": 1.0})
    assert combine(**novel, weights=w, category="Toys & Games | Puzzles") > combine(**safe, weights=w, category="Toys & Games")
    assert combine(**safe, weights=w, category="Home & Kitchen") > combine(**novel, weights=w, category="Home & Kitchen")


def test_reward_is_bounded_by_one() -> None:
    assert combine(1.0, 1.0, 1.0, 1.0, True, RewardWeights(lam=0.5)) == pytest.approx(1.0)


def test_real_critics_zero_out_an_invented_claim() -> None:
    spec = ChannelRegistry().get("product_description")
    model = RewardModel(ConstantScorer(0.8), embedder=None, sentiment_band=(0.2, 0.95), similarity_max=0.9)
    grounded = (  # every content word from PRODUCT's own data (issue #11)
        "Meet the wooden rainbow stacker. Its seven arches come in rainbow colours and are made of solid beech "
        "wood. It is made for toddlers from 12 months and up, so you can start right away, and the rainbow colours "
        "make the stacker easy to enjoy every day, one arch at a time. Order yours today."
    )
    invented = grounded.replace("Seven arches", "Twelve arches").replace("Order yours today.", "Backed by a 5-year warranty. Order yours today.")
    good, bad = model.score(PRODUCT, spec, [grounded, invented], RewardWeights())
    assert good.hard_pass and good.total > 0, good
    assert bad.unsupported and not bad.hard_pass and bad.total == 0.0


def _group(category: str, cands: list[tuple[str, float, float, bool]]):
    from copyloop.training.finetune import Candidate, Group

    g = Group(ProductBrief(id="g", title="Thing", category=category), "product_description", [])
    for text, conv, div, ok in cands:
        g.candidates.append(Candidate(text, "benefit-led", "llm", conv, div, 0.8, 0.8, ok, [] if ok else ["grounding"], not ok))
    return g


def test_training_data_takes_the_best_passing_candidate_and_pairs_it_with_the_worst() -> None:
    from copyloop.training.finetune import select_training_data

    groups = [
        _group("Toys", [("good", 0.6, 0.9, True), ("meh", 0.3, 0.9, True), ("invented", 0.9, 0.9, False)]),
        _group("Toys", [("all bad", 0.9, 0.9, False), ("also bad", 0.5, 0.5, False)]),  # nothing to learn from
    ]
    data = select_training_data(groups, RewardWeights(lam=0.0), lambda g, angle: f"<{angle}>", min_margin=0.1)
    assert [e.completion for e in data.sft] == ["good"]  # the higher-converting ungrounded text never wins
    assert data.sft[0].prompt == "<benefit-led>" and data.sft[0].weight == pytest.approx(1.0)
    assert [(p.chosen, p.rejected) for p in data.pairs] == [("good", "invented")]
    strict = select_training_data(groups, RewardWeights(lam=0.0), lambda g, a: a, min_margin=0.99)
    assert strict.pairs == []


def test_lambda_sweep_moves_from_conversion_to_creativity_and_finds_the_elbow() -> None:
    from copyloop.training.tradeoff import elbow, sweep_lambda

    groups = [
        _group("Toys", [("safe pick", 0.8, 0.2, True), ("fresh pick", 0.7, 0.9, True), ("wild pick", 0.2, 1.0, True)])
        for _ in range(3)
    ]
    rows = sweep_lambda(groups, RewardWeights(sentiment=0.0, cta=0.0), [0.0, 0.2, 0.5, 0.9, 1.0])
    conv = [r["conversion"] for r in rows]
    crea = [r["creativity"] for r in rows]
    assert conv == sorted(conv, reverse=True) and crea == sorted(crea)
    assert rows[0]["conversion"] == pytest.approx(0.8) and rows[-1]["creativity"] == pytest.approx(1.0)
    assert elbow(rows) in (0.2, 0.5)  # "fresh pick": most of the creativity for little conversion


def test_scores_are_cached_per_text_and_salt(tmp_path) -> None:
    from copyloop.training.reward import ScoreCache

    class CountingScorer(ConstantScorer):
        calls = 0

        def score(self, texts, channel=None):
            CountingScorer.calls += 1
            return super().score(texts, channel)

    spec = ChannelRegistry().get("google_ads_headline")
    path = tmp_path / "scores.jsonl"
    model = RewardModel(CountingScorer(0.6), embedder=None, sentiment_band=(0.2, 0.95), similarity_max=0.9, cache=ScoreCache(path, "v1"))
    first = model.score(PRODUCT, spec, ["Wooden Rainbow Stacker"], RewardWeights())
    again = RewardModel(CountingScorer(0.1), embedder=None, sentiment_band=(0.2, 0.95), similarity_max=0.9, cache=ScoreCache(path, "v1"))
    assert again.score(PRODUCT, spec, ["Wooden Rainbow Stacker"], RewardWeights()) == first  # read back, not rescored
    assert CountingScorer.calls == 1
    other_salt = RewardModel(CountingScorer(0.1), embedder=None, sentiment_band=(0.2, 0.95), similarity_max=0.9, cache=ScoreCache(path, "v2"))
    assert other_salt.score(PRODUCT, spec, ["Wooden Rainbow Stacker"], RewardWeights())[0].conversion == pytest.approx(0.1)


def test_the_score_cache_salt_covers_the_rules_word_lists_and_channels() -> None:
    from copyloop.training.reward import scoring_salt, verdict_sources

    names = {p.name for p in verdict_sources()}
    # an edit to the offensive-word or superlative lists, or to a channel spec, changes verdicts
    assert {"lexicons.py", "channels.py", "validators.py", "claims.py", "grounding.py"} <= names
    assert scoring_salt(None) == scoring_salt(None)
