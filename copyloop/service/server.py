"""Run the app with uvicorn: one process, one event loop, the models loaded once.

``serve`` refuses to listen beyond loopback when no API key is configured, before anything is
loaded. One uvicorn worker only: a second worker process would load a second copy of every model.
"""

from __future__ import annotations

import logging
from typing import Any

from copyloop.service.security import check_bind
from copyloop.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, preload: bool = True,
          engine_factory: Any = None, log_level: str = "info", on_ready: Any = None) -> None:
    import uvicorn

    from copyloop.service.app import build_app
    from copyloop.service.guards import RateLimiter

    keys = settings.api_key_list()
    check_bind(host, keys)
    RateLimiter(settings.service.rate_limit)  # a bad rate spec fails here, with the setting's name
    app = build_app(settings, engine_factory=engine_factory, preload=preload)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, workers=1, proxy_headers=False,
                            server_header=False, timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(host, port, bool(keys))
    server.run()


__all__ = ["serve"]
