"""``build_app(settings)``: the FastAPI app behind ``copyloop serve`` (JSON API + web workbench).

Building the app touches no model: the Engine loads lazily (or right after start with
``preload=True``) on the model thread. Tests build it with a fake engine
(``build_app(settings, engine=...)``) and drive it with FastAPI's TestClient.

Middleware order (outermost first): access (loopback guard, same-origin writes, API key, rate
limit), then body size, then the routes. There is no Swagger page: its assets would come from a
CDN, and nothing here is fetched at run time; the schema is at ``/openapi.json``.
"""

from __future__ import annotations

import importlib.util
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request

from copyloop import __version__
from copyloop.engine_factory import EngineFactory
from copyloop.service.batches import Launcher
from copyloop.service.errors import install_error_handlers
from copyloop.service.guards import AccessMiddleware, BodyLimitMiddleware, RateLimiter
from copyloop.service.schemas import Health
from copyloop.service.service import Service
from copyloop.settings import Settings

UPLOAD_PATHS = ("/v1/batches", "/v1/catalogs", "/ui/catalogs")

DESCRIPTION = """\
copyloop's HTTP API: the same engine, critics, hard rules and honest scores as the Python API and
the CLI, on this machine's local models. Every route except `/healthz` needs
`Authorization: Bearer <key>` (keys from `COPYLOOP_API_KEYS`). Model work is queued on one model
thread; `503` with `Retry-After` means the queue is full. The conversion score is the scorer's
calibrated probability that the text beats a typical competitor in an A/B test; it was learned from
news-headline tests unless you retrained it on your own shop's logs.
"""


def experiments_available() -> bool:
    """Whether the experiments face (issue #13) is installed."""
    try:
        return importlib.util.find_spec("copyloop.experiments") is not None
    except (ImportError, ValueError):
        return False


def build_app(
    settings: Settings | None = None,
    *,
    engine: Any = None,
    engine_factory: EngineFactory | None = None,
    launcher: Launcher | None = None,
    preload: bool = False,
) -> FastAPI:
    settings = settings or Settings()
    service = Service(settings, engine=engine, engine_factory=engine_factory, launcher=launcher, preload=preload)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="copyloop",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz(request: Request) -> Health:
        """Liveness, without a key: answers at once even while the model is busy."""
        status = service.worker.status()
        model = "ready" if service.model_state == "lazy" and status.jobs_done else service.model_state
        return Health(version=__version__, model=model, pending=status.pending, busy=status.busy,
                      busy_seconds=status.busy_seconds, batches_running=service.batches.running)

    from copyloop.service import api, api_batches, web

    app.include_router(api.router)
    app.include_router(api_batches.router)
    if experiments_available():
        from copyloop.service import api_experiments

        app.include_router(api_experiments.router)
    web.install(app, service)

    limits = settings.service
    app.add_middleware(BodyLimitMiddleware, limit=limits.max_body_bytes, upload_limit=limits.max_upload_bytes,
                       upload_paths=UPLOAD_PATHS)
    app.add_middleware(AccessMiddleware, keys=service.keys, logins=service.logins,
                       limiter=RateLimiter(limits.rate_limit), login_limiter=RateLimiter("10/minute"))
    return app


__all__ = ["build_app", "experiments_available"]
