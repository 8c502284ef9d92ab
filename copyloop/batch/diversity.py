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

from copyloop.tools.embeddings import Embedder
from copyloop.tools.text import repeated_phrases, words

PHRASE_NS = (3, 4)  # word n-gram lengths of a "stock phrase" (2-grams are too often just good English)
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
    texts: int = Field(..., description="how many texts (of different products, summed over channels) use it")


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


def _joined(text: str) -> str:
    """Lower-cased words joined by single spaces and padded, for whole-word phrase lookups."""
    return " " + " ".join(w.lower() for w in words(text)) + " "


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``text`` uses ``phrase`` as whole words (case and punctuation ignored)."""
    return f" {phrase} " in _joined(text)


def phrase_users(
    items: Sequence[CopyItem], indexes: Sequence[int], top: int = 50, min_texts: int = 2
) -> dict[str, list[int]]:
    """``{phrase: [item indexes]}`` for the stock phrases (``tools.text.repeated_phrases``) of the
    given items, leaving out items whose own product text contains the phrase (its brand or name
    repeated is not a stock phrase). Indexes keep input order."""
    found = repeated_phrases([items[i].text for i in indexes], n_values=PHRASE_NS, top=top, min_texts=min_texts)
    texts = {i: _joined(items[i].text) for i in indexes}
    sources = {i: _joined(items[i].source_text) for i in indexes}
    users: dict[str, list[int]] = {}
    for phrase, _count in found:
        key = f" {phrase} "
        seen: set[str] = set()
        idxs = []
        for i in indexes:
            if key in texts[i] and key not in sources[i] and items[i].product_id not in seen:
                seen.add(items[i].product_id)
                idxs.append(i)
        if len(idxs) >= 2:
            users[phrase] = idxs
    return users


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
    channel_vecs: dict[str, np.ndarray] = {}
    for channel, idxs in by_channel.items():
        vecs = embedder.encode([items[i].text for i in idxs])
        channel_vecs[channel] = vecs
        mean, mx, npairs = _channel_stats(vecs)
        if mean is None:
            continue
        report.per_channel[channel] = round(mean, 4)
        weighted += mean * npairs
        pairs_total += npairs
        best = mx if best is None else max(best, mx if mx is not None else -1.0)
        ids = [items[i].product_id for i in idxs]
        near = sorted(_near_pairs(vecs, ids, similarity_max), reverse=True)
        report.near_duplicates += len(near)
        for cos, a, b in near:
            ia, ib = idxs[a], idxs[b]
            # greedy cover: if one side is already being re-drafted, re-draft that one again
            target, other = (ia, ib) if ia in flags and ib not in flags else (ib, ia)
            f = flag(target)
            f.reasons.append(f"reads like the copy of product {items[other].product_id} (cosine {cos:.2f})")
            f.max_similarity = max(f.max_similarity, cos)
            if other not in f.neighbours:
                f.neighbours.append(other)
    if pairs_total:
        report.mean_similarity = round(weighted / pairs_total, 4)
        report.max_similarity = round(best, 4) if best is not None else None

    counts: Counter[str] = Counter()
    for channel, idxs in by_channel.items():
        needed = max(phrase_min_products, math.ceil(phrase_min_share * len(idxs)))
        # a floor that grows with the catalog keeps the phrase counting cheap on 10,000 products
        floor = max(2, min(needed, math.ceil(0.02 * len(idxs))))
        for phrase, users in phrase_users(items, idxs, min_texts=floor).items():
            counts[phrase] += len(users)
            if len(users) < needed:
                continue
            for i in users[phrase_keep:]:
                f = flag(i)
                f.phrases.append(phrase)
                for j in users[:phrase_keep]:
                    if j not in f.neighbours:
                        f.neighbours.append(j)
    report.top_phrases = [
        PhraseCount(phrase=p, texts=c) for p, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    ]

    # top up every flagged item's neighbours with the nearest other products of its channel:
    # these are the texts the re-draft is told (via the diversity critic) to move away from
    for channel, idxs in by_channel.items():
        vecs = channel_vecs[channel]
        for local, i in enumerate(idxs):
            f = flags.get(i)
            if f is None:
                continue
            sims = vecs @ vecs[local]
            sims[local] = -np.inf  # one item per product and channel: only itself is "same product"
            f.max_similarity = max(f.max_similarity, float(sims.max()) if len(idxs) > 1 else 0.0)
            for o in np.argsort(-sims)[: neighbours + len(f.neighbours) + 1]:
                j = idxs[int(o)]
                if len(f.neighbours) >= neighbours:
                    break
                if j != i and j not in f.neighbours:
                    f.neighbours.append(j)
            f.neighbours = f.neighbours[:neighbours]
            if f.phrases:
                f.reasons.append(
                    "uses stock phrases shared with other products: " + ", ".join(f"'{p}'" for p in sorted(f.phrases))
                )
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
    "contains_phrase",
    "max_similarity_to",
    "phrase_users",
]
