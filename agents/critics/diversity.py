"""Diversity critic: fresh copy, not a copy of an exemplar, an earlier draft or another product.

Three reference groups, each compared by embedding cosine similarity (lexical cosine when no
embedder is configured):

- retrieved exemplars: the drafter sees them; echoing one is plagiarism of past copy;
- earlier drafts of this product: a revision *should* resemble its predecessor, so only a
  near-verbatim repeat counts;
- copy already written for other products in the run: catalog-wide sameness.

Plus word-level checks: repeated bigrams inside the draft (distinct-2) and stock 4-word phrases
shared with other products' copy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from copyloop.agents.critics.base import CriticContext, embed, quote_list, verdict
from copyloop.tools.schemas import Critique, Draft
from copyloop.tools.text import distinct_n, shared_phrases, words

PREVIOUS_SIMILARITY_MAX = 0.97
"""An earlier draft of the same product counts as repeated only above this similarity."""

_LABELS = {"exemplar": "a retrieved example", "previous": "an earlier draft", "run": "copy for another product"}


@dataclass
class _Nearest:
    group: str
    text: str
    similarity: float
    limit: float


def _lexical_cosine(a: str, b: str) -> float:
    ca = Counter(w.lower() for w in words(a))
    cb = Counter(w.lower() for w in words(b))
    dot = sum(v * cb.get(k, 0) for k, v in ca.items())
    na = math.sqrt(sum(v * v for v in ca.values()))
    nb = math.sqrt(sum(v * v for v in cb.values()))
    return dot / (na * nb) if na and nb else 0.0


class DiversityCritic:
    """Soft critic; ``score`` falls from 1 as the nearest reference text gets closer."""

    name = "diversity"

    def __init__(self, similarity_floor: float = 0.5, distinct2_min: float = 0.75, min_words_for_distinct: int = 8) -> None:
        self.similarity_floor = similarity_floor
        self.distinct2_min = distinct2_min
        self.min_words_for_distinct = min_words_for_distinct

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        text = draft.text.strip()
        if not text:
            return verdict(self.name, 0.0, False, message="Write the copy: the text is empty")
        groups = {
            "exemplar": [t for t in ctx.exemplars if t.strip()],
            "previous": [t for t in ctx.previous if t.strip()],
            "run": [t for t in ctx.run_texts if t.strip()],
        }
        limits = {
            "exemplar": ctx.similarity_max,
            "previous": max(ctx.similarity_max, PREVIOUS_SIMILARITY_MAX),
            "run": ctx.similarity_max,
        }
        nearest = self._nearest(text, groups, limits, ctx)

        score = 1.0
        problems: list[str] = []
        for n in nearest:
            floor = self.similarity_floor if n.group != "previous" else 0.85
            if n.similarity > floor:
                score = min(score, 1.0 - (n.similarity - floor) / max(1e-6, 1.0 - floor))
            if n.similarity >= n.limit:
                snippet = n.text if len(n.text) <= 80 else n.text[:77] + "..."
                problems.append(
                    f"Rewrite in fresh words: too close to {_LABELS[n.group]} (similarity {n.similarity:.2f}): '{snippet}'"
                )

        toks = words(text)
        d2 = distinct_n(text, 2) if len(toks) >= self.min_words_for_distinct else 1.0
        if d2 < self.distinct2_min:
            score -= min(0.5, (self.distinct2_min - d2) * 2)
            repeated = self._repeated_bigrams(text)
            problems.append(f"Stop repeating yourself ({quote_list(repeated)} appear more than once)")
        stock = shared_phrases(text, groups["run"], n=4, top=3) if groups["run"] else []
        if stock:
            score -= 0.1 * len(stock)
            problems.append(f"Avoid stock phrases already used for other products: {quote_list(stock)}")

        top = max(nearest, key=lambda n: n.similarity, default=None)
        return verdict(
            self.name,
            score,
            not problems,
            message="; ".join(problems),
            method="embedding" if ctx.embedder is not None else "lexical",
            nearest_text=top.text if top else None,
            nearest_group=top.group if top else None,
            max_similarity=round(top.similarity, 4) if top else 0.0,
            similarity={n.group: round(n.similarity, 4) for n in nearest},
            distinct_2=round(d2, 4),
            stock_phrases=stock,
        )

    def _nearest(
        self, text: str, groups: dict[str, list[str]], limits: dict[str, float], ctx: CriticContext
    ) -> list[_Nearest]:
        out: list[_Nearest] = []
        refs = [(g, t) for g, ts in groups.items() for t in ts]
        if not refs:
            return out
        if ctx.embedder is not None:
            mat = embed(ctx.embedder, [text] + [t for _, t in refs])
            sims = np.clip(mat[1:] @ mat[0], -1.0, 1.0).tolist()
        else:
            sims = [_lexical_cosine(text, t) for _, t in refs]
        best: dict[str, _Nearest] = {}
        for (g, t), s in zip(refs, sims):
            if g not in best or s > best[g].similarity:
                best[g] = _Nearest(g, t, float(s), limits[g])
        return list(best.values())

    @staticmethod
    def _repeated_bigrams(text: str) -> list[str]:
        toks = [w.lower() for w in words(text)]
        grams = Counter(" ".join(toks[i : i + 2]) for i in range(len(toks) - 1))
        return [g for g, c in grams.most_common() if c > 1 and re.search(r"[a-z]", g)][:3]


__all__ = ["DiversityCritic", "PREVIOUS_SIMILARITY_MAX"]
