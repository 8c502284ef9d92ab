"""The conversion scorer's trained weights, as one small, deterministic JSON document.

JSON (not pickle, not np.savez) so the file is readable, safe to load, diff-able, and its bytes
depend only on the numbers: ``copyloop train-scorer`` rebuilds the committed artifact bit for bit.
Every float is rounded to 7 significant digits before writing, which also absorbs the last-bit
noise that BLAS kernels may leave in the embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from copyloop.errors import InputError, ModelPathError

FORMAT = "copyloop.conversion-scorer/1"
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "conversion_scorer.json"


class FeatureBlock(BaseModel):
    """Interpretable features: clipped to the training range, then standardised."""

    names: list[str]
    clip_lo: list[float]
    clip_hi: list[float]
    mean: list[float]
    scale: list[float]
    weights: list[float]


class EmbeddingBlock(BaseModel):
    """Sentence-embedding part: ``utility += scale * (weights . embedding)``."""

    model: str = "all-MiniLM-L6-v2"
    dim: int
    scale: float
    weights: list[float]


class TermBlock(BaseModel):
    """Word n-gram part (TF-IDF, sublinear tf, L2-normalised rows): ``utility += scale * (weights . tfidf)``."""

    ngram_max: int
    scale: float
    vocabulary: list[str]
    idf: list[float]
    weights: list[float]

    @model_validator(mode="after")
    def _aligned(self) -> "TermBlock":
        if not (len(self.vocabulary) == len(self.idf) == len(self.weights)):
            raise ValueError("vocabulary, idf and weights must have the same length")
        return self


class Baseline(BaseModel):
    """Average utility parts of a channel's typical texts: explanations say what differs from these."""

    features: list[float]
    embedding: float
    terms: float


class Calibration(BaseModel):
    """P(text a beats text b) = sigmoid(slope * (utility_a - utility_b)) (Platt, no intercept: symmetric)."""

    slope: float
    method: str
    pairs: int


class ScorerArtifact(BaseModel):
    """Everything ConversionScorer needs, plus where it came from and how well it did."""

    format: Literal["copyloop.conversion-scorer/1"] = FORMAT
    description: str
    outcome: Literal["ctr", "cvr"]
    source: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    features: FeatureBlock
    embedding: EmbeddingBlock
    terms: TermBlock | None = None
    calibration: Calibration
    reference: dict[str, list[float]] = Field(
        description="utility quantiles of the typical competitors: the training texts ('*'), per channel of the "
        "training log, and per product channel from real seller copy when the trainer was given some"
    )
    baselines: dict[str, Baseline] = Field(description="average utility parts per reference key (same keys as reference)")

    @model_validator(mode="after")
    def _consistent(self) -> "ScorerArtifact":
        f = self.features
        if not (len(f.names) == len(f.clip_lo) == len(f.clip_hi) == len(f.mean) == len(f.scale) == len(f.weights)):
            raise ValueError("feature arrays must have the same length")
        if len(self.embedding.weights) != self.embedding.dim:
            raise ValueError("embedding weights do not match embedding.dim")
        if "*" not in self.reference or not self.reference["*"]:
            raise ValueError("reference must contain a non-empty '*' entry")
        if set(self.baselines) != set(self.reference):
            raise ValueError("baselines and reference must have the same keys")
        if any(len(b.features) != len(f.names) for b in self.baselines.values()):
            raise ValueError("baseline feature arrays must match the feature names")
        return self


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.7g}")
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    return obj


def dumps_artifact(artifact: ScorerArtifact) -> str:
    """Canonical text of an artifact: sorted keys, rounded floats, compact, newline-terminated."""
    data = _round(artifact.model_dump(mode="json"))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def save_artifact(artifact: ScorerArtifact, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps_artifact(artifact), encoding="utf-8")
    tmp.replace(path)
    return path


def load_artifact(path: str | Path | None = None) -> ScorerArtifact:
    """Read and validate an artifact (default: the bundled one)."""
    path = Path(path) if path else DEFAULT_ARTIFACT
    if not path.is_file():
        raise ModelPathError("Conversion scorer artifact", path)
    try:
        return ScorerArtifact.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise InputError(f"{path} is not a valid copyloop scorer artifact ({FORMAT}): {exc.errors()[0]['msg']}", field="artifact") from None


__all__ = [
    "Baseline",
    "Calibration",
    "DEFAULT_ARTIFACT",
    "EmbeddingBlock",
    "FORMAT",
    "FeatureBlock",
    "ScorerArtifact",
    "TermBlock",
    "dumps_artifact",
    "load_artifact",
    "save_artifact",
]
