"""Typed models exchanged at the edges: the product brief, drafts and critiques.

They live in ``tools`` (the lowest layer that needs them) so that agents, graph and the front door
can all use them without breaking the import direction.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

log = logging.getLogger(__name__)

# Product text is untrusted: cap every field so a 1 MB value cannot blow up a prompt.
MAX_TITLE_CHARS = 300
MAX_FACT_CHARS = 400
MAX_FACTS = 40
MAX_TEXT_CHARS = 4000


def _clip(value: str, limit: int, name: str, warnings: list[str]) -> str:
    if len(value) > limit:
        warnings.append(f"{name} truncated from {len(value)} to {limit} characters")
        cut = value[:limit]
        # do not cut a word in half
        if " " in cut[limit // 2 :]:
            cut = cut[: cut.rfind(" ")]
        return cut
    return value


class ProductBrief(BaseModel):
    """What the user knows about one product. Every field is untrusted text.

    ``facts`` are the only claims copy may make (grounding checks against them plus title,
    category, price and description). ``warnings`` records what validation changed.
    """

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(None, description="the product's id in the user's catalog")
    title: str = Field(..., description="product name; required")
    category: str = Field("", description="category, or a path like 'Toys & Games | Puzzles'")
    facts: list[str] = Field(default_factory=list, description="attributes and claims the copy may use")
    price: str | None = Field(None, description="price as the shop shows it")
    brand: str | None = Field(None, description="brand name")
    brand_voice: str = Field("friendly and clear", description="tone the brand wants")
    audience: str | None = Field(None, description="who the copy is for")
    description: str = Field("", description="free text about the product (untrusted)")
    warnings: list[str] = Field(default_factory=list, description="what validation truncated or dropped")

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        warnings: list[str] = list(data.get("warnings") or [])
        title = data.get("title")
        if title is None or not str(title).strip():
            raise ValueError("title is required and must not be empty")
        data["title"] = _clip(" ".join(str(title).split()), MAX_TITLE_CHARS, "title", warnings)
        for name in ("category", "description", "brand_voice", "audience", "brand", "price", "id"):
            value = data.get(name)
            if value is None:
                continue
            text = str(value).strip()
            data[name] = _clip(text, MAX_TEXT_CHARS if name == "description" else MAX_TITLE_CHARS, name, warnings)
        facts = data.get("facts") or []
        if isinstance(facts, str):
            facts = [facts]
        if isinstance(facts, dict):
            facts = [f"{k}: {v}" for k, v in facts.items()]
        clean: list[str] = []
        for i, fact in enumerate(facts):
            text = " ".join(str(fact).split())
            if text:
                clean.append(_clip(text, MAX_FACT_CHARS, f"facts[{i}]", warnings))
        if len(clean) > MAX_FACTS:
            warnings.append(f"facts cut from {len(clean)} to {MAX_FACTS}")
            clean = clean[:MAX_FACTS]
        data["facts"] = clean
        data["warnings"] = warnings
        # Recorded on the object (and surfaced in RefineResult.warnings / CLI output); logged at
        # INFO so reading a large catalog does not flood stderr.
        for w in warnings:
            log.info("product %s: %s", data.get("id") or data["title"][:40], w)
        return data

    @field_validator("title")
    @classmethod
    def _title_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("title is required and must not be empty")
        return v

    def fact_text(self) -> str:
        """All text that copy may draw claims from (used by grounding)."""
        parts = [self.title, self.category, self.brand or "", self.price or "", *self.facts, self.description]
        return "\n".join(p for p in parts if p)


class Draft(BaseModel):
    """One candidate text and where it came from."""

    text: str
    iteration: int = 0
    candidate: int = 0
    angle: str = ""
    temperature: float = 0.0
    source: str = Field("llm", description="llm | repair | fallback | human")


class Critique(BaseModel):
    """One critic's verdict on one draft.

    ``hard`` critiques are rules: a failed hard critique means the draft cannot be returned as
    passed. Soft critiques feed the reviser and the ranking. ``score`` is in [0, 1], higher is
    better.
    """

    critic: str
    score: float = Field(..., ge=0.0, le=1.0)
    passed: bool
    hard: bool = False
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
