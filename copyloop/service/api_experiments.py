"""Live A/B experiments for storefronts under ``/v1/experiments`` (issue #13's Python API).

Only mounted when ``copyloop.experiments`` is installed (``app.py`` checks with ``find_spec``).
A storefront asks which variant a visitor sees (``assign``: sticky per unit, bandit allocation)
and reports what happened (``events``: impressions, clicks, conversions; idempotent by
``event_id``, so a retried POST never counts twice). Creating an experiment (which drafts the
variants with the model when no texts are given) and closing it (which indexes the winners) run
on the model thread like every model call; assignment and events are plain store work.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from copyloop.errors import CopyloopError
from copyloop.service.api import ERRORS, MODEL_ERRORS, bearer, service
from copyloop.service.errors import NotFound
from copyloop.service.schemas import SEED_MAX, ProductIn
from copyloop.service.service import Service

router = APIRouter(prefix="/v1/experiments", dependencies=[Depends(bearer)], tags=["experiments"])

ExperimentId = Path(..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
NOT_FOUND = {**ERRORS, 404: {"description": "no such experiment"}}
Text = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: ProductIn
    channel: str = Field("product_description", min_length=1, max_length=100)
    variants: int = Field(3, ge=1, le=10, description="variants to draft when no texts are given")
    texts: list[Text] | None = Field(None, max_length=20, description="your own variants (no model needed)")
    control: Text | None = Field(None, description="the copy live today (the control arm)")
    metric: Literal["ctr", "cvr"] = "ctr"
    allocation: Literal["thompson", "fixed"] = "thompson"
    seed: int = Field(0, ge=0, le=SEED_MAX)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(..., min_length=1, max_length=200, description="unique per event: a retry with the same id is not counted again")
    variant_id: str = Field(..., min_length=1, max_length=200)
    type: Literal["impression", "click", "conversion"]
    unit: str | None = Field(None, max_length=200, description="visitor or session id")
    ts: float | None = Field(None, ge=0, description="unix time of the event")


class Assignment(BaseModel):
    experiment_id: str
    unit: str
    variant_id: str
    text: str


def _experiment_class() -> Any:
    from copyloop.experiments import Experiment

    return Experiment


def _open(svc: Service, experiment_id: str) -> Any:
    try:
        return _experiment_class().open(experiment_id, settings=svc.settings)
    except CopyloopError as exc:
        if type(exc).__name__ == "UnknownExperimentError":
            raise NotFound(str(exc), field="experiment_id") from None
        raise


def _dump(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, list):
        return [_dump(o) for o in obj]
    return obj


def _summary(exp: Any) -> dict[str, Any]:
    return {"experiment_id": exp.experiment_id, "variants": _dump(exp.variants()), "status": _dump(exp.status())}


@router.post("", status_code=201, responses=MODEL_ERRORS)
async def create_experiment(body: ExperimentCreate, svc: Service = Depends(service)) -> dict[str, Any]:
    """Create an experiment from your texts, or from variants the model drafts (queued)."""
    brief = body.product.to_brief()
    svc.channels.get(body.channel)

    def create() -> dict[str, Any]:
        exp = _experiment_class().create(
            brief, body.channel, variants=body.variants, texts=body.texts, control=body.control, metric=body.metric,
            allocation=body.allocation, settings=svc.settings, engine=svc.engine, seed=body.seed,
        )
        return _summary(exp)

    # on the model thread even with texts: creating may score them (the embedding model is not
    # shared across threads); drafting variants calls engine.refine, which runs inline there
    return await svc.model_call(create)


@router.get("/{experiment_id}", responses=NOT_FOUND)
async def experiment_status(experiment_id: str = ExperimentId, svc: Service = Depends(service)) -> dict[str, Any]:
    """Impressions, clicks, conversions, rate, probability of being best, allocation weight, winner."""
    return await run_in_threadpool(lambda: _summary(_open(svc, experiment_id)))


@router.get("/{experiment_id}/assign", response_model=Assignment, responses=NOT_FOUND)
async def assign(
    experiment_id: str = ExperimentId,
    unit: str = Query(..., min_length=1, max_length=200, description="visitor or session id (the same unit always gets the same variant)"),
    svc: Service = Depends(service),
) -> Assignment:
    """Which variant this visitor sees."""

    def work() -> Assignment:
        exp = _open(svc, experiment_id)
        variant_id = exp.assign(unit)
        text = next((v.text for v in exp.variants() if v.variant_id == variant_id), "")
        return Assignment(experiment_id=experiment_id, unit=unit, variant_id=variant_id, text=text)

    return await run_in_threadpool(work)


@router.post("/{experiment_id}/events", responses=NOT_FOUND)
async def record_events(
    events: list[EventIn] = Body(..., max_length=1000), experiment_id: str = ExperimentId, svc: Service = Depends(service)
) -> Any:
    """Record impressions, clicks and conversions (idempotent by event_id)."""
    return await run_in_threadpool(lambda: _dump(_open(svc, experiment_id).record([e.model_dump(exclude_none=True) for e in events])))


@router.post("/{experiment_id}/close", responses=NOT_FOUND)
async def close_experiment(experiment_id: str = ExperimentId, svc: Service = Depends(service)) -> Any:
    """Stop the experiment: its results go to the A/B log and the winners into the retrieval index."""
    experiment = await run_in_threadpool(_open, svc, experiment_id)  # 404 before queueing
    return await svc.model_call(lambda: _dump(experiment.close()))  # indexing embeds: the model thread


__all__ = ["router"]
