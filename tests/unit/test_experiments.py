"""``copyloop.Experiment`` on a real SQLite store, with user texts (no model) and a test clock."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from copyloop import Experiment
from copyloop.errors import InputError, UnknownChannelError, UnknownExperimentError
from copyloop.settings import Settings
from copyloop.training.ab_log import read_ab_log

PRODUCT = {"title": "Cast Iron Skillet", "category": "Home & Kitchen | Cookware", "facts": ["10.25 inch cooking surface"]}
TEXTS = ["Sear Like A Pro Tonight", "A Skillet For Every Stove", "Crispy Edges, Every Time"]
CONTROL = "Cast Iron Skillet 10.25 in"


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def make(settings: Settings, clock: Clock, **kw: Any) -> Experiment:
    kw.setdefault("texts", TEXTS[:2])
    kw.setdefault("control", CONTROL)
    return Experiment.create(PRODUCT, "google_ads_headline", settings=settings, clock=clock, **kw)


def drive(exp: Experiment, rates: dict[str, float], units: range, clock: Clock, seed: int = 0,
          cvr: dict[str, float] | None = None, step: float = 1.0, flush: int = 2000) -> None:
    """Simulated visitors: assign, one impression each, a click with the arm's rate (and conversions)."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for i in units:
        unit = f"u{i}"
        vid = exp.assign(unit)
        events.append({"event_id": f"imp-{i}", "type": "impression", "unit": unit, "variant_id": vid, "ts": clock.t})
        if rng.random() < rates[vid]:
            events.append({"event_id": f"clk-{i}", "type": "click", "unit": unit, "ts": clock.t})
        if cvr and rng.random() < cvr[vid]:
            events.append({"event_id": f"cnv-{i}", "type": "conversion", "unit": unit, "ts": clock.t})
        clock.t += step
        if len(events) >= flush:
            exp.record(events)
            events = []
    exp.record(events)


def split_traffic(exp: Experiment, rates: dict[str, float], n: int, clock: Clock, seed: int = 0,
                  cvr: dict[str, float] | None = None, prefix: str = "s") -> None:
    """A storefront that splits visitors evenly by itself and logs events with the variant it showed."""
    rng = np.random.default_rng(seed)
    arms = sorted(rates)
    events: list[dict[str, Any]] = []
    for i in range(n):
        vid, unit = arms[i % len(arms)], f"{prefix}{i}"
        events.append({"event_id": f"{prefix}i{i}", "type": "impression", "unit": unit, "variant_id": vid, "ts": clock.t})
        if rng.random() < rates[vid]:
            events.append({"event_id": f"{prefix}c{i}", "type": "click", "unit": unit, "ts": clock.t})
        if cvr and rng.random() < cvr[vid]:
            events.append({"event_id": f"{prefix}v{i}", "type": "conversion", "unit": unit, "ts": clock.t})
        clock.t += 1.0
    exp.record(events)


def test_create_with_texts_and_control_needs_no_model(settings: Settings) -> None:
    exp = make(settings, Clock())
    arms = exp.variants()
    assert [(v.variant_id, v.text, v.is_control) for v in arms] == [
        ("v0", CONTROL, True), ("v1", TEXTS[0], False), ("v2", TEXTS[1], False)]
    assert exp.experiment_id.startswith("exp_")
    again = Experiment.open(exp.experiment_id, settings)
    assert [v.variant_id for v in again.variants()] == ["v0", "v1", "v2"]
    assert (settings.home / "experiments.sqlite").is_file()
    st = again.status()
    assert st.decision == "collecting" and st.winner is None
    assert [v.weight for v in st.variants] == pytest.approx([1 / 3] * 3, abs=1e-5)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"texts": ["only one"], "control": None}, "texts"),
        ({"texts": ["same", " same "]}, "texts"),
        ({"texts": [CONTROL]}, "texts"),
        ({"texts": ["a", ""]}, "texts"),
        ({"metric": "revenue"}, "metric"),
        ({"allocation": "greedy"}, "allocation"),
        ({"floor": 0.9}, "policy"),
        ({"texts": [f"text {i}" for i in range(11)]}, "texts"),
    ],
)
def test_bad_input_is_a_clear_error(settings: Settings, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        make(settings, Clock(), **kwargs)
    assert err.value.field == field


def test_unknown_channel_and_experiment(settings: Settings) -> None:
    with pytest.raises(UnknownChannelError):
        Experiment.create(PRODUCT, "fax", texts=TEXTS, settings=settings)
    with pytest.raises(InputError, match="title"):
        Experiment.create({"facts": ["x"]}, "sms", texts=TEXTS, settings=settings)
    with pytest.raises(UnknownExperimentError) as err:
        Experiment.open("exp_nope", settings)
    assert isinstance(err.value, InputError) and err.value.experiment_id == "exp_nope"


def test_assignment_is_sticky_and_survives_reweighting(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock, batch_events=200, burn_in=50, min_impressions=100)
    first = {f"u{i}": exp.assign(f"u{i}") for i in range(300)}
    assert {exp.assign(u) for u in ["u7"] * 5} == {first["u7"]}
    shares = {v: list(first.values()).count(v) / 300 for v in ("v0", "v1", "v2")}
    assert all(0.2 < s < 0.47 for s in shares.values())
    drive(exp, {"v0": 0.01, "v1": 0.2, "v2": 0.01}, range(1000, 4000), clock, flush=100)
    st = exp.status()
    assert st.period >= 5
    assert next(v for v in st.variants if v.variant_id == "v1").weight > 0.6  # the bandit moved traffic
    assert {u: exp.assign(u) for u in first} == first  # ... but never moved a unit


def test_events_are_idempotent_late_conversions_follow_the_unit_and_bad_lines_are_reported(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock)
    vid = exp.assign("alice")
    other = next(v.variant_id for v in exp.variants() if v.variant_id != vid)
    events = [
        {"event_id": "e1", "type": "impression", "unit": "alice", "variant_id": vid},
        {"event_id": "e1", "type": "impression", "unit": "alice", "variant_id": vid},  # repeated id
        {"event_id": "e2", "type": "click", "unit": "alice"},  # no variant: the unit's
        {"event_id": "e3", "type": "conversion", "unit": "alice", "variant_id": other, "ts": clock.t + 86400 * 3},
        {"event_id": "e4", "type": "impression", "variant_id": "v9"},
        {"event_id": "", "type": "impression", "variant_id": vid},
        {"event_id": "e5", "type": "purchase", "variant_id": vid},
        {"event_id": "e6", "type": "click", "unit": "nobody"},
        "not an object",
        {"event_id": "e7", "type": "impression", "variant_id": other, "ts": "2027-01-15T10:00:00Z"},
    ]
    report = exp.record(events)
    assert (report.recorded, report.duplicates, report.reattributed) == (4, 1, 1)
    assert [e.line for e in report.errors] == [5, 6, 7, 8, 9]
    assert "unknown variant_id 'v9'" in report.errors[0].error and "never assigned" in report.errors[3].error
    again = exp.record(events)
    assert (again.recorded, again.duplicates) == (0, 5)
    counts = {v.variant_id: (v.impressions, v.clicks, v.conversions) for v in exp.status().variants}
    assert counts[vid] == (1, 1, 1)  # the late conversion counts for alice's variant
    assert counts[other] == (1, 0, 0)


def test_a_clear_winner_is_declared_and_a_fixed_split_stays_equal(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock, allocation="fixed", batch_events=1000)
    split_traffic(exp, {"v0": 0.02, "v1": 0.07, "v2": 0.02}, 6000, clock)
    st = exp.status()
    assert st.decision == "winner" and st.winner == "v1" and st.leader == "v1"
    v1 = next(v for v in st.variants if v.variant_id == "v1")
    assert v1.p_best > 0.95 and v1.rate == pytest.approx(v1.clicks / v1.impressions, rel=0.05)
    assert all(v.weight == pytest.approx(1 / 3, abs=1e-5) for v in st.variants)
    assert not st.srm.mismatch and st.srm.periods_checked >= 1
    aa = make(settings, clock, allocation="fixed", batch_events=1000)
    split_traffic(aa, {"v0": 0.03, "v1": 0.03, "v2": 0.03}, 9000, clock, seed=1)
    assert aa.status().winner is None


def test_guardrail_blocks_a_ctr_winner_that_sells_less(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock, texts=["Clickbait You Won't Believe"], control=CONTROL, allocation="fixed")
    split_traffic(exp, {"v0": 0.02, "v1": 0.07}, 6000, clock, cvr={"v0": 0.02, "v1": 0.004})
    st = exp.status()
    assert st.decision == "guardrail" and st.winner is None and st.leader == "v1"


def test_sample_ratio_mismatch_blocks_the_decision(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock, allocation="fixed")
    # the storefront ignores the 1/3 split and sends most visitors to v1
    rng = np.random.default_rng(0)
    events = []
    for i in range(6000):
        vid = "v1" if i % 5 else str(rng.choice(["v0", "v2"]))
        events.append({"event_id": f"i{i}", "type": "impression", "unit": f"s{i}", "variant_id": vid})
        if rng.random() < (0.06 if vid == "v1" else 0.02):
            events.append({"event_id": f"c{i}", "type": "click", "unit": f"s{i}"})
    exp.record(events)
    st = exp.status()
    assert st.srm.mismatch and st.decision == "srm" and st.winner is None and "sample ratio" in st.reason


def test_fatigue_is_detected_and_refresh_retires_losers_for_fresh_variants(settings: Settings) -> None:
    clock = Clock()
    exp = make(settings, clock, texts=TEXTS, control=None, fatigue_window_minutes=60, min_impressions=500, burn_in=100)
    loser_units = [u for u in (f"a{i}" for i in range(60)) if exp.assign(u) == "v3"]
    rng = np.random.default_rng(3)
    events: list[dict[str, Any]] = []
    for i in range(18000):  # 5 hours at one visitor a second: v2 starts strong and wears out
        vid = ("v1", "v2", "v3")[i % 3]
        hour = i / 3600
        rate = {"v1": 0.03, "v2": 0.09 * (1 - 0.15 * hour), "v3": 0.005}[vid]
        events.append({"event_id": f"i{i}", "type": "impression", "unit": f"u{i}", "variant_id": vid, "ts": clock.t})
        if rng.random() < rate:
            events.append({"event_id": f"c{i}", "type": "click", "unit": f"u{i}", "ts": clock.t})
        clock.t += 1.0
    exp.record(events)
    fatigue = exp.fatigue("v2")
    assert fatigue is not None and fatigue.fatigued and fatigue.drop > 0.3 and fatigue.relative
    steady = exp.fatigue("v1")
    assert steady is not None and not steady.fatigued
    assert exp.status().fatigue is not None and exp.status().fatigue.variant_id == "v2"  # type: ignore[union-attr]
    report = exp.refresh(texts=["Cast Iron, Cooks Forever"])
    assert report.retired == ["v1", "v3"]  # P(best) < 0.05 with enough impressions; the leader v2 stays
    assert [a.variant_id for a in report.added] == ["v4"] and report.fatigue is not None and report.fatigue.fatigued
    arms = {v.variant_id: v for v in exp.variants()}
    assert not arms["v1"].active and not arms["v3"].active and arms["v4"].active and arms["v4"].source == "user"
    st = exp.status()
    weights = {v.variant_id: v.weight for v in st.variants}
    assert weights["v1"] == weights["v3"] == 0.0 and weights["v4"] == pytest.approx(0.5)  # burn-in: equal split
    assert loser_units and all(exp.assign(u) in ("v2", "v4") for u in loser_units)  # a retired variant is not served
    with pytest.raises(InputError, match="already ran"):
        exp.refresh(texts=[TEXTS[0]])


class RecordingStore:
    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []
        self.seeded = False
        self.path = "memory"

    def ensure_seeded(self) -> int:
        self.seeded = True
        return 0

    def add(self, records: list[dict[str, Any]]) -> int:
        self.added += records
        return len(records)


def test_close_exports_the_ab_log_indexes_the_winner_and_serves_it(settings: Settings, tmp_path: Path) -> None:
    clock = Clock()
    exp = make(settings, clock, allocation="fixed")
    split_traffic(exp, {"v0": 0.02, "v1": 0.07, "v2": 0.02}, 6000, clock)
    store = RecordingStore()
    export = tmp_path / "out" / "log.csv"
    report = exp.close(export, copy_store=store)
    assert report.winner == "v1" and report.exported_rows == 3 and report.indexed == ["v1"]
    assert store.seeded and store.added[0]["text"] == TEXTS[0] and 0.05 < store.added[0]["ctr"] < 0.09
    assert store.added[0]["channel"] == "google_ads_headline" and store.added[0]["source"] == f"experiment:{exp.experiment_id}"
    log = read_ab_log(export)
    assert log.outcome == "ctr" and not log.errors and len(log.rows) == 3
    assert {r.test_id for r in log.rows} == {exp.experiment_id}
    assert {r.text for r in log.rows} == {CONTROL, *TEXTS[:2]}
    assert all(r.channel == "google_ads_headline" and r.category == PRODUCT["category"] for r in log.rows)
    assert Path(report.ab_log_path) == settings.home / "ab_log.csv" and read_ab_log(report.ab_log_path).rows == log.rows
    assert exp.closed and exp.assign("someone new") == "v1"
    # closing again, and closing a second experiment, accumulate without duplicates
    exp.close(export, copy_store=store)
    other = make(settings, clock, texts=["Another Headline Here"], allocation="fixed")
    split_traffic(other, {"v0": 0.02, "v1": 0.03}, 2000, clock, prefix="o")
    other.close(export, copy_store=store, index=False)
    with export.open(encoding="utf-8") as fh:
        tests = [r["test_id"] for r in csv.DictReader(fh)]
    assert tests.count(exp.experiment_id) == 3 and tests.count(other.experiment_id) == 2


def test_conversions_make_the_exported_log_a_cvr_log(settings: Settings, tmp_path: Path) -> None:
    clock = Clock()
    exp = make(settings, clock, metric="cvr", allocation="fixed", texts=["Sear Like A Pro Tonight"])
    split_traffic(exp, {"v0": 0.03, "v1": 0.03}, 4000, clock, cvr={"v0": 0.01, "v1": 0.02})
    report = exp.close(tmp_path / "cvr.csv", index=False)
    log = read_ab_log(tmp_path / "cvr.csv")
    assert log.outcome == "cvr" and all(r.conversions is not None for r in log.rows)
    assert report.indexed == []
