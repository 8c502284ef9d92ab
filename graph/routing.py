"""Stop rules and edges of the refinement graph: pure functions of the state.

Stop rules (checked after every round, in this order):

* ``llm_failed``: the LLM kept returning unusable text; stop and report, never crash.
* ``threshold_met``: the best hard-passing draft reaches the threshold.
* at the iteration cap: ``max_iterations`` when some draft passed every hard rule (the best of
  them is returned, ``passed=False`` because it is below the threshold), otherwise
  ``no_valid_draft`` (the least-bad draft is returned with its open critiques, ``passed=False``).

A draft that breaks a hard rule is never stored as ``best``, so it can never be returned as passed.
"""

from __future__ import annotations

from typing import Literal

from copyloop.graph.result import StopReason
from copyloop.graph.state import State


def stop_reason(state: State) -> StopReason | None:
    """Why the loop must stop after the current round, or ``None`` to revise again."""
    if state.llm_error is not None:
        return "llm_failed"
    if state.best is not None and state.best.hard_pass and state.best.score >= state.threshold:
        return "threshold_met"
    if state.iteration + 1 >= state.max_iterations:
        return "max_iterations" if state.best is not None else "no_valid_draft"
    return None


def route_after_draft(state: State) -> Literal["repair", "finish"]:
    """No drafts (the LLM failed) -> report; otherwise repair and judge them."""
    if state.llm_error is not None or not state.drafts:
        return "finish"
    return "repair"


def route_after_decide(state: State) -> Literal["draft", "finish"]:
    """Finish once ``decide`` recorded a stop reason; otherwise run another round."""
    return "finish" if state.stop_reason is not None else "draft"
