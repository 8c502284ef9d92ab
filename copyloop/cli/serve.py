"""``copyloop serve [--host 127.0.0.1] [--port 8000]``: the HTTP API and the web workbench.

API keys come from ``COPYLOOP_API_KEYS`` (comma-separated); without one the server only listens
on loopback. The Engine is the real local model unless ``COPYLOOP_ENGINE_FACTORY`` names another
builder (``copyloop.engine_factory``).
"""

from __future__ import annotations

import typer

from copyloop.cli._common import setup_logging, surface_errors


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on (anything but loopback needs COPYLOOP_API_KEYS)"),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="port to listen on"),
    preload: bool = typer.Option(True, "--preload/--lazy", help="load the models right after start (in the background)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging (keys are never logged)"),
) -> None:
    """Serve the JSON API (/v1, schema at /openapi.json) and the web workbench (/) with the local models."""
    setup_logging(verbose=verbose)
    with surface_errors():
        from copyloop.engine_factory import load_engine_factory
        from copyloop.service.server import serve as run_server
        from copyloop.settings import Settings

        def ready(h: str, p: int, keyed: bool) -> None:
            shown = f"[{h}]" if ":" in h else h
            auth = "API key required" if keyed else "no API key configured: this machine only"
            typer.echo(f"copyloop serving the workbench at http://{shown}:{p}/ and the API at /v1 ({auth})", err=True)

        run_server(Settings(), host, port, preload=preload, engine_factory=load_engine_factory(),
                   log_level="debug" if verbose else "info", on_ready=ready)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
