"""Closing experiments feeds the loop: winners land in the real retrieval store (ChromaDB, MiniLM), and
``copyloop train-scorer --ab-log`` trains on the shop's accumulated log in one command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from copyloop import Experiment
from copyloop.cli import app
from copyloop.settings import Settings
from copyloop.tools.store import CopyStore

pytestmark = [pytest.mark.integration]

PRODUCT = {"title": "Bamboo Cutting Board", "category": "Home & Kitchen | Kitchen Utensils", "facts": ["made of bamboo"]}


def _traffic(exp: Experiment, rates: dict[str, float], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arms = sorted(rates)
    events = []
    for i in range(n):
        vid = arms[i % len(arms)]
        events.append({"event_id": f"i{i}", "type": "impression", "unit": f"u{i}", "variant_id": vid})
        if rng.random() < rates[vid]:
            events.append({"event_id": f"c{i}", "type": "click", "unit": f"u{i}"})
    exp.record(events)


def test_winners_are_retrieved_and_the_log_trains_a_scorer(tmp_path: Path) -> None:
    settings = Settings()  # the test's temp COPYLOOP_HOME: its own Chroma store and A/B log
    first = Experiment.create(PRODUCT, "google_ads_headline", allocation="fixed", settings=settings,
                              texts=["Chop Happy On Bamboo", "Bamboo Board For Busy Cooks"], control="Bamboo Cutting Board")
    _traffic(first, {"v0": 0.02, "v1": 0.07, "v2": 0.025}, 6000, 0)
    second = Experiment.create(PRODUCT, "google_ads_headline", allocation="fixed", settings=settings,
                               texts=["Prep Dinner On Bamboo", "The Board Chefs Reach For"])
    _traffic(second, {"v1": 0.03, "v2": 0.075}, 5000, 1)

    closed = [first.close(), second.close()]
    assert [c.winner for c in closed] == ["v1", "v2"] and all(c.indexed for c in closed)

    store = CopyStore.from_settings(settings)
    assert store.count() > 2  # the bundled exemplars were seeded before the winners went in
    found = store.search("bamboo cutting board headline", channel="google_ads_headline", category=PRODUCT["category"], k=4)
    texts = {e.text: e for e in found}
    assert "Chop Happy On Bamboo" in texts and texts["Chop Happy On Bamboo"].same_category
    assert "Bamboo Cutting Board" not in texts  # the losing control is not taught to the drafter

    log = Path(closed[0].ab_log_path)
    out = tmp_path / "shop_scorer.json"
    res = CliRunner().invoke(app, ["train-scorer", "--ab-log", str(log), "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert out.is_file() and summary["artifact"] == str(out)
    res = CliRunner().invoke(app, ["score", "--model", str(out), "--channel", "google_ads_headline"], input='{"text": "Chop Happy On Bamboo"}\n')
    assert res.exit_code == 0, res.output
