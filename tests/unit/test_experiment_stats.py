"""The statistics of experiments as pure functions: stratification, posteriors, mSPRT, SRM, decay, rules."""

from __future__ import annotations

import numpy as np
import pytest

from copyloop.experiments.analysis import Evidence, analyze, next_weights
from copyloop.experiments.assignment import bucket, choose
from copyloop.experiments.policy import ExperimentPolicy
from copyloop.experiments.stats import decay_trend, msprt_p_value, p_best_and_loss, posterior_draws, srm_check, stratify


def test_one_period_gives_the_plain_beta_posterior() -> None:
    post = stratify(np.array([[1000.0], [500.0]]), np.array([[30.0], [20.0]]))
    assert post.rate == pytest.approx([0.03, 0.04])
    assert post.alpha == pytest.approx([31.0, 21.0], rel=0.02)
    assert post.beta == pytest.approx([971.0, 481.0], rel=0.02)


def test_stratification_removes_the_bias_of_weights_that_follow_a_drift() -> None:
    # Both arms have the same CTR in each period (5 % then 1 %), but arm 0 got most of the
    # traffic in the good period: pooled clicks/impressions make it look 2.4x better.
    imp = np.array([[9000.0, 1000.0], [1000.0, 9000.0]])
    clk = np.array([[450.0, 10.0], [50.0, 90.0]])
    naive = clk.sum(1) / imp.sum(1)
    assert naive[0] / naive[1] > 2.4
    post = stratify(imp, clk)
    assert post.rate == pytest.approx([0.03, 0.03])


def test_p_best_and_expected_loss() -> None:
    post = stratify(np.array([[5000.0], [5000.0], [5000.0]]), np.array([[150.0], [200.0], [150.0]]))
    p_best, loss = p_best_and_loss(posterior_draws(post, 20000, 0))
    assert p_best.sum() == pytest.approx(1.0)
    assert p_best[1] > 0.99 and loss[1] < 1e-4 < loss[0]
    again, _ = p_best_and_loss(posterior_draws(post, 20000, 0))
    assert (again == p_best).all()  # fixed seed: a status is reproducible


def test_msprt_p_value_is_small_for_a_clear_difference_and_one_for_none() -> None:
    v = 0.03 * 0.97 / 20000
    assert msprt_p_value(0.036, v, 0.03, v, tau=0.003) < 0.05  # z = 3.5: the always-valid price is ~10x a fixed-n p
    assert msprt_p_value(0.04, v, 0.03, v, tau=0.003) < 1e-4
    assert msprt_p_value(0.03, v, 0.03, v, tau=0.003) == pytest.approx(1.0)


def test_srm_check_flags_counts_that_ignore_the_weights() -> None:
    weights = np.array([[0.5, 0.8], [0.5, 0.2]])
    ok = srm_check(np.array([[510.0, 790.0], [490.0, 210.0]]), weights)
    assert ok.checked and ok.p_value > 0.1
    bad = srm_check(np.array([[500.0, 500.0], [500.0, 500.0]]), weights)  # equal split although 80/20 was set
    assert bad.p_value < 1e-6 and bad.dof == 2


def test_decay_trend_sees_fatigue_but_not_a_market_wide_dip() -> None:
    imp = np.full(6, 5000.0)
    decaying = np.array([250.0, 220.0, 190.0, 160.0, 130.0, 100.0])
    trend = decay_trend(imp, decaying)
    assert trend is not None and trend.p_value < 0.001 and trend.drop > 0.5
    # everyone falls the same way (a slow season): relative to the other arms there is no decay
    rel = decay_trend(imp, decaying, imp * 2, decaying * 2)
    assert rel is not None and rel.relative and rel.p_value > 0.2
    assert decay_trend(imp[:2], decaying[:2]) is None


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    assert bucket("exp_a", "alice") == bucket("exp_a", "alice") != bucket("exp_b", "alice")
    picks = [choose(bucket("exp_a", f"u{i}"), ["v1", "v2"], [0.8, 0.2])[0] for i in range(5000)]
    assert 0.77 < picks.count("v1") / 5000 < 0.83
    assert choose(0.999999, ["v1", "v2", "v3"], [0.5, 0.5, 0.0])[0] == "v2"


def _evidence(imp: list[float], clk: list[float], conv: list[float] | None = None) -> Evidence:
    k = len(imp)
    imps = np.array(imp, float)[:, None]
    return Evidence(
        arms=[f"v{i + 1}" for i in range(k)],
        active=np.ones(k, bool),
        impressions=imps,
        clicks=np.array(clk, float)[:, None],
        conversions=np.array(conv if conv is not None else [0.0] * k, float)[:, None],
        weights=np.full((k, 1), 1.0 / k),
        assignments=imps,
        period_ends=np.array([np.inf]),
    )


def test_thompson_moves_traffic_to_the_better_arm_but_keeps_the_floor() -> None:
    policy = ExperimentPolicy(floor=0.05)
    ev = _evidence([3000, 3000, 3000], [60, 120, 60])
    w, why = next_weights(ev, "thompson", "ctr", policy)
    assert why == "Thompson" and w.sum() == pytest.approx(1.0)
    assert w[1] > 0.85 and w.min() >= 0.05 - 1e-9
    fixed, _ = next_weights(ev, "fixed", "ctr", policy)
    assert fixed == pytest.approx([1 / 3] * 3)
    burn, why = next_weights(_evidence([100, 3000, 3000], [2, 120, 60]), "thompson", "ctr", policy)
    assert why == "burn-in" and burn == pytest.approx([1 / 3] * 3)
    top2, why = next_weights(ev, "top_two", "ctr", policy)
    assert why == "top-two Thompson" and 0.4 < top2[1] < 0.6  # half the draws go to the challengers


def test_decision_rule_winner_running_collecting_and_guardrail() -> None:
    policy = ExperimentPolicy()
    won = analyze(_evidence([20000, 20000], [400, 560]), "ctr", policy, now=0.0)
    assert won.decision == "winner" and won.winner == 1 and "P(best)" in won.reason
    close = analyze(_evidence([20000, 20000], [400, 410]), "ctr", policy, now=0.0)
    assert close.decision == "running" and close.winner is None
    early = analyze(_evidence([500, 500], [10, 30]), "ctr", policy, now=0.0)
    assert early.decision == "collecting"
    # v2 wins on clicks but sells credibly less: not declared
    guard = analyze(_evidence([20000, 20000], [400, 560], [200, 100]), "ctr", policy, now=0.0)
    assert guard.decision == "guardrail" and guard.winner is None and "CVR" in guard.reason
