"""Small fakes for the refinement graph's seams (scorer, store) and shared test products.

Not a test module (leading underscore); imported by tests/unit/test_graph_*.py and
test_refine_cli.py. The LLM fake is the project's own ``copyloop.agents.llm.FakeLLM``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from copyloop.tools.schemas import ProductBrief

PRODUCT = ProductBrief(
    id="puzzle-1",
    title="Harbor Lights 1000-Piece Jigsaw Puzzle",
    category="Toys & Games | Puzzles | Jigsaw Puzzles",
    brand="Northwind Puzzles",
    facts=[
        "1000 pieces",
        "Finished size: 27 x 20 inches",
        "Made from recycled paperboard",
        "Includes a full-size reference poster",
    ],
    description="A harbor town at dusk, with lit windows reflecting on the water.",
)

# 60 words: every content word is the product's own (issue #11), it names the product, uses four
# of its facts and ends with a call to action.
GOOD_DESC = (
    "Meet the Harbor Lights jigsaw puzzle from Northwind Puzzles: a harbor town at dusk, with lit "
    "windows reflecting on the water. Its 1000 pieces come together into a finished size of 27 x 20 "
    "inches, and the full-size reference poster shows you where each piece goes. The puzzle is made "
    "from recycled paperboard. Order yours today."
)
# Another grounded variant, so seeds can pick different texts.
GOOD_DESC_2 = (
    "Say hello to the Harbor Lights 1000-piece jigsaw puzzle. The 1000 pieces show a harbor town at "
    "dusk, with lit windows reflecting on the water, and a full-size reference poster is included, so "
    "you can see where each piece goes. The finished puzzle measures 27 x 20 inches and is made from "
    "recycled paperboard. Add it to your cart today."
)
# GOOD_DESC plus one sentence with invented numbers: repair can drop it.
ONE_INVENTED = GOOD_DESC.replace(
    "Order yours today.", "Rated 4.9 stars by 20,000 happy customers. Order yours today."
)
# Every sentence invents a claim and the whole is too short: nothing to repair.
ALL_INVENTED = "Ships in 2 days. Lasts 15 years. Holds 300 pounds. Trusted by 50,000 families."

GOOD_HEADLINE = "Harbor Lights Jigsaw Puzzle"  # 27 characters, names the product


@dataclass
class FakeScored:
    score: float
    explanation: str = "fake scorer"


@dataclass
class FakeScorer:
    """Scores by a rule (a float, or ``text -> float``); records every batch it saw."""

    rule: float | Callable[[str], float] = 0.8
    calls: list[tuple[list[str], str | None]] = field(default_factory=list)

    def score(self, texts: Sequence[str], channel: str | None = None) -> list[FakeScored]:
        self.calls.append((list(texts), channel))
        value = self.rule
        return [FakeScored(value(t) if callable(value) else value, f"fake score for {len(t)} chars") for t in texts]


@dataclass
class FakeExemplar:
    text: str


@dataclass
class FakeStore:
    """Returns fixed exemplars; records the queries."""

    texts: list[str] = field(default_factory=lambda: ["Relax into a 500-piece lakeside puzzle. Shop now."])
    queries: list[tuple[str, str | None, str | None, int]] = field(default_factory=list)

    def search(self, query: str, channel: str | None = None, category: str | None = None, k: int = 4) -> list[FakeExemplar]:
        self.queries.append((query, channel, category, k))
        return [FakeExemplar(t) for t in self.texts[:k]]
