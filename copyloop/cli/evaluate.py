"""``copyloop evaluate``: measure a drafter (base or fine-tuned adapter) inside the refinement loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from copyloop.cli._common import err_console, setup_logging, surface_errors

HELP = """Refine every product with the real loop and print JSON: mean first-draft conversion score, hard-rule pass rate, unsupported-claim rate, distinct-2, catalog self-similarity, mean iterations to threshold and seconds per product (overall and per channel).

--products takes a catalog CSV (Amazon columns, unreadable rows skipped) or a JSON/JSONL product file. --ids keeps only the listed product ids (one per line): pass the held-out list written next to the adapter by `copyloop finetune` (agents/artifacts/drafter_lora.heldout.txt) to measure on products the adapter never saw. --adapter none measures the base model.
"""


def load_products(path: Path, ids_file: Path | None, limit: int | None) -> list:
    """Products from a catalog or product file, filtered by an id list, first ``limit`` kept."""
    from copyloop.errors import InputError
    from copyloop.training.finetune_data import load_catalog, read_ids

    if not path.is_file():
        raise InputError(f"product file does not exist: {path}", field="products")
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        from copyloop.tools.catalog import read_products

        products = read_products(path)
    else:
        products = [c.product for c in load_catalog(path)]
    if ids_file is not None:
        wanted = read_ids(ids_file)
        keep = set(wanted)
        products = [p for p in products if p.id in keep]
        if not products:
            raise InputError(f"none of the {len(wanted)} ids in {ids_file} is in {path}", field="ids")
    if limit is not None:
        products = products[:limit]
    if not products:
        raise InputError(f"no products to evaluate in {path}", field="products")
    return products


def register(app: typer.Typer) -> None:
    @app.command("evaluate", help=HELP)
    def evaluate(
        products: Path = typer.Option(..., "--products", help="catalog CSV or JSON/JSONL products", dir_okay=False),
        adapter: Optional[str] = typer.Option(None, "--adapter", help="LoRA adapter GGUF, or 'none' for the base model (default: the configured/bundled one)"),
        ids: Optional[Path] = typer.Option(None, "--ids", help="keep only these product ids (one per line)", dir_okay=False),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="evaluate the first N products only"),
        channels: List[str] = typer.Option([], "--channel", help="channel to evaluate (repeatable; default: product_description)"),
        threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, max=1.0, help="score to reach (default: settings)"),
        max_iterations: Optional[int] = typer.Option(None, "--max-iterations", min=1, max=20, help="round cap (default: settings)"),
        candidates: Optional[int] = typer.Option(None, "--candidates", min=1, max=16, help="drafts per round (default: settings)"),
        seed: int = typer.Option(0, "--seed", help="seed of every refinement"),
        runs_out: Optional[Path] = typer.Option(None, "--runs", help="also write every run (text, scores) as JSON lines here", dir_okay=False),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    ) -> None:
        setup_logging(quiet=True)
        with surface_errors():
            from dataclasses import asdict

            from copyloop.engine_factory import load_engine_factory
            from copyloop.settings import Settings
            from copyloop.training.evaluation import evaluate_products

            items = load_products(products, ids, limit)
            settings = Settings()
            if adapter is not None:
                settings.llm = settings.llm.model_copy(update={"lora_path": adapter.strip() or None})
            chosen = [c.strip().lower() for c in channels] or ["product_description"]
            engine = load_engine_factory()(settings)  # COPYLOOP_ENGINE_FACTORY may wrap the real Engine
            for ch in chosen:
                engine.channels.get(ch)  # unknown channel: error listing the known ones, before loading models
            engine.load()
            backend_adapter = getattr(engine.llm, "lora_path", None)
            label = str(backend_adapter) if backend_adapter else "none"
            if quiet:
                report = evaluate_products(engine, items, chosen, adapter_label=label, seed=seed, threshold=threshold,
                                           max_iterations=max_iterations, candidates=candidates)
            else:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

                with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                              console=err_console) as progress:
                    task = progress.add_task("evaluate", total=len(items) * len(chosen))
                    report = evaluate_products(engine, items, chosen, adapter_label=label, seed=seed, threshold=threshold,
                                               max_iterations=max_iterations, candidates=candidates,
                                               progress=lambda n=1: progress.advance(task, n))
            if runs_out is not None:
                runs_out.parent.mkdir(parents=True, exist_ok=True)
                with runs_out.open("w", encoding="utf-8") as fh:
                    for run in report.runs:
                        fh.write(json.dumps(asdict(run), ensure_ascii=False) + "\n")
            typer.echo(json.dumps(report.summary(), indent=2))
