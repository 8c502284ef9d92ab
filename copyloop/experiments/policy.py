"""The knobs of an experiment: how traffic is re-weighted and when a winner is declared.

One pydantic model, stored with the experiment (so a running experiment keeps the rules it
started with) and passed as ``**policy`` keywords to ``Experiment.create``. Defaults were picked
with ``bench/experiment_sim.py`` (README, "Live A/B experiments"): they keep the A/A false-winner
rate low while a 10 % relative lift at 1–5 % CTR is found within tens of thousands of impressions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Metric = Literal["ctr", "cvr"]
Allocation = Literal["thompson", "fixed", "top_two"]


class ExperimentPolicy(BaseModel):
    """Allocation, decision and fatigue rules of one experiment."""

    model_config = ConfigDict(extra="forbid")

    # allocation ---------------------------------------------------------------------------------
    batch_events: int = Field(1000, ge=10, description="re-weight after this many impressions in the current period")
    batch_minutes: float = Field(60.0, gt=0, description="... or after this many minutes, whichever comes first")
    floor: float = Field(0.05, ge=0.0, le=0.5, description="smallest traffic share any active arm keeps")
    burn_in: int = Field(200, ge=0, description="impressions every active arm gets at an equal split before re-weighting")
    top_two_beta: float = Field(0.5, gt=0.0, lt=1.0, description="top-two Thompson: share of the leader's draws")

    # decision -----------------------------------------------------------------------------------
    min_impressions: int = Field(1000, ge=1, description="impressions every active arm needs before a winner can be declared")
    p_best: float = Field(0.95, gt=0.5, lt=1.0, description="P(best) the winner needs (VWO's rule)")
    max_loss: float = Field(
        0.01, gt=0.0, description="largest expected loss of choosing the winner, relative to its rate (0.01 = 1 %)"
    )
    alpha: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description=(
            "always-valid p-value (mSPRT) the winner needs against every other arm; 1 = not required. Default: 0.05 "
            "under a fixed split, not required under a bandit (pairwise tests against arms the bandit starves "
            "almost never conclude; measured in bench/experiment_sim.py)"
        ),
    )
    msprt_tau: float = Field(
        0.1, gt=0.0, description="mSPRT mixing scale: the lift one expects, relative to the pooled rate"
    )
    settle_minutes: float | None = Field(
        None,
        ge=0.0,
        description=(
            "only periods that ended this long ago count for the decision (late conversions); "
            "default 0 for ctr, 2880 (two days, like Jacquard) for cvr"
        ),
    )
    srm_alpha: float = Field(0.001, gt=0.0, lt=0.5, description="sample-ratio-mismatch alarm level (chi-square)")
    guardrail_prob: float = Field(0.95, gt=0.5, lt=1.0, description="P(winner's CVR is lower) that blocks a CTR winner")
    samples: int = Field(20000, ge=1000, le=400000, description="Monte-Carlo draws for P(best) and expected loss")
    seed: int = Field(0, description="seed of the Monte-Carlo draws (status is reproducible)")

    # fatigue ------------------------------------------------------------------------------------
    fatigue_window_minutes: float = Field(1440.0, gt=0, description="width of the time windows the decay test compares")
    fatigue_min_windows: int = Field(3, ge=3, description="windows needed before fatigue can be judged")
    fatigue_alpha: float = Field(0.01, gt=0.0, lt=0.5, description="one-sided level of the decay-trend test")
    fatigue_min_drop: float = Field(0.2, gt=0.0, lt=1.0, description="relative drop over the windows that counts as fatigue")
    retire_below: float = Field(0.05, ge=0.0, lt=0.5, description="refresh retires arms whose P(best) is below this")

    @model_validator(mode="after")
    def _check(self) -> "ExperimentPolicy":
        if self.min_impressions < self.burn_in:
            raise ValueError("min_impressions must be at least burn_in")
        return self

    def effective_alpha(self, allocation: Allocation) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.05 if allocation == "fixed" else 1.0

    def settle_seconds(self, metric: Metric) -> float:
        minutes = self.settle_minutes if self.settle_minutes is not None else (0.0 if metric == "ctr" else 2880.0)
        return minutes * 60.0


__all__ = ["Allocation", "ExperimentPolicy", "Metric"]
