"""State of the refinement graph: a narrow input and the full working state.

``InputState`` is what a caller hands the graph (the Engine fills every default before invoking,
so the graph never reads settings for them). ``State`` adds what the nodes exchange between
rounds. Everything here is a pydantic model or a plain value so that a checkpointer (in-memory,
SQLite, Postgres) can persist a run between human turns.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, Field

from copyloop.graph.result import IterationTrace, RefineResult, StopReason
from copyloop.tools.schemas import Critique, Draft, ProductBrief


class Judged(BaseModel):
    """One candidate after the critics and the scorer have seen it."""

    draft: Draft
    score: float = Field(..., ge=0.0, le=1.0, description="conversion score from the scorer")
    explanation: str = Field("", description="the scorer's one-line reason")
    critiques: list[Critique] = Field(default_factory=list)

    @property
    def hard_failures(self) -> list[Critique]:
        """Failed hard critiques: any one of them means the text may not be returned as passed."""
        return [c for c in self.critiques if c.hard and not c.passed]

    @property
    def hard_pass(self) -> bool:
        return not self.hard_failures

    @property
    def soft_quality(self) -> float:
        """Mean score of the soft critics (1.0 when there are none)."""
        soft = [c.score for c in self.critiques if not c.hard]
        return sum(soft) / len(soft) if soft else 1.0

    @property
    def open_critiques(self) -> list[Critique]:
        """Critiques this text did not pass (hard ones first)."""
        failed = [c for c in self.critiques if not c.passed]
        return sorted(failed, key=lambda c: (not c.hard, c.score))


def merge_critiques(
    left: dict[int, list[Critique]], right: dict[int, list[Critique]] | None
) -> dict[int, list[Critique]]:
    """Reducer for the parallel critic nodes: each adds its verdicts to every draft's list.

    Merging is order-independent where it matters: a critic's verdict replaces an earlier one of
    the same critic for the same draft, and ``score`` orders each list by the configured critic
    order, so results do not depend on which critic node finished first. ``None`` clears the map;
    the draft node sends it at the start of every round so critiques of the last round never
    leak into this one.
    """
    if right is None:
        return {}
    out = {k: list(v) for k, v in left.items()}
    for index, critiques in right.items():
        names = {c.critic for c in critiques}
        out[index] = [c for c in out.get(index, []) if c.critic not in names] + list(critiques)
    return out


@dataclass
class InputState:
    """What one refinement is asked to do (the narrow interface to the outside world)."""

    product: ProductBrief
    """The product brief. Untrusted text: it is only ever rendered as data in the prompt."""

    channel: str = "product_description"
    """Channel spec name (``ChannelRegistry`` key) whose hard rules the copy must pass."""

    threshold: float = 0.55
    """Conversion score the returned text must reach to count as passed."""

    max_iterations: int = 3
    """Draft -> critique -> score rounds at most."""

    candidates: int = 3
    """LLM drafts per round (each also gets a repaired variant when repair changes it)."""

    seed: int = 0
    """Base seed: round ``i`` drafts with ``seed + 1000 * i`` so a run is reproducible."""

    feedback: list[str] = field(default_factory=list)
    """Human requests ("shorter", "mention the warranty") applied in every round."""

    previous: str | None = None
    """Text the human is revising (chat turn); the first round revises it instead of starting fresh."""


@dataclass
class State(InputState):
    """Everything the nodes exchange while the loop runs."""

    iteration: int = 0
    """Current round, 0-based."""

    exemplars: list[str] = field(default_factory=list)
    """Past high-performing copy for this channel/category (few-shot examples, diversity references)."""

    drafts: list[Draft] = field(default_factory=list)
    """This round's candidates: the LLM drafts plus their repaired variants."""

    critiques: Annotated[dict[int, list[Critique]], merge_critiques] = field(default_factory=dict)
    """Critiques of this round, keyed by index into ``drafts`` (written by the parallel critic nodes)."""

    judged: list[Judged] = field(default_factory=list)
    """This round's candidates with critiques and scores, in ``drafts`` order."""

    best: Judged | None = None
    """Best hard-passing candidate of all rounds so far (the only kind that may pass)."""

    least_bad: Judged | None = None
    """Best candidate regardless of hard rules (fewest hard failures, then score): the
    best-effort answer when nothing passes."""

    first_draft_score: float | None = None
    """Score of the very first LLM draft (round 0, candidate 0, unrepaired): the single-pass
    baseline the loop is measured against."""

    history: list[str] = field(default_factory=list)
    """Best text of each finished round (the drafter revises the last; diversity compares to all)."""

    next_feedback: list[str] = field(default_factory=list)
    """Critic feedback for the next round: failed hard critiques first, then the weakest soft ones."""

    trace: Annotated[list[IterationTrace], operator.add] = field(default_factory=list)
    """One entry per finished round."""

    round_started: float = 0.0
    """``time.perf_counter()`` when this round's draft began (for the trace's seconds)."""

    stop_reason: StopReason | None = None
    """Why the loop stopped; ``None`` while it runs."""

    llm_error: str | None = None
    """Message of the LLMOutputError that ended the run, if any."""

    result: RefineResult | None = None
    """The final answer, written by ``finish``."""



