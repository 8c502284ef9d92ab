"""``copyloop evaluate``: how well does a drafter (base or fine-tuned adapter) do inside the loop?

Each product is refined with the real Engine, one run per channel, seed fixed; the figures are
computed from the results and re-checked in code rather than trusted from the loop:

- ``mean_first_draft_score``: the scorer's score of the first candidate of the first round (what
  the drafter writes before any critique; the loop's ``first_draft_score``);
- ``hard_rule_pass_rate``: share of returned texts with no hard channel-rule violation
  (``tools.validators.check_rules``; soft findings such as a missing fifth bullet only cost
  score), no unsupported claim (``tools.claims``) and no failed hard critique;
- ``unsupported_claim_rate`` (returned texts) and ``first_draft_unsupported_rate`` (first drafts):
  share of texts with at least one claim the product's facts do not support;
- ``distinct_2``: distinct word bigrams over the returned texts (per channel, averaged);
- ``catalog_self_similarity``: mean pairwise cosine (MiniLM) between different products' returned
  texts of the same channel; lower means the catalog sounds less alike;
- ``mean_iterations_to_threshold``: rounds used (a run that never reaches the threshold counts at
  the cap it used), with ``threshold_reached_rate`` beside it;
- ``seconds_per_product``: wall time per product over all its channels.

The engine is passed in (the CLI builds it), so this module stays below the front door.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from copyloop.tools.schemas import ProductBrief


@dataclass
class RunRecord:
    """What one refinement produced, reduced to the figures we aggregate."""

    product_id: str
    channel: str
    text: str
    first_text: str
    first_score: float
    score: float
    iterations: int
    threshold_met: bool
    hard_pass: bool
    unsupported: bool
    first_unsupported: bool
    stop_reason: str
    seconds: float


@dataclass
class EvaluationReport:
    adapter: str
    products: int
    channels: list[str]
    runs: list[RunRecord] = field(default_factory=list)
    seconds: float = 0.0
    self_similarity: dict[str, float | None] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        from copyloop.tools.text import distinct_n

        def mean(values: Sequence[float]) -> float | None:
            return round(float(statistics.fmean(values)), 4) if values else None

        runs = self.runs
        per_channel: dict[str, dict[str, Any]] = {}
        for ch in self.channels:
            rs = [r for r in runs if r.channel == ch]
            per_channel[ch] = {
                "runs": len(rs),
                "mean_first_draft_score": mean([r.first_score for r in rs]),
                "mean_final_score": mean([r.score for r in rs]),
                "hard_rule_pass_rate": mean([float(r.hard_pass) for r in rs]),
                "unsupported_claim_rate": mean([float(r.unsupported) for r in rs]),
                "first_draft_unsupported_rate": mean([float(r.first_unsupported) for r in rs]),
                "distinct_2": round(float(distinct_n([r.text for r in rs if r.text], 2)), 4) if rs else None,
                "catalog_self_similarity": self.self_similarity.get(ch),
                "mean_iterations_to_threshold": mean([float(r.iterations) for r in rs]),
                "threshold_reached_rate": mean([float(r.threshold_met) for r in rs]),
            }
        d2 = [v["distinct_2"] for v in per_channel.values() if v["distinct_2"] is not None]
        sims = [v for v in self.self_similarity.values() if v is not None]
        return {
            "adapter": self.adapter,
            "products": self.products,
            "channels": self.channels,
            "runs": len(runs),
            "mean_first_draft_score": mean([r.first_score for r in runs]),
            "mean_final_score": mean([r.score for r in runs]),
            "hard_rule_pass_rate": mean([float(r.hard_pass) for r in runs]),
            "unsupported_claim_rate": mean([float(r.unsupported) for r in runs]),
            "first_draft_unsupported_rate": mean([float(r.first_unsupported) for r in runs]),
            "distinct_2": mean(d2),
            "catalog_self_similarity": mean(sims),
            "mean_iterations_to_threshold": mean([float(r.iterations) for r in runs]),
            "threshold_reached_rate": mean([float(r.threshold_met) for r in runs]),
            "seconds_per_product": round(self.seconds / self.products, 3) if self.products else None,
            "per_channel": per_channel,
        }


def mean_pairwise_cosine(vectors: np.ndarray) -> float | None:
    """Mean cosine over distinct pairs of L2-normalised rows, in O(n) via the sum vector."""
    n = len(vectors)
    if n < 2:
        return None
    total = vectors.sum(axis=0)
    pair_sum = (float(total @ total) - float((vectors * vectors).sum())) / 2.0
    return pair_sum / (n * (n - 1) / 2.0)


def _record(result: Any, product: ProductBrief, spec: Any, seconds: float) -> RunRecord:
    from copyloop.tools.claims import unsupported_claims
    from copyloop.tools.validators import check_rules

    text = result.text or ""
    # the loop's first_draft_score is its first round's first (non-repaired) candidate, which
    # the trace lists first
    first = result.trace[0].candidates[0].text if result.trace and result.trace[0].candidates else ""
    hard_critique_failed = any(c.hard and not c.passed for c in result.critiques)
    unsupported = bool(text) and bool(unsupported_claims(text, product))
    # soft rule findings (e.g. 4 of 5 Amazon bullets) cost score, not the pass
    hard_violation = any(v.hard for v in check_rules(text, spec, product_text=product.fact_text()))
    hard_pass = bool(text) and not hard_critique_failed and not unsupported and not hard_violation
    return RunRecord(
        product_id=str(product.id or product.title[:40]),
        channel=result.channel or spec.name,
        text=text,
        first_text=first,
        first_score=float(result.first_draft_score if result.first_draft_score is not None else 0.0),
        score=float(result.score),
        iterations=int(result.iterations),
        threshold_met=result.stop_reason == "threshold_met",
        hard_pass=hard_pass,
        unsupported=unsupported,
        first_unsupported=bool(first) and bool(unsupported_claims(first, product)),
        stop_reason=str(result.stop_reason),
        seconds=seconds,
    )


def evaluate_products(
    engine: Any,
    products: Sequence[ProductBrief],
    channels: Sequence[str],
    *,
    adapter_label: str,
    seed: int = 0,
    threshold: float | None = None,
    max_iterations: int | None = None,
    candidates: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """Refine every product on every channel with ``engine`` and collect the figures."""
    report = EvaluationReport(adapter=adapter_label, products=len(products), channels=list(channels))
    started = time.perf_counter()
    for product in products:
        for channel in channels:
            spec = engine.channels.get(channel)
            t = time.perf_counter()
            result = engine.refine(
                product, channel, threshold=threshold, max_iterations=max_iterations, candidates=candidates, seed=seed
            )
            report.runs.append(_record(result, product, spec, time.perf_counter() - t))
            if progress is not None:
                progress(1)
    report.seconds = time.perf_counter() - started
    for channel in channels:
        texts = [r.text for r in report.runs if r.channel == channel and r.text]
        report.self_similarity[channel] = (
            round(float(mean_pairwise_cosine(engine.embedder.encode(texts))), 4) if len(texts) >= 2 else None
        )
    return report


__all__ = ["EvaluationReport", "RunRecord", "evaluate_products", "mean_pairwise_cosine"]
