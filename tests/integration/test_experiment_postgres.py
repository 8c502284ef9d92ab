"""Experiments on a real PostgreSQL server (throw-away cluster, tests/services.py) when a DSN is set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from copyloop import Experiment
from copyloop.cli import app
from copyloop.errors import UnknownExperimentError
from copyloop.experiments import ExperimentStore
from copyloop.settings import Settings
from copyloop.training.ab_log import read_ab_log

pytestmark = [pytest.mark.integration]


def test_the_whole_life_of_an_experiment_on_postgres(postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path / "home", store={"postgres_dsn": postgres_dsn})
    clock = [1_800_000_000.0]
    exp = Experiment.create({"title": "Mug", "category": "Kitchen"}, "sms", texts=["Hot coffee, cozy mug", "Your new favourite mug"],
                            control="Mug, 12 oz", settings=settings, clock=lambda: clock[0], fatigue_window_minutes=30)
    assert exp.store.dialect == "postgres" and "@" not in exp.store.where  # the DSN's credentials never shown
    assert not (settings.home / "experiments.sqlite").exists()

    first = {f"u{i}": exp.assign(f"u{i}") for i in range(300)}
    assert all(exp.assign(u) == v for u, v in first.items())
    rng = np.random.default_rng(0)
    events = []
    for i in range(9000):
        unit = f"w{i}"
        vid = exp.assign(unit) if i % 10 == 0 else ("v0", "v1", "v2")[i % 3]
        events.append({"event_id": f"i{i}", "type": "impression", "unit": unit, "variant_id": vid, "ts": clock[0]})
        if rng.random() < {"v0": 0.02, "v1": 0.08, "v2": 0.02}[vid]:
            events.append({"event_id": f"c{i}", "type": "click", "unit": unit, "ts": clock[0]})
        clock[0] += 1.0
    report = exp.record(events)
    assert report.recorded == len(events) and not report.errors
    again = exp.record(events[:100])
    assert again.recorded == 0 and again.duplicates == 100

    st = exp.status()
    assert sum(v.impressions for v in st.variants) == 9000
    assert st.leader == "v1" and st.fatigue is not None and st.fatigue.windows >= 3  # FLOOR windows on Postgres
    assert all(exp.assign(u) == v for u, v in first.items())  # re-weighting moved no unit

    # the CLI reads the same store through the environment
    monkeypatch.setenv("COPYLOOP_STORE__POSTGRES_DSN", postgres_dsn)
    res = CliRunner().invoke(app, ["experiment", "status", exp.experiment_id, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["leader"] == "v1"

    closed = exp.close(tmp_path / "log.csv", index=False)
    assert len(read_ab_log(tmp_path / "log.csv").rows) == 3
    reopened = Experiment.open(exp.experiment_id, settings)
    assert reopened.closed and reopened.assign("anyone") == (closed.winner or "v0")
    with pytest.raises(UnknownExperimentError):
        Experiment.open("exp_missing", settings)
    ExperimentStore.postgres(postgres_dsn).close()  # the schema is created idempotently
