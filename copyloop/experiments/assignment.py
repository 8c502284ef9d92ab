"""Sticky, deterministic assignment of a unit (visitor) to a variant.

A unit's bucket is a hash of (experiment id, unit id) mapped to [0, 1): the same visitor lands in
the same bucket on every server, with no state to share. The bucket is placed on the cumulative
weights of the allocation period in which the unit is *first* seen, and that first assignment is
stored, so re-weighting never moves a unit (its later events keep counting for the variant it saw).
"""

from __future__ import annotations

import hashlib
from typing import Sequence


def bucket(experiment_id: str, unit: str) -> float:
    """A uniform number in [0, 1) fixed by the experiment and the unit."""
    digest = hashlib.sha256(f"{experiment_id}\x1f{unit}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def choose(u: float, variant_ids: Sequence[str], weights: Sequence[float]) -> tuple[str, float]:
    """The variant whose slice of the cumulative weights holds ``u``, and its probability."""
    total = float(sum(w for w in weights if w > 0))
    if total <= 0:
        raise ValueError("no variant has a positive weight")
    edge = 0.0
    last = None
    for vid, w in zip(variant_ids, weights):
        if w <= 0:
            continue
        last = (vid, w / total)
        edge += w / total
        if u < edge:
            return vid, w / total
    assert last is not None
    return last  # rounding at the top edge


__all__ = ["bucket", "choose"]
