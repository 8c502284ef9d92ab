"""Catalog-level diversity: does the whole catalog sound the same?

One refinement only sees its own product, so a batch can end with hundreds of products that
"make every moment magical". This module measures the catalog (mean pairwise cosine of the copy
of different products, per channel; the stock phrases most products share) and picks which
items to re-draft: one side of every near-duplicate pair (cosine above
``Settings.refine.similarity_max``) and every product beyond the first few that uses a stock
phrase. Copy is compared only within a channel — a headline and a description of the same
product are not competitors.

Embeddings are L2-normalised, so the mean pairwise cosine is computed in O(n) from the sum
vector, and near-duplicate pairs are found block by block: a 10,000-product catalog never needs
a 10,000 x 10,000 matrix in memory.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from pydantic import BaseModel, Field
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from copyloop.tools.embeddings import Embedder
from copyloop.tools.text import words

PHRASE_N = 3  # word n-gram length of a "stock phrase"
_BLOCK = 1024


@dataclass(frozen=True)
class CopyItem:
    """One finished text of the catalog. ``source_text`` is the product's own text (title,
    facts, ...): a phrase the product itself uses (its brand, its name) is not a stock phrase."""

    product_id: str
    channel: str
    text: str
    source_text: str = ""


class PhraseCount(BaseModel):
    phrase: str
    products: int = Field(..., description="how many different products' copy uses it")


class DiversityReport(BaseModel):
    """How alike the catalog's copy is (lower similarity and fewer shared phrases are better)."""

    items: int = 0
    mean_similarity: float | None = Field(None, description="mean pairwise cosine of different products' copy, same channel")
    max_similarity: float | None = None
    near_duplicates: int = Field(0, description="pairs of different products above the similarity threshold")
    per_channel: dict[str, float] = Field(default_factory=dict, description="mean pairwise cosine per channel")
    top_phrases: list[PhraseCount] = Field(default_factory=list, description="most shared stock phrases")


@dataclass
class Flag:
    """Why an item should be re-drafted, and which other texts it must move away from."""

    index: int
    reasons: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    neighbours: list[int] = field(default_factory=list)
    max_similarity: float = 0.0


def phrases_of(text: str, n: int = PHRASE_N) -> set[str]:
    """Lower-cased word n-grams with at least two content words (so "and it is" never counts)."""
    toks = [w.lower() for w in words(text)]
    out: set[str] = set()
    for i in range(len(toks) - n + 1):
        gram = toks[i : i + n]
        if sum(1 for w in gram if w not in ENGLISH_STOP_WORDS and not w.isdigit()) >= 2:
            out.add(" ".join(gram))
    return out


def shared_phrases(items: Sequence[CopyItem], n: int = PHRASE_N) -> dict[str, list[int]]:
    """``{phrase: [item indexes]}`` for phrases used by the copy of two or more different
    products of one channel, not counting products whose own text contains the phrase."""
    users: dict[tuple[str, str], list[int]] = defaultdict(list)
    seen_products: dict[tuple[str, str], set[str]] = defaultdict(set)
    for idx, item in enumerate(items):
        own = " ".join(w.lower() for w in words(item.source_text))
        for p in phrases_of(item.text, n):
            if p in own:
                continue
            key = (item.channel, p)
            if item.product_id not in seen_products[key]:
                seen_products[key].add(item.product_id)
                users[key].append(idx)
    merged: dict[str, list[int]] = defaultdict(list)
    for (_, phrase), idxs in users.items():
        if len(idxs) >= 2:
            merged[phrase].extend(idxs)
    return dict(merged)


def top_phrases(shared: dict[str, list[int]], items: Sequence[CopyItem], top: int = 10) -> list[PhraseCount]:
    counts = Counter({p: len({items[i].product_id for i in idxs}) for p, idxs in shared.items()})
    return [PhraseCount(phrase=p, products=c) for p, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def _near_pairs(vecs: np.ndarray, ids: Sequence[str], threshold: float) -> list[tuple[float, int, int]]:
    """(cosine, i, j) with i < j, different products, cosine > threshold; block by block."""
    pairs: list[tuple[float, int, int]] = []
    n = len(vecs)
    for start in range(0, n, _BLOCK):
        block = vecs[start : start + _BLOCK] @ vecs.T
        for r, c in zip(*np.nonzero(block > threshold)):
            i, j = start + int(r), int(c)
            if i < j and ids[i] != ids[j]:
                pairs.append((float(block[r, c]), i, j))
    return pairs


def _channel_stats(vecs: np.ndarray) -> tuple[float | None, float | None, int]:
    """Mean and max pairwise cosine of normalised rows; mean from the sum vector in O(n)."""
    n = len(vecs)
    if n < 2:
        return None, None, 0
    s = vecs.sum(axis=0)
    sq = float((vecs * vecs).sum())
    mean = (float(s @ s) - sq) / (n * (n - 1))
    best = -1.0
    for start in range(0, n, _BLOCK):
        block = vecs[start : start + _BLOCK] @ vecs.T
        for r in range(block.shape[0]):
            block[r, start + r] = -1.0
        best = max(best, float(block.max()))
    return mean, best, n * (n - 1) // 2


@dataclass
class CatalogAnalysis:
    report: DiversityReport
    flags: dict[int, Flag]


def analyse_catalog(
    items: Sequence[CopyItem],
    embedder: Embedder,
    similarity_max: float,
    *,
    phrase_min_products: int = 3,
    phrase_min_share: float = 0.1,
    phrase_keep: int = 2,
    neighbours: int = 8,
    top: int = 10,
) -> CatalogAnalysis:
    """Measure the catalog and flag the items to re-draft.

    A phrase is "stock" when the copy of at least ``max(phrase_min_products, phrase_min_share *
    products in the channel)`` different products uses it; the first ``phrase_keep`` users (in
    input order) keep it, the rest are flagged. Of each near-duplicate pair the later item is
    flagged unless one of the two already is (a greedy cover: a cluster of k copies costs k-1
    re-drafts, not k).
    """
    report = DiversityReport(items=len(items))
    flags: dict[int, Flag] = {}
    if not items:
        return CatalogAnalysis(report, flags)

    def flag(i: int) -> Flag:
        return flags.setdefault(i, Flag(index=i))

    by_channel: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_channel[item.channel].append(i)

    weighted, pairs_total, best = 0.0, 0, None
    for channel, idxs in by_channel.items():
        vecs = embedder.encode([items[i].text for i in idxs])
        mean, mx, npairs = _channel_stats(vecs)
        if mean is None:
            continue
        report.per_channel[channel] = round(mean, 4)
        weighted += mean * npairs
        pairs_total += npairs
        best = mx if best is None else max(best, mx or -1.0)
        ids = [items[i].product_id for i in idxs]
        near = sorted(_near_pairs(vecs, ids, similarity_max), reverse=True)
        report.near_duplicates += len(near)
        for cos, a, b in near:
            ia, ib = idxs[a], idxs[b]
            if ia in flags or ib in flags:
                # already covered; still record the neighbour so the re-draft moves away from it
                target, other = (ib, ia) if ib in flags else (ia, ib)
            else:
                target, other = ib, ia
            f = flag(target)
            f.reasons.append(f"reads like the copy of product {items[other].product_id} (cosine {cos:.2f})")
            f.max_similarity = max(f.max_similarity, cos)
            if other not in f.neighbours:
                f.neighbours.append(other)
        # nearest others for every flagged item of this channel (filled below for phrase flags too)
        sims = None
        for local, i in enumerate(idxs):
            if i in flags and len(flags[i].neighbours) < neighbours:
                if sims is None:
                    sims = vecs @ vecs.T
                order = np.argsort(-sims[local])
                for o in order:
                    j = idxs[int(o)]
                    if j != i and items[j].product_id != items[i].product_id and j not in flags[i].neighbours:
                        flags[i].neighbours.append(j)
                    if len(flags[i].neighbours) >= neighbours:
                        break
    if pairs_total:
        report.mean_similarity = round(weighted / pairs_total, 4)
        report.max_similarity = round(best, 4) if best is not None else None

    shared = shared_phrases(items)
    report.top_phrases = top_phrases(shared, items, top)
    for phrase, idxs in shared.items():
        by_ch: dict[str, list[int]] = defaultdict(list)
        for i in idxs:
            by_ch[items[i].channel].append(i)
        for channel, users in by_ch.items():
            needed = max(phrase_min_products, math.ceil(phrase_min_share * len(by_channel[channel])))
            if len(users) < needed:
                continue
            users.sort()
            for i in users[phrase_keep:]:
                f = flag(i)
                f.phrases.append(phrase)
                for j in users[:phrase_keep]:
                    if j not in f.neighbours:
                        f.neighbours.append(j)
    for f in flags.values():
        if f.phrases:
            f.reasons.append("uses stock phrases shared with other products: " + ", ".join(f"'{p}'" for p in sorted(f.phrases)))
        f.neighbours = f.neighbours[:neighbours]
    return CatalogAnalysis(report, flags)


def max_similarity_to(text: str, others: Sequence[str], embedder: Embedder) -> float:
    """Highest cosine between ``text`` and any of ``others`` (0.0 when there are none)."""
    if not others:
        return 0.0
    vecs = embedder.encode([text, *others])
    return float((vecs[1:] @ vecs[0]).max())


__all__ = [
    "CatalogAnalysis",
    "CopyItem",
    "DiversityReport",
    "Flag",
    "PhraseCount",
    "analyse_catalog",
    "max_similarity_to",
    "phrases_of",
    "shared_phrases",
    "top_phrases",
]
