"""Grounding critic (hard): every claim must be backed by the product's trusted facts."""

from __future__ import annotations

from copyloop.agents.critics.base import CriticContext, verdict
from copyloop.tools.claims import check_claims
from copyloop.tools.schemas import Critique, Draft


class GroundingCritic:
    """Fails on any unsupported number, material, certification, warranty, compatibility,
    ranking, offer, origin, health or soft claim, and on any content word the product's data does
    not contain (``feature``); the message names each one and why."""

    name = "grounding"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        claims = check_claims(draft.text, ctx.product, wording=[*ctx.human, *ctx.spec.cta_examples])
        bad = [c for c in claims if c.supported is False]
        details = {
            "checked": len(claims),
            "supported": [c.text for c in claims if c.supported],
            "unsupported": [{"text": c.text, "kind": c.kind, "reason": c.reason} for c in bad],
        }
        if not bad:
            return verdict(self.name, 1.0, True, hard=True, **details)
        parts = [f"'{c.text}' ({c.reason})" for c in bad[:5]]
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        noun = "claim" if len(bad) == 1 else "claims"
        message = (
            f"Remove the {noun} {', '.join(parts)}{more}: not in the product facts. "
            "Use only facts given for this product"
        )
        return verdict(self.name, max(0.0, 1.0 - 0.3 * len(bad)), False, hard=True, message=message, **details)


__all__ = ["GroundingCritic"]
