"""The front door of the refinement loop: ``Engine`` and ``copyloop.refine``.

An ``Engine`` owns the per-process dependencies (LLM backend, conversion scorer, retrieval
store, embedder, channel registry) and one compiled graph. Defaults are built lazily, once, on
first use; anything passed in (a fake LLM, a scorer, a store) is used as is. Every entry point
(CLI, batch worker, chat session, Slack app) holds one Engine and calls ``refine`` many times.

``copyloop.refine(...)`` is the one-liner: it keeps one default Engine per distinct settings in
an explicit small cache in this module, so repeated calls in a process load the model once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pydantic import ValidationError

from copyloop.errors import InputError
from copyloop.graph.result import RefineResult
from copyloop.settings import Settings
from copyloop.tools.schemas import ProductBrief

if TYPE_CHECKING:  # heavy modules load lazily
    from langgraph.graph.state import CompiledStateGraph

    from copyloop.agents.critics import Critic
    from copyloop.agents.llm import LLMBackend
    from copyloop.graph.context import Retriever, Scorer
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.embeddings import Embedder

_UNSET: Any = object()


@dataclass
class RunStats:
    """Where the time of ``refine`` calls went (cumulative, or for the last call)."""

    refines: int = 0
    seconds: float = 0.0
    """Wall time inside ``refine``."""
    llm_seconds: float = 0.0
    """Time the LLM backend reported generating (prompt evaluation included)."""
    llm_tokens: int = 0
    """Tokens the LLM generated."""

    @property
    def outside_llm_seconds(self) -> float:
        return max(0.0, self.seconds - self.llm_seconds)

    @property
    def outside_llm_share(self) -> float:
        """Share of wall time spent outside the LLM (graph, critics, scorer, retrieval)."""
        return self.outside_llm_seconds / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.llm_tokens / self.llm_seconds if self.llm_seconds else 0.0

    def add(self, other: "RunStats") -> None:
        self.refines += other.refines
        self.seconds += other.seconds
        self.llm_seconds += other.llm_seconds
        self.llm_tokens += other.llm_tokens


class CachedEmbedder:
    """The process embedder as the loop uses it: one shared text cache, one torch thread.

    Cache: the scorer and the store call ``encode`` themselves; routing them through the cache
    the critics use means each candidate is embedded once per round (the graph embeds a round's
    candidates in one batch before the critics run), not once by the critics and again by the
    scorer. Vectors are identical to the inner embedder's.

    One thread: the loop embeds a handful of short texts at a time, between llama.cpp calls.
    Measured on the 2-core target under load, torch's default two intra-op threads took 1.5 s
    for a batch of 6 short texts and 0.10 s with one thread (a 600-text batch: 28.8 s vs 8.2 s),
    because its worker threads fight the other busy threads for the cores. The thread count is
    lowered only for the duration of each call and then restored.
    """

    threads = 1

    def __init__(self, inner: "Embedder") -> None:
        self.inner = inner
        self.dim = inner.dim
        self.model_path = getattr(inner, "model_path", None)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        import torch

        from copyloop.agents.critics import embed

        before = torch.get_num_threads()
        if before != self.threads:
            torch.set_num_threads(self.threads)
        try:
            return embed(self.inner, list(texts))
        finally:
            if before != self.threads:
                torch.set_num_threads(before)

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r})"


def coerce_product(product: ProductBrief | Mapping[str, Any]) -> ProductBrief:
    """Validate a product given as a dict (or pass a ProductBrief through); bad input -> InputError."""
    if isinstance(product, ProductBrief):
        return product
    if not isinstance(product, Mapping):
        raise InputError(f"product must be a JSON object or ProductBrief, got {type(product).__name__}", field="product")
    try:
        return ProductBrief.model_validate(dict(product))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or None
        msg = str(first.get("msg", exc)).removeprefix("Value error, ")
        if "title" in msg and loc is None:
            loc = "title"
        raise InputError(f"invalid product{f' field {loc!r}' if loc else ''}: {msg}", field=loc) from None


class Engine:
    """Runs the refinement graph with models loaded once and reused.

    ``settings`` defaults to ``Settings()`` (env vars, config file, offline defaults). ``llm``,
    ``scorer``, ``store`` and ``embedder`` replace the defaults (``LlamaCppBackend.from_settings``,
    ``ConversionScorer.load``, ``CopyStore.from_settings`` + ``ensure_seeded``, ``load_embedder``).
    Pass ``store=None`` explicitly to draft without retrieval. ``critics`` replaces
    ``default_critics()``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: "LLMBackend | None" = None,
        scorer: "Scorer | None" = None,
        store: "Retriever | None" = _UNSET,
        embedder: "Embedder | None" = None,
        critics: "list[Critic] | None" = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self._llm = llm
        self._scorer = scorer
        self._store = store
        self._embedder = embedder
        self._cached_embedder: CachedEmbedder | None = None
        self.critics = critics
        self._drafter: Any = None
        self._channels: "ChannelRegistry | None" = None
        self._graph: "CompiledStateGraph | None" = None
        self._lock = threading.RLock()
        self.stats = RunStats()
        """Cumulative timing of every ``refine`` call on this engine."""
        self.last_run = RunStats()
        """Timing of the most recent ``refine`` call."""

    # Lazily built dependencies -----------------------------------------------------------------
    @property
    def llm(self) -> "LLMBackend":
        with self._lock:
            if self._llm is None:
                if self.settings.llm.provider == "openai":
                    from copyloop.agents.chat_model_backend import openai_backend

                    self._llm = openai_backend(self.settings.llm)
                else:
                    from copyloop.agents.llama_backend import LlamaCppBackend

                    self._llm = LlamaCppBackend.from_settings(self.settings.llm)
            return self._llm

    @property
    def embedder(self) -> "Embedder":
        with self._lock:
            if self._embedder is None:
                from copyloop.tools.embeddings import load_embedder

                self._embedder = load_embedder(self.settings.embeddings.model_path)
            return self._embedder

    @property
    def cached_embedder(self) -> CachedEmbedder:
        """The embedder as the scorer and the store see it (shares the critics' cache)."""
        with self._lock:
            if self._cached_embedder is None:
                self._cached_embedder = CachedEmbedder(self.embedder)
            return self._cached_embedder

    @property
    def scorer(self) -> "Scorer":
        with self._lock:
            if self._scorer is None:
                from copyloop.agents.scorer import ConversionScorer

                self._scorer = ConversionScorer.load(self.settings.scorer.artifact_path, embedder=self.cached_embedder)  # type: ignore[arg-type]
            return self._scorer

    @property
    def store(self) -> "Retriever | None":
        with self._lock:
            if self._store is _UNSET:
                from copyloop.tools.store import CopyStore

                store = CopyStore.from_settings(self.settings, embedder=self.cached_embedder)  # type: ignore[arg-type]
                store.ensure_seeded()
                self._store = store
            return self._store

    @property
    def channels(self) -> "ChannelRegistry":
        with self._lock:
            if self._channels is None:
                from copyloop.tools.channels import ChannelRegistry

                self._channels = ChannelRegistry(self.settings.channels or None)
            return self._channels

    @property
    def drafter(self) -> Any:
        with self._lock:
            if self._drafter is None:
                llm_settings = self.settings.llm
                if llm_settings.drafter == "freeform":
                    from copyloop.agents.drafter import Drafter

                    # Only an explicitly configured max_tokens overrides the drafter's per-channel budget.
                    max_tokens = llm_settings.max_tokens if "max_tokens" in llm_settings.model_fields_set else None
                    self._drafter = Drafter(self.llm, max_tokens=max_tokens)
                else:
                    from copyloop.agents.plan_drafter import PlanDrafter

                    samples = llm_settings.fact_samples
                    self._drafter = PlanDrafter(
                        self.llm if samples else None, samples=samples, use_llm=samples > 0, embedder=self.cached_embedder
                    )
            return self._drafter

    @property
    def graph(self) -> "CompiledStateGraph":
        with self._lock:
            if self._graph is None:
                from copyloop.graph.build import build_graph

                names = [c.name for c in self.critics] if self.critics is not None else None
                self._graph = build_graph(critic_names=names)
            return self._graph

    def load(self) -> "Engine":
        """Load every default dependency now (so the first ``refine`` is not the slow one)."""
        _ = (self.channels, self.drafter, self.scorer, self.store, self.embedder, self.graph)
        return self

    # The API -----------------------------------------------------------------------------------
    def run_context(self, run_texts: Sequence[str] | None = None) -> Any:
        """The ``RunContext`` for one graph invocation (shared models, per-run texts)."""
        from copyloop.graph.context import RunContext

        return RunContext(
            drafter=self.drafter,
            scorer=self.scorer,
            channels=self.channels,
            store=self.store,
            embedder=self.cached_embedder,
            critics=self.critics,
            refine=self.settings.refine,
            run_texts=list(run_texts or []),
        )

    def prepare(
        self,
        product: ProductBrief | Mapping[str, Any],
        channel: str = "product_description",
        threshold: float | None = None,
        max_iterations: int | None = None,
        candidates: int | None = None,
        seed: int = 0,
        *,
        feedback: Sequence[str] | None = None,
        previous: str | None = None,
    ) -> Any:
        """Validate the arguments and fill defaults from settings; returns the graph's ``InputState``.

        Raises ``InputError`` (bad product, out-of-range numbers) and ``UnknownChannelError``.
        """
        from copyloop.graph.state import InputState

        brief = coerce_product(product)
        self.channels.get(channel)  # UnknownChannelError lists the known channels
        cfg = self.settings.refine
        threshold = cfg.threshold if threshold is None else float(threshold)
        max_iterations = cfg.max_iterations if max_iterations is None else int(max_iterations)
        candidates = cfg.candidates if candidates is None else int(candidates)
        if not 0.0 <= threshold <= 1.0:
            raise InputError(f"threshold must be between 0 and 1, got {threshold}", field="threshold")
        if not 1 <= max_iterations <= 20:
            raise InputError(f"max_iterations must be between 1 and 20, got {max_iterations}", field="max_iterations")
        if not 1 <= candidates <= 16:
            raise InputError(f"candidates must be between 1 and 16, got {candidates}", field="candidates")
        requests = [" ".join(str(f).split()) for f in (feedback or [])]
        return InputState(
            product=brief,
            channel=channel,
            threshold=threshold,
            max_iterations=max_iterations,
            candidates=candidates,
            seed=int(seed),
            feedback=[r for r in requests if r],
            previous=previous.strip() if previous and previous.strip() else None,
        )

    def refine(
        self,
        product: ProductBrief | Mapping[str, Any],
        channel: str = "product_description",
        threshold: float | None = None,
        max_iterations: int | None = None,
        candidates: int | None = None,
        seed: int = 0,
        *,
        feedback: Sequence[str] | None = None,
        previous: str | None = None,
        run_texts: Sequence[str] | None = None,
    ) -> RefineResult:
        """Draft, critique, score and revise copy for one product and channel.

        Returns the best text that passes every hard rule (``passed`` when it also reaches the
        threshold), or the least-bad draft with its open critiques; see ``RefineResult``.
        Reproducible for the same inputs, seed and models.
        """
        from copyloop.agents.llm import stats_of
        from copyloop.graph.build import recursion_limit

        state = self.prepare(
            product, channel, threshold, max_iterations, candidates, seed, feedback=feedback, previous=previous
        )
        context = self.run_context(run_texts)
        graph = self.graph
        before = stats_of(self.llm)
        started = time.perf_counter()
        out = graph.invoke(state, {"recursion_limit": recursion_limit(state.max_iterations)}, context=context)
        elapsed = time.perf_counter() - started
        after = stats_of(self.llm)
        run = RunStats(
            refines=1,
            seconds=elapsed,
            llm_seconds=after["seconds_generating"] - before["seconds_generating"],
            llm_tokens=int(after["tokens_generated"] - before["tokens_generated"]),
        )
        with self._lock:
            self.last_run = run
            self.stats.add(run)
        result = out["result"]
        assert isinstance(result, RefineResult), "the graph always ends in finish"
        return result


# The module-level one-liner ----------------------------------------------------------------------

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def default_engine(settings: Settings | None = None) -> Engine:
    """The process's Engine for ``settings`` (built on first use, then reused)."""
    key = "" if settings is None else settings.model_dump_json()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(settings)
            _ENGINES[key] = engine
        return engine


def refine(
    product: ProductBrief | Mapping[str, Any],
    channel: str = "product_description",
    threshold: float | None = None,
    max_iterations: int | None = None,
    candidates: int | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    feedback: Sequence[str] | None = None,
    previous: str | None = None,
) -> RefineResult:
    """Refine copy for one product with the default local models (see ``Engine.refine``)."""
    engine = engine if engine is not None else default_engine(settings)
    return engine.refine(
        product, channel, threshold, max_iterations, candidates, seed, feedback=feedback, previous=previous
    )


__all__ = ["Engine", "RunStats", "coerce_product", "default_engine", "refine"]
