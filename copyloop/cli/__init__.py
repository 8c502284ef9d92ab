"""The ``copyloop`` command: a thin typer shell over the Python API.

Each command lives in its own module under ``copyloop/cli/`` exposing ``register(app)``; heavy
imports happen inside the command functions so ``copyloop --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from copyloop import __version__

app = typer.Typer(
    name="copyloop",
    help=(
        "Local e-commerce marketing copy: draft with a small local LLM, critique, score with a "
        "conversion model learned from real A/B tests, revise until it clears a threshold.\n\n"
        "Honesty note: the bundled conversion scorer learned from Upworthy news-headline A/B tests, "
        "not product copy. Retrain it on your own shop's A/B logs with "
        "`copyloop train-scorer --ab-log FILE` to learn what converts for you."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules under copyloop/cli/ that contribute commands (each defines register(app)).
COMMAND_MODULES: list[str] = ["refine", "demo", "doctor", "graph", "chat", "slack", "serve", "batch", "index", "score", "train_scorer", "finetune", "evaluate", "experiment"]


@app.callback()
def _root() -> None:
    """Group callback: keeps `copyloop` a command group even with one command."""


@app.command()
def version() -> None:
    """Print the copyloop version."""
    typer.echo(__version__)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"copyloop.cli.{name}").register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()
