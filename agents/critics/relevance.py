"""Relevance critic (hard): every sentence, bullet and headline is about *this* product.

Two signals, either one fails a sentence:

- words: two or more of its content words appear nowhere in the product's data (another
  product's nouns: "swaddle blanket", "vegetable oil" for a card game);
- meaning (with an embedder), for a sentence with one unknown word: it is closer in MiniLM space
  to other products' copy (the retrieved exemplars, copy written for other products in the run)
  than to this product's data, and not close to this product's data at all. A sentence made only
  of the product's own words is about the product by construction and is never flagged.

Single unknown words are the grounding critic's business (each is an unsupported claim); this
critic names the off-topic sentences so the reviser can drop them.
"""

from __future__ import annotations

import numpy as np

from copyloop.agents.critics.base import CriticContext, embed, verdict
from copyloop.tools.schemas import Critique, Draft
from copyloop.tools.text import bullet_items, sentences
from copyloop.tools.vocab import content_words, foreign_words

OTHER_MARGIN = 0.05
"""A sentence this much closer to another product's copy than to this product's data is off topic..."""
OWN_FLOOR = 0.35
"""... unless it is at least this close to this product's data anyway."""


def units(text: str, bullets: bool) -> list[str]:
    """The sentences (or bullets) of ``text``: what is judged one by one."""
    parts = bullet_items(text) if bullets else sentences(text)
    return [p for p in parts if len(content_words(p)) >= 1]


class RelevanceCritic:
    name = "relevance"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        data = ctx.product.fact_text()
        allowed = [*ctx.human, *ctx.spec.cta_examples]
        parts = units(draft.text, ctx.spec.is_bullets) or [draft.text]
        off: list[dict[str, object]] = []
        suspects: list[str] = []
        for p in parts:
            foreign = foreign_words(p, data, allowed)
            if len(foreign) >= 2:
                off.append({"text": p, "why": "words not in the product's data: " + ", ".join(foreign[:4])})
            elif foreign:
                suspects.append(p)
        refs = [t for t in [*ctx.exemplars, *ctx.run_texts] if t.strip()]
        if ctx.embedder is not None and refs and suspects:
            vecs = embed(ctx.embedder, [data[:2000], *suspects, *refs])
            own_vec, part_vecs, ref_vecs = vecs[0], vecs[1 : 1 + len(suspects)], vecs[1 + len(suspects) :]
            own = part_vecs @ own_vec
            other = (part_vecs @ ref_vecs.T).max(axis=1) if len(ref_vecs) else np.zeros(len(suspects))
            for k, p in enumerate(suspects):
                if other[k] > own[k] + OTHER_MARGIN and own[k] < OWN_FLOOR and not any(o["text"] == p for o in off):
                    off.append({"text": p, "why": f"closer to another product's copy ({other[k]:.2f}) than to this product ({own[k]:.2f})"})
        share = len(off) / max(1, len(parts))
        details = {"units": len(parts), "off_topic": off}
        if not off:
            return verdict(self.name, 1.0, True, hard=True, **details)
        shown = "; ".join(f"'{str(o['text'])[:70]}' ({o['why']})" for o in off[:3])
        message = f"Drop or rewrite what is not about this product: {shown}"
        return verdict(self.name, 1.0 - share, False, hard=True, message=message, **details)


__all__ = ["RelevanceCritic", "units"]
