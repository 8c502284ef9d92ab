"""``copyloop refine``: refine copy for one product, from a JSON file or flags.

``--json`` prints exactly ``RefineResult.model_dump_json()`` (nothing else on stdout);
``--trace`` adds a table of every round's candidates. Exit code 0 when a result was produced
(``--strict``: 1 unless it passed), 2 for bad input (missing title, unknown channel, bad JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors


def load_product_file(path: Path) -> dict[str, Any]:
    """Read one product object from a JSON file (``-`` = stdin); a one-item list is accepted."""
    from copyloop.errors import InputError

    if str(path) == "-":
        raw = sys.stdin.read()
    else:
        if not path.is_file():
            raise InputError(f"product file not found: {path}", field="product")
        raw = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg})", field="product", line=exc.lineno) from None
    if isinstance(data, list):
        if len(data) != 1:
            raise InputError(
                f"{path}: holds {len(data)} products; refine takes one (use `copyloop batch` for many)", field="product"
            )
        data = data[0]
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with at least a 'title'", field="product")
    return data


def build_product(
    path: Path | None,
    *,
    title: str | None,
    facts: list[str],
    category: str | None,
    description: str | None,
    brand: str | None,
    price: str | None,
) -> dict[str, Any]:
    """The product as a dict: the file's fields, overridden (title, category...) or extended (facts) by flags."""
    product: dict[str, Any] = load_product_file(path) if path is not None else {}
    for key, value in {"title": title, "category": category, "description": description, "brand": brand, "price": price}.items():
        if value is not None:
            product[key] = value
    if facts:
        existing = product.get("facts") or []
        if isinstance(existing, str):
            existing = [existing]
        product["facts"] = [*existing, *facts]
    return product


def register(app: typer.Typer) -> None:
    @app.command("refine")
    def refine(
        product_json: Optional[Path] = typer.Argument(None, help="product JSON file ('-' for stdin); or use the flags", show_default=False),
        title: Optional[str] = typer.Option(None, "--title", "-t", help="product title (required unless in the file)"),
        fact: Optional[list[str]] = typer.Option(None, "--fact", "-f", help="a fact the copy may use; repeatable"),
        category: Optional[str] = typer.Option(None, "--category", help="category, e.g. 'Toys & Games | Puzzles'"),
        description: Optional[str] = typer.Option(None, "--description", help="free text about the product"),
        brand: Optional[str] = typer.Option(None, "--brand", help="brand name"),
        price: Optional[str] = typer.Option(None, "--price", help="price as the shop shows it"),
        channel: str = typer.Option("product_description", "--channel", "-c", help="target channel (see the channel table in the README)"),
        threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, max=1.0, help="conversion score needed (default: settings)"),
        max_iterations: Optional[int] = typer.Option(None, "--max-iterations", min=1, max=20, help="rounds at most (default: settings)"),
        candidates: Optional[int] = typer.Option(None, "--candidates", min=1, max=16, help="drafts per round (default: settings)"),
        seed: int = typer.Option(0, "--seed", help="seed; the same seed gives the same copy"),
        as_json: bool = typer.Option(False, "--json", help="print the RefineResult as JSON only"),
        trace: bool = typer.Option(False, "--trace", help="show a table of every round's candidates"),
        strict: bool = typer.Option(False, "--strict", help="exit 1 when the copy did not pass"),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
    ) -> None:
        """Write copy for one product that passes every hard rule of CHANNEL and clears the score threshold."""
        setup_logging(verbose=verbose)
        with surface_errors():
            import time

            from rich.console import Console

            from copyloop.cli._refine_view import print_result
            from copyloop.engine import coerce_product
            from copyloop.engine_factory import load_engine_factory
            from copyloop.settings import Settings

            product = coerce_product(
                build_product(
                    product_json, title=title, facts=list(fact or []), category=category,
                    description=description, brand=brand, price=price,
                )
            )
            # The real Engine unless $COPYLOOP_ENGINE_FACTORY names another builder (tests, wrappers).
            engine = load_engine_factory()(Settings())
            engine.channels.get(channel)  # fail on an unknown channel before loading any model
            console = Console(stderr=as_json)
            if as_json:
                engine.load()
                result = engine.refine(product, channel, threshold, max_iterations, candidates, seed)
                elapsed = engine.last_run.seconds
            else:
                with console.status("Loading the local model, scorer and exemplar store…"):
                    engine.load()
                with console.status(f"Refining {product.title[:50]} for {channel}…"):
                    started = time.perf_counter()
                    result = engine.refine(product, channel, threshold, max_iterations, candidates, seed)
                    elapsed = time.perf_counter() - started
            if as_json:
                typer.echo(result.model_dump_json())
            else:
                print_result(console, result, trace=trace, seconds=elapsed)
        if strict and not result.passed:
            raise typer.Exit(code=1)
