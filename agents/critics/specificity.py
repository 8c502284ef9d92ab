"""Specificity critic (hard): copy names its product and carries its facts (issue #11).

Headlines must name the product, its type or its brand (or two words of its own key benefit);
descriptions must name it and use at least three of its facts; every Amazon bullet must start with
a label and carry one fact; generic filler ("a great gift for any occasion", "Good Product") fails
anywhere until it is gone. Checks live in ``copyloop.tools.quality`` so the scorer's product fit and
the quality benchmark use the same ones.
"""

from __future__ import annotations

from copyloop.agents.critics.base import CriticContext, verdict
from copyloop.tools.quality import assess
from copyloop.tools.schemas import Critique, Draft


class SpecificityCritic:
    name = "specificity"

    def critique(self, draft: Draft, ctx: CriticContext) -> Critique:
        r = assess(draft.text, ctx.product, ctx.spec, wording=ctx.human)
        details = {
            "names_product": r.names,
            "facts_used": r.facts_used,
            "facts_needed": r.needs_facts,
            "filler": r.filler,
            "unlabeled_bullets": r.unlabeled_bullets,
            "factless_bullets": r.factless_bullets,
        }
        problems: list[str] = []
        if r.needs_name and r.names is False:
            problems.append("Name the product, its type or its brand")
        if r.needs_facts and len(r.facts_used) < r.needs_facts:
            problems.append(f"Use at least {r.needs_facts} of the product's facts (now {len(r.facts_used)})")
        if r.unlabeled_bullets:
            problems.append(f"Start every bullet with a short label and a colon ({r.unlabeled_bullets} without)")
        if r.factless_bullets:
            problems.append(f"Give every bullet one fact of this product ({r.factless_bullets} without)")
        if r.filler:
            problems.append("Replace generic filler " + ", ".join(f"'{f}'" for f in r.filler[:3]) + " with a fact of this product")
        score = max(0.0, 1.0 - 0.35 * len(problems))
        return verdict(self.name, score, not problems, hard=True, message="; ".join(problems), **details)


__all__ = ["SpecificityCritic"]
