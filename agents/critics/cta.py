"""Call-to-action critic: presence and strength judged against the channel's policy.

- expected: a missing or weak CTA fails (soft); a CTA buried mid-copy costs a little;
- optional: a CTA is a small plus, none is fine;
- allowed: neutral either way;
- forbidden (Amazon): any purchase-driving CTA is a hard failure.

The phrase lexicon (with strengths) lives in ``copyloop.tools.lexicons`` so the chat policy
agrees with this critic on what counts as a CTA.
"""

from __future__ import annotations

from copyloop.agents.critics.base import CriticContext, quote_list, verdict
from copyloop.tools.lexicons import CtaMatch, find_ctas
from copyloop.tools.schemas import Critique, Draft
from copyloop.tools.text import sentence_spans

STRONG_ENOUGH = 0.4
"""Weakest CTA that satisfies an 'expected' policy ("Learn more")."""
FORBIDDEN_MIN = 0.5
"""Non-purchase phrases at least this strong also break a 'forbidden' policy."""


def _examples(ctx: CriticContext) -> str:
    ex = ctx.spec.cta_examples or ["Shop now.", "Order yours today."]
    return " or ".join(f"'{e}'" for e in ex[:2])


def _in_last_sentence(text: str, cta: CtaMatch) -> bool:
    spans = sentence_spans(text)
    return bool(spans) and cta.start >= spans[-1][0] - 1


class CtaCritic:
    """Judges the strongest call to action in the draft against ``ctx.spec.cta``."""

    name = "cta"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        text = draft.text.strip()
        policy = ctx.spec.cta
        ctas = find_ctas(text)
        best = ctas[0] if ctas else None
        details = {
            "policy": policy,
            "found": [c.text for c in ctas],
            "strength": best.strength if best else 0.0,
        }
        if policy == "forbidden":
            bad = [c for c in ctas if c.purchase or c.strength >= FORBIDDEN_MIN]
            if bad:
                return verdict(
                    self.name,
                    0.0,
                    False,
                    hard=True,
                    message=f"Remove the call to action {quote_list([c.text for c in bad])}: {ctx.spec.name} forbids CTAs; describe the product instead",
                    **details,
                )
            return verdict(self.name, 1.0, True, hard=True, **details)

        if policy == "expected":
            if best is None or best.strength < STRONG_ENOUGH:
                return verdict(
                    self.name,
                    0.2 if best is None else 0.4,
                    False,
                    message=f"End with a clear call to action, e.g. {_examples(ctx)}",
                    **details,
                )
            score = 0.6 + 0.4 * best.strength
            message = ""
            if not ctx.spec.is_bullets and not _in_last_sentence(text, best) and len(sentence_spans(text)) > 1:
                score -= 0.1
                message = f"Move the call to action '{best.text}' to the end"
            strong = [c for c in ctas if c.strength >= 0.8]
            if len(strong) >= 3:
                score -= 0.2
                message = f"Use one call to action, not {len(strong)} ({quote_list([c.text for c in strong])})"
            return verdict(self.name, score, True, message=message, **details)

        if policy == "optional":
            score = 0.8 + 0.2 * best.strength if best else 0.8
            return verdict(self.name, score, True, **details)

        return verdict(self.name, 1.0, True, **details)  # allowed


__all__ = ["CtaCritic", "FORBIDDEN_MIN", "STRONG_ENOUGH"]
