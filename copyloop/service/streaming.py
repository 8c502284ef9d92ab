"""A refinement that reports each round as it finishes (for SSE and the workbench).

``stream_refine`` does what ``Engine.refine`` does — ``engine.prepare`` validates and fills the
defaults, the compiled graph runs with ``engine.run_context()`` — but drives the graph with
``graph.stream(..., stream_mode="updates")``, so every node's update arrives as soon as the node
ends. The ``score`` node's update carries the judged candidates (texts, conversion scores with
the scorer's explanations, every critic's verdict); the ``decide`` node's update closes the round
(decision, feedback for the next round). Each closed round is sent to the observer as a
``RoundView``; the final ``RefineResult`` is returned (and is the same object ``refine`` returns
for the same inputs and seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, Field

from copyloop.graph.result import IterationTrace, RefineResult
from copyloop.tools.schemas import Critique


@dataclass
class RefineArgs:
    """The arguments of one ``Engine.refine`` call."""

    product: Any
    channel: str = "product_description"
    threshold: float | None = None
    max_iterations: int | None = None
    candidates: int | None = None
    seed: int = 0
    feedback: list[str] = field(default_factory=list)
    previous: str | None = None
    run_texts: list[str] = field(default_factory=list)


class CandidateView(BaseModel):
    """One judged candidate of a round, with everything a person needs to compare it."""

    index: int
    text: str
    score: float = Field(..., description="conversion score (the scorer's calibrated win probability)")
    explanation: str = Field("", description="what moved the score")
    hard_pass: bool = Field(..., description="every hard rule (grounding, channel rules, ...) passes")
    best: bool = Field(False, description="the round's top candidate")
    angle: str = ""
    source: str = Field("llm", description="llm | repair (claims or offensive sentences removed)")
    critiques: list[Critique] = Field(default_factory=list, description="every critic's verdict, hard rules included")

    @property
    def critic_scores(self) -> dict[str, float]:
        return {c.critic: c.score for c in self.critiques}


class RoundView(BaseModel):
    """One finished round of draft -> critique -> score -> decide."""

    iteration: int
    decision: str = Field(..., description="revise | threshold_met | max_iterations | no_valid_draft | llm_failed")
    threshold: float
    best_text: str = ""
    best_score: float = 0.0
    best_hard_pass: bool = False
    feedback: list[str] = Field(default_factory=list, description="instructions sent to the next round")
    seconds: float = 0.0
    candidates: list[CandidateView] = Field(default_factory=list)


class StageView(BaseModel):
    """A node of the loop finished (so a client can show what runs now: 'round 2: drafting...')."""

    node: str = Field(..., description="retrieve | draft | repair | score | decide")
    iteration: int = Field(..., description="the round now running (0-based; after decide: the next round)")
    decision: str = Field("", description="for decide: revise, or why the loop stops")


class RefineStart(BaseModel):
    """A refinement began on the model worker."""

    channel: str
    title: str
    threshold: float
    max_iterations: int
    candidates: int
    seed: int
    feedback: list[str] = Field(default_factory=list)


def round_view(trace: IterationTrace, judged: list[Any], threshold: float) -> RoundView:
    """The round ``trace`` closed, with the full verdicts of the candidates the score node judged."""
    candidates = [
        CandidateView(
            index=i,
            text=j.draft.text,
            score=round(float(j.score), 4),
            explanation=j.explanation,
            hard_pass=j.hard_pass,
            best=j.draft.text == trace.best_text,
            angle=j.draft.angle,
            source=j.draft.source,
            critiques=list(j.critiques),
        )
        for i, j in enumerate(judged)
    ]
    return RoundView(
        iteration=trace.iteration,
        decision=trace.decision,
        threshold=threshold,
        best_text=trace.best_text,
        best_score=round(trace.best_score, 4),
        best_hard_pass=trace.best_hard_pass,
        feedback=list(trace.feedback),
        seconds=trace.seconds,
        candidates=candidates,
    )


Emit = Callable[[str, Any], None]


def stream_refine(engine: Any, args: RefineArgs, emit: Emit | None = None) -> RefineResult:
    """Run one refinement on ``engine``, calling ``emit(kind, payload)`` as it goes.

    Kinds: ``refine_started`` (RefineStart), ``stage`` (StageView), ``round`` (RoundView). Raises
    what ``Engine.refine`` raises (``InputError``, ``UnknownChannelError``) before any model work.
    """
    from copyloop.graph.build import recursion_limit

    def send(kind: str, payload: Any) -> None:
        if emit is not None:
            emit(kind, payload)

    if not all(hasattr(engine, name) for name in ("prepare", "run_context", "graph")):
        # an engine factory may return anything with Engine.refine: it still works, without rounds
        return engine.refine(args.product, args.channel, args.threshold, args.max_iterations, args.candidates,
                             args.seed, feedback=args.feedback, previous=args.previous, run_texts=args.run_texts)
    state = engine.prepare(
        args.product, args.channel, args.threshold, args.max_iterations, args.candidates, args.seed,
        feedback=args.feedback, previous=args.previous,
    )
    send("refine_started", RefineStart(
        channel=state.channel, title=state.product.title, threshold=state.threshold,
        max_iterations=state.max_iterations, candidates=state.candidates, seed=state.seed, feedback=list(state.feedback),
    ))
    context = engine.run_context(args.run_texts)
    config = {"recursion_limit": recursion_limit(state.max_iterations)}
    judged: list[Any] = []
    iteration = 0
    result: RefineResult | None = None
    for chunk in engine.graph.stream(state, config, context=context, stream_mode="updates"):
        for node, update in chunk.items():
            if not isinstance(update, dict):
                continue
            if node == "score":
                judged = list(update.get("judged") or [])
            elif node == "decide":
                decision = "revise"
                for trace in update.get("trace") or []:
                    send("round", round_view(trace, judged, state.threshold))
                    decision = trace.decision
                iteration = int(update.get("iteration", iteration))
                send("stage", StageView(node=node, iteration=iteration, decision=decision))
            elif node == "finish":
                for trace in update.get("trace") or []:  # the round the LLM failed in
                    send("round", round_view(trace, [], state.threshold))
                result = update.get("result")
            if node in ("retrieve", "draft", "repair", "score"):
                send("stage", StageView(node=node, iteration=iteration))
    assert isinstance(result, RefineResult), "the graph always ends in finish"
    return result


__all__ = ["CandidateView", "RefineArgs", "RefineStart", "RoundView", "StageView", "round_view", "stream_refine"]
