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

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
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


class ScoreCache:
    """The weight-free parts of rewards (conversion score and critiques), cached in a JSONL file.

    Scoring ~1,000 candidates takes minutes on a busy CPU and does not depend on λ or the reward
    weights, so a re-run with another λ reuses it. The key covers the text, the product, the
    channel, the reference texts and a ``salt`` that changes with the scorer artifact and the
    critics' code, so a new scorer or critic never reads stale verdicts.
    """

    def __init__(self, path: Path, salt: str) -> None:
        self.path = Path(path)
        self.salt = salt
        self.entries: dict[str, tuple[float, list[Critique]]] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self.entries[row["key"]] = (float(row["conversion"]), [Critique(**c) for c in row["critiques"]])
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue  # a line cut by a killed run

    def key(self, *parts: Any) -> str:
        return hashlib.sha256(json.dumps([self.salt, *parts], ensure_ascii=False).encode()).hexdigest()

    def get(self, key: str) -> tuple[float, list[Critique]] | None:
        return self.entries.get(key)

    def put(self, key: str, conversion: float, critiques: list[Critique]) -> None:
        self.entries[key] = (conversion, critiques)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        row = {"key": key, "conversion": conversion, "critiques": [c.model_dump(mode="json") for c in critiques]}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def verdict_sources() -> list[Path]:
    """The source files a critic verdict depends on: the critics, and every module of
    ``copyloop.tools`` — not only claims and validators, since the rules read their word lists
    (lexicons), channel specs, quantities and text helpers from there."""
    import copyloop.agents.critics as critics_pkg
    import copyloop.tools as tools_pkg

    return sorted(Path(critics_pkg.__file__).parent.glob("*.py")) + sorted(Path(tools_pkg.__file__).parent.glob("*.py"))


def scoring_salt(scorer_artifact: Path | None) -> str:
    """Hash of what decides a verdict: the scorer artifact and ``verdict_sources``."""
    from copyloop.agents.scorer_artifact import DEFAULT_ARTIFACT

    digest = hashlib.sha256()
    artifact = Path(scorer_artifact) if scorer_artifact else DEFAULT_ARTIFACT
    for path in [*verdict_sources(), artifact]:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class RewardModel:
    """Scores candidate texts with the product's scorer and critics (both loaded once)."""

    def __init__(
        self,
        scorer: Any,
        embedder: Any,
        *,
        sentiment_band: tuple[float, float],
        similarity_max: float,
        critics: list[Any] | None = None,
        cache: ScoreCache | None = None,
    ) -> None:
        from copyloop.agents.critics import default_critics

        self.scorer = scorer
        self.embedder = embedder
        self.sentiment_band = sentiment_band
        self.similarity_max = similarity_max
        self.critics = critics if critics is not None else default_critics()
        self.cache = cache

    @classmethod
    def from_settings(cls, settings: Any, *, scorer: Any = None, embedder: Any = None, cache_dir: Path | None = None) -> "RewardModel":
        from copyloop.agents.scorer import ConversionScorer
        from copyloop.tools.embeddings import load_embedder

        embedder = embedder or load_embedder(settings.embeddings.model_path)
        scorer = scorer or ConversionScorer.load(settings.scorer.artifact_path, embedder=embedder)
        band = (settings.refine.sentiment_min, settings.refine.sentiment_max)
        cache = None
        if cache_dir is not None:
            salt = scoring_salt(settings.scorer.artifact_path)
            cache = ScoreCache(Path(cache_dir) / f"scores-{salt}.jsonl", salt)
        return cls(scorer, embedder, sentiment_band=band, similarity_max=settings.refine.similarity_max, cache=cache)

    def critique(
        self, product: ProductBrief, spec: Any, texts: Sequence[str], *, exemplars: Sequence[str] = (), run_texts: Sequence[str] = ()
    ) -> list[tuple[float, list[Critique]]]:
        """(conversion score, critiques) per text: the weight-free parts, cached by callers."""
        from copyloop.agents.critics import CriticContext, run_critics

        if not texts:
            return []
        keys = [
            self.cache.key(product.id, product.fact_text(), spec.name, text, list(exemplars), list(run_texts))
            for text in texts
        ] if self.cache is not None else []
        if self.cache is not None:
            cached = [self.cache.get(k) for k in keys]
            if all(c is not None for c in cached):
                return [c for c in cached if c is not None]
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
            if self.cache is not None:
                self.cache.put(keys[i], float(s.score), critiques)
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


__all__ = [
    "HARD_FILTERS",
    "Reward",
    "RewardModel",
    "RewardWeights",
    "ScoreCache",
    "combine",
    "reward_from_critiques",
    "scoring_salt",
    "verdict_sources",
]
