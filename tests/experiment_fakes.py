"""A fast engine for experiment tests: the real Engine and critics with a FakeLLM that rotates
grounded ad headlines (one of them a near-copy, one too long), a rule-based scorer and no retrieval.

Used by tests/unit/test_experiment_variants.py and the Slack experiment test; it is also a valid
``COPYLOOP_ENGINE_FACTORY`` target (``experiment_fakes:headline_engine``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

from copyloop.agents.llm import FakeCall, FakeLLM
from copyloop.engine import Engine
from copyloop.settings import Settings

PRODUCT: dict[str, Any] = {
    "title": "Bamboo Cutting Board",
    "category": "Home & Kitchen",
    "facts": ["made of bamboo", "dishwasher safe", "juice groove around the edge", "comes in three sizes"],
}
HEADLINES = [
    "Bamboo Board, Dishwasher Safe",
    "Bamboo Board, Dishwasher-Safe",  # a near-copy of the first: MMR must not pick both
    "A Board With A Juice Groove",
    "Bamboo Boards In Three Sizes",
    "This Bamboo Cutting Board Is The Best Thing You Will Ever Buy",  # breaks the 30-character rule
]


@dataclass
class _Scored:
    score: float
    explanation: str = "rule-based test scorer"


class RankScorer:
    """Earlier headlines in HEADLINES score higher; anything else 0.5."""

    def score(self, texts: Sequence[str], channel: str | None = None) -> list[_Scored]:
        ranks = {h: 0.9 - 0.05 * k for k, h in enumerate(HEADLINES)}
        return [_Scored(ranks.get(t, 0.5)) for t in texts]


def headline_engine(settings: Settings) -> Engine:
    counter = itertools.count()

    def reply(call: FakeCall, i: int) -> str:
        return HEADLINES[next(counter) % len(HEADLINES)]

    return Engine(settings, llm=FakeLLM(default=reply), scorer=RankScorer(), store=None)
