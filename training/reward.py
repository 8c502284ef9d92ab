"""The multi-objective reward that picks fine-tuning targets and preference pairs.

    R_λ = [(1 - λ) · conversion + λ · diversity + w_s · sentiment + w_c · cta] / (1 + w_s + w_c)

``conversion`` is the scorer's calibrated win probability (learned from A/B tests);
``diversity``, ``sentiment`` (VADER band) and ``cta`` (the channel's CTA policy) are the
critics' scores, the same critics the refinement loop uses. λ trades creativity (novelty against
retrieved exemplars and against copy already written for other products) for predicted
conversion; it may differ per category (``lambda_by_category``, matched on the first segment of
the category path).

Grounding and the channel's hard rules are filters, not terms: a candidate that makes an
unsupported claim or breaks a hard rule gets R = 0 whatever else it does well, so the model is
never trained towards it (and it becomes the "rejected" side of preference pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from pydantic import BaseModel, Field

from copyloop.errors import InputError
from copyloop.tools.schemas import Critique, Draft, ProductBrief

HARD_FILTERS = ("grounding", "channel_rules")


class RewardWeights(BaseModel):
    """Weights of the reward terms; λ is the creativity-conversion trade-off."""

    lam: float = Field(0.3, ge=0.0, le=1.0, description="creativity weight λ (1-λ goes to conversion)")
    sentiment: float = Field(0.25, ge=0.0, description="weight of staying in the sentiment band")
    cta: float = Field(0.25, ge=0.0, description="weight of following the channel's CTA policy")
    lambda_by_category: dict[str, float] = Field(
        default_factory=dict, description="λ per top-level category (e.g. {'Toys & Games': 0.4}); others use lam"
    )

    def lam_for(self, category: str) -> float:
        top = (category or "").split("|")[0].strip()
        value = self.lambda_by_category.get(top, self.lam)
        if not 0.0 <= value <= 1.0:
            raise InputError(f"λ for {top!r} must be in [0, 1], got {value}", field="lambda_by_category")
        return value


@dataclass
class Reward:
    """The reward of one candidate and the parts it is made of."""

    total: float
    conversion: float
    diversity: float
    sentiment: float
    cta: float
    hard_pass: bool
    failed_hard: list[str] = field(default_factory=list)
    unsupported: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": round(self.total, 5),
            "conversion": round(self.conversion, 5),
            "diversity": round(self.diversity, 5),
            "sentiment": round(self.sentiment, 5),
            "cta": round(self.cta, 5),
            "hard_pass": self.hard_pass,
            "failed_hard": list(self.failed_hard),
            "unsupported": self.unsupported,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Reward":
        return cls(**data)


def combine(
    conversion: float, diversity: float, sentiment: float, cta: float, hard_pass: bool, weights: RewardWeights, category: str = ""
) -> float:
    """R_λ of one candidate from its parts (0 when a hard filter failed)."""
    if not hard_pass:
        return 0.0
    lam = weights.lam_for(category)
    raw = (1.0 - lam) * conversion + lam * diversity + weights.sentiment * sentiment + weights.cta * cta
    return raw / (1.0 + weights.sentiment + weights.cta)


def reward_from_critiques(
    conversion: float, critiques: Sequence[Critique], weights: RewardWeights, category: str = ""
) -> Reward:
    """Fold the scorer's output and the critics' verdicts into one ``Reward``."""
    by_name = {c.critic: c for c in critiques}
    missing = [n for n in HARD_FILTERS if n not in by_name]
    if missing:
        raise InputError(f"reward needs the hard-filter critics {missing}", field="critics")
    # grounding and channel rules always filter; other critics filter when they say they are hard
    failed_hard = sorted(c.critic for c in critiques if (c.hard or c.critic in HARD_FILTERS) and not c.passed)
    hard_pass = not failed_hard

    def part(name: str) -> float:
        c = by_name.get(name)
        return float(c.score) if c is not None else 0.0

    diversity, sentiment, cta = part("diversity"), part("sentiment"), part("cta")
    return Reward(
        total=combine(conversion, diversity, sentiment, cta, hard_pass, weights, category),
        conversion=float(conversion),
        diversity=diversity,
        sentiment=sentiment,
        cta=cta,
        hard_pass=hard_pass,
        failed_hard=failed_hard,
        unsupported=not by_name["grounding"].passed,
    )


class RewardModel:
    """Scores candidate texts with the product's scorer and critics (both loaded once)."""

    def __init__(self, scorer: Any, embedder: Any, *, sentiment_band: tuple[float, float], similarity_max: float, critics: list[Any] | None = None) -> None:
        from copyloop.agents.critics import default_critics

        self.scorer = scorer
        self.embedder = embedder
        self.sentiment_band = sentiment_band
        self.similarity_max = similarity_max
        self.critics = critics if critics is not None else default_critics()

    @classmethod
    def from_settings(cls, settings: Any, *, scorer: Any = None, embedder: Any = None) -> "RewardModel":
        from copyloop.agents.scorer import ConversionScorer
        from copyloop.tools.embeddings import load_embedder

        embedder = embedder or load_embedder(settings.embeddings.model_path)
        scorer = scorer or ConversionScorer.load(settings.scorer.artifact_path, embedder=embedder)
        band = (settings.refine.sentiment_min, settings.refine.sentiment_max)
        return cls(scorer, embedder, sentiment_band=band, similarity_max=settings.refine.similarity_max)

    def critique(
        self, product: ProductBrief, spec: Any, texts: Sequence[str], *, exemplars: Sequence[str] = (), run_texts: Sequence[str] = ()
    ) -> list[tuple[float, list[Critique]]]:
        """(conversion score, critiques) per text: the weight-free parts, cached by callers."""
        from copyloop.agents.critics import CriticContext, run_critics

        if not texts:
            return []
        band = spec.sentiment_band or self.sentiment_band
        ctx = CriticContext(
            product=product,
            spec=spec,
            exemplars=list(exemplars),
            previous=[],
            run_texts=list(run_texts),
            embedder=self.embedder,
            sentiment_band=tuple(band),
            similarity_max=self.similarity_max,
        )
        scored = self.scorer.score(list(texts), channel=spec.name)
        out: list[tuple[float, list[Critique]]] = []
        for i, (text, s) in enumerate(zip(texts, scored)):
            critiques = run_critics(Draft(text=text, candidate=i, source="finetune"), ctx, self.critics)
            out.append((float(s.score), critiques))
        return out

    def score(
        self,
        product: ProductBrief,
        spec: Any,
        texts: Sequence[str],
        weights: RewardWeights,
        *,
        exemplars: Sequence[str] = (),
        run_texts: Sequence[str] = (),
    ) -> list[Reward]:
        """``Reward`` per text under ``weights``."""
        return [
            reward_from_critiques(conv, crits, weights, product.category)
            for conv, crits in self.critique(product, spec, texts, exemplars=exemplars, run_texts=run_texts)
        ]


__all__ = ["HARD_FILTERS", "Reward", "RewardModel", "RewardWeights", "combine", "reward_from_critiques"]
