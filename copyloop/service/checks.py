"""Judge a text a person wrote: the same critics and the same scorer as every draft.

A marketer who edits the copy by hand gets the same honesty as the model: the conversion score
with its explanation, every critic's verdict, and a refusal to accept the text when a hard rule
(an unsupported claim, a channel limit, ...) fails. Runs on the model thread (the scorer and the
diversity critic use the embedding model, which is not shared across threads).
"""

from __future__ import annotations

import time
from typing import Any

from copyloop.service.schemas import TextVerdict
from copyloop.tools.schemas import Draft, ProductBrief


def check_text(engine: Any, product: ProductBrief, channel: str, text: str, threshold: float | None = None) -> TextVerdict:
    from copyloop.agents.critics import CriticContext, run_critics

    spec = engine.channels.get(channel)
    settings = engine.settings
    threshold = settings.refine.threshold if threshold is None else threshold
    # A person's own text: their wording is allowed (human=[text]), so only claims the product's
    # data does not support (numbers, materials, warranties, soft claims, ...) and the channel's
    # rules can fail it, not a word the seller's data happens not to use.
    ctx = CriticContext.from_settings(product, spec, settings.refine, embedder=engine.cached_embedder, human=[text])
    critiques = run_critics(Draft(text=text, source="human"), ctx, engine.critics)
    from copyloop.agents.scorer import accepts_product

    scorer = engine.scorer
    if accepts_product(scorer):
        scored = scorer.score([text], channel=channel, product=product, spec=spec)[0]
    else:
        scored = scorer.score([text], channel=channel)[0]
    score = min(1.0, max(0.0, float(scored.score)))
    hard_failures = [f"{c.critic}: {c.message}" for c in critiques if c.hard and not c.passed]
    return TextVerdict(
        text=text,
        channel=channel,
        score=round(score, 4),
        explanation=scored.explanation,
        threshold=threshold,
        passed=not hard_failures and score >= threshold,
        hard_pass=not hard_failures,
        hard_failures=hard_failures,
        critiques=[c.model_dump(mode="json") for c in critiques],
        at=time.time(),
    )


__all__ = ["check_text"]
