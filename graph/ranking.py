"""How candidates are compared and what the next round is told.

Pure functions over ``Judged`` candidates, kept apart from the nodes so the policy can be read
(and tested) in one place.

Ranking: a hard-passing draft always beats a hard-failing one; among hard-passing drafts one
that reaches the threshold beats one that does not; then a blend of the conversion score (80%)
and the soft critics' mean (20%) decides, so sentiment, CTA and diversity matter without ever
overriding the rules or the scorer. The score reported to the user is always the scorer's own.
"""

from __future__ import annotations

from typing import Iterable

from copyloop.graph.state import Judged

SCORE_WEIGHT = 0.8
"""Share of the conversion score in the ranking blend (the rest is the soft critics' mean)."""

SCORE_FEEDBACK = "Make it more appealing to shoppers: open with the most useful benefit from the facts, in plain words."
"""What the reviser is told when only the conversion score is short. Plain words, no numbers
and no scorer jargon: a 135M model copies what it reads, and the scorer's own explanation
("+ a number, - wording like past losers") ended up verbatim in headlines."""

MAX_FEEDBACK = 5
"""At most this many instructions go to the reviser: a 135M model follows a few, not ten."""


def blended(j: Judged) -> float:
    return SCORE_WEIGHT * j.score + (1.0 - SCORE_WEIGHT) * j.soft_quality


def rank_key(j: Judged, threshold: float) -> tuple[bool, bool, float]:
    """Sort key, larger is better."""
    return (j.hard_pass, j.hard_pass and j.score >= threshold, blended(j))


def least_bad_key(j: Judged) -> tuple[int, float]:
    """Sort key for the best-effort answer when nothing passes: fewest hard failures, then blend."""
    return (-len(j.hard_failures), blended(j))


def top(candidates: Iterable[Judged], threshold: float) -> Judged | None:
    """The best candidate by ``rank_key`` (``None`` for no candidates)."""
    return max(candidates, key=lambda j: rank_key(j, threshold), default=None)


def better_best(current: Judged | None, challengers: Iterable[Judged], threshold: float) -> Judged | None:
    """New best hard-passing candidate: ``current`` unless a hard-passing challenger ranks higher."""
    pool = [j for j in challengers if j.hard_pass]
    if current is not None:
        pool.append(current)
    return top(pool, threshold)


def better_least_bad(current: Judged | None, challengers: Iterable[Judged]) -> Judged | None:
    pool = list(challengers) + ([current] if current is not None else [])
    return max(pool, key=least_bad_key, default=None)


def feedback_for(j: Judged, threshold: float, human: list[str] | None = None) -> list[str]:
    """Instructions for revising ``j``: failed hard critiques first, then the human's requests,
    then the weakest failed soft critiques, then (if still below threshold) a plain request to
    make it more appealing (``SCORE_FEEDBACK``).

    Hard failures are never dropped by the cap; soft items fill what room is left.
    """
    hard = [c.message for c in j.hard_failures if c.message]
    soft_failed = sorted((c for c in j.critiques if not c.hard and not c.passed), key=lambda c: c.score)
    soft = [c.message for c in soft_failed if c.message]
    if j.score < threshold:
        soft.append(SCORE_FEEDBACK)
    out: list[str] = []
    for msg in [*hard, *(human or [])]:
        if msg not in out:
            out.append(msg)
    for msg in soft:
        if len(out) >= max(MAX_FEEDBACK, len(hard)):
            break
        if msg not in out:
            out.append(msg)
    return out
