"""From counts to traffic weights and a decision: the rules of an experiment, as pure functions.

``Evidence`` is everything the rules look at, as ``(arms, periods)`` arrays. The live
``Experiment`` builds it from its store; ``bench/experiment_sim.py`` builds it from a simulated
market and calls exactly the same ``next_weights`` and ``analyze``.

The decision rule (all must hold for a winner):
1. no sample-ratio mismatch (chi-square per period, p >= ``srm_alpha``): broken assignment
   invalidates every estimate, so nothing is declared;
2. every active arm has ``min_impressions`` in periods that have settled (``settle_minutes``:
   late conversions of younger periods are still arriving);
3. the leader's P(best) >= ``p_best`` and its expected loss <= ``max_loss`` times its rate (VWO);
4. its always-valid mSPRT p-value against every other active arm <= ``alpha`` (Optimizely), so
   looking at the status after every event does not inflate false winners. Required by default
   under a fixed split only: under a bandit the losing arms get the floor's traffic, pairwise tests
   against them almost never conclude (bench/experiment_sim.py: 0–5 % of experiments decided
   within 60k impressions against 56 % without), while P(best) and the expected loss already
   keep the A/A false-winner rate low (measured there too);
5. guardrail: with ``metric="ctr"`` and conversions recorded, a leader whose CVR is credibly lower
   (P >= ``guardrail_prob``) than another arm's is not declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from copyloop.experiments.policy import Allocation, ExperimentPolicy, Metric
from copyloop.experiments.stats import (
    SRMResult,
    msprt_p_value,
    p_best_and_loss,
    p_runner_up,
    posterior_draws,
    prob_lower,
    srm_check,
    stratify,
)

Decision = Literal["collecting", "running", "winner", "guardrail", "srm", "closed"]


@dataclass
class Evidence:
    """Counts per arm and allocation period."""

    arms: list[str]
    active: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    weights: np.ndarray
    """traffic weight of each arm in each period"""
    assignments: np.ndarray
    """units first assigned to each arm in each period (the SRM check's counts)"""
    period_ends: np.ndarray
    """when each period ended (inf for the current one), seconds since the epoch"""
    control: int | None = None

    def successes(self, metric: Metric) -> np.ndarray:
        return self.clicks if metric == "ctr" else self.conversions

    @property
    def k(self) -> int:
        return len(self.arms)


@dataclass
class ArmAnalysis:
    rate: float
    ctr: float
    cvr: float
    p_best: float
    expected_loss: float
    p_value: float
    """mSPRT p-value against the leader (1.0 for the leader itself)"""


@dataclass
class Analysis:
    arms: list[ArmAnalysis]
    winner: int | None
    decision: Decision
    reason: str
    srm: SRMResult
    leader: int | None = None
    notes: list[str] = field(default_factory=list)


def _floor_mix(p: np.ndarray, active: np.ndarray, floor: float) -> np.ndarray:
    k = int(active.sum())
    w = np.zeros(len(p))
    if k == 0:
        return w
    floor = min(floor, 1.0 / k)
    q = np.where(active, p, 0.0)
    q = q / q.sum() if q.sum() > 0 else active / k
    w[active] = floor + (1.0 - k * floor) * q[active]
    return w / w.sum()


def equal_weights(active: np.ndarray) -> np.ndarray:
    active = np.asarray(active, dtype=bool)
    return active / active.sum() if active.any() else np.zeros(len(active))


def next_weights(ev: Evidence, allocation: Allocation, metric: Metric, policy: ExperimentPolicy) -> tuple[np.ndarray, str]:
    """Weights for the next period and why (fixed split, burn-in, or the bandit's posterior)."""
    active = np.asarray(ev.active, dtype=bool)
    if allocation == "fixed" or active.sum() < 2:
        return equal_weights(active), "fixed split"
    imps = ev.impressions.sum(axis=1)
    if (imps[active] < policy.burn_in).any():
        return equal_weights(active), "burn-in"
    post = stratify(ev.impressions[active], ev.successes(metric)[active])
    draws = posterior_draws(post, policy.samples, policy.seed + ev.impressions.shape[1])
    p_best, _ = p_best_and_loss(draws)
    if allocation == "top_two":
        p = policy.top_two_beta * p_best + (1.0 - policy.top_two_beta) * p_runner_up(draws)
        reason = "top-two Thompson"
    else:
        p = p_best
        reason = "Thompson"
    full = np.zeros(ev.k)
    full[active] = p
    return _floor_mix(full, active, policy.floor), reason


def _settled(ev: Evidence, now: float, settle_seconds: float) -> np.ndarray:
    """Periods whose late events have had time to arrive."""
    if settle_seconds <= 0:
        return np.ones(ev.impressions.shape[1], dtype=bool)
    return ev.period_ends <= now - settle_seconds


def analyze(
    ev: Evidence,
    metric: Metric,
    policy: ExperimentPolicy,
    now: float,
    *,
    closed: bool = False,
    allocation: Allocation = "thompson",
) -> Analysis:
    """Per-arm estimates, P(best), expected loss and the decision (see the module docstring)."""
    active = np.asarray(ev.active, dtype=bool)
    k = ev.k
    succ = ev.successes(metric)
    full = stratify(ev.impressions, succ)
    ctr = stratify(ev.impressions, ev.clicks)
    cvr = stratify(ev.impressions, ev.conversions)
    settled = _settled(ev, now, policy.settle_seconds(metric))
    srm = srm_check(ev.assignments, ev.weights)

    idx = np.nonzero(active)[0]
    p_best = np.zeros(k)
    loss = np.full(k, np.nan)
    p_vals = np.ones(k)
    leader: int | None = None
    lead_rate = 0.0
    if settled.any() and len(idx) >= 1:
        cols = np.nonzero(settled)[0]
        sub = stratify(ev.impressions[np.ix_(idx, cols)], succ[np.ix_(idx, cols)])
        draws = posterior_draws(sub, policy.samples, policy.seed)
        pb, ls = p_best_and_loss(draws)
        p_best[idx] = pb
        loss[idx] = ls
        top = int(np.argmax(pb))
        leader = int(idx[top])
        lead_rate = float(sub.rate[top]) if np.isfinite(sub.rate[top]) else 0.0
        pooled = float(sub.successes.sum() / max(1.0, float(sub.impressions.sum())))
        tau = max(policy.msprt_tau * pooled, 1e-6)
        for pos, i in enumerate(idx):
            if i != leader:
                p_vals[i] = msprt_p_value(sub.rate[top], sub.variance[top], sub.rate[pos], sub.variance[pos], tau)
    arms = [
        ArmAnalysis(
            rate=float(full.rate[i]) if np.isfinite(full.rate[i]) else 0.0,
            ctr=float(ctr.rate[i]) if np.isfinite(ctr.rate[i]) else 0.0,
            cvr=float(cvr.rate[i]) if np.isfinite(cvr.rate[i]) else 0.0,
            p_best=float(p_best[i]),
            expected_loss=float(loss[i]) if np.isfinite(loss[i]) else 0.0,
            p_value=float(p_vals[i]),
        )
        for i in range(k)
    ]

    def result(winner: int | None, decision: Decision, reason: str) -> Analysis:
        return Analysis(arms, winner, decision, reason, srm, leader)

    if closed:
        return result(None, "closed", "the experiment is closed")
    if srm.checked and srm.p_value < policy.srm_alpha:
        return result(
            None,
            "srm",
            f"sample ratio mismatch: assignment counts do not follow the traffic weights (chi-square p={srm.p_value:.2g} "
            f"over {srm.periods_checked} periods); check how the storefront assigns and logs units",
        )
    if len(idx) < 2:
        return result(None, "running", "fewer than two active variants")
    settled_imps = ev.impressions[:, settled].sum(axis=1) if settled.any() else np.zeros(k)
    short = [ev.arms[i] for i in idx if settled_imps[i] < policy.min_impressions]
    if short:
        return result(
            None,
            "collecting",
            f"waiting for {policy.min_impressions} settled impressions per variant ({', '.join(short)} not there yet)",
        )
    assert leader is not None
    lead = arms[leader]
    rel_loss = lead.expected_loss / max(lead_rate, 1e-12)
    others = [i for i in idx if i != leader]
    worst_p = max(p_vals[i] for i in others)
    alpha = policy.effective_alpha(allocation)
    needs_p = f" (needs <= {alpha})" if alpha < 1.0 else ""
    if lead.p_best < policy.p_best or rel_loss > policy.max_loss or worst_p > alpha:
        return result(
            None,
            "running",
            f"leader {ev.arms[leader]}: P(best)={lead.p_best:.3f} (needs {policy.p_best}), expected loss "
            f"{rel_loss:.2%} of its rate (needs <= {policy.max_loss:.2%}), always-valid p={worst_p:.3g}{needs_p}",
        )
    if metric == "ctr" and ev.conversions.sum() > 0:
        conv = stratify(ev.impressions[:, settled], ev.conversions[:, settled])  # settled: see check 2
        for j in others:
            p_low = prob_lower(conv, leader, j, policy.samples, policy.seed)
            if p_low >= policy.guardrail_prob:
                return result(
                    None,
                    "guardrail",
                    f"{ev.arms[leader]} wins on CTR but its CVR is credibly lower than {ev.arms[j]}'s "
                    f"(P={p_low:.3f}); not declared",
                )
    return result(
        leader,
        "winner",
        f"{ev.arms[leader]} wins: P(best)={lead.p_best:.3f}, expected loss {rel_loss:.2%} of its rate, "
        f"always-valid p={worst_p:.3g} against every other variant" + (f" (<= {alpha})" if alpha < 1.0 else ""),
    )


__all__ = ["Analysis", "ArmAnalysis", "Decision", "Evidence", "analyze", "equal_weights", "next_weights"]
