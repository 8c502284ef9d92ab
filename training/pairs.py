"""From A/B rows to the comparisons the scorer learns from.

Variants are compared only within their own test (same traffic, same week); rates of different
tests are not comparable. Rows of one test with the same text (after collapsing whitespace) are
one variant: Upworthy tests often vary the image or the lede under an identical headline, and
such rows say nothing about the headline, so their impressions and successes are pooled instead
of being paired against each other. Each pair carries a two-proportion z statistic, so training
can keep the significant pairs or weight pairs by the strength of their evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np

from copyloop.training.ab_log import ABRow


@dataclass(frozen=True)
class Variant:
    """One distinct text of one test, with pooled counts."""

    test_id: str
    text: str
    impressions: int
    successes: int
    channel: str | None = None
    category: str | None = None

    @property
    def rate(self) -> float:
        return self.successes / self.impressions


@dataclass(frozen=True)
class Pairs:
    """All within-test pairs (i < j) of variants; ``z`` > 0 means variant i had the higher rate."""

    i: np.ndarray  # int64 indices into the variant list
    j: np.ndarray
    z: np.ndarray  # two-proportion z statistic of rate_i - rate_j
    test: np.ndarray  # test index of each pair (for grouped splits)

    def __len__(self) -> int:
        return int(self.i.shape[0])

    def subset(self, mask: np.ndarray) -> "Pairs":
        return Pairs(self.i[mask], self.j[mask], self.z[mask], self.test[mask])


def variants_from_rows(rows: Iterable[ABRow], outcome: Literal["ctr", "cvr"] = "ctr") -> list[Variant]:
    """Pool rows by (test_id, text); order is first appearance, so the result is deterministic."""
    counts: dict[tuple[str, str], list[int]] = {}
    meta: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for r in rows:
        key = (r.test_id, r.text)
        c = counts.setdefault(key, [0, 0])
        c[0] += r.impressions
        c[1] += r.successes(outcome)
        meta.setdefault(key, (r.channel, r.category))
    return [Variant(t, x, n, s, *meta[(t, x)]) for (t, x), (n, s) in counts.items()]


def two_proportion_z(s1: np.ndarray, n1: np.ndarray, s2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Pooled two-proportion z of p1 - p2 (0 where the pooled rate is 0 or 1: no evidence)."""
    s1, n1, s2, n2 = (np.asarray(a, dtype=np.float64) for a in (s1, n1, s2, n2))
    p = (s1 + s2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    diff = s1 / n1 - s2 / n2
    out = np.zeros_like(diff)
    ok = se > 0
    out[ok] = diff[ok] / se[ok]
    return out


def within_test_pairs(variants: list[Variant]) -> Pairs:
    """Every pair of distinct texts inside each test (tests with one text give none)."""
    by_test: dict[str, list[int]] = defaultdict(list)
    for k, v in enumerate(variants):
        by_test[v.test_id].append(k)
    ii: list[int] = []
    jj: list[int] = []
    tt: list[int] = []
    for t_index, members in enumerate(by_test.values()):
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                ii.append(members[a])
                jj.append(members[b])
                tt.append(t_index)
    i = np.asarray(ii, dtype=np.int64)
    j = np.asarray(jj, dtype=np.int64)
    n = np.asarray([v.impressions for v in variants], dtype=np.float64)
    s = np.asarray([v.successes for v in variants], dtype=np.float64)
    z = two_proportion_z(s[i], n[i], s[j], n[j]) if len(i) else np.zeros(0)
    return Pairs(i, j, z, np.asarray(tt, dtype=np.int64))


__all__ = ["Pairs", "Variant", "two_proportion_z", "variants_from_rows", "within_test_pairs"]
