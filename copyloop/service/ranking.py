"""The creativity <-> conversion slider: candidates re-ranked by the fine-tuning reward R_λ.

    R_λ = [(1 - λ) · conversion + λ · diversity + w_s · sentiment + w_c · cta] / (1 + w_s + w_c)

It is exactly ``copyloop.training.reward.combine`` (the reward that picked the drafter's
fine-tuning targets and draws the λ trade-off plot), so moving the slider shows what the model
was taught at each λ: λ = 0 ranks by predicted conversion alone, λ = 1 by novelty (the diversity
critic's score). A candidate that fails a hard rule gets R = 0 at every λ and stays at the bottom.
"""

from __future__ import annotations

from typing import Iterable

from copyloop.service.schemas import RankCandidate, RankedCandidate


def rank(candidates: Iterable[RankCandidate], lam: float, category: str = "") -> list[RankedCandidate]:
    from copyloop.training.reward import RewardWeights, combine

    weights = RewardWeights(lam=lam)
    seen: set[str] = set()
    rows: list[RankedCandidate] = []
    for c in candidates:
        if c.text in seen or not c.text.strip():
            continue
        seen.add(c.text)
        parts = c.critic_scores
        diversity, sentiment, cta = (float(parts.get(k, 0.0)) for k in ("diversity", "sentiment", "cta"))
        reward = combine(c.score, diversity, sentiment, cta, c.hard_pass, weights, category)
        rows.append(RankedCandidate(rank=0, text=c.text, reward=round(reward, 4), conversion=round(c.score, 4),
                                    creativity=round(diversity, 4), sentiment=round(sentiment, 4), cta=round(cta, 4),
                                    hard_pass=c.hard_pass))
    rows.sort(key=lambda r: (-r.reward, -r.conversion, r.text))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return rows


def candidates_of_rounds(rounds: Iterable[dict]) -> list[RankCandidate]:
    """Every judged candidate of streamed rounds (``RoundView`` dicts), as ranking input."""
    out: list[RankCandidate] = []
    for rnd in rounds:
        for c in rnd.get("candidates", []):
            scores = {k["critic"]: float(k["score"]) for k in c.get("critiques", [])}
            out.append(RankCandidate(text=c["text"], score=c["score"], hard_pass=c["hard_pass"], critic_scores=scores))
    return out


__all__ = ["candidates_of_rounds", "rank"]
