"""The statistics of an experiment, as pure functions over count tables (numpy + scipy).

Everything here works on ``(arms, periods)`` arrays of impressions and successes, where a
*period* is a span in which the traffic weights were constant. The live experiment and the market
simulator (bench/experiment_sim.py) call the same functions.

Why these methods (and not gbstats, savvi or spotify-confidence):
- **Unbiased rates under changing weights: post-stratification by allocation period.** When a
  bandit moves traffic towards an arm while the market drifts (weekly seasonality), pooled
  clicks/impressions mixes each arm's rate over different times (Simpson's paradox). Each arm's
  rate is instead the average of its per-period rates with the *same* period weights for every arm
  (the period's share of all impressions), as Optimizely does. Under a fixed split (one period, or
  constant weights) it equals the plain rate. Inverse-propensity weighting with the logged
  assignment probability is unbiased too, but its variance grows with 1/floor; post-stratification
  uses the observed counts per period and is the lower-variance choice here.
- **Posteriors: Beta with the stratified estimate's mean and variance** (an effective sample size).
  With one period it is exactly Beta(1 + clicks, 1 + impressions - clicks).
- **P(best) and expected loss**: Monte Carlo over those Betas with a fixed seed (reproducible).
- **Sequential test: the mixture SPRT (Johari, Pekelis & Walsh 2017, Optimizely's always-valid
  p-values)** on the difference of two stratified rates, a closed form of a few lines.
- **SRM: chi-square of observed vs expected assignment counts, per period**, summed over periods.
- **Fatigue: weighted least squares of log-rate (or log-lift over the other arms) against time
  window**, a one-sided z-test on the slope.

gbstats 0.8 pins numpy<2 and pandas<2, which this environment (torch, chromadb) cannot take;
spotify-confidence pulls statsmodels, chartify and ipywidgets for frequentist two-arm tests with a
fixed horizon; savvi implements the anytime-valid multinomial tests but imports cvxpy at module
level and assumes constant assignment probabilities. The few formulas needed fit in scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Stratified:
    """Per-arm period-stratified rate, its variance and the Beta posterior it implies."""

    rate: np.ndarray
    """stratified rate per arm (nan for an arm without impressions)"""
    variance: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    impressions: np.ndarray
    successes: np.ndarray


def stratify(impressions: np.ndarray, successes: np.ndarray) -> Stratified:
    """Post-stratified rates of ``(arms, periods)`` counts.

    Period weights are the period's share of all impressions. An arm without impressions in a
    period (retired, or added later) is averaged over the periods it has, with those weights
    renormalised. The variance uses the arm's smoothed pooled rate in every period (per-period
    rates of a few impressions would give zero variances).
    """
    imp = np.asarray(impressions, dtype=float)
    suc = np.asarray(successes, dtype=float)
    if imp.ndim == 1:
        imp, suc = imp[:, None], suc[:, None]
    k = imp.shape[0]
    total = imp.sum()
    period_w = imp.sum(axis=0) / total if total > 0 else np.zeros(imp.shape[1])
    rate = np.full(k, np.nan)
    var = np.full(k, np.nan)
    a = np.ones(k)
    b = np.ones(k)
    for i in range(k):
        mask = imp[i] > 0
        if not mask.any():
            continue
        w = period_w[mask]
        w = w / w.sum()
        r = suc[i, mask] / imp[i, mask]
        rate[i] = float(np.dot(w, r))
        pooled = (suc[i].sum() + 1.0) / (imp[i].sum() + 2.0)
        var[i] = float(np.sum(w**2 * pooled * (1.0 - pooled) / imp[i, mask]))
        n_eff = pooled * (1.0 - pooled) / var[i]
        a[i] = 1.0 + rate[i] * n_eff
        b[i] = 1.0 + (1.0 - rate[i]) * n_eff
    return Stratified(rate, var, a, b, imp.sum(axis=1), suc.sum(axis=1))


def posterior_draws(post: Stratified, samples: int, seed: int) -> np.ndarray:
    """``(samples, arms)`` draws of each arm's rate from its Beta posterior."""
    rng = np.random.default_rng(seed)
    return rng.beta(post.alpha[None, :], post.beta[None, :], size=(samples, len(post.alpha)))


def p_best_and_loss(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(arm is best) and expected loss E[max_j rate_j - rate_i] per arm."""
    best = draws.argmax(axis=1)
    k = draws.shape[1]
    p_best = np.bincount(best, minlength=k) / draws.shape[0]
    loss = (draws.max(axis=1, keepdims=True) - draws).mean(axis=0)
    return p_best, loss


def p_runner_up(draws: np.ndarray) -> np.ndarray:
    """P(arm is second best) in the same draws (top-two Thompson's challenger)."""
    if draws.shape[1] < 2:
        return np.zeros(draws.shape[1])
    second = np.argsort(draws, axis=1)[:, -2]
    return np.bincount(second, minlength=draws.shape[1]) / draws.shape[0]


def msprt_p_value(rate_a: float, var_a: float, rate_b: float, var_b: float, tau: float) -> float:
    """Always-valid p-value of H0: rate_a == rate_b (normal-mixture SPRT, Johari et al. 2017).

    ``tau`` is the standard deviation of the mixing distribution of the difference (the lift one
    expects, in rate units). The p-value can be looked at after every event: the chance that it
    ever drops below alpha under H0 is at most alpha.
    """
    v = var_a + var_b
    if not np.isfinite(v) or v <= 0 or not np.isfinite(rate_a) or not np.isfinite(rate_b):
        return 1.0
    t2 = tau * tau
    delta = rate_a - rate_b
    log_lambda = 0.5 * np.log(v / (v + t2)) + (t2 * delta * delta) / (2.0 * v * (v + t2))
    return float(min(1.0, np.exp(-log_lambda)))


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch check: chi-square summed over periods."""

    statistic: float
    dof: int
    p_value: float
    periods_checked: int

    @property
    def checked(self) -> bool:
        return self.periods_checked > 0


def srm_check(counts: np.ndarray, weights: np.ndarray, min_expected: float = 5.0) -> SRMResult:
    """Chi-square of observed ``(arms, periods)`` assignment counts against each period's weights.

    Periods where any arm with a positive weight expects fewer than ``min_expected`` units are
    skipped (the chi-square approximation needs them); units on an arm with weight 0 are a
    mismatch outright. Vectorised over periods: an experiment can have hundreds.
    """
    counts = np.asarray(counts, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if counts.size == 0:
        return SRMResult(0.0, 0, 1.0, 0)
    live = weights > 0
    n = counts.sum(axis=0)
    share = np.where(live, weights, 0.0)
    total_w = share.sum(axis=0)
    share = np.divide(share, total_w, out=np.zeros_like(share), where=total_w > 0)
    expected = share * n
    smallest = np.where(live, expected, np.inf).min(axis=0)
    usable = (n > 0) & (live.sum(axis=0) >= 2) & (smallest >= min_expected)
    used = int(usable.sum())
    if (np.where(live, 0.0, counts)[:, usable] > 0).any():
        return SRMResult(float("inf"), used, 0.0, used)
    terms = np.divide((counts - expected) ** 2, expected, out=np.zeros_like(expected), where=live & (expected > 0))
    stat = float(terms[:, usable].sum())
    dof = int((live[:, usable].sum(axis=0) - 1).sum())
    p_value = float(sps.chi2.sf(stat, dof)) if dof else 1.0
    return SRMResult(stat, dof, p_value, used)


def prob_lower(post: Stratified, i: int, j: int, samples: int, seed: int) -> float:
    """P(rate_i < rate_j) under the two Beta posteriors (the guardrail)."""
    rng = np.random.default_rng(seed + 7)
    x = rng.beta(post.alpha[i], post.beta[i], samples)
    y = rng.beta(post.alpha[j], post.beta[j], samples)
    return float((x < y).mean())


@dataclass(frozen=True)
class Trend:
    """A decay test over time windows."""

    windows: int
    slope: float
    """change of log-rate (or log-lift) per window"""
    p_value: float
    """one-sided: small when the rate falls"""
    drop: float
    """fitted relative drop from the first to the last window (0.3 = 30 % lower)"""
    first_rate: float
    last_rate: float
    relative: bool
    """True when the trend is of the lift over the other arms (seasonality cancels)"""


def decay_trend(
    impressions: np.ndarray,
    successes: np.ndarray,
    ref_impressions: np.ndarray | None = None,
    ref_successes: np.ndarray | None = None,
    min_impressions: int = 50,
) -> Trend | None:
    """Weighted least squares of log-rate against window index; None with fewer than 3 windows.

    With a reference (the other arms in the same windows) the trend is of log(rate / reference
    rate), so a market-wide dip (a slow weekend) is not mistaken for the winner's fatigue.
    """
    imp = np.asarray(impressions, dtype=float)
    suc = np.asarray(successes, dtype=float)
    relative = ref_impressions is not None and ref_successes is not None
    keep = imp >= min_impressions
    if relative:
        ri = np.asarray(ref_impressions, dtype=float)
        rs = np.asarray(ref_successes, dtype=float)
        keep &= ri >= min_impressions
    idx = np.nonzero(keep)[0]
    if len(idx) < 3:
        return None
    r = (suc[idx] + 0.5) / (imp[idx] + 1.0)
    y = np.log(r)
    var = (1.0 - r) / (r * (imp[idx] + 1.0))
    if relative:
        rr = (rs[idx] + 0.5) / (ri[idx] + 1.0)
        y = y - np.log(rr)
        var = var + (1.0 - rr) / (rr * (ri[idx] + 1.0))
    x = idx.astype(float)
    w = 1.0 / var
    xm = np.sum(w * x) / w.sum()
    ym = np.sum(w * y) / w.sum()
    sxx = np.sum(w * (x - xm) ** 2)
    if sxx <= 0:
        return None
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    se = float(np.sqrt(1.0 / sxx))
    p_value = float(sps.norm.cdf(slope / se))
    span = float(x[-1] - x[0])
    drop = float(1.0 - np.exp(slope * span))
    first_rate = float(suc[idx[0]] / imp[idx[0]])
    last_rate = float(suc[idx[-1]] / imp[idx[-1]])
    return Trend(len(idx), slope, p_value, drop, first_rate, last_rate, relative)


__all__ = [
    "SRMResult",
    "Stratified",
    "Trend",
    "decay_trend",
    "msprt_p_value",
    "p_best_and_loss",
    "p_runner_up",
    "posterior_draws",
    "prob_lower",
    "srm_check",
    "stratify",
]
