"""Helpers shared by CLI commands: settings construction and error translation."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from copyloop.errors import CopyloopError

err_console = Console(stderr=True)


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@contextmanager
def surface_errors() -> Iterator[None]:
    """Translate copyloop errors into a clear message and exit code 2 (the only place we do)."""
    try:
        yield
    except CopyloopError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
