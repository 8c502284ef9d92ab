"""Request and response bodies of the JSON API (the OpenAPI schema is generated from these).

The product is typed strictly here (strings and a list of strings) so a wrong type is a 422 with
pydantic's message before any copyloop code sees it; ``to_brief`` then applies the same rules as
everywhere else (``coerce_product``: title required, long fields clipped with a warning, HTML is
plain text). Product text stays untrusted data: it is never interpreted, only passed to the
model as quoted facts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from copyloop.chat.session import Version
from copyloop.tools.schemas import Critique, ProductBrief

SEED_MAX = 2**31 - 1
SESSION_ID_PATTERN = r"^[0-9a-f]{32}$"


class ProductIn(BaseModel):
    """A product as the marketer knows it. Only ``title`` is required."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=300, description="the product's id in your catalog")
    title: str = Field(..., min_length=1, max_length=2000, description="product name")
    category: str = Field("", max_length=2000, description="category or 'A | B | C' path")
    facts: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list, max_length=200, description="the only claims the copy may make"
    )
    price: str | None = Field(None, max_length=300)
    brand: str | None = Field(None, max_length=300)
    brand_voice: str = Field("friendly and clear", max_length=2000, description="tone the brand wants")
    audience: str | None = Field(None, max_length=2000, description="who the copy is for")
    description: str = Field("", max_length=20000, description="free text about the product (untrusted)")

    def to_brief(self) -> ProductBrief:
        from copyloop.engine import coerce_product

        return coerce_product(self.model_dump(exclude_none=True))


class RefineRequest(BaseModel):
    """``POST /v1/refine``: one product, one channel. Omitted numbers use the server's settings."""

    model_config = ConfigDict(extra="forbid")

    product: ProductIn
    channel: str = Field("product_description", min_length=1, max_length=100, description="see GET /v1/channels")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="conversion score needed to finish")
    max_iterations: int | None = Field(None, ge=1, le=20, description="rounds at most")
    candidates: int | None = Field(None, ge=1, le=16, description="drafts per round")
    seed: int = Field(0, ge=0, le=SEED_MAX, description="same seed, same inputs, same models: same copy")
    feedback: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=list, max_length=5, description="requests applied in every round ('shorter', 'mention the warranty')"
    )
    previous: str | None = Field(None, max_length=5000, description="a text to revise instead of starting fresh")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    model: Literal["loading", "ready", "lazy", "failed"] = Field(..., description="whether the models are loaded")
    pending: int = Field(..., description="model operations queued or running")
    busy: bool = Field(..., description="a model call is running now")
    busy_seconds: float = 0.0
    batches_running: int = 0


# --- sessions -----------------------------------------------------------------------------------


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: ProductIn
    channel: str = Field("product_description", min_length=1, max_length=100)
    seed: int = Field(0, ge=0, le=SEED_MAX)


class SayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, max_length=500, description="what to change, in words ('shorter, more playful')")


class VariantsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(3, ge=1, le=5)


class PickRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(..., ge=0, le=10_000, description="a version index (from variants or history)")


class ChannelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(..., min_length=1, max_length=100)


class EditRequest(BaseModel):
    """A text the marketer wrote or edited; checked with the same critics and scorer as drafts."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, max_length=5000)
    accept: bool = Field(False, description="accept it as the session's copy (refused when a hard rule fails)")


class CheckRequest(BaseModel):
    """``POST /v1/check``: score and check any text for a product and channel."""

    model_config = ConfigDict(extra="forbid")

    product: ProductIn
    channel: str = Field("product_description", min_length=1, max_length=100)
    text: str = Field(..., min_length=1, max_length=5000)
    threshold: float | None = Field(None, ge=0.0, le=1.0)


class TextVerdict(BaseModel):
    """The scorer's and every critic's verdict on one text."""

    text: str
    channel: str
    score: float
    explanation: str = ""
    threshold: float
    passed: bool = Field(..., description="score >= threshold and every hard rule passes")
    hard_pass: bool
    hard_failures: list[str] = Field(default_factory=list)
    critiques: list[Critique] = Field(default_factory=list, description="every critic's verdict")
    accepted: bool = False
    at: float = 0.0


class SessionSummary(BaseModel):
    session_id: str
    title: str
    channel: str
    created: float


class SessionView(BaseModel):
    session_id: str
    channel: str
    product: ProductBrief
    current: Version = Field(..., description="the current draft")
    accepted: Version | None = Field(None, description="the accepted draft, if any")
    accepted_edit: TextVerdict | None = Field(None, description="a human-edited text accepted after the check, if newer")
    versions: int


# --- ranking ------------------------------------------------------------------------------------


class RankCandidate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(..., max_length=5000)
    score: float = Field(..., ge=0.0, le=1.0, description="conversion score")
    hard_pass: bool = True
    critic_scores: dict[str, float] = Field(default_factory=dict, description="at least diversity, sentiment, cta")


class RankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: list[RankCandidate] = Field(..., min_length=1, max_length=200)
    lam: float = Field(0.3, ge=0.0, le=1.0, description="λ: 0 ranks for predicted conversion, 1 for creativity")
    category: str = Field("", max_length=2000)


class RankedCandidate(BaseModel):
    rank: int
    text: str
    reward: float = Field(..., description="R_λ (0 when a hard rule fails)")
    conversion: float
    creativity: float = Field(..., description="the diversity critic's score")
    sentiment: float
    cta: float
    hard_pass: bool


__all__ = [
    "CheckRequest",
    "ChannelRequest",
    "EditRequest",
    "Health",
    "PickRequest",
    "ProductIn",
    "RankCandidate",
    "RankRequest",
    "RankedCandidate",
    "RefineRequest",
    "SESSION_ID_PATTERN",
    "SayRequest",
    "SessionCreate",
    "SessionSummary",
    "SessionView",
    "TextVerdict",
    "VariantsRequest",
]
