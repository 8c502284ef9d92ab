"""What runs inside a batch worker: one Engine per process, one item per call.

Why a process per worker: llama.cpp and torch release the GIL only partly and keep large
per-process state; separate processes give real parallelism and isolate a crash. The pool's
initializer builds the engine once (so the model loads once per process) from a factory named by
a dotted path ("module:function") — the default builds the real :class:`copyloop.engine.Engine`;
tests and benchmarks name their own (a fake-LLM engine, a single-pass engine) and the spawned
worker imports it. Each worker gets ``cores // workers`` threads so two workers do not fight over
the same cores.

The per-process engine slot (``_ENGINE``) is the one module-level state here: it is how a
``ProcessPoolExecutor`` initializer hands an object to the tasks that run in its process.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_result, stop_after_attempt, wait_exponential

from copyloop.errors import CopyloopError, LLMOutputError, ModelPathError, TemplateError
from copyloop.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_ENGINE_FACTORY = "copyloop.batch.worker:default_engine"

# Failures worth another attempt: I/O hiccups, a locked SQLite/Chroma file, an LLM that returned
# garbage (another seed usually works). Everything else fails the item at once.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    ConnectionError,
    sqlite3.OperationalError,
    LLMOutputError,
)
# Configuration errors would fail every item the same way: they abort the batch instead.
FATAL_ERRORS: tuple[type[BaseException], ...] = (ModelPathError, TemplateError)
ATTEMPTS = 3


class RefineEngine(Protocol):
    """The part of :class:`copyloop.engine.Engine` a batch uses."""

    def refine(self, product: Any, channel: str = ..., threshold: float | None = ..., max_iterations: int | None = ...,
               candidates: int | None = ..., seed: int = ..., **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ItemTask:
    """One (product, channel) to refine. Plain data so it pickles cheaply to a worker."""

    product_id: str
    row: int
    channel: str
    product: dict[str, Any]
    input_hash: str
    seed: int
    phase: str = "draft"
    feedback: tuple[str, ...] = ()
    previous: str | None = None
    run_texts: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.product_id, self.channel)


@dataclass
class ItemOutcome:
    """What came of one task; ``status`` is "done" or "failed" (with ``error``)."""

    task: ItemTask
    status: str
    text: str | None = None
    score: float | None = None
    passed: bool | None = None
    stop_reason: str | None = None
    iterations: int | None = None
    first_draft_score: float | None = None
    open_critiques: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    attempts: int = 1


def default_engine(settings: Settings) -> RefineEngine:
    """The real engine (SmolLM2 via llama.cpp, the trained scorer, ChromaDB retrieval), loaded
    now: the pool initializer is where the model should load, once per process."""
    from copyloop.engine import Engine

    return Engine(settings).load()


def load_factory(spec: str) -> Callable[[Settings], RefineEngine]:
    """Resolve "package.module:function" (the same convention as COPYLOOP_ENGINE_FACTORY)."""
    from copyloop.engine_factory import load_engine_factory

    return load_engine_factory(spec)


def limit_threads(threads: int) -> None:
    """Cap BLAS/torch threads of this process (llama.cpp gets its own via Settings.llm.n_threads)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


_ENGINE: RefineEngine | None = None


def init_worker(settings: Settings, factory: str, threads: int) -> None:
    """Pool initializer: build this process's engine once."""
    global _ENGINE
    limit_threads(threads)
    _ENGINE = load_factory(factory)(settings)


def run_in_worker(task: ItemTask) -> ItemOutcome:
    """Pool task: refine one item with the engine built by :func:`init_worker`."""
    if _ENGINE is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("batch worker used before init_worker()")
    return run_item(_ENGINE, task)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, FATAL_ERRORS)


def _llm_failed(result: Any) -> bool:
    return getattr(result, "stop_reason", None) == "llm_failed" or not (getattr(result, "text", "") or "").strip()


def _last_outcome(state: RetryCallState) -> Any:
    # out of attempts: give back the last result (or raise the last exception) instead of RetryError
    assert state.outcome is not None
    return state.outcome.result()


def run_item(engine: RefineEngine, task: ItemTask) -> ItemOutcome:
    """Refine one item, retrying transient failures; never raises for a bad item.

    This is the batch's item boundary (like the CLI is the product's surface): any error of one
    item becomes a failed row with its reason so the batch goes on — except configuration errors
    (a missing model file), which would fail every item and so abort the batch.
    """
    from copyloop.tools.schemas import ProductBrief

    start = time.perf_counter()
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        attempts += 1
        return engine.refine(
            ProductBrief.model_validate(task.product),
            channel=task.channel,
            seed=task.seed + 7919 * (attempts - 1),  # another seed on retry: garbage output is seed-bound
            feedback=list(task.feedback) or None,
            previous=task.previous,
            run_texts=list(task.run_texts) or None,
        )

    retrying = Retrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception(_transient) | retry_if_result(_llm_failed),
        retry_error_callback=_last_outcome,
        reraise=True,
    )
    try:
        result = retrying(attempt)
    except FATAL_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - item boundary, see docstring
        log.warning("item %s/%s failed: %s", task.product_id, task.channel, exc, exc_info=not isinstance(exc, CopyloopError))
        return ItemOutcome(task, "failed", error=f"{type(exc).__name__}: {exc}",
                           seconds=time.perf_counter() - start, attempts=attempts)
    seconds = time.perf_counter() - start
    if _llm_failed(result):
        return ItemOutcome(task, "failed", error=f"LLM returned no usable text (stop_reason={result.stop_reason})",
                           stop_reason=result.stop_reason, iterations=result.iterations, seconds=seconds, attempts=attempts)
    return ItemOutcome(
        task,
        "done",
        text=result.text,
        score=float(result.score),
        passed=bool(result.passed),
        stop_reason=result.stop_reason,
        iterations=int(result.iterations),
        first_draft_score=result.first_draft_score,
        open_critiques=sorted({c.critic for c in result.critiques if not c.passed}),
        seconds=seconds,
        attempts=attempts,
    )


__all__ = [
    "ATTEMPTS",
    "DEFAULT_ENGINE_FACTORY",
    "FATAL_ERRORS",
    "ItemOutcome",
    "ItemTask",
    "RefineEngine",
    "TRANSIENT_ERRORS",
    "default_engine",
    "init_worker",
    "limit_threads",
    "load_factory",
    "run_in_worker",
    "run_item",
]
