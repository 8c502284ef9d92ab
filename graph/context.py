"""Per-run dependencies of the refinement graph (LangGraph ``context_schema``).

Nodes take ``runtime: Runtime[RunContext]`` and find the drafter, scorer, store and critics here,
so the graph itself holds no models: the Engine builds them once per process and passes them
in, tests pass fakes through exactly the same seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence

from copyloop.settings import RefineSettings
from copyloop.tools.schemas import Draft, ProductBrief

if TYPE_CHECKING:  # typing only: keeps `import copyloop.graph` free of model code
    from copyloop.agents.critics import Critic
    from copyloop.tools.channels import ChannelRegistry, ChannelSpec
    from copyloop.tools.embeddings import Embedder


class Scored(Protocol):
    """What the graph reads from a scorer's answer (``copyloop.agents.scorer.ScoredText``)."""

    score: float
    explanation: str


class Scorer(Protocol):
    """The conversion scorer seam (``ConversionScorer``). A scorer whose ``score`` also takes
    ``product=`` and ``spec=`` keywords gets them (product fit, see agents/scorer.py)."""

    def score(self, texts: Sequence[str], channel: str | None = None) -> Sequence[Scored]: ...


class ExemplarLike(Protocol):
    text: str


class Retriever(Protocol):
    """The retrieval seam (``CopyStore``)."""

    def search(
        self, query: str, channel: str | None = None, category: str | None = None, k: int = 4
    ) -> Sequence[ExemplarLike]: ...


class DraftWriter(Protocol):
    """The drafting seam (``copyloop.agents.drafter.Drafter``)."""

    def draft(
        self,
        product: ProductBrief,
        spec: "ChannelSpec",
        *,
        n: int,
        seed: int,
        iteration: int = 0,
        exemplars: list[str] = ...,
        feedback: list[str] = ...,
        previous: str | None = None,
        human: list[str] | None = None,
    ) -> list[Draft]: ...


@dataclass
class RunContext:
    """Everything a refinement run needs besides its state."""

    drafter: DraftWriter
    """Writes candidates with the LLM (post-processed, retried on garbage)."""

    scorer: Scorer
    """Conversion scorer learned from A/B tests."""

    channels: "ChannelRegistry"
    """Channel specs by name (defaults plus the user's config)."""

    store: Retriever | None = None
    """Past copy with outcomes; ``None`` drafts without exemplars."""

    embedder: "Embedder | None" = None
    """Sentence embedder for the diversity critic (``None`` disables its embedding checks)."""

    critics: "list[Critic] | None" = None
    """Critics to run on every candidate; ``None`` means ``default_critics()``."""

    refine: RefineSettings = field(default_factory=RefineSettings)
    """Sentiment band and similarity limit for the critics."""

    run_texts: list[str] = field(default_factory=list)
    """Copy already written for other products in this run (catalog-level diversity)."""

    exemplars_k: int = 4
    """How many past examples retrieval returns."""
