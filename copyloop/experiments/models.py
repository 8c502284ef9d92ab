"""The pydantic models an experiment takes and returns (all JSON-serialisable).

``Event`` is the one input a storefront sends at volume; everything about it is validated here,
so a bad line of an events file becomes an ``InputError`` with its line number, never a crash.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copyloop.experiments.policy import Allocation, Metric

EventType = Literal["impression", "click", "conversion"]
MAX_ID_CHARS = 200


def _id(value: Any, name: str) -> str:
    if value is None:
        raise ValueError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name} must be a string")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name} must not be empty")
    if len(text) > MAX_ID_CHARS:
        raise ValueError(f"{name} is longer than {MAX_ID_CHARS} characters")
    return text


def parse_ts(value: Any) -> float | None:
    """Seconds since the epoch from a number or an ISO 8601 string (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("ts must be seconds since the epoch or an ISO 8601 time")
    if isinstance(value, (int, float)):
        ts = float(value)
        if ts > 1e11:  # milliseconds, as JavaScript storefronts send them
            ts /= 1000.0
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"ts is not an ISO 8601 time: {value[:40]!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        ts = dt.timestamp()
    elif isinstance(value, datetime):
        ts = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    else:
        raise ValueError("ts must be seconds since the epoch or an ISO 8601 time")
    if not math.isfinite(ts) or ts < 0:
        raise ValueError("ts must be a finite, non-negative time")
    return ts


class Event(BaseModel):
    """One impression, click or conversion.

    ``variant_id`` may be left out when ``unit`` was assigned by ``Experiment.assign``: the event
    then counts for the unit's variant (and a late conversion always does, whatever it says).
    """

    model_config = ConfigDict(extra="ignore")

    event_id: str
    variant_id: str | None = None
    type: EventType
    unit: str | None = None
    ts: float | None = Field(None, description="seconds since the epoch (an ISO 8601 string is accepted)")

    @field_validator("event_id", mode="before")
    @classmethod
    def _event_id(cls, v: Any) -> str:
        return _id(v, "event_id")

    @field_validator("variant_id", "unit", mode="before")
    @classmethod
    def _optional_id(cls, v: Any, info: Any) -> str | None:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        return _id(v, info.field_name)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> float | None:
        return parse_ts(v)


class Variant(BaseModel):
    """One arm of an experiment."""

    variant_id: str
    text: str
    is_control: bool = False
    source: str = Field("user", description="user | control | loop")
    predicted_score: float | None = Field(None, description="the conversion scorer's score when the loop wrote it")
    active: bool = True
    created_at: float = 0.0
    retired_at: float | None = None


class LineError(BaseModel):
    line: int
    error: str


class RecordReport(BaseModel):
    """What one ``record`` call did."""

    recorded: int = 0
    duplicates: int = Field(0, description="events whose event_id was already recorded (counted once)")
    reattributed: int = Field(0, description="events counted for their unit's assigned variant instead of the one they named")
    errors: list[LineError] = Field(default_factory=list)
    periods_opened: int = Field(0, description="re-weightings this call triggered")

    @property
    def bad(self) -> int:
        return len(self.errors)


class VariantStatus(BaseModel):
    variant_id: str
    text: str = ""
    is_control: bool = False
    active: bool = True
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    rate: float = Field(0.0, description="decision metric per impression, stratified by allocation period")
    ctr: float = 0.0
    cvr: float = 0.0
    p_best: float = 0.0
    expected_loss: float = 0.0
    p_value: float = Field(1.0, description="always-valid p-value against the current leader")
    weight: float = Field(0.0, description="traffic share in the current allocation period")


class SRMStatus(BaseModel):
    p_value: float
    statistic: float
    periods_checked: int
    mismatch: bool


class FatigueStatus(BaseModel):
    variant_id: str
    fatigued: bool
    windows: int = 0
    drop: float = 0.0
    p_value: float = 1.0
    relative: bool = False
    reason: str = ""


class ExperimentStatus(BaseModel):
    experiment_id: str
    channel: str
    metric: Metric
    allocation: Allocation
    state: Literal["running", "closed"]
    variants: list[VariantStatus]
    winner: str | None
    decision: str
    reason: str
    leader: str | None = None
    period: int = 0
    srm: SRMStatus
    fatigue: FatigueStatus | None = None


class CloseReport(BaseModel):
    experiment_id: str
    winner: str | None
    decision: str
    reason: str
    exported_rows: int
    export_path: str | None = None
    ab_log_path: str
    indexed: list[str] = Field(default_factory=list, description="variant ids indexed into the retrieval store")
    store: str | None = None
    retrain_command: str


class RefreshReport(BaseModel):
    """What ``Experiment.refresh`` retired and added."""

    experiment_id: str
    retired: list[str]
    added: list[Variant]
    fatigue: FatigueStatus | None = None
    reason: str


__all__ = [
    "CloseReport",
    "Event",
    "EventType",
    "ExperimentStatus",
    "FatigueStatus",
    "LineError",
    "RecordReport",
    "RefreshReport",
    "SRMStatus",
    "Variant",
    "VariantStatus",
    "parse_ts",
]
