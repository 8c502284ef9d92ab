"""The HTTP face: a JSON API and a web workbench for marketers, served by ``copyloop serve``.

A thin shell over the Python API, one process with the models loaded once:

- ``app.build_app(settings)``: the FastAPI app (routes in ``api``, ``api_batches``,
  ``api_experiments`` and ``web``; middleware in ``guards``; error translation in ``errors``).
- ``service.Service``: what every route shares — the Engine behind a ``QueuedEngine`` on the one
  model thread (``model_worker``), chat sessions, the run hub for streaming (``runs``,
  ``streaming``), catalogs, batch jobs (``batches`` supervising ``batch_child`` processes) and the
  service ledger (``ledger``).
- ``security``: API keys, workbench logins, loopback-only binding without a key.
- ``server.serve``: uvicorn, after the bind check.

Templates (Jinja2) and static files (htmx and its SSE extension, CSS, the figures) ship inside
the package: nothing is fetched at run time.
"""

from __future__ import annotations

__all__ = ["build_app", "serve"]


def __getattr__(name: str):  # lazy: importing copyloop.service stays cheap
    if name == "build_app":
        from copyloop.service.app import build_app

        return build_app
    if name == "serve":
        from copyloop.service.server import serve

        return serve
    raise AttributeError(f"module 'copyloop.service' has no attribute {name!r}")
