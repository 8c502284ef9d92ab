"""``copyloop slack serve`` (HTTP, Bolt's /slack/events) and ``copyloop slack socket`` (Socket Mode).

Configuration comes from the environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP mode),
SLACK_APP_TOKEN (Socket Mode), SLACK_API_URL (Web API base URL, e.g. a proxy or a test stub),
COPYLOOP_SLACK__CATALOG_PATH (catalog whose ids `/copy <id>` accepts). The Engine is the real
local model unless COPYLOOP_ENGINE_FACTORY names another builder (copyloop.engine_factory).
"""

from __future__ import annotations

import typer

from copyloop.cli._common import setup_logging, surface_errors

slack_cli = typer.Typer(help="Run the Slack bot (/copy, mentions, thread replies, buttons).", no_args_is_help=True)


@slack_cli.command("serve")
def serve(
    port: int = typer.Option(3000, "--port", "-p", min=0, max=65535, help="port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to bind (0.0.0.0 behind a proxy)"),
    preload: bool = typer.Option(True, "--preload/--lazy", help="load the models right after start (in the background)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging (tokens are never logged)"),
) -> None:
    """Serve commands, events and interactions over HTTP at /slack/events (plus GET /healthz)."""
    setup_logging(verbose=verbose)
    with surface_errors():
        from copyloop.engine_factory import load_engine_factory
        from copyloop.settings import Settings
        from copyloop.slack.app import EVENTS_PATH, build_bot, make_http_server

        bot = build_bot(Settings(), load_engine_factory())
        server = make_http_server(bot.app, host, port)
        _stop_on_sigterm()
        if preload:
            bot.warm_up()
            bot.watch_experiments()
        typer.echo(f"copyloop Slack bot listening on http://{host}:{server.server_port}{EVENTS_PATH}", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            bot.close()


@slack_cli.command("socket")
def socket(
    preload: bool = typer.Option(True, "--preload/--lazy", help="load the models right after start (in the background)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging (tokens are never logged)"),
) -> None:
    """Connect over Socket Mode (needs SLACK_APP_TOKEN; no public URL needed)."""
    setup_logging(verbose=verbose)
    with surface_errors():
        from copyloop.engine_factory import load_engine_factory
        from copyloop.settings import Settings
        from copyloop.slack.app import build_bot, socket_mode_handler

        bot = build_bot(Settings(), load_engine_factory(), socket_mode=True)
        _stop_on_sigterm()
        try:
            handler = socket_mode_handler(bot)  # fails fast without SLACK_APP_TOKEN
            if preload:
                bot.warm_up()
                bot.watch_experiments()
            typer.echo("copyloop Slack bot connecting over Socket Mode", err=True)
            handler.start()
        except KeyboardInterrupt:
            pass
        finally:
            bot.close()


def _stop_on_sigterm() -> None:
    """Treat SIGTERM (docker stop, systemd) like Ctrl-C: stop serving, finish queued work, close stores."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def register(app: typer.Typer) -> None:
    app.add_typer(slack_cli, name="slack")
