"""The bundled conversion scorer: API contract and behaviour that must hold whatever it learned."""

from __future__ import annotations

import numpy as np
import pytest

import copyloop
from copyloop.agents.scorer import ConversionScorer, ScoredText
from copyloop.errors import InputError, ModelPathError

HEADLINES = [
    "You Won't Believe What This Dad Did For His Daughter",
    "Local council approves budget for road repairs",
    "Why Do Cats Purr? Scientists Finally Have An Answer.",
    "9 Photos That Show How Much The World Has Changed",
]
DESCRIPTION = (
    "Keep your coffee hot for hours with this double-walled stainless steel travel mug. The leak-proof "
    "lid snaps shut with one hand, so you can toss it in your bag without worry. It fits most car cup "
    "holders and holds 16 ounces, enough for your whole commute. The powder-coated finish resists "
    "scratches and gives a sure grip, and the wide mouth makes cleaning easy. Available in six colours. "
    "Order yours today and enjoy every sip, wherever the day takes you."
)


@pytest.fixture(scope="module")
def scorer() -> ConversionScorer:
    return ConversionScorer.load()


def test_public_api_is_exported() -> None:
    assert copyloop.ConversionScorer is ConversionScorer


def test_scores_are_probabilities_in_input_order(scorer: ConversionScorer) -> None:
    batch = scorer.score(HEADLINES)
    single = [scorer.score([h])[0] for h in HEADLINES]
    assert all(isinstance(s, ScoredText) for s in batch)
    assert all(0.0 <= s.score <= 1.0 for s in batch)
    assert [s.score for s in batch] == pytest.approx([s.score for s in single], abs=1e-5)
    assert all(s.explanation for s in batch)
    assert {"log_words", "question", "second_person", "sentiment", "utility"} <= set(batch[0].features)


def test_score_is_monotonic_in_utility_and_pairs_are_antisymmetric(scorer: ConversionScorer) -> None:
    texts = HEADLINES + [DESCRIPTION]
    u = scorer.utilities(texts)
    s = np.asarray([r.score for r in scorer.score(texts)])
    order = np.argsort(u)
    assert np.all(np.diff(s[order]) >= -1e-12)
    a, b = HEADLINES[0], HEADLINES[1]
    assert scorer.win_probability(a, b) + scorer.win_probability(b, a) == pytest.approx(1.0)
    assert scorer.win_probability(a, a) == pytest.approx(0.5)
    # the better-scored text of the two is the one predicted to win head-to-head
    sa, sb = (r.score for r in scorer.score([a, b]))
    assert (sa > sb) == (scorer.win_probability(a, b) > 0.5)


def test_explanation_names_what_moved_the_score(scorer: ConversionScorer) -> None:
    res = scorer.score(["Why Do Cats Purr? Scientists Finally Have An Answer."])[0]
    assert res.features["question"] == 1.0
    assert res.explanation.startswith(("+", "-", "close to a typical"))


def test_long_product_copy_gets_a_graded_score_and_a_caveat(scorer: ConversionScorer) -> None:
    res = scorer.score([DESCRIPTION, DESCRIPTION + " " + DESCRIPTION])
    for r in res:
        assert 0.02 < r.score < 0.98
        assert "-word texts it learned from" in r.explanation


def test_empty_text_scores_zero_and_bad_input_is_refused(scorer: ConversionScorer) -> None:
    assert scorer.score([]) == []
    empty = scorer.score(["", HEADLINES[0]])
    assert empty[0].score == 0.0 and empty[0].explanation == "empty text"
    assert empty[1].score > 0.0
    with pytest.raises(InputError):
        scorer.score("a single string")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        scorer.score([None])  # type: ignore[list-item]


def test_unknown_channel_compares_with_all_training_texts(scorer: ConversionScorer) -> None:
    plain = scorer.score(HEADLINES[:2])
    other = scorer.score(HEADLINES[:2], channel="no_such_channel")
    assert [p.score for p in plain] == [o.score for o in other]


def test_missing_artifact_names_the_path(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ModelPathError, match="nope.json"):
        ConversionScorer.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a valid copyloop scorer artifact"):
        ConversionScorer.load(bad)


def test_product_channels_compare_with_real_seller_copy(scorer: ConversionScorer) -> None:
    assert {"product_description", "amazon_bullet", "amazon_title"} <= set(scorer.artifact.reference)
    (res,) = scorer.score([DESCRIPTION], channel="product_description")
    assert 0.02 < res.score < 0.98
    assert res.explanation.endswith("[vs typical product_description copy]")


def test_precomputed_embeddings_give_the_same_scores(scorer: ConversionScorer) -> None:
    texts = ["", *HEADLINES[:2]]
    emb = scorer.embedder.encode(texts)
    assert [r.score for r in scorer.score(texts, embeddings=emb)] == pytest.approx([r.score for r in scorer.score(texts)], abs=1e-6)
    with pytest.raises(InputError):
        scorer.score(texts, embeddings=emb[:1])
