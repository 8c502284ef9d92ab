"""``copyloop demo``: a real refinement of the bundled sample products, offline.

Uses only what ships with the package (``copyloop/data/sample_products.json``, the bundled
exemplars, scorer and SmolLM2 model), so it runs on a fresh machine without ../shared and without
network. Each (product, channel) result is shown as it finishes, then a summary table.
"""

from __future__ import annotations

from typing import Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors

DEMO_CHANNELS = "product_description,google_ads_headline"


def load_sample_products() -> list["object"]:
    """The bundled demo products as ``ProductBrief`` objects."""
    import json
    from importlib import resources

    from copyloop.engine import coerce_product

    raw = resources.files("copyloop").joinpath("data/sample_products.json").read_text(encoding="utf-8")
    return [coerce_product(p) for p in json.loads(raw)]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        channels: str = typer.Option(DEMO_CHANNELS, "--channels", "-c", help="comma-separated channels"),
        limit: Optional[int] = typer.Option(2, "--limit", "-n", min=1, help="how many sample products (default 2; --all for every one)"),
        all_products: bool = typer.Option(False, "--all", help="refine every bundled sample product"),
        seed: int = typer.Option(0, "--seed", help="seed; the same seed gives the same copy"),
        trace: bool = typer.Option(False, "--trace", help="show every round's candidates"),
    ) -> None:
        """Refine the bundled sample products for a product description and a Google Ads headline."""
        setup_logging()
        with surface_errors():
            import time

            from rich import box
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            from copyloop.cli._refine_view import print_result
            from copyloop.engine_factory import load_engine_factory
            from copyloop.errors import InputError
            from copyloop.settings import Settings

            console = Console()
            wanted = [c.strip() for c in channels.split(",") if c.strip()]
            if not wanted:
                raise InputError("--channels needs at least one channel name", field="channels")
            products = load_sample_products()
            if not all_products:
                products = products[:limit]
            engine = load_engine_factory()(Settings())
            for ch in wanted:
                engine.channels.get(ch)  # unknown channel -> clear error before any model loads

            started = time.perf_counter()
            with console.status("Loading the local model, scorer, embedder and exemplar store…"):
                engine.load()
            model = getattr(engine.llm, "model_path", None)
            model_name = getattr(model, "name", None) or type(engine.llm).__name__
            console.print(f"[dim]models ready in {time.perf_counter() - started:.1f} s (drafting with {model_name})[/]")

            rows = []
            run_started = time.perf_counter()
            for product in products:
                for ch in wanted:
                    t0 = time.perf_counter()
                    with console.status(f"Refining {product.title[:50]} for {ch}…"):
                        result = engine.refine(product, ch, seed=seed)
                    seconds = time.perf_counter() - t0
                    print_result(console, result, trace=trace, seconds=seconds)
                    rows.append((product, result, seconds))
            total = time.perf_counter() - run_started

            table = Table(title="copyloop demo", box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column("product / channel", no_wrap=True, overflow="ellipsis")
            table.add_column("ok", no_wrap=True)
            table.add_column("1st → end", no_wrap=True)
            table.add_column("stop", no_wrap=True)
            table.add_column("rounds", justify="right", no_wrap=True)
            table.add_column("s", justify="right", no_wrap=True)
            last_id = None
            for product, result, seconds in rows:
                pid = product.id or product.title
                if pid != last_id:
                    table.add_row(Text(pid, style="bold"))
                    last_id = pid
                first = f"{result.first_draft_score:.2f}" if result.first_draft_score is not None else "  - "
                table.add_row(
                    f"  {result.channel}",
                    Text("yes", style="green") if result.passed else Text("no", style="red"),
                    f"{first} → {result.score:.2f}", result.stop_reason, str(result.iterations), f"{seconds:.0f}",
                )
            console.print(table)
            passed = sum(r.passed for _, r, _ in rows)
            stats = engine.stats
            firsts = [r.first_draft_score for _, r, _ in rows if r.first_draft_score is not None]
            finals = [r.score for _, r, _ in rows]
            console.print(
                f"mean score: first draft {sum(firsts) / max(1, len(firsts)):.2f} -> returned {sum(finals) / len(finals):.2f} · "
                f"{passed}/{len(rows)} passed · {total:.1f} s for {len(rows)} refinements · "
                f"LLM {stats.tokens_per_second:.0f} tokens/s · {100 * stats.outside_llm_share:.0f}% of the time outside the LLM"
            )
