"""The per-process state every route shares: settings, the one Engine, the model worker, stores.

One ``Service`` per server process. The Engine is built once (``COPYLOOP_ENGINE_FACTORY`` or the
real local models) and wrapped in a ``QueuedEngine`` so that every refinement — from the JSON API,
a chat session, the workbench or an experiment — runs on the single model thread. Operations that
may call the model several times (a session's variants) run on a small pool of *operation*
threads that only wait for the model thread; each holds an admission slot until it ends.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from copyloop.engine_factory import EngineFactory, load_engine_factory
from copyloop.errors import CopyloopError
from copyloop.service.batches import BatchManager, Launcher
from copyloop.service.catalogs import CatalogStore
from copyloop.service.errors import error_body
from copyloop.service.ledger import Ledger
from copyloop.service.model_worker import ModelWorker, QueuedEngine, Reservation, observing
from copyloop.service.runs import Run, RunHub
from copyloop.service.security import KeyRing, LoginStore
from copyloop.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: Any = None,
        engine_factory: EngineFactory | None = None,
        launcher: Launcher | None = None,
        preload: bool = False,
    ) -> None:
        from copyloop.chat.session import SessionStore

        from copyloop.tools.channels import ChannelRegistry

        self.settings = settings
        # the service's own registry: handlers validate channels with it on the event loop, never
        # through the Engine, whose lazy properties share one lock with a model that may be loading
        self.channels = ChannelRegistry(settings.channels or None)
        self.keys = KeyRing(settings.api_key_list())
        self.logins = LoginStore(settings.service.login_hours)
        self.worker = ModelWorker(settings.service.max_pending)
        raw = engine if engine is not None else (engine_factory or load_engine_factory())(settings)
        self.engine = QueuedEngine(raw, self.worker)
        self.sessions = SessionStore(settings, engine=self.engine)
        self.hub = RunHub()
        self.ops = ThreadPoolExecutor(max_workers=max(4, 2 * settings.service.max_pending), thread_name_prefix="copyloop-op")
        root = settings.service_path()
        self.ledger = Ledger(root / "service.sqlite")
        self.catalogs = CatalogStore(root / "catalogs", self.ledger)
        self.batches = BatchManager(settings, self.ledger, self.catalogs, launcher)
        self.preload = preload
        self.model_state = "lazy"

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.batches.start()
        if self.preload:
            self.model_state = "loading"
            self.worker.submit(self._load)

    def _load(self) -> None:
        try:
            loader = getattr(self.engine.engine, "load", None)
            if callable(loader):
                loader()
            self.model_state = "ready"
        except Exception:  # noqa: BLE001 - reported by /healthz and by the first request's error
            self.model_state = "failed"
            log.exception("loading the models failed")

    def close(self) -> None:
        self.batches.close()
        self.worker.close()
        self.ops.shutdown(wait=False, cancel_futures=True)
        self.sessions.close()
        self.ledger.close()

    def start_session(self, brief: Any, channel: str, session_id: str, seed: int = 0) -> Any:
        """Write the first draft of a new chat session and list it among the service's sessions."""
        session = self.sessions.start(brief, channel, thread_id=session_id, seed=seed)
        self.ledger.add_session(session_id, brief.title, channel)
        return session

    # operations --------------------------------------------------------------------------------
    def submit_op(self, fn: Callable[[], T], *, run: Run | None = None, reservation: Reservation | None = None,
                  payload: Callable[[T], Any] | None = None) -> "Future[T]":
        """Run ``fn`` on an operation thread; its refinements stream to ``run``; ``done``/``error`` end the run."""

        def op() -> T:
            try:
                result = fn()
            except CopyloopError as exc:
                if run is not None:
                    status, body, _ = error_body(exc)
                    run.emit("error", {**body, "status": status})
                raise
            except Exception:
                log.exception("operation %s failed", run.kind if run else fn)
                if run is not None:
                    run.emit("error", {"detail": "internal error (see the server log)", "status": 500})
                raise
            finally:
                if reservation is not None:
                    reservation.release()
            if run is not None:
                run.emit("done", payload(result) if payload is not None else result)
            return result

        ctx = observing(run.observer if run is not None else None)
        future = self.ops.submit(ctx.run, op)
        if reservation is not None:
            future.add_done_callback(lambda f: reservation.release())
        return future

    async def model_call(self, fn: Callable[..., T], *args: Any) -> T:
        """Admit one operation and await ``fn(*args)`` on the model thread."""
        reservation = self.worker.reserve()
        return await self.op(lambda: self.worker.call(fn, *args), reservation=reservation)

    async def op(self, fn: Callable[[], T], *, run: Run | None = None, reservation: Reservation | None = None) -> T:
        import asyncio

        return await asyncio.wrap_future(self.submit_op(fn, run=run, reservation=reservation))


__all__ = ["Service"]
