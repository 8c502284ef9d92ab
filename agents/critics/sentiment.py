"""Sentiment critic: warm, not flat or negative, not hysterical.

VADER's compound score saturates on long texts (a 120-word description with a handful of
positive words scores 0.99), so the band is applied to the mean compound of the sentences.
Hysteria is also judged directly: exclamation marks, ALL-CAPS words and hype words.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

from copyloop.agents.critics.base import CriticContext, quote_list, verdict
from copyloop.tools.schemas import Critique, Draft
from copyloop.tools.text import sentences, words
from copyloop.tools.validators import shouted_words

_LOCK = threading.Lock()
_ANALYZER: Any = None

HYPE_WORDS = {
    "amazing", "incredible", "awesome", "unbelievable", "insane", "epic", "ultimate", "stunning", "revolutionary",
    "game-changer", "game-changing", "must-have", "mind-blowing", "jaw-dropping", "life-changing", "spectacular",
    "phenomenal", "extraordinary", "sensational", "unreal", "fantastic", "magical", "breathtaking", "wow",
}


def analyzer() -> Any:
    """The process-wide VADER analyzer (its lexicon is loaded once)."""
    global _ANALYZER
    with _LOCK:
        if _ANALYZER is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _ANALYZER = SentimentIntensityAnalyzer()
        return _ANALYZER


def tone(text: str, neutral: Iterable[str] = ()) -> float:
    """Mean VADER compound over the sentences of ``text`` (whole text for one sentence).

    Words in ``neutral`` (the product's own name: "cutting board", "pest killer") are masked so a
    product noun with a negative valence in VADER's lexicon does not read as a negative tone.
    """
    sia = analyzer()
    mask = {w.lower() for w in neutral if sia.lexicon.get(w.lower())}
    if mask:
        text = re.sub(r"[A-Za-z']+", lambda m: "item" if m.group().lower() in mask else m.group(), text)
    sents = [s for s in sentences(text) if len(words(s)) >= 2] or [text]
    return sum(sia.polarity_scores(s)["compound"] for s in sents) / len(sents)


class SentimentCritic:
    """Soft critic: mean sentence compound inside the band, no exclamation/caps/hype overload."""

    name = "sentiment"

    def __init__(self, hype_density_max: float = 0.06) -> None:
        self.hype_density_max = hype_density_max

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        text = draft.text.strip()
        lo, hi = ctx.band
        if not text:
            return verdict(self.name, 0.0, False, message="Write the copy: the text is empty")
        mean = tone(text, words(f"{ctx.product.title} {ctx.product.category}"))
        n_sent = max(1, len(sentences(text)))
        n_words = max(1, len(words(text)))
        bangs = text.count("!")
        bang_allowance = max(1, n_sent // 3)
        shouted = shouted_words(text, shouted_words(ctx.product.fact_text()))
        hype = [w for w in (w.lower() for w in words(text)) if w in HYPE_WORDS]

        score = 1.0
        problems: list[str] = []
        if mean < lo:
            score -= min(1.0, 2.0 * (lo - mean))
            negative = self._negative_words(text)
            hint = f"; avoid negative words such as {quote_list(negative)}" if negative else ""
            problems.append(
                f"Warm up the tone (sentiment {mean:.2f}, aim for {lo:.2f}-{hi:.2f}): say what the buyer will enjoy or gain{hint}"
            )
        elif mean > hi:
            score -= min(1.0, 3.0 * (mean - hi))
            problems.append(f"Tone it down (sentiment {mean:.2f} > {hi:.2f}): fewer gushing words, let the facts persuade")
        if bangs > bang_allowance:
            score -= min(0.6, 0.15 * (bangs - bang_allowance))
            problems.append(f"Use at most {bang_allowance} exclamation mark(s) (now {bangs})")
        if len(shouted) >= 2:
            score -= min(0.4, 0.1 * len(shouted))
            problems.append(f"Don't shout: write {quote_list(shouted)} in normal case")
        if len(hype) / n_words > self.hype_density_max and len(hype) >= 2:
            score -= min(0.4, 0.1 * len(hype))
            problems.append(f"Replace hype words {quote_list(hype)} with concrete benefits from the facts")
        return verdict(
            self.name,
            score,
            not problems,
            message="; ".join(problems),
            tone=round(mean, 4),
            band=[lo, hi],
            exclamations=bangs,
            shouted=shouted,
            hype=hype,
        )

    @staticmethod
    def _negative_words(text: str) -> list[str]:
        lex = analyzer().lexicon
        return [w for w in dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z']+", text)) if lex.get(w, 0) <= -1.0]


__all__ = ["HYPE_WORDS", "SentimentCritic", "analyzer", "tone"]
