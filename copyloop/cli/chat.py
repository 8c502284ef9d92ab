"""``copyloop chat``: refine one product's copy by talking to it, in the terminal.

Start from a product JSON file or ``--title/--fact`` flags (``--channel`` picks the channel), or
resume any earlier session with ``--thread ID`` (the id is printed at the start and on exit;
sessions live in the checkpointer, so they survive restarts). Plain lines are requests fed to
the refinement loop; slash commands: /accept /undo /variants [n] /pick N /regenerate /score
/channel NAME /history /help /quit (Ctrl-D also quits).

The Engine is the real local model unless ``COPYLOOP_ENGINE_FACTORY`` names another builder
(see ``copyloop.engine_factory``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors

if TYPE_CHECKING:
    from rich.console import Console

    from copyloop.chat.session import Session

PROMPT = "you> "


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat(
        product_json: Optional[Path] = typer.Argument(None, help="product JSON file; or use --title/--fact", show_default=False),
        title: Optional[str] = typer.Option(None, "--title", "-t", help="product title"),
        fact: Optional[list[str]] = typer.Option(None, "--fact", "-f", help="a fact the copy may use; repeatable"),
        category: Optional[str] = typer.Option(None, "--category", help="category, e.g. 'Home & Kitchen'"),
        channel: str = typer.Option("product_description", "--channel", "-c", help="channel of the first draft"),
        thread: Optional[str] = typer.Option(None, "--thread", help="resume the session with this thread id"),
        seed: int = typer.Option(0, "--seed", help="seed of the session (same seed, same drafts)"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
    ) -> None:
        """Chat with the copy of one product: each message is a revision request."""
        setup_logging(verbose=verbose)
        from rich.console import Console

        console = Console(highlight=False)
        with surface_errors():
            from copyloop.engine_factory import load_engine_factory
            from copyloop.chat.session import SessionStore
            from copyloop.settings import Settings

            settings = Settings()
            store = SessionStore(settings, engine_factory=load_engine_factory())
            try:
                if thread:
                    session = store.resume(thread)
                    console.print(
                        f"Resumed session [bold]{session.thread_id}[/] · {session.product.title} · {session.channel}", soft_wrap=True
                    )
                    _show_current(console, session)
                else:
                    from copyloop.cli.refine import build_product

                    product = build_product(
                        product_json, title=title, facts=list(fact or []), category=category,
                        description=None, brand=None, price=None,
                    )
                    with _busy(console, "Writing the first draft…"):
                        session = store.start(product, channel, seed=seed)
                    console.print(
                        f"Session [bold]{session.thread_id}[/] · resume with: copyloop chat --thread {session.thread_id}",
                        soft_wrap=True,
                    )
                    _show_current(console, session)
                console.print(_help(), style="dim", markup=False)
                _loop(console, session)
                console.print(f"Session saved. Resume with: copyloop chat --thread {session.thread_id}", soft_wrap=True)
            finally:
                store.close()


def _help() -> str:
    from copyloop.cli._session_view import HELP

    return HELP


def _busy(console: "Console", message: str):  # type: ignore[no-untyped-def]
    """A spinner on a terminal; a plain line otherwise (pipes, CI logs)."""
    import contextlib

    if console.is_terminal:
        return console.status(message)
    console.print(message)
    return contextlib.nullcontext()


def _show_current(console: "Console", session: "Session", note: str | None = None) -> None:
    from copyloop.cli._session_view import version_panel

    console.print(version_panel(session.current, note=note))


def _loop(console: "Console", session: "Session") -> None:
    from copyloop.errors import CopyloopError, RuleRefusal
    from copyloop.chat.turns import parse_turn

    while True:
        try:
            line = console.input(PROMPT)
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not line.strip():
            continue
        try:
            command = parse_turn(line)
            if command.op == "quit":
                return
            _dispatch(console, session, command)
        except RuleRefusal as exc:
            console.print(f"[bold red]refused:[/] {'; '.join(exc.reasons)}", markup=True)
        except CopyloopError as exc:  # the surface: show it and keep the conversation going
            console.print(f"[bold red]error:[/] {exc}", markup=True)


def _dispatch(console: "Console", session: "Session", command) -> None:  # type: ignore[no-untyped-def]
    from copyloop.cli._session_view import history_table, score_table, version_panel

    op = command.op
    if op == "say":
        with _busy(console, "Revising…"):
            reply = session.say(command.arg)
        note = None if reply.changed else "kept the current draft: " + "; ".join(reply.reasons)
        console.print(version_panel(reply.draft, note=note))
    elif op in ("regenerate", "channel"):
        with _busy(console, "Writing…"):
            reply = session.regenerate() if op == "regenerate" else session.switch_channel(command.arg or "")
        note = None if reply.changed else "kept the current draft: " + "; ".join(reply.reasons)
        console.print(version_panel(reply.draft, note=note))
    elif op == "undo":
        version = session.undo()
        console.print(version_panel(version, note=f"back to v{version.index}"))
    elif op == "accept":
        version = session.accept()
        console.print(version_panel(version, note="accepted", title=f"accepted v{version.index} · {version.channel}"))
    elif op == "variants":
        with _busy(console, "Writing variants…"):
            variants = session.variants(command.count())
        if not variants:
            console.print("[yellow]No variant passed every rule; the current draft stays.[/]")
        for version in variants:
            console.print(version_panel(version, title=f"variant v{version.index} · /pick {version.index}"))
    elif op == "pick":
        if not command.arg:
            console.print("[yellow]/pick needs a version number, e.g. /pick 3[/]")
            return
        version = session.pick(command.count())
        console.print(version_panel(version, note=f"using v{version.index}"))
    elif op == "score":
        console.print(score_table(session.score()))
    elif op == "history":
        console.print(history_table(session.history()))
    elif op == "help":
        console.print(_help(), markup=False)
