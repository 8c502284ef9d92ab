"""Interpretable text features of the conversion scorer.

The scorer's prediction is a sentence embedding (what the text is about and how it is worded)
plus a handful of features a copywriter can act on: length, numbers, a question, second person,
sentiment, a call to action, ... Those features are what the explanation names ("+ question,
+ second person; - very long"), so each one has a plain-language description here, next to the
code that computes it. Training (copyloop.training) and scoring share this one definition, so a
feature can never mean one thing at training time and another at scoring time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "twenty", "thirty", "fifty", "hundred", "hundreds", "thousand", "thousands", "million", "millions",
    "billion", "dozen", "dozens", "half",
}  # fmt: skip
_SECOND_PERSON = {"you", "your", "yours", "yourself", "yourselves", "you're", "you'll", "you've", "you'd", "ya"}
_FIRST_PERSON = {"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "i'm", "i've", "i'd", "i'll", "we're"}
_DEMONSTRATIVE = {"this", "these", "here's", "here", "that's", "what", "why", "how", "who"}
_CTA = {
    "buy", "shop", "order", "get", "grab", "try", "discover", "explore", "save", "watch", "see", "read",
    "learn", "click", "join", "start", "find", "claim", "subscribe", "sign", "download", "book", "call",
    "visit", "share", "add", "upgrade", "unlock",
}  # fmt: skip
_HYPE = {
    "best", "amazing", "incredible", "awesome", "perfect", "ultimate", "stunning", "unbelievable",
    "epic", "greatest", "most", "ever", "insane", "brilliant", "genius", "mind-blowing", "powerful",
}  # fmt: skip
_NEGATION = {"not", "no", "never", "nothing", "don't", "doesn't", "didn't", "can't", "won't", "isn't", "aren't", "nobody"}


def words(text: str) -> list[str]:
    """Word tokens (letters/digits with inner apostrophes), original case."""
    return _WORD.findall(text)


@lru_cache(maxsize=1)
def _vader():  # type: ignore[no-untyped-def]
    """VADER is a dictionary lookup; one analyzer per process is plenty."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@dataclass(frozen=True)
class Feature:
    """One interpretable feature: its name, how to compute it, and how to say it in words."""

    name: str
    compute: Callable[[str, list[str], list[str]], float]  # (text, words, lowercase words) -> value
    describe: Callable[[float], str]  # value -> short phrase for the explanation


def _has(vocab: set[str]) -> Callable[[str, list[str], list[str]], float]:
    return lambda _t, _w, low: float(any(w.replace("’", "'") in vocab for w in low))


def _yes_no(yes: str, no: str) -> Callable[[float], str]:
    return lambda v: yes if v >= 0.5 else no


def _length_phrase(v: float) -> str:
    n = int(round(math.expm1(v)))
    if n <= 6:
        return f"very short ({n} words)"
    if n <= 11:
        return f"short ({n} words)"
    if n <= 19:
        return f"medium length ({n} words)"
    if n <= 30:
        return f"long ({n} words)"
    return f"very long ({n} words)"


def _sentiment_phrase(v: float) -> str:
    if v >= 0.5:
        return "strongly positive tone"
    if v >= 0.05:
        return "positive tone"
    if v <= -0.5:
        return "strongly negative tone"
    if v <= -0.05:
        return "negative tone"
    return "neutral tone"


def _n_sentences(text: str) -> float:
    return float(max(1, len(_SENTENCE_END.findall(text.strip() + " "))))


def _caps_ratio(_t: str, w: list[str], _l: list[str]) -> float:
    long = [x for x in w if len(x) > 1 and x.isalpha()]
    return sum(x.isupper() for x in long) / len(long) if long else 0.0


def _title_ratio(_t: str, w: list[str], _l: list[str]) -> float:
    alpha = [x for x in w if x[0].isalpha()]
    return sum(x[0].isupper() for x in alpha) / len(alpha) if alpha else 0.0


def _has_number(text: str, _w: list[str], low: list[str]) -> float:
    return float(any(c.isdigit() for c in text) or any(w in _NUMBER_WORDS for w in low))


def _starts_with_number(_t: str, w: list[str], low: list[str]) -> float:
    return float(bool(w) and (w[0][0].isdigit() or low[0] in _NUMBER_WORDS))


def _avg_word_len(_t: str, w: list[str], _l: list[str]) -> float:
    return sum(len(x) for x in w) / len(w) if w else 0.0


FEATURES: tuple[Feature, ...] = (
    Feature("log_words", lambda _t, w, _l: math.log1p(len(w)), _length_phrase),
    Feature("sentences", lambda t, _w, _l: _n_sentences(t), lambda v: f"{int(v)} sentence{'s' if v != 1 else ''}"),
    Feature("avg_word_len", _avg_word_len, lambda v: "long words" if v >= 5.0 else "short, plain words"),
    Feature("has_number", _has_number, _yes_no("a number", "no number")),
    Feature("starts_with_number", _starts_with_number, _yes_no("opens with a number", "no opening number")),
    Feature("question", lambda t, _w, _l: float("?" in t), _yes_no("question", "no question")),
    Feature("exclamation", lambda t, _w, _l: float("!" in t), _yes_no("exclamation mark", "no exclamation mark")),
    Feature("second_person", _has(_SECOND_PERSON), _yes_no("second person ('you')", "no 'you'")),
    Feature("first_person", _has(_FIRST_PERSON), _yes_no("first person ('I/we')", "no 'I/we'")),
    Feature("curiosity", _has(_DEMONSTRATIVE), _yes_no("curiosity words (this/what/why/how)", "no curiosity words")),
    Feature("cta", _has(_CTA), _yes_no("call to action", "no call to action")),
    Feature("hype", _has(_HYPE), _yes_no("hype words", "no hype words")),
    Feature("negation", _has(_NEGATION), _yes_no("negation", "no negation")),
    Feature("quote", lambda t, _w, _l: float(any(q in t for q in "\"“”‘")), _yes_no("a quotation", "no quotation")),
    Feature("colon_or_dash", lambda t, _w, _l: float(any(q in t for q in (":", " - ", "—", "–"))), _yes_no("colon/dash", "no colon/dash")),
    Feature("caps_ratio", _caps_ratio, lambda v: "SHOUTING caps" if v >= 0.2 else "few all-caps words"),
    Feature("title_case", _title_ratio, lambda v: "Title Case" if v >= 0.6 else "sentence case"),
    Feature("sentiment", lambda t, _w, _l: float(_vader().polarity_scores(t)["compound"]), _sentiment_phrase),
    Feature("sentiment_strength", lambda t, _w, _l: abs(float(_vader().polarity_scores(t)["compound"])),
            lambda v: "emotional" if v >= 0.5 else "matter-of-fact"),
)  # fmt: skip

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
_BY_NAME = {f.name: f for f in FEATURES}


def feature_row(text: str) -> list[float]:
    """Raw (unscaled, unclipped) feature values of one text, in FEATURE_NAMES order."""
    w = words(text)
    low = [x.lower() for x in w]
    return [f.compute(text, w, low) for f in FEATURES]


def feature_matrix(texts: Sequence[str]) -> np.ndarray:
    """Raw feature values, one row per text (float64)."""
    if not texts:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    return np.asarray([feature_row(t) for t in texts], dtype=np.float64)


def describe(name: str, value: float) -> str:
    """Plain-language phrase for a feature value (used in explanations)."""
    return _BY_NAME[name].describe(value)


__all__ = ["FEATURES", "FEATURE_NAMES", "Feature", "describe", "feature_matrix", "feature_row", "words"]
