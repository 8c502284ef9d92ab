"""Conversion scorer: how likely a text is to beat a typical competing variant in an A/B test.

Model (chosen on held-out Upworthy tests, see bench/scorer_eval.py): a Bradley–Terry style
linear utility

    utility(x) = scale_e * w_e . embedding(x)        all-MiniLM-L6-v2, L2-normalised
               + w_f . standardised_features(x)     length, number, question, 'you', sentiment, CTA, ...
               + scale_t * w_t . tfidf(x)           word 1–3-grams of the training texts

learned by logistic regression on within-test differences (text a beat text b), then calibrated
so that P(a beats b) = sigmoid(slope * (utility_a - utility_b)). The ``score`` of a text is its
expected win probability against the "typical competitors" of its channel: utility quantiles of
the training texts (``'*'``), of a channel in the training log, or — for product channels of the
bundled model — of real Amazon seller copy. Explanations name what differs from that typical text.

Long text caveat: the default model learned from news headlines (3–24 words). Interpretable
features are clipped to the range seen in training and the n-gram part is L2-normalised, so a
150-word description gets a bounded, graded score (no collapse to 0 or 1), but what it measures
there is "how headline-winner-like is this wording compared with typical seller copy", not a
measured conversion effect of long copy. Pass the channel (``score(texts, channel=...)``): without
one, product copy is compared with news headlines and scores low across the board. Retraining on
the shop's own A/B log (``copyloop train-scorer --ab-log``) is what makes the score mean sales.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from pydantic import BaseModel, Field

from copyloop.agents.scorer_artifact import ScorerArtifact, load_artifact
from copyloop.agents.scorer_features import FEATURE_NAMES, describe, feature_matrix
from copyloop.errors import InputError

if TYPE_CHECKING:
    from copyloop.settings import Settings
    from copyloop.tools.channels import ChannelSpec
    from copyloop.tools.embeddings import Embedder
    from copyloop.tools.schemas import ProductBrief

# An item enters the explanation when it moves the win probability of a typical pair by about
# this much or more (in logit units after calibration: 0.08 ≈ 2 percentage points near 0.5).
_MIN_EFFECT = 0.08
_MAX_ITEMS = 4


class ScoredText(BaseModel):
    """A score with the reasons behind it."""

    score: float = Field(ge=0.0, le=1.0, description="calibrated P(text beats a typical competing variant)")
    explanation: str = Field(description="features that moved the score, '+' up and '-' down")
    features: dict[str, float] = Field(description="raw feature values plus utility parts (logit units)")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


class ConversionScorer:
    """Scores marketing texts with a model learned from A/B test logs. Load once, reuse."""

    def __init__(self, artifact: ScorerArtifact, embedder: "Embedder | None" = None, path: Path | None = None) -> None:
        self.artifact = artifact
        self.path = path
        self._embedder = embedder
        f = artifact.features
        if tuple(f.names) != FEATURE_NAMES:
            raise InputError(
                f"scorer artifact features {f.names} differ from this copyloop version's {list(FEATURE_NAMES)}; "
                "retrain it with `copyloop train-scorer`",
                field="artifact",
            )
        self._clip_lo = np.asarray(f.clip_lo)
        self._clip_hi = np.asarray(f.clip_hi)
        self._mean = np.asarray(f.mean)
        self._scale = np.asarray(f.scale)
        self._w_f = np.asarray(f.weights)
        self._w_e = np.asarray(artifact.embedding.weights) * artifact.embedding.scale
        self._slope = artifact.calibration.slope
        self._reference = {k: np.asarray(v) for k, v in artifact.reference.items()}
        self._vectorizer = None
        self._w_t: np.ndarray | None = None
        if artifact.terms is not None and artifact.terms.vocabulary:
            self._vectorizer = _make_vectorizer(artifact)
            self._w_t = np.asarray(artifact.terms.weights) * artifact.terms.scale
            self._vocab = artifact.terms.vocabulary
        self._max_words = math.expm1(self._clip_hi[FEATURE_NAMES.index("log_words")])

    # construction ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | str | None = None, embedder: "Embedder | None" = None) -> "ConversionScorer":
        """Load an artifact (default: the bundled Upworthy-trained one). The embedder loads on first use."""
        artifact = load_artifact(path)
        return cls(artifact, embedder=embedder, path=Path(path) if path else None)

    @classmethod
    def from_settings(cls, settings: "Settings", embedder: "Embedder | None" = None) -> "ConversionScorer":
        if embedder is None and settings.embeddings.model_path:
            from copyloop.tools.embeddings import load_embedder

            embedder = load_embedder(settings.embeddings.model_path)
        return cls.load(settings.scorer.artifact_path, embedder=embedder)

    @property
    def embedder(self) -> "Embedder":
        if self._embedder is None:
            from copyloop.tools.embeddings import load_embedder

            self._embedder = load_embedder()
        if self._embedder.dim != self.artifact.embedding.dim:
            raise InputError(
                f"embedder has dimension {self._embedder.dim}, the scorer artifact expects {self.artifact.embedding.dim}",
                field="embedder",
            )
        return self._embedder

    @property
    def description(self) -> str:
        return self.artifact.description

    # scoring --------------------------------------------------------------------------------
    def parts(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Utility parts per text, in uncalibrated logit units: ``embedding`` (n,), ``features``
        (n, n_features), ``terms`` (n,), plus the ``raw`` feature values and the sparse ``tfidf`` rows.

        ``embeddings``: the texts' MiniLM vectors when the caller already has them (the embedding
        is ~99% of scoring time), one row per text, from the same model the artifact names."""
        raw = feature_matrix(texts)
        z = (np.clip(raw, self._clip_lo, self._clip_hi) - self._mean) / self._scale
        if embeddings is not None:
            emb_rows = np.asarray(embeddings, dtype=np.float64)
            if emb_rows.shape != (len(texts), self.artifact.embedding.dim):
                raise InputError(
                    f"embeddings have shape {emb_rows.shape}, expected ({len(texts)}, {self.artifact.embedding.dim})",
                    field="embeddings",
                )
            e_part = emb_rows @ self._w_e
        else:
            unique = list(dict.fromkeys(texts))
            emb = self.embedder.encode(unique).astype(np.float64)
            row = {t: k for k, t in enumerate(unique)}
            e_part = (emb @ self._w_e)[[row[t] for t in texts]]
        parts = {"raw": raw, "features": z * self._w_f, "embedding": e_part}
        if self._vectorizer is not None and self._w_t is not None:
            tf = self._vectorizer.transform(texts)
            parts["tfidf"] = tf
            parts["terms"] = np.asarray(tf @ self._w_t).ravel()
        else:
            parts["terms"] = np.zeros(len(texts))
        return parts

    def utilities(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated utilities (only differences between texts mean something)."""
        texts = _check(texts)
        if not texts:
            return np.zeros(0)
        p = self.parts(texts)
        return p["embedding"] + p["features"].sum(axis=1) + p["terms"]

    def win_probability(self, a: str, b: str) -> float:
        """Calibrated P(a beats b) in a head-to-head test."""
        u = self.utilities([a, b])
        return float(_sigmoid(np.asarray(self._slope * (u[0] - u[1]))))

    def score(
        self,
        texts: Sequence[str],
        channel: str | None = None,
        *,
        embeddings: np.ndarray | None = None,
        product: "ProductBrief | None" = None,
        spec: "ChannelSpec | None" = None,
    ) -> list[ScoredText]:
        """Score each text against the typical competitors of ``channel`` (unknown/None: the training texts).

        Empty or blank texts score 0.0 (they cannot win anything). ``embeddings`` (one row per
        text, same order) skips re-embedding texts the caller has already embedded.

        On a product channel, click appeal is combined with product fit (``combine_fit``): copy
        that does not name its product, uses none of its facts, borrows other products' words or
        pads with filler scores lower than specific copy of the same product, however much it
        reads like a winning news headline. Without ``product`` only the product-free part of the
        fit counts (filler, superlatives and other soft claims, leftover prompt text).
        """
        raw = self._appeal(texts, channel, embeddings)
        spec = _spec_for(channel, spec)
        if product is None and spec is None:
            return raw  # not a product channel (news headlines, a custom A/B log): click appeal only
        return [combine_fit(r, t, product, spec) for r, t in zip(raw, _check(texts))]

    def _appeal(self, texts: Sequence[str], channel: str | None, embeddings: np.ndarray | None) -> list[ScoredText]:
        texts = _check(texts)
        live = [k for k, t in enumerate(texts) if t.strip()]
        out: list[ScoredText | None] = [None] * len(texts)
        if live:
            live_texts = [texts[k] for k in live]
            if embeddings is not None and len(embeddings) != len(texts):
                raise InputError(f"{len(embeddings)} embeddings for {len(texts)} texts", field="embeddings")
            p = self.parts(live_texts, None if embeddings is None else np.asarray(embeddings)[live])
            utility = p["embedding"] + p["features"].sum(axis=1) + p["terms"]
            key = channel if channel in self._reference else "*"
            ref = self._reference[key]
            win = _sigmoid(self._slope * (utility[:, None] - ref[None, :])).mean(axis=1)
            for n, k in enumerate(live):
                out[k] = self._scored(n, p, float(utility[n]), float(win[n]), key)
        for k, t in enumerate(texts):
            if out[k] is None:
                out[k] = ScoredText(score=0.0, explanation="empty text", features={})
        return [o for o in out if o is not None]

    # explanation ----------------------------------------------------------------------------
    def _scored(self, n: int, p: dict[str, np.ndarray], utility: float, win: float, key: str) -> ScoredText:
        """Explain relative to the typical text of the reference (channel) the score compares with."""
        raw = p["raw"][n]
        base = self.artifact.baselines[key]
        feats: dict[str, float] = {name: round(float(v), 4) for name, v in zip(FEATURE_NAMES, raw)}
        e_eff = float(p["embedding"][n]) - base.embedding
        t_eff = float(p["terms"][n]) - base.terms
        feats.update(utility=round(utility, 4), wording_effect=round(e_eff, 4), terms_effect=round(t_eff, 4))
        items: list[tuple[float, str]] = []
        for name, v, c, b in zip(FEATURE_NAMES, raw, p["features"][n], base.features):
            items.append((self._slope * (float(c) - b), describe(name, float(v))))
        items.append((self._slope * e_eff, "wording like past winners" if e_eff > 0 else "wording like past losers"))
        if self._w_t is not None and t_eff != 0.0:
            items.append((self._slope * t_eff, self._term_phrase(p["tfidf"], n, t_eff)))
        items = [it for it in items if abs(it[0]) >= _MIN_EFFECT]
        items.sort(key=lambda it: -abs(it[0]))
        items = items[:_MAX_ITEMS]
        ups = [f"+ {d}" for e, d in items if e > 0]
        downs = [f"- {d}" for e, d in items if e < 0]
        text_out = "; ".join(s for s in (", ".join(ups), ", ".join(downs)) if s) or "close to a typical variant; nothing stands out"
        n_words = math.expm1(raw[FEATURE_NAMES.index("log_words")])
        if n_words > self._max_words:
            text_out += f" (longer than the ≤{int(self._max_words)}-word texts it learned from: a rough guide)"
        if key != "*":
            text_out += f" [vs typical {key} copy]"
        return ScoredText(score=float(np.clip(win, 0.0, 1.0)), explanation=text_out, features=feats)

    def _term_phrase(self, tfidf: object, n: int, t_eff: float) -> str:
        """Name the two n-grams of this text that push hardest in the direction of the terms part."""
        row = tfidf[n]  # type: ignore[index]
        assert self._w_t is not None
        contrib = [(float(v * self._w_t[j]), self._vocab[j]) for j, v in zip(row.indices, row.data)]
        same_sign = sorted((c for c in contrib if c[0] * t_eff > 0), key=lambda c: -abs(c[0]))[:2]
        words = ", ".join(f"'{w}'" for _, w in same_sign)
        if words:
            return f"words {words}"
        return "none of the usual losing words" if t_eff > 0 else "none of the usual winning words"


def accepts_product(scorer: object) -> bool:
    """True when ``scorer.score`` takes ``product=``/``spec=`` (product fit); a user's own scorer or
    a test double may not, and then gets click appeal only."""
    import inspect

    try:
        return "product" in inspect.signature(scorer.score).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False


FIT_WEIGHT = 4.0
"""Logit units per unit of product fit: fully off-topic copy (fit 0) loses about 3 logits against
specific copy (fit >= the reference), enough that no wording can buy it back on the pair set of
bench/fit_pairs.py."""
FIT_REFERENCE = 0.8
"""Product fit of typical seller copy (measured on the Amazon catalog by bench/fit_pairs.py): copy
at this fit keeps its click-appeal score, better copy gains a little, worse copy loses."""


def _spec_for(channel: str | None, spec: "ChannelSpec | None") -> "ChannelSpec | None":
    if spec is not None:
        return spec
    if not channel:
        return None
    from copyloop.tools.channels import BUILTIN_CHANNELS

    return BUILTIN_CHANNELS.get(channel)


def combine_fit(scored: ScoredText, text: str, product: "ProductBrief | None", spec: "ChannelSpec | None") -> ScoredText:
    """Click appeal (the learned, calibrated part) combined with product fit (rule-based):

        logit(score) = logit(appeal) + FIT_WEIGHT * (fit - FIT_REFERENCE)

    ``fit`` comes from ``copyloop.tools.quality.assess`` (names the product, uses its facts, no
    foreign words, no filler, no unsupported soft claims, no leftover prompt text). Without a
    product only the product-free parts count (filler, soft claims, leftovers, voice). The appeal
    part alone is in ``features['appeal']`` and the fit in ``features['fit']``.
    """
    if not text.strip() or scored.score <= 0.0:
        return scored
    fit, problems = _fit(text, product, spec)
    if product is None and not problems:
        return scored  # nothing product-free to object to, and no product to judge fit against
    appeal = min(max(scored.score, 1e-4), 1 - 1e-4)
    # without the product's data only problems can be seen, so fit can only lower the score
    delta = fit - FIT_REFERENCE if product is not None else min(0.0, fit - FIT_REFERENCE)
    logit = math.log(appeal / (1 - appeal)) + FIT_WEIGHT * delta
    final = 1.0 / (1.0 + math.exp(-logit))
    feats = dict(scored.features)
    feats.update(appeal=round(scored.score, 4), fit=round(fit, 4))
    why = f"; product fit {fit:.2f}" + (f" ({'; '.join(problems[:2])})" if problems else "")
    return ScoredText(score=float(np.clip(final, 0.0, 1.0)), explanation=scored.explanation + why, features=feats)


def _fit(text: str, product: "ProductBrief | None", spec: "ChannelSpec | None") -> tuple[float, list[str]]:
    from copyloop.tools.quality import FitReport, assess, leftover_prompt_text
    from copyloop.tools.vocab import filler_phrases

    if product is not None and spec is not None:
        report = assess(text, product, spec)
        return report.fit, report.problems()
    # no product: only what needs no product data
    from copyloop.tools.claims import extract_claims

    soft = [c.text for c in extract_claims(text) if c.kind in ("soft", "ranking")]
    report = FitReport(filler=filler_phrases(text), soft_claims=soft, leftovers=leftover_prompt_text(text))
    return report.fit, report.problems()


def _check(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InputError("score() takes a list of texts, not a single string", field="texts")
    out = list(texts)
    for k, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"text #{k} is {type(t).__name__}, not a string", field="texts")
    return out


def _make_vectorizer(artifact: ScorerArtifact):  # type: ignore[no-untyped-def]
    """Rebuild the TF-IDF transform from the stored vocabulary and idf (no refit)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    assert artifact.terms is not None
    vec = TfidfVectorizer(
        ngram_range=(1, artifact.terms.ngram_max),
        sublinear_tf=True,
        lowercase=True,
        vocabulary={t: k for k, t in enumerate(artifact.terms.vocabulary)},
        dtype=np.float64,
    )
    vec.idf_ = np.asarray(artifact.terms.idf, dtype=np.float64)
    return vec


__all__ = ["ConversionScorer", "accepts_product", "FIT_REFERENCE", "FIT_WEIGHT", "ScoredText", "combine_fit"]
