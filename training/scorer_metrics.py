"""Held-out evaluation helpers for the conversion scorer (used by bench/scorer_eval.py and tests).

Splits are grouped by test_id (a test is entirely in train or in held-out), so the model never
sees any variant of a held-out test. Pairs are scored as binary predictions "a beats b";
calibration is measured on the confidence of the predicted winner (max(p, 1-p)), which is the
usual form for symmetric pairwise models.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from pydantic import BaseModel

from copyloop.training.ab_log import ABRow
from copyloop.training.pairs import two_proportion_z


def split_tests(rows: Sequence[ABRow], test_fraction: float = 0.2, seed: int = 0) -> tuple[list[ABRow], list[ABRow]]:
    """(train rows, held-out rows): a seeded permutation of the sorted test ids, whole tests only."""
    tests = sorted({r.test_id for r in rows})
    order = np.random.default_rng(seed).permutation(len(tests))
    held = {tests[k] for k in order[: int(round(test_fraction * len(tests)))]}
    return [r for r in rows if r.test_id not in held], [r for r in rows if r.test_id in held]


def row_pairs(rows: Sequence[ABRow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Package-level pairs: rows of one test whose texts differ (rows with the same text are not compared).

    Returns (i, j, z) with indices into ``rows``.
    """
    by_test: dict[str, list[int]] = {}
    for k, r in enumerate(rows):
        by_test.setdefault(r.test_id, []).append(k)
    ii, jj = [], []
    for members in by_test.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                if rows[members[a]].text != rows[members[b]].text:
                    ii.append(members[a])
                    jj.append(members[b])
    i, j = np.asarray(ii, dtype=np.int64), np.asarray(jj, dtype=np.int64)
    n = np.asarray([r.impressions for r in rows], dtype=np.float64)
    s = np.asarray([r.clicks for r in rows], dtype=np.float64)
    z = two_proportion_z(s[i], n[i], s[j], n[j]) if len(i) else np.zeros(0)
    return i, j, z


class ReliabilityBin(BaseModel):
    lo: float
    hi: float
    n: int
    confidence: float
    accuracy: float


def reliability(p_first_wins: np.ndarray, first_won: np.ndarray, bins: int = 10) -> tuple[float, list[ReliabilityBin]]:
    """(expected calibration error, bins) over predicted-winner confidence in [0.5, 1]."""
    p = np.asarray(p_first_wins, dtype=np.float64)
    won = np.asarray(first_won, dtype=bool)
    conf = np.maximum(p, 1 - p)
    correct = np.where(p >= 0.5, won, ~won)
    edges = np.linspace(0.5, 1.0, bins + 1)
    out: list[ReliabilityBin] = []
    ece = 0.0
    for b in range(bins):
        m = (conf >= edges[b]) & ((conf < edges[b + 1]) if b < bins - 1 else (conf <= edges[b + 1]))
        if not m.any():
            continue
        c, a = float(conf[m].mean()), float(correct[m].mean())
        ece += m.sum() / len(p) * abs(a - c)
        out.append(ReliabilityBin(lo=float(edges[b]), hi=float(edges[b + 1]), n=int(m.sum()), confidence=c, accuracy=a))
    return float(ece), out


__all__ = ["ReliabilityBin", "reliability", "row_pairs", "split_tests"]
