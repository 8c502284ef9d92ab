"""Operations in flight and their event logs, for streaming to any number of watchers.

A ``Run`` is one operation the service started (a refinement, a chat session command, ...). Its
events (``queued``, ``refine_started``, ``stage``, ``round``, then ``result`` or ``done`` or
``error``) are appended from whatever thread does the work and kept, so a watcher that connects
late (the browser opens the stream a moment after the POST that started the run) still gets every
event from the first one, in order, exactly once. Watchers are asyncio consumers: each gets its
own queue, fed with ``loop.call_soon_threadsafe``.

Runs live in memory (the durable state is the session checkpointer and the batch job store); the
hub keeps the most recent ``keep`` finished runs so their candidates can still be re-ranked.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from pydantic import BaseModel

TERMINAL = ("result", "done", "error")


@dataclass(frozen=True)
class RunEvent:
    seq: int
    kind: str
    data: dict[str, Any]


def _plain(payload: Any) -> dict[str, Any]:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json")
    if isinstance(payload, dict):
        return payload
    return {"value": payload}


@dataclass
class Run:
    """One operation's event log."""

    id: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    events: list[RunEvent] = field(default_factory=list)
    finished: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _watchers: list[tuple[asyncio.AbstractEventLoop, "asyncio.Queue[RunEvent]"]] = field(default_factory=list, repr=False)

    def emit(self, kind: str, payload: Any = None) -> None:
        """Append an event (any thread). Events after a terminal one are ignored."""
        with self._lock:
            if self.finished:
                return
            event = RunEvent(len(self.events), kind, _plain(payload) if payload is not None else {})
            self.events.append(event)
            if kind in TERMINAL:
                self.finished = True
            watchers = list(self._watchers)
        for loop, queue in watchers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that watcher's loop is closed
                pass

    def observer(self, kind: str, payload: Any) -> None:
        """The model worker's observer signature (see ``model_worker.current_observer``)."""
        self.emit(kind, payload)

    def rounds(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e.data for e in self.events if e.kind == "round"]

    def terminal(self) -> RunEvent | None:
        with self._lock:
            return self.events[-1] if self.finished and self.events else None

    async def follow(self) -> AsyncIterator[RunEvent]:
        """Every event from the first one, then new ones as they come, until a terminal event."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        with self._lock:
            backlog = list(self.events)
            done = self.finished
            if not done:
                self._watchers.append((loop, queue))
        try:
            for event in backlog:
                yield event
            if done:
                return
            while True:
                event = await queue.get()
                if event.seq < len(backlog):
                    continue
                yield event
                if event.kind in TERMINAL:
                    return
        finally:
            with self._lock:
                self._watchers = [(lp, q) for lp, q in self._watchers if q is not queue]


class RunHub:
    """Runs by id: all unfinished ones plus the ``keep`` most recent finished ones."""

    def __init__(self, keep: int = 256) -> None:
        self.keep = keep
        self._runs: "OrderedDict[str, Run]" = OrderedDict()
        self._lock = threading.Lock()

    def create(self, kind: str, **meta: Any) -> Run:
        run = Run(id=uuid.uuid4().hex, kind=kind, meta=meta)
        with self._lock:
            self._runs[run.id] = run
            self._trim()
        return run

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def for_session(self, session_id: str) -> list[Run]:
        with self._lock:
            return [r for r in self._runs.values() if r.meta.get("session_id") == session_id]

    def _trim(self) -> None:
        finished = [k for k, r in self._runs.items() if r.finished]
        for key in finished[: max(0, len(finished) - self.keep)]:
            del self._runs[key]


__all__ = ["Run", "RunEvent", "RunHub", "TERMINAL"]
