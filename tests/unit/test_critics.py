"""Each critic on its own, the CTA policy of every channel, the sentiment band, diversity with
the real embedder, and run_critics/default_critics."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from copyloop.agents.critics import (
    CRITIC_NAMES,
    ChannelRulesCritic,
    CriticContext,
    CtaCritic,
    DiversityCritic,
    GroundingCritic,
    SentimentCritic,
    default_critics,
    feedback,
    run_critics,
)
from copyloop.agents.critics.base import embed
from copyloop.settings import RefineSettings
from copyloop.tools.channels import ChannelRegistry
from copyloop.tools.schemas import Draft, ProductBrief

REG = ChannelRegistry()
PRODUCT = ProductBrief(
    title="Bamboo Cutting Board",
    facts=["Made of organic bamboo", "2 year warranty", "Dishwasher safe", "18 x 12 inches"],
)
# Every content word is the product's own (issue #11: no borrowed "sturdy", "home cooks", "counter").
DESCRIPTION = (
    "Meet the organic bamboo cutting board. It measures 18 x 12 inches and is made of organic bamboo. "
    "It is dishwasher safe, so it is easy to keep ready for the next use, and it comes with a 2 year warranty. "
    "Enjoy the bamboo board every day. Order yours today."
)


def ctx(channel: str = "product_description", **kw) -> CriticContext:
    return CriticContext(product=PRODUCT, spec=REG.get(channel), **kw)


def d(text: str) -> Draft:
    return Draft(text=text)


# --- run_critics -------------------------------------------------------------------------------------


def test_default_critics_and_run_critics() -> None:
    assert [c.name for c in default_critics()] == list(CRITIC_NAMES)
    out = run_critics(d(DESCRIPTION), ctx())
    assert [c.critic for c in out] == list(CRITIC_NAMES)
    assert all(c.passed for c in out), [(c.critic, c.message) for c in out]
    assert {c.critic for c in out if c.hard} == {"grounding", "relevance", "specificity", "coherence", "channel_rules"}
    only = run_critics(d(DESCRIPTION), ctx(), critics=[GroundingCritic()])
    assert [c.critic for c in only] == ["grounding"]


def test_context_from_settings_and_channel_band() -> None:
    refine = RefineSettings(sentiment_min=0.1, sentiment_max=0.8, similarity_max=0.85)
    c = CriticContext.from_settings(PRODUCT, REG.get("product_description"), refine, exemplars=["x"])
    assert c.band == (0.1, 0.8) and c.similarity_max == 0.85 and c.exemplars == ["x"]
    # channels with their own band (neutral titles are fine) override the configured one
    assert CriticContext.from_settings(PRODUCT, REG.get("amazon_title"), refine).band == (-0.05, 0.95)


def test_feedback_puts_hard_failures_first() -> None:
    out = run_critics(d("AMAZING!!! Stainless steel board. Order now!"), ctx())
    fb = feedback(out)
    assert fb and all(m for m in fb)
    hard_msgs = [c.message for c in out if c.hard and not c.passed]
    assert fb[: len(hard_msgs)] == sorted(hard_msgs, key=lambda m: next(c.score for c in out if c.message == m))


# --- grounding ---------------------------------------------------------------------------------------


def test_grounding_is_hard_and_names_the_claims() -> None:
    c = GroundingCritic().critique(d("A stainless steel board with a lifetime warranty. Order now."), ctx())
    assert c.hard and not c.passed and c.score < 1
    assert "'stainless steel'" in c.message and "'lifetime warranty'" in c.message
    assert c.message.startswith("Remove the claims")
    assert [u["text"] for u in c.details["unsupported"]] == ["stainless steel", "lifetime warranty"]
    ok = GroundingCritic().critique(d(DESCRIPTION), ctx())
    assert ok.passed and ok.score == 1.0 and ok.details["checked"] >= 4


# --- about this product, specific, coherent (issue #11) ----------------------------------------------------


def test_specificity_fails_headlines_that_do_not_name_the_product() -> None:
    from copyloop.agents.critics import SpecificityCritic

    critic = SpecificityCritic()
    for junk in ("The Best Product Ever", "Good Product", "Quality Toys", "Beautiful Kids"):
        c = critic.critique(d(junk), ctx("google_ads_headline"))
        assert c.hard and not c.passed, junk
    assert "Name the product" in critic.critique(d("Beautiful Kids"), ctx("google_ads_headline")).message
    assert "filler" in critic.critique(d("Good Product"), ctx("google_ads_headline")).message
    for good in ("Bamboo Cutting Board", "Organic Bamboo Board", "Dishwasher Safe Bamboo"):
        assert critic.critique(d(good), ctx("google_ads_headline")).passed, good


def test_specificity_wants_three_facts_in_a_description_and_labelled_bullets() -> None:
    from copyloop.agents.critics import SpecificityCritic

    critic = SpecificityCritic()
    thin = "Meet the bamboo cutting board. It is made of organic bamboo. " * 4 + "Order yours today."
    c = critic.critique(d(thin), ctx())
    assert not c.passed and "at least 3 of the product's facts (now 1)" in c.message
    assert critic.critique(d(DESCRIPTION), ctx()).passed
    bullets = ("ORGANIC BAMBOO: It is made of organic bamboo.\nDISHWASHER SAFE: It is dishwasher safe.\n"
               "It comes with a 2 year warranty.\nSIZE: It measures 18 x 12 inches.")
    c = critic.critique(d(bullets), ctx("amazon_bullet"))
    assert not c.passed and "label" in c.message and c.details["unlabeled_bullets"] == 1


def test_relevance_names_sentences_about_another_product() -> None:
    from copyloop.agents.critics import RelevanceCritic

    text = DESCRIPTION.replace("Enjoy the bamboo board every day.", "This swaddle blanket is woven from soft, breathable muslin.")
    c = RelevanceCritic().critique(d(text), ctx())
    assert c.hard and not c.passed and "swaddle blanket" in c.message
    assert RelevanceCritic().critique(d(DESCRIPTION), ctx()).passed


def test_coherence_rejects_prompt_leftovers_and_a_customer_voice() -> None:
    from copyloop.agents.critics import CoherenceCritic

    critic = CoherenceCritic()
    assert not critic.critique(d("A: This is a bamboo cutting board. Rewrite it shorter."), ctx("google_ads_description")).passed
    assert not critic.critique(d("I love my bamboo cutting board, 5 stars."), ctx("google_ads_description")).passed
    assert not critic.critique(d("The bamboo cutting board, a favorite among customers."), ctx("google_ads_description")).passed
    assert critic.critique(d(DESCRIPTION), ctx()).passed


# --- channel rules ----------------------------------------------------------------------------------------


def test_channel_rules_is_hard_with_actionable_message() -> None:
    c = ChannelRulesCritic().critique(d("Organic Bamboo Cutting Board Set"), ctx("google_ads_headline"))
    assert c.hard and not c.passed
    assert c.message == "Shorten to ≤30 characters (now 32)"
    assert c.details["chars"] == 32


def test_channel_rules_soft_violation_lowers_score_but_passes() -> None:
    c = ChannelRulesCritic().critique(d("Bamboo board"), ctx("email_subject"))
    assert c.passed and c.score < 1 and "Aim for 30-50 characters" in c.message


def test_channel_rules_reports_sms_encoding() -> None:
    c = ChannelRulesCritic().critique(d("Board’s back! " + "a" * 60 + " Shop now."), ctx("sms"))
    assert not c.passed and c.details["sms"]["encoding"] == "UCS-2" and "≤70" in c.message


def test_channel_rules_allows_the_products_own_capitals() -> None:
    lego = ProductBrief(title="LEGO DUPLO CLASSIC Brick Box", facts=["65 pieces"])
    c = ChannelRulesCritic().critique(
        d("Build with the LEGO DUPLO CLASSIC brick box today. Shop now."),
        CriticContext(product=lego, spec=REG.get("google_ads_description")),
    )
    assert c.passed, c.message


# --- CTA policy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", REG.names())
def test_cta_policy_of_every_channel(channel: str) -> None:
    spec = REG.get(channel)
    with_cta = CtaCritic().critique(d("A sturdy bamboo board. Order yours today."), ctx(channel))
    without = CtaCritic().critique(d("A sturdy bamboo board for daily prep."), ctx(channel))
    assert with_cta.details["policy"] == spec.cta
    if spec.cta == "forbidden":
        assert with_cta.hard and not with_cta.passed and with_cta.score == 0.0
        assert "Remove the call to action 'Order yours today'" in with_cta.message
        assert without.passed and without.hard
    elif spec.cta == "expected":
        assert with_cta.passed and with_cta.score == 1.0 and not with_cta.hard
        assert not without.passed and without.score <= 0.4 and not without.hard
        assert without.message.startswith("End with a clear call to action, e.g.")
    elif spec.cta == "optional":
        assert with_cta.passed and without.passed and with_cta.score > without.score
    else:  # allowed
        assert with_cta.passed and without.passed and with_cta.score == without.score == 1.0


def test_cta_strength_and_position() -> None:
    strong = CtaCritic().critique(d("Sturdy bamboo board. Order yours today."), ctx())
    weak = CtaCritic().critique(d("Sturdy bamboo board. Learn more."), ctx())
    assert strong.score > weak.score and weak.passed
    buried = CtaCritic().critique(d("Order yours today. It is a sturdy bamboo board for prep."), ctx())
    assert buried.passed and buried.score < strong.score and "Move the call to action" in buried.message


def test_cta_forbidden_ignores_descriptive_imperatives() -> None:
    c = CtaCritic().critique(d("SIZE: 18 x 12 inches.\nCARE: Wipe clean, then air dry."), ctx("amazon_bullet"))
    assert c.passed


# --- sentiment ---------------------------------------------------------------------------------------------


def test_sentiment_in_band_passes() -> None:
    c = SentimentCritic().critique(d(DESCRIPTION), ctx())
    assert c.passed and c.score == 1.0 and 0.2 <= c.details["tone"] <= 0.95


def test_sentiment_negative_fails_with_the_words() -> None:
    c = SentimentCritic().critique(d("This board is terrible for people who hate bad cutting problems."), ctx())
    assert not c.passed and c.score < 0.3
    assert c.message.startswith("Warm up the tone") and "'terrible'" in c.message


def test_sentiment_hysteria_is_penalised() -> None:
    c = SentimentCritic().critique(d("AMAZING!!! The most INCREDIBLE, awesome, epic board EVER!!! Wow!"), ctx())
    assert not c.passed and c.score < 0.5
    assert "exclamation" in c.message and "Don't shout" in c.message and "hype words" in c.message


def test_sentiment_band_is_configurable() -> None:
    text = "A handy bamboo board that makes prep easy and pleasant."
    assert SentimentCritic().critique(d(text), ctx()).passed
    strict = SentimentCritic().critique(d(text), ctx(sentiment_band=(0.9, 1.0)))
    assert not strict.passed and "aim for 0.90-1.00" in strict.message
    over = SentimentCritic().critique(d(text), ctx(sentiment_band=(-1.0, 0.1)))
    assert not over.passed and over.message.startswith("Tone it down")


def test_sentiment_ignores_the_products_own_name() -> None:
    # VADER reads "cutting" as negative; in "Cutting Board" it is the product, not the tone
    c = SentimentCritic().critique(d("Bamboo Cutting Board, 18 x 12 Inches, Organic"), ctx("amazon_title"))
    assert c.passed and c.details["tone"] == 0.0
    knife = ProductBrief(title="Chef Knife")
    killer = CriticContext(product=knife, spec=REG.get("product_description"))
    assert SentimentCritic().critique(d("A knife that kills boredom."), killer).details["tone"] < 0


# --- diversity -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder():
    from copyloop.tools.embeddings import load_embedder

    return load_embedder()


EXEMPLAR = "Our bamboo cutting board gives you sturdy space for chopping. It is dishwasher safe. Order yours today."


def test_diversity_flags_a_near_copy_of_an_exemplar(embedder) -> None:
    near = "Our bamboo cutting board gives you sturdy space for chopping. It's dishwasher safe. Order yours today!"
    c = DiversityCritic().critique(d(near), ctx(exemplars=[EXEMPLAR], embedder=embedder))
    assert not c.passed and c.details["method"] == "embedding"
    assert c.details["nearest_group"] == "exemplar" and c.details["nearest_text"] == EXEMPLAR
    assert c.details["max_similarity"] >= 0.9 and "too close to a retrieved example" in c.message


def test_diversity_passes_fresh_copy(embedder) -> None:
    c = DiversityCritic().critique(d(DESCRIPTION), ctx(exemplars=[EXEMPLAR], embedder=embedder, run_texts=["A cozy wool scarf in five colours."]))
    assert c.passed and 0.0 < c.score <= 1.0 and c.details["max_similarity"] < 0.9


def test_diversity_tolerates_revisions_but_not_repeats(embedder) -> None:
    revised = (
        "This organic bamboo cutting board gives you 18 x 12 inches of steady room for chopping and slicing. "
        "Cleanup is easy because it is dishwasher safe, and a 2 year warranty backs it. Bring one home today."
    )
    c = DiversityCritic().critique(d(revised), ctx(previous=[DESCRIPTION], embedder=embedder))
    assert c.passed, c.message  # a revision resembles its predecessor
    same = DiversityCritic().critique(d(DESCRIPTION), ctx(previous=[DESCRIPTION], embedder=embedder))
    assert not same.passed and "an earlier draft" in same.message


def test_diversity_against_other_products_and_stock_phrases(embedder) -> None:
    other = "Perfect for any occasion, this bamboo board is built to last. Order yours today."
    mine = "Perfect for any occasion, this bamboo cutting board is built to last. Order one today."
    c = DiversityCritic().critique(d(mine), ctx(run_texts=[other], embedder=embedder))
    assert not c.passed and c.details["nearest_group"] == "run"
    assert "perfect for any occasion" in c.details["stock_phrases"]
    assert "copy for another product" in c.message


def test_diversity_distinct2_catches_repetition() -> None:
    c = DiversityCritic().critique(d("Fun board fun board fun board fun board fun board. Order now."), ctx())
    assert not c.passed and c.details["distinct_2"] < 0.75 and "Stop repeating yourself" in c.message
    assert c.details["method"] == "lexical"


def test_diversity_without_embedder_uses_word_overlap() -> None:
    c = DiversityCritic().critique(d(EXEMPLAR), ctx(exemplars=[EXEMPLAR + " "]))
    assert c.details["method"] == "lexical" and c.details["max_similarity"] == pytest.approx(1.0) and not c.passed


class CountingEmbedder:
    """A tiny real embedder (character trigram hashing) that counts what it encodes."""

    dim = 64

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for j in range(len(t) - 2):
                out[i, hash(t[j : j + 3]) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_reference_embeddings_are_cached() -> None:
    emb = CountingEmbedder()
    refs = ["ref one text", "ref two text"]
    for i in range(3):
        DiversityCritic().critique(d(f"draft number {i} about boards"), ctx(exemplars=refs, embedder=emb))
    assert emb.encoded.count("ref one text") == 1 and emb.encoded.count("ref two text") == 1
    assert embed(emb, refs).shape == (2, 64)
