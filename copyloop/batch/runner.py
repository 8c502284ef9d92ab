"""Run batch items in this process or in a pool of worker processes.

Why two runners: ``workers=1`` runs in-process, so a debugger and a traceback see everything;
``workers>1`` uses a spawn-context ``ProcessPoolExecutor`` (fork would copy a half-initialised
llama.cpp / torch state). Results come back to the parent, which is the only writer of the job
store.

A worker that dies (segfault in native code, OOM kill) breaks the whole pool and every item that
was in flight. The pool is rebuilt and those items are re-run one at a time ("isolation"): an
item that kills a worker while running alone is the culprit and fails with that reason; the
innocent ones finish normally. Items are submitted a few at a time, not all at once, so a crash
loses little and memory stays flat.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Protocol, Sequence

from copyloop.batch.lifeline import die_with_parent
from copyloop.batch.worker import (
    FATAL_ERRORS,
    ItemOutcome,
    ItemTask,
    RefineEngine,
    init_worker,
    limit_threads,
    load_factory,
    run_in_worker,
    run_item,
)
from copyloop.errors import CopyloopError
from copyloop.settings import Settings

log = logging.getLogger(__name__)

OnDone = Callable[[ItemOutcome], None]
MAX_POOL_RESTARTS = 20


class Runner(Protocol):
    workers: int

    def run(self, tasks: Sequence[ItemTask], on_done: OnDone) -> None: ...

    def close(self) -> None: ...


class InProcessRunner:
    """workers=1: one engine in this process, items one after another."""

    workers = 1

    def __init__(self, settings: Settings, factory: str, threads: int) -> None:
        self._settings = settings
        self._factory = factory
        self._threads = threads
        self._engine: RefineEngine | None = None

    def run(self, tasks: Sequence[ItemTask], on_done: OnDone) -> None:
        if self._engine is None and tasks:
            limit_threads(self._threads)
            self._engine = load_factory(self._factory)(self._settings)
        for task in tasks:
            assert self._engine is not None
            on_done(run_item(self._engine, task))

    def close(self) -> None:
        self._engine = None


class PoolRunner:
    """workers>1: one engine per spawned process, bounded in-flight items, crash isolation."""

    def __init__(self, settings: Settings, factory: str, workers: int, threads: int) -> None:
        self.workers = workers
        self._initargs = (settings, factory, threads)
        self._pool: ProcessPoolExecutor | None = None
        self._restarts = 0
        self.max_inflight = 2 * workers  # keeps every worker busy while the parent records results

    def _ensure_pool(self) -> ProcessPoolExecutor:
        """A live pool whose workers start: a new pool must answer a ping first, so a worker that
        dies at start-up (bad environment, failing initializer) aborts the batch with a reason
        instead of being blamed on the items it was handed."""
        for _ in range(2):
            if self._pool is not None:
                return self._pool
            ctx = multiprocessing.get_context("spawn")
            # every ping waits at this barrier until all workers hold one, so each process takes
            # exactly one ping: the pool is ready only when every worker has loaded its engine
            # (a fast worker could otherwise answer all pings while another is still starting)
            barrier = ctx.Barrier(self.workers)
            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_or_remember,
                initargs=(*self._initargs, barrier, os.getpid()),
            )
            try:
                # one ping per worker, submitted together, makes the pool start every process now
                # (it would otherwise spawn lazily) so the models load in parallel, up front
                pings = [pool.submit(_ping) for _ in range(self.workers)]
                errors = [p.result() for p in pings]
            except BrokenProcessPool:
                pool.shutdown(wait=False, cancel_futures=True)
                continue
            init_error = next((e for e in errors if e), None)
            if init_error is not None:
                # every worker has answered its ping, so they are idle: wait for them to exit
                # cleanly (not mid-start, when they would still be unpickling the barrier)
                pool.shutdown(wait=True, cancel_futures=True)
                raise CopyloopError(init_error)
            self._pool = pool
            return pool
        raise CopyloopError("batch worker processes die at start-up (see the messages above); nothing was marked failed")

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def run(self, tasks: Sequence[ItemTask], on_done: OnDone) -> None:
        pending: deque[ItemTask] = deque(tasks)
        suspects: deque[ItemTask] = deque()
        inflight: dict[Future[ItemOutcome], ItemTask] = {}
        isolating = False  # after a crash: one suspect at a time until all are cleared
        while pending or suspects or inflight:
            pool = self._ensure_pool()
            if suspects or isolating:
                isolating = True
                if not inflight and suspects:
                    task = suspects.popleft()
                    inflight[pool.submit(_run_guarded, task)] = task
            else:
                while pending and len(inflight) < self.max_inflight:
                    task = pending.popleft()
                    inflight[pool.submit(_run_guarded, task)] = task
            isolated = isolating and len(inflight) == 1
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            lost: list[ItemTask] = []
            for fut in done:
                task = inflight.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    lost.append(task)
                    continue
                if outcome.status == "fatal":
                    self.close()
                    raise CopyloopError(outcome.error or "batch worker failed")
                on_done(outcome)
            if not lost:
                if isolating and not suspects and not inflight:
                    isolating = False
                continue
            lost.extend(inflight.values())
            inflight.clear()
            self._drop_pool()
            self._restarts += 1
            if self._restarts > MAX_POOL_RESTARTS:
                raise CopyloopError(f"batch workers crashed {self._restarts} times; giving up (see the log)")
            if isolated and len(lost) == 1:
                task = lost[0]
                log.error("item %s/%s killed its worker process; marked failed", task.product_id, task.channel)
                on_done(ItemOutcome(task, "failed", error="worker process died while refining this item"))
            else:
                log.warning("a batch worker died; re-running %d in-flight items one at a time", len(lost))
                suspects.extend(lost)

    def close(self) -> None:
        self._drop_pool()


_INIT_ERROR: str | None = None
_START_BARRIER: "threading.Barrier | None" = None
START_TIMEOUT_S = 900.0  # model loads on a saturated 2-core box have taken minutes


def _init_or_remember(settings: Settings, factory: str, threads: int, barrier: "threading.Barrier | None" = None,
                      parent_pid: int | None = None) -> None:
    """Initializer that remembers a failure instead of breaking the pool without a reason.

    First of all it ties the worker's life to the batch process (``lifeline``): a parent killed
    with SIGKILL must not leave workers holding a model each."""
    global _INIT_ERROR, _START_BARRIER
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _START_BARRIER = barrier
    try:
        init_worker(settings, factory, threads)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a fatal outcome
        _INIT_ERROR = f"batch worker could not start: {type(exc).__name__}: {exc}"


def _ping() -> str | None:
    """First task of every pool: proves a worker started; returns its start-up error, if any.

    Waits for every other worker's ping (see ``_ensure_pool``). A worker that failed to start
    breaks the barrier so the others answer at once instead of waiting out the timeout."""
    if _START_BARRIER is not None:
        if _INIT_ERROR is not None:
            _START_BARRIER.abort()
        else:
            started = time.monotonic()
            try:
                _START_BARRIER.wait(timeout=START_TIMEOUT_S)
            except threading.BrokenBarrierError:
                if time.monotonic() - started >= START_TIMEOUT_S:
                    return f"batch workers did not all start within {START_TIMEOUT_S:.0f} s"
                return None  # a peer aborted the barrier: its own ping reports why
    return _INIT_ERROR


def _run_guarded(task: ItemTask) -> ItemOutcome:
    """Pool task: fatal (configuration) errors come back as plain text — custom exceptions with
    extra constructor fields do not survive pickling to the parent."""
    if _INIT_ERROR is not None:
        return ItemOutcome(task, "fatal", error=_INIT_ERROR)
    try:
        return run_in_worker(task)
    except FATAL_ERRORS as exc:
        return ItemOutcome(task, "fatal", error=f"{type(exc).__name__}: {exc}")


def make_runner(settings: Settings, factory: str, workers: int, threads: int) -> Runner:
    if workers <= 1:
        return InProcessRunner(settings, factory, threads)
    return PoolRunner(settings, factory, workers, threads)


__all__ = ["InProcessRunner", "OnDone", "PoolRunner", "Runner", "make_runner"]
