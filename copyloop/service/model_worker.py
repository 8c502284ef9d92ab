"""One model worker per process: every model call of the service runs on one thread, in order.

Why one thread: a llama.cpp context must never run two generations at once, and on a small CPU
two generations side by side are each slower than one after the other. Every refinement, session
command that drafts, and text check is therefore a job on this single-thread executor; HTTP
handlers only *await* the job's future, so the event loop keeps serving (``/healthz`` answers
while a generation runs: llama.cpp and torch release the GIL while they compute).

Admission: at most ``max_pending`` operations (a refine, a session command, a check) may be
queued or running; the next one gets ``ServiceBusy`` (HTTP 503 with ``Retry-After``) at once
instead of waiting behind minutes of model work. An operation reserves its slot before any work
and releases it when it ends, however it ends.

Streaming: whoever submits a refinement may set an *observer* (a callable taking each finished
round) in a context variable; the job runs in a copy of the submitter's context, so a chat
session command running in another thread still streams the rounds of the refinements it makes.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from copyloop.errors import CopyloopError

log = logging.getLogger(__name__)

T = TypeVar("T")

Observer = Callable[[str, Any], None]
"""``observer(kind, payload)``: called on the model thread for every streaming event."""

_OBSERVER: contextvars.ContextVar[Observer | None] = contextvars.ContextVar("copyloop_service_observer", default=None)


def current_observer() -> Observer | None:
    """The observer of the operation running in this context (None: nobody is watching)."""
    return _OBSERVER.get()


def observing(observer: Observer | None) -> contextvars.Context:
    """A copy of the current context in which ``observer`` receives the streaming events."""
    ctx = contextvars.copy_context()
    ctx.run(_OBSERVER.set, observer)
    return ctx


class ServiceBusy(CopyloopError):
    """Too many model operations are queued; try again later (HTTP 503)."""

    def __init__(self, pending: int, retry_after: int) -> None:
        super().__init__(f"the model is busy ({pending} operations queued or running); retry in about {retry_after} s")
        self.pending = pending
        self.retry_after = retry_after


class Reservation:
    """One admitted operation's slot; ``release()`` is idempotent."""

    def __init__(self, worker: "ModelWorker") -> None:
        self._worker = worker
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._worker._release()

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class WorkerStatus:
    pending: int
    """Operations admitted and not finished (queued or running)."""
    busy: bool
    """A model job is running right now."""
    busy_seconds: float
    """How long the running job has been running."""
    jobs_done: int


class ModelWorker:
    """The single model thread plus the admission counter."""

    def __init__(self, max_pending: int = 8) -> None:
        self.max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copyloop-model")
        self._lock = threading.Lock()
        self._pending = 0
        self._running_since: float | None = None
        self._jobs_done = 0
        self._thread_ident: int | None = None
        self._mean_seconds = 20.0  # a first guess for Retry-After, replaced by measurements

    # admission ---------------------------------------------------------------------------------
    def reserve(self) -> Reservation:
        """Admit one operation or raise ``ServiceBusy``."""
        with self._lock:
            if self._pending >= self.max_pending:
                retry = max(1, int(self._mean_seconds * max(1, self._pending) / 2))
                raise ServiceBusy(self._pending, retry)
            self._pending += 1
        return Reservation(self)

    def _release(self) -> None:
        with self._lock:
            self._pending = max(0, self._pending - 1)

    # jobs --------------------------------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any, context: contextvars.Context | None = None, **kwargs: Any) -> "Future[T]":
        """Queue ``fn(*args, **kwargs)`` on the model thread, in ``context`` (default: a copy of this one)."""
        ctx = context if context is not None else contextvars.copy_context()
        return self._executor.submit(ctx.run, self._timed, fn, args, kwargs)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the model thread and wait for it (inline when already on it)."""
        if threading.get_ident() == self._thread_ident:
            return fn(*args, **kwargs)
        return self.submit(fn, *args, **kwargs).result()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn`` on the model thread without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def _timed(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        self._thread_ident = threading.get_ident()
        started = time.monotonic()
        with self._lock:
            self._running_since = started
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.monotonic() - started
            with self._lock:
                self._running_since = None
                self._jobs_done += 1
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed

    def status(self) -> WorkerStatus:
        with self._lock:
            since = self._running_since
            return WorkerStatus(
                pending=self._pending,
                busy=since is not None,
                busy_seconds=round(time.monotonic() - since, 1) if since is not None else 0.0,
                jobs_done=self._jobs_done,
            )

    def close(self) -> None:
        """Stop taking jobs; queued ones are cancelled, a running one finishes on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


class QueuedEngine:
    """The Engine as the service's faces see it: ``refine`` runs on the model worker and streams.

    Chat sessions, experiments and the workbench call ``refine`` exactly as they would call
    ``Engine.refine``; the call is queued on the model thread and its rounds go to the observer of
    the calling context. Every other attribute (``critics``, ``settings``, ``channels``, ...) is the
    wrapped Engine's.
    """

    def __init__(self, engine: Any, worker: ModelWorker) -> None:
        self.engine = engine
        self.worker = worker

    def refine(
        self,
        product: Any,
        channel: str = "product_description",
        threshold: float | None = None,
        max_iterations: int | None = None,
        candidates: int | None = None,
        seed: int = 0,
        *,
        feedback: Any = None,
        previous: str | None = None,
        run_texts: Any = None,
    ) -> Any:
        from copyloop.service.streaming import RefineArgs, stream_refine

        args = RefineArgs(
            product=product, channel=channel, threshold=threshold, max_iterations=max_iterations,
            candidates=candidates, seed=seed, feedback=list(feedback or []), previous=previous,
            run_texts=list(run_texts or []),
        )
        observer = current_observer()
        return self.worker.call(stream_refine, self.engine, args, observer)

    def load(self) -> "QueuedEngine":
        """Load the models now, on the model thread (so the first request is not the slow one)."""
        loader = getattr(self.engine, "load", None)
        if callable(loader):
            self.worker.call(loader)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


__all__ = [
    "ModelWorker",
    "Observer",
    "QueuedEngine",
    "Reservation",
    "ServiceBusy",
    "WorkerStatus",
    "current_observer",
    "observing",
]
