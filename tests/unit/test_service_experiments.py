"""Storefront endpoints of live A/B experiments (``/v1/experiments``, issue #13's Python API).

Two layers: the routes against a small stand-in that follows the experiments contract
(``Experiment.create/open/variants/assign/record/status/close``), which always runs; and the same
flow against the real ``copyloop.experiments``, which runs once that face is installed (skipped
with the reason until then).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from service_client import AUTH, make_client
from service_fakes import PRODUCT

from copyloop.errors import InputError

HAS_EXPERIMENTS = importlib.util.find_spec("copyloop.experiments") is not None


# --- a stand-in that follows the contract -------------------------------------------------------


class UnknownExperimentError(InputError):
    pass


class Variant(BaseModel):
    variant_id: str
    text: str
    is_control: bool = False


class VariantStatus(BaseModel):
    variant_id: str
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0


class Status(BaseModel):
    variants: list[VariantStatus]
    winner: str | None = None
    decision: str = "continue"


class Report(BaseModel):
    recorded: int
    duplicates: int


class FakeExperiment:
    store: dict[str, "FakeExperiment"] = {}

    def __init__(self, eid: str, texts: list[str]) -> None:
        self.experiment_id = eid
        self._variants = [Variant(variant_id=f"v{i}", text=t) for i, t in enumerate(texts)]
        self._seen: set[str] = set()
        self._counts = {v.variant_id: VariantStatus(variant_id=v.variant_id) for v in self._variants}

    @classmethod
    def create(cls, product: Any, channel: str, *, variants: int = 3, texts: list[str] | None = None, engine: Any = None,
               seed: int = 0, **kw: Any) -> "FakeExperiment":
        if texts is None:
            texts = [engine.refine(product, channel, seed=seed + i, max_iterations=1).text for i in range(variants)]
        exp = cls(f"exp{len(cls.store)}", texts)
        cls.store[exp.experiment_id] = exp
        return exp

    @classmethod
    def open(cls, experiment_id: str, settings: Any = None) -> "FakeExperiment":
        if experiment_id not in cls.store:
            raise UnknownExperimentError(f"no experiment {experiment_id!r}", field="experiment_id")
        return cls.store[experiment_id]

    def variants(self) -> list[Variant]:
        return list(self._variants)

    def assign(self, unit: str) -> str:
        return self._variants[sum(map(ord, unit)) % len(self._variants)].variant_id

    def record(self, events: Any) -> Report:
        recorded = dupes = 0
        for e in events:
            if e["event_id"] in self._seen:
                dupes += 1
                continue
            self._seen.add(e["event_id"])
            field = {"impression": "impressions", "click": "clicks", "conversion": "conversions"}[e["type"]]
            row = self._counts[e["variant_id"]]
            setattr(row, field, getattr(row, field) + 1)
            recorded += 1
        return Report(recorded=recorded, duplicates=dupes)

    def status(self) -> Status:
        return Status(variants=list(self._counts.values()))

    def close(self, export: Path | None = None) -> Status:
        return self.status()


@pytest.fixture()
def fake_experiments(monkeypatch: pytest.MonkeyPatch) -> type[FakeExperiment]:
    module = types.ModuleType("copyloop.experiments")
    module.__spec__ = importlib.machinery.ModuleSpec("copyloop.experiments", None)
    module.Experiment = FakeExperiment  # type: ignore[attr-defined]
    module.UnknownExperimentError = UnknownExperimentError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "copyloop.experiments", module)
    FakeExperiment.store = {}
    return FakeExperiment


def _storefront_flow(c: Any, create: dict) -> None:
    r = c.post("/v1/experiments", headers=AUTH, json=create)
    assert r.status_code == 201, r.text
    body = r.json()
    eid = body["experiment_id"]
    variant_ids = [v["variant_id"] for v in body["variants"]]
    assert len(variant_ids) >= 2

    first = c.get(f"/v1/experiments/{eid}/assign", headers=AUTH, params={"unit": "visitor-42"}).json()
    again = c.get(f"/v1/experiments/{eid}/assign", headers=AUTH, params={"unit": "visitor-42"}).json()
    assert first == again and first["variant_id"] in variant_ids and first["text"]

    events = [{"event_id": "e1", "variant_id": first["variant_id"], "type": "impression", "unit": "visitor-42"},
              {"event_id": "e2", "variant_id": first["variant_id"], "type": "click", "unit": "visitor-42"}]
    assert c.post(f"/v1/experiments/{eid}/events", headers=AUTH, json=events).status_code == 200
    assert c.post(f"/v1/experiments/{eid}/events", headers=AUTH, json=events).status_code == 200  # a retry
    status = c.get(f"/v1/experiments/{eid}", headers=AUTH).json()["status"]
    row = next(v for v in status["variants"] if v["variant_id"] == first["variant_id"])
    assert row["impressions"] == 1 and row["clicks"] == 1  # idempotent by event_id

    bad = c.post(f"/v1/experiments/{eid}/events", headers=AUTH, json=[{"event_id": "e3", "variant_id": "v0", "type": "purchase"}])
    assert bad.status_code == 422
    assert c.get("/v1/experiments/nope/assign", headers=AUTH, params={"unit": "u"}).status_code == 404
    assert c.get(f"/v1/experiments/{eid}/assign", headers=AUTH).status_code == 422  # unit is required
    assert c.get(f"/v1/experiments/{eid}/assign", params={"unit": "u"}).status_code == 401
    assert c.post(f"/v1/experiments/{eid}/close", headers=AUTH).status_code == 200


def test_storefront_routes_follow_the_contract(tmp_path: Path, fake_experiments: type[FakeExperiment]) -> None:
    with make_client(tmp_path) as c:
        paths = c.get("/openapi.json", headers=AUTH).json()["paths"]
        assert "/v1/experiments/{experiment_id}/assign" in paths and "/v1/experiments/{experiment_id}/events" in paths
        _storefront_flow(c, {"product": PRODUCT, "channel": "email_subject", "texts": ["Cozy boards, ready", "A board for every meal"]})
        # without texts the variants are drafted by the model (queued on the model thread)
        r = c.post("/v1/experiments", headers=AUTH, json={"product": PRODUCT, "channel": "product_description", "variants": 2})
        assert r.status_code == 201 and len(r.json()["variants"]) == 2


def test_experiment_routes_are_absent_without_the_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("copyloop.service.app.experiments_available", lambda: False)
    with make_client(tmp_path) as c:
        assert c.get("/v1/experiments/x/assign", headers=AUTH, params={"unit": "u"}).status_code == 404


@pytest.mark.skipif(not HAS_EXPERIMENTS, reason="copyloop.experiments (issue #13) is not installed in this tree yet")
def test_storefront_flow_with_the_real_experiments_face(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        _storefront_flow(c, {"product": PRODUCT, "channel": "email_subject",
                             "texts": ["Cozy boards, ready for dinner", "A bamboo board for every meal"]})
