"""The simulated market of bench/experiment_sim.py: a ground-truth CTR model and traffic.

Ground truth: a model the loop never uses — logistic regression on all-MiniLM-L6-v2 embedding
differences of within-test headline pairs, trained on one half of the Upworthy tests (split by a
hash of test_id; the weeks 201326–201402 with suspected broken randomisation are left out). The
other half supplies the headlines of the simulated experiments, so the ground truth scores texts
it never saw. Its utility u(text) maps to a CTR by ``logit(ctr) = logit(base) + beta * (u - u0)``,
where ``beta`` is the slope of within-test log-CTR differences on utility differences (fitted on
the training half), and the base CTR is drawn from 1–5 %.

Caveat, stated wherever figures are quoted: the bundled conversion scorer (which the loop uses to
rank drafts) was trained on *all* of packages.csv, so it has seen the tests the ground truth
learned from: the two models agree more than a real market and a model would.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BROKEN_WEEKS = (201326, 201402)


def _half(test_id: str) -> int:
    return int(hashlib.sha1(test_id.encode()).hexdigest()[-1], 16) % 2


@dataclass
class Headline:
    test_id: str
    text: str
    impressions: int
    clicks: int

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions


def read_upworthy(path: Path) -> list[Headline]:
    """Pooled (test, headline) variants, without the broken-randomisation weeks."""
    pooled: dict[tuple[str, str], list[int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            try:
                week = int(rec["test_week"])
                n, c = int(float(rec["impressions"])), int(float(rec["clicks"]))
            except (KeyError, ValueError):
                continue
            if BROKEN_WEEKS[0] <= week <= BROKEN_WEEKS[1] or n <= 0 or c > n:
                continue
            text = " ".join((rec.get("headline") or "").split())
            if not text:
                continue
            acc = pooled.setdefault((rec["test_id"], text), [0, 0])
            acc[0] += n
            acc[1] += c
    return [Headline(t, x, n, c) for (t, x), (n, c) in pooled.items()]


def _pairs(items: list[Headline]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    by_test: dict[str, list[int]] = {}
    for k, h in enumerate(items):
        by_test.setdefault(h.test_id, []).append(k)
    ii, jj = [], []
    for members in by_test.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                ii.append(members[a])
                jj.append(members[b])
    i, j = np.asarray(ii), np.asarray(jj)
    n = np.array([h.impressions for h in items], float)
    c = np.array([h.clicks for h in items], float)
    p1, p2 = c[i] / n[i], c[j] / n[j]
    pooled = (c[i] + c[j]) / (n[i] + n[j])
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / n[i] + 1 / n[j]), 1e-18))
    z = (p1 - p2) / se
    dlog = np.log((c[i] + 0.5) / n[i]) - np.log((c[j] + 0.5) / n[j])
    return i, j, z, dlog


class GroundTruth:
    """u(text) = w . embedding(text); CTR mapping slope ``beta`` (see the module docstring)."""

    def __init__(self, data: Path, embedder, cache: Path) -> None:  # type: ignore[no-untyped-def]
        from sklearn.linear_model import LogisticRegression

        items = read_upworthy(data)
        self.embedder = embedder
        train = [h for h in items if _half(h.test_id) == 0]
        self.holdout = [h for h in items if _half(h.test_id) == 1]
        emb_train = self._embed([h.text for h in train], cache / "gt_train.npy")
        i, j, z, dlog = _pairs(train)
        keep = np.abs(z) >= 1.0
        x = emb_train[i[keep]] - emb_train[j[keep]]
        y = (z[keep] > 0).astype(int)
        x = np.vstack([x, -x])
        y = np.concatenate([y, 1 - y])
        model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000)
        model.fit(x, y)
        self.w = model.coef_[0]
        du = (emb_train[i] - emb_train[j]) @ self.w
        self.beta = float(np.dot(du, dlog) / np.dot(du, du))
        self.train_pairs = int(keep.sum())
        emb_hold = self._embed([h.text for h in self.holdout], cache / "gt_holdout.npy")
        hi, hj, hz, _ = _pairs(self.holdout)
        sig = np.abs(hz) >= 1.96
        pred = (emb_hold[hi[sig]] - emb_hold[hj[sig]]) @ self.w
        self.holdout_accuracy = float(np.mean((pred > 0) == (hz[sig] > 0)))
        self.holdout_pairs = int(sig.sum())
        self._holdout_u = emb_hold @ self.w

    def _embed(self, texts: list[str], path: Path) -> np.ndarray:
        key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        cached = path.with_name(f"{path.stem}.{key}.npy")
        if cached.is_file():
            return np.load(cached)
        vecs = np.asarray(self.embedder.encode(texts), dtype=np.float64)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, vecs)
        return vecs

    def utility(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.embedder.encode(texts), dtype=np.float64) @ self.w

    def ctrs(self, utilities: np.ndarray, base: float, reference: float) -> np.ndarray:
        logit = math.log(base / (1 - base)) + self.beta * (np.asarray(utilities) - reference)
        return 1.0 / (1.0 + np.exp(-logit))

    def holdout_tests(self, k: int, rng: np.random.Generator, n: int) -> list[np.ndarray]:
        """``n`` draws of ``k`` held-out headlines' utilities from tests with at least ``k`` headlines."""
        by_test: dict[str, list[int]] = {}
        for idx, h in enumerate(self.holdout):
            by_test.setdefault(h.test_id, []).append(idx)
        eligible = [v for v in by_test.values() if len(v) >= k]
        out = []
        for t in rng.choice(len(eligible), size=n, replace=True):
            members = rng.choice(eligible[t], size=k, replace=False)
            out.append(self._holdout_u[members])
        return out


@dataclass
class Market:
    """Traffic and time: weekly seasonality, fatigue with exposure, delayed conversions."""

    traffic_per_hour: float = 250.0
    season_amplitude: float = 0.3
    season_period_h: float = 168.0
    fatigue_share: float = 0.15
    """share of an arm's CTR lost after a very long exposure"""
    fatigue_scale: float = 60000.0
    """impressions of an arm over which fatigue sets in (e-folding)"""
    conversion_per_click: float = 0.08
    conversion_delay_h: float = 24.0

    def season(self, t_hours: float) -> float:
        return 1.0 + self.season_amplitude * math.sin(2 * math.pi * t_hours / self.season_period_h)

    def fatigue(self, exposure: np.ndarray) -> np.ndarray:
        return 1.0 - self.fatigue_share * (1.0 - np.exp(-exposure / self.fatigue_scale))
