"""What every critic receives and returns, plus small shared helpers.

Critics are pure functions of (draft, context) wrapped in tiny objects with a ``name``; they
run many times per product, so the only expensive thing they share, embeddings of reference
texts, is cached per embedder and text.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

import numpy as np

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.schemas import Critique, Draft, ProductBrief

if TYPE_CHECKING:
    from copyloop.tools.embeddings import Embedder


class RefineLimits(Protocol):
    """The fields of ``copyloop.settings.RefineSettings`` the critics use (duck-typed so this
    layer does not import the settings module)."""

    sentiment_min: float
    sentiment_max: float
    similarity_max: float


@dataclass
class CriticContext:
    """Everything critics may compare a draft with."""

    product: ProductBrief
    """The product; grounding checks claims against its (trusted) facts."""
    spec: ChannelSpec
    """The channel whose rules and CTA policy apply."""
    exemplars: list[str] = field(default_factory=list)
    """Retrieved past copy shown to the drafter (copying it verbatim is penalised)."""
    previous: list[str] = field(default_factory=list)
    """Earlier drafts for this product and channel (repeating one is penalised)."""
    run_texts: list[str] = field(default_factory=list)
    """Copy written for other products in the same run (catalog-level sameness)."""
    embedder: "Embedder | None" = None
    """Sentence embedder; without it the diversity critic falls back to word overlap."""
    sentiment_band: tuple[float, float] = (0.2, 0.95)
    """VADER compound band that reads warm but not hysterical (the channel may override it)."""
    similarity_max: float = 0.9
    """Cosine similarity above which copy counts as a near-duplicate."""
    human: list[str] = field(default_factory=list)
    """What a person asked for in words: its wording may be used even where the product's data
    does not have the words ("make the headline say cozy nights start here")."""

    @classmethod
    def from_settings(cls, product: ProductBrief, spec: ChannelSpec, refine: RefineLimits, **kwargs: Any) -> "CriticContext":
        """Context with the band and similarity limit taken from ``Settings.refine``."""
        return cls(
            product=product,
            spec=spec,
            sentiment_band=(refine.sentiment_min, refine.sentiment_max),
            similarity_max=refine.similarity_max,
            **kwargs,
        )

    @property
    def band(self) -> tuple[float, float]:
        """The sentiment band in force: the channel's own, else the configured one."""
        return self.spec.sentiment_band or self.sentiment_band


@runtime_checkable
class Critic(Protocol):
    """Judges one draft. ``name`` is what appears in ``Critique.critic``."""

    name: str

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique: ...


def verdict(
    critic: str, score: float, passed: bool, *, hard: bool = False, message: str = "", **details: Any
) -> Critique:
    """Build a ``Critique`` with the score clamped to [0, 1] and rounded for stable traces."""
    return Critique(
        critic=critic,
        score=round(min(1.0, max(0.0, float(score))), 4),
        passed=bool(passed),
        hard=hard,
        message=message,
        details=details,
    )


def quote_list(items: Sequence[str], limit: int = 3) -> str:
    """"'a', 'b' and 2 more" for messages."""
    uniq = list(dict.fromkeys(items))
    shown = ", ".join(f"'{i}'" for i in uniq[:limit])
    return shown + (f" and {len(uniq) - limit} more" if len(uniq) > limit else "")


# --- embedding cache ---------------------------------------------------------------------------

_CACHE_SIZE = 4096
_caches: "weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _cache_of(embedder: "Embedder") -> "OrderedDict[str, np.ndarray] | None":
    """The cache that belongs to this embedder object: keyed by the object itself (weakly), not
    by ``id()``, which a later embedder can reuse once this one is gone (a 32-d test double's
    vectors were once served to the 384-d MiniLM that took its address)."""
    try:
        cache = _caches.get(embedder)
        if cache is None:
            cache = _caches[embedder] = OrderedDict()
        return cache
    except TypeError:  # not weak-referenceable: no caching
        return None


def embed(embedder: "Embedder", texts: Sequence[str]) -> np.ndarray:
    """L2-normalised embeddings of ``texts``, encoding only the ones not seen before.

    Reference texts (exemplars, earlier drafts, other products' copy) are compared with every
    candidate of every round; caching them per (embedder, text) keeps the diversity critic to one
    short encode per draft.
    """
    rows: list[np.ndarray | None] = []
    missing: list[str] = []
    with _cache_lock:
        cache = _cache_of(embedder)
        for t in texts:
            v = cache.get(t) if cache is not None else None
            if v is not None:
                cache.move_to_end(t)
            else:
                missing.append(t)
            rows.append(v)
    if missing:
        uniq = list(dict.fromkeys(missing))
        vecs = embedder.encode(uniq)
        fresh = dict(zip(uniq, vecs))
        if cache is not None:
            with _cache_lock:
                for t, v in fresh.items():
                    cache[t] = v
                    if len(cache) > _CACHE_SIZE:
                        cache.popitem(last=False)
        rows = [r if r is not None else fresh[t] for r, t in zip(rows, texts)]
    if not rows:
        return np.zeros((0, getattr(embedder, "dim", 384)), dtype=np.float32)
    return np.vstack([np.asarray(r, dtype=np.float32) for r in rows])


__all__ = ["Critic", "CriticContext", "embed", "quote_list", "verdict"]
