"""A memoising wrapper around an embedder, for runs that embed the same texts more than once.

The evaluation trains on one split and scores the other, then fits baselines on the same
texts; embedding each distinct text once keeps that run short. Not used at serving time.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class _Encoder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class CachedEmbedder:
    """Same interface as copyloop.tools.embeddings.Embedder; each distinct text is encoded once."""

    def __init__(self, inner: _Encoder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.inner.encode(missing, batch_size=batch_size)
            self._cache.update(zip(missing, np.asarray(vecs, dtype=np.float32)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def preload(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Seed the cache with vectors computed elsewhere (same model)."""
        self._cache.update(zip(texts, np.asarray(vectors, dtype=np.float32)))


__all__ = ["CachedEmbedder"]
