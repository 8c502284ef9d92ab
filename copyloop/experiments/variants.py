"""Variants from the refinement loop: K candidates that pass every hard rule and differ.

The loop returns one best text, but its trace holds every candidate it judged
(``RefineResult.trace[i].candidates[j]``: text, conversion score, hard_pass). An experiment
wants several good texts that are *not* near-copies of each other (a test of three paraphrases
learns nothing), so candidates that pass every hard rule are picked by maximal marginal relevance
over MiniLM embeddings: each pick maximises ``lam * score - (1 - lam) * max cosine to the texts
already picked`` (Carbonell & Goldstein 1998), and anything closer than ``max_similarity`` to a
picked or existing text is skipped. When one run yields too few, the loop runs again with another
seed. Only the public engine API is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from copyloop.errors import InputError

log = logging.getLogger(__name__)

MMR_LAMBDA = 0.6
"""weight of the predicted score against novelty (scores span ~0.3, cosines ~0.5, so 0.6 balances them)"""


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def mmr_select(
    candidates: Sequence[Candidate],
    k: int,
    embed: Any,
    *,
    existing: Sequence[str] = (),
    lam: float = MMR_LAMBDA,
    max_similarity: float = 0.9,
) -> list[Candidate]:
    """Up to ``k`` candidates by maximal marginal relevance (``embed(texts) -> unit vectors``)."""
    unique: dict[str, Candidate] = {}
    taken = {normalise(t) for t in existing}
    for c in candidates:
        key = normalise(c.text)
        if not key or key in taken:
            continue
        if key not in unique or unique[key].score < c.score:
            unique[key] = c
    pool = sorted(unique.values(), key=lambda c: (-c.score, c.text))
    if not pool or k <= 0:
        return []
    vecs = np.asarray(embed([c.text for c in pool]), dtype=float)
    old = np.asarray(embed(list(existing)), dtype=float) if existing else np.zeros((0, vecs.shape[1]))
    chosen: list[int] = []
    max_sim = old @ vecs.T if len(old) else np.zeros((0, len(pool)))
    nearest = max_sim.max(axis=0) if len(old) else np.full(len(pool), -1.0)
    while len(chosen) < k:
        best, best_value = None, -np.inf
        for i in range(len(pool)):
            if i in chosen or nearest[i] >= max_similarity:
                continue
            novelty = max(0.0, float(nearest[i]))
            value = lam * pool[i].score - (1.0 - lam) * novelty
            if value > best_value:
                best, best_value = i, value
        if best is None:
            break
        chosen.append(best)
        nearest = np.maximum(nearest, vecs @ vecs[best])
    return [pool[i] for i in chosen]


def passing_candidates(result: Any) -> list[Candidate]:
    """Every candidate of a RefineResult's trace that passed all hard rules."""
    out = []
    for it in getattr(result, "trace", []) or []:
        for c in it.candidates:
            if c.hard_pass and c.text.strip():
                out.append(Candidate(c.text.strip(), float(c.score)))
    return out


def variants_from_loop(
    engine: Any,
    product: Mapping[str, Any] | Any,
    channel: str,
    k: int,
    *,
    seed: int = 0,
    existing: Sequence[str] = (),
    max_runs: int = 3,
) -> list[Candidate]:
    """K diverse passing variants written by ``engine.refine`` (more runs with new seeds if needed)."""
    if k < 1:
        raise InputError("variants must be at least 1", field="variants")
    pool: list[Candidate] = []
    picked: list[Candidate] = []
    embedder = engine.cached_embedder if hasattr(engine, "cached_embedder") else engine.embedder
    max_similarity = float(getattr(getattr(engine.settings, "refine", None), "similarity_max", 0.9))
    candidates = max(k, int(engine.settings.refine.candidates))
    for run in range(max_runs):
        result = engine.refine(product, channel, candidates=min(16, candidates), seed=seed + 7919 * run, run_texts=list(existing))
        pool += passing_candidates(result)
        picked = mmr_select(pool, k, embedder.encode, existing=existing, max_similarity=max_similarity)
        log.info("experiment variants: run %d, %d passing candidates, %d picked", run + 1, len(pool), len(picked))
        if len(picked) >= k:
            break
    return picked


__all__ = ["Candidate", "MMR_LAMBDA", "mmr_select", "passing_candidates", "variants_from_loop"]
