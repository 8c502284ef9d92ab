"""The result of one refinement: what ``copyloop.refine`` returns and ``refine --json`` prints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from copyloop.tools.schemas import Critique

StopReason = Literal[
    "threshold_met",  # score >= threshold and every hard rule passes
    "max_iterations",  # cap reached: best passing draft so far (passed=False if below threshold)
    "no_valid_draft",  # cap reached and no draft passed the hard rules: best effort, passed=False
    "llm_failed",  # the LLM kept returning empty/garbage text; reported, not crashed on
]


class CandidateTrace(BaseModel):
    """One candidate of one iteration, as judged."""

    text: str
    score: float
    hard_pass: bool
    angle: str = ""
    failed: list[str] = Field(default_factory=list, description="names of failed critics")
    critic_scores: dict[str, float] = Field(
        default_factory=dict, description="every critic's score by name (re-ranking by R_λ needs diversity, sentiment, cta)"
    )


class IterationTrace(BaseModel):
    """What happened in one round of draft -> critique -> score -> decide."""

    iteration: int
    candidates: list[CandidateTrace] = Field(default_factory=list)
    best_text: str = ""
    best_score: float = 0.0
    best_hard_pass: bool = False
    feedback: list[str] = Field(default_factory=list, description="revision instructions sent to the next round")
    decision: str = ""
    seconds: float = 0.0


class RefineResult(BaseModel):
    """Final copy plus honest scores and the reasons for every revision."""

    text: str
    score: float = Field(..., ge=0.0, le=1.0, description="conversion score of the returned text")
    passed: bool = Field(..., description="score >= threshold and every hard rule passes")
    stop_reason: StopReason
    iterations: int
    critiques: list[Critique] = Field(default_factory=list, description="open critiques of the returned text")
    trace: list[IterationTrace] = Field(default_factory=list)
    channel: str = ""
    product_id: str | None = None
    threshold: float = 0.0
    seed: int = 0
    first_draft_score: float | None = None
    explanation: str = ""
    warnings: list[str] = Field(default_factory=list)
