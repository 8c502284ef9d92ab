"""Critics judge one draft each and return a ``Critique``.

Each critic is a small object with a ``name`` and ``critique(draft, context) -> Critique``;
the graph runs them per candidate. Hard critics (grounding, channel rules, CTA when the channel
forbids CTAs) decide whether a draft may be returned as passed; soft ones (sentiment,
diversity, CTA otherwise) feed the ranking and the reviser. Every message is an instruction the
drafter can hand back to the model ("Shorten to ≤30 characters (now 41)").
"""

from __future__ import annotations

from copyloop.agents.critics.base import Critic, CriticContext, embed, verdict
from copyloop.agents.critics.channel_rules import ChannelRulesCritic
from copyloop.agents.critics.coherence import CoherenceCritic
from copyloop.agents.critics.cta import CtaCritic
from copyloop.agents.critics.diversity import DiversityCritic
from copyloop.agents.critics.grounding import GroundingCritic
from copyloop.agents.critics.relevance import RelevanceCritic
from copyloop.agents.critics.sentiment import SentimentCritic
from copyloop.agents.critics.specificity import SpecificityCritic
from copyloop.tools.schemas import Critique, Draft

CRITIC_NAMES = ("sentiment", "diversity", "cta", "grounding", "relevance", "specificity", "coherence", "channel_rules")


def default_critics() -> list[Critic]:
    """One instance of each built-in critic, hard ones last (cheap, and read last in traces)."""
    return [
        SentimentCritic(),
        DiversityCritic(),
        CtaCritic(),
        GroundingCritic(),
        RelevanceCritic(),
        SpecificityCritic(),
        CoherenceCritic(),
        ChannelRulesCritic(),
    ]


def run_critics(draft: Draft, ctx: CriticContext, critics: list[Critic] | None = None) -> list[Critique]:
    """Every critic's verdict on ``draft``, in the order of ``critics`` (default: all five)."""
    return [c.critique(draft, ctx) for c in (critics if critics is not None else default_critics())]


def feedback(critiques: list[Critique]) -> list[str]:
    """Revision instructions from the failed critiques, hard rules first (what a reviser needs)."""
    failed = [c for c in critiques if not c.passed and c.message]
    failed.sort(key=lambda c: (not c.hard, c.score))
    return [c.message for c in failed]


__all__ = [
    "CRITIC_NAMES",
    "ChannelRulesCritic",
    "CoherenceCritic",
    "Critic",
    "CriticContext",
    "CtaCritic",
    "DiversityCritic",
    "GroundingCritic",
    "RelevanceCritic",
    "SentimentCritic",
    "SpecificityCritic",
    "default_critics",
    "embed",
    "feedback",
    "run_critics",
    "verdict",
]
