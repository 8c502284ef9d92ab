"""Coherence critic: copy reads as copy (issue #11, item 4).

Hard: leftover prompt text ("A:", "Rewrite it", "Fact:", "DO NOT ADD"), the voice of an assistant
or a customer ("I", "my kids love it", "5 stars"), unsupported soft claims about popularity,
reputation, awards or scarcity. Soft: sentence fragments in prose (each lowers the score).
"""

from __future__ import annotations

from copyloop.agents.critics.base import CriticContext, verdict
from copyloop.tools.quality import assess
from copyloop.tools.schemas import Critique, Draft


class CoherenceCritic:
    name = "coherence"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        r = assess(draft.text, ctx.product, ctx.spec, wording=ctx.human)
        hard: list[str] = []
        if r.leftovers:
            hard.append("Remove leftover prompt text " + ", ".join(f"'{w}'" for w in r.leftovers[:3]))
        if r.voice:
            hard.append("Write as the shop, not as an assistant or a customer (" + ", ".join(f"'{w}'" for w in r.voice[:3]) + ")")
        if r.soft_claims:
            hard.append("Drop claims the product's data does not make: " + ", ".join(f"'{w}'" for w in r.soft_claims[:3]))
        soft = [f"Make '{f[:60]}' a full sentence" for f in r.fragments[:2]]
        score = max(0.0, 1.0 - 0.4 * len(hard) - 0.1 * len(r.fragments))
        details = {"leftovers": r.leftovers, "voice": r.voice, "soft_claims": r.soft_claims, "fragments": r.fragments}
        return verdict(self.name, score, not hard, hard=True, message="; ".join(hard + soft), **details)


__all__ = ["CoherenceCritic"]
