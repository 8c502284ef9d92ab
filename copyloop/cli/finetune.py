"""``copyloop finetune``: rebuild the drafter's LoRA adapter (multi-objective reward, LoRA, GGUF)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from copyloop.cli._common import err_console, setup_logging, surface_errors

HELP = """Fine-tune the drafting model for several goals at once and export a llama.cpp LoRA adapter.

Candidates are sampled from the base model with the serving drafter (cached under --cache-dir, so a re-run is cheap), the seller's own bullets are added where the channel fits, and every candidate is scored by R_λ = (1-λ)·conversion + λ·diversity + sentiment-band + CTA policy, with grounding and channel rules as hard filters. The best candidate per prompt trains a LoRA by reward-weighted SFT, best-vs-worst pairs by DPO; the adapter is written as GGUF (default: the bundled adapter the drafter loads) with a JSON report and the held-out product ids beside it.

Needs the training extra: pip install 'copyloop\\[train]'. Default catalog: ../shared/data/amazon_products/products.csv of the development checkout.
"""


def default_catalog() -> Path:
    """The shared Amazon sample next to the checkout (COPYLOOP_SHARED_DATA overrides the folder)."""
    env = os.environ.get("COPYLOOP_SHARED_DATA")
    if env:
        return Path(env) / "amazon_products" / "products.csv"
    import copyloop

    return Path(copyloop.__file__).resolve().parent.parent.parent / "shared" / "data" / "amazon_products" / "products.csv"


def parse_category_lambdas(items: list[str]) -> dict[str, float]:
    """``["Toys & Games=0.4"]`` -> ``{"Toys & Games": 0.4}`` (InputError on a bad item)."""
    from copyloop.errors import InputError

    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            lam = float(value)
        except ValueError:
            lam = -1.0
        if not sep or not name.strip() or not 0.0 <= lam <= 1.0:
            raise InputError(f"--lambda-category wants NAME=VALUE with VALUE in [0, 1], got {item!r}", field="lambda_category")
        out[name.strip()] = lam
    return out


@contextmanager
def _rich_progress(label: str, total: int) -> Iterator:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, transient=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n=1: progress.advance(task, n)


def register(app: typer.Typer) -> None:
    @app.command("finetune", help=HELP)
    def finetune(
        catalog: Optional[Path] = typer.Option(None, "--catalog", "--products", help="catalog CSV (default: the shared Amazon sample)", dir_okay=False),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="adapter GGUF to write (default: the bundled drafter adapter)", dir_okay=False),
        lam: float = typer.Option(0.3, "--lambda", "--lam", min=0.0, max=1.0, help="creativity weight λ (1-λ goes to predicted conversion)"),
        lambda_category: List[str] = typer.Option([], "--lambda-category", help="λ for one top-level category, NAME=VALUE (repeatable)"),
        channels: List[str] = typer.Option([], "--channel", help="channels to train (repeatable; default: product_description, google_ads_headline, amazon_bullet)"),
        train_products: int = typer.Option(60, "--train-products", min=1, help="train products to sample for"),
        candidates: int = typer.Option(4, "--candidates", min=2, max=8, help="base-model samples per product and channel"),
        sft_epochs: float = typer.Option(1.0, "--sft-epochs", min=0.0, help="passes over the SFT examples (0 skips SFT)"),
        dpo_epochs: float = typer.Option(1.0, "--dpo-epochs", min=0.0, help="passes over the DPO pairs (0 skips DPO)"),
        rank: int = typer.Option(8, "--rank", min=1, max=64, help="LoRA rank"),
        alpha: float = typer.Option(16.0, "--alpha", min=0.001, help="LoRA alpha"),
        lr: float = typer.Option(3e-4, "--lr", min=1e-7, max=1.0, help="SFT learning rate"),
        threads: int = typer.Option(2, "--threads", min=1, help="torch threads for training"),
        max_minutes: float = typer.Option(25.0, "--max-minutes", min=0.1, help="training budget in minutes, split between SFT and DPO (stops early when spent)"),
        sample_minutes: Optional[float] = typer.Option(None, "--sample-minutes", min=0.1, help="stop drawing new candidates after this many minutes (cached ones still count; a re-run continues); default: draw all"),
        seed: int = typer.Option(0, "--seed", help="seed of sampling order, LoRA init and training"),
        cache_dir: Path = typer.Option(Path(".cache/finetune"), "--cache-dir", help="sample cache and scratch (gitignored)", file_okay=False),
        plot: Optional[Path] = typer.Option(None, "--plot", help="PNG of the λ trade-off (default: <cache-dir>/lambda_tradeoff.png)", dir_okay=False),
        dry_run: bool = typer.Option(False, "--dry-run", help="sample, score and sweep λ; train and write nothing"),
        as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
        task: str = typer.Option("draft", "--task", help="draft: the free-form drafter's prompts (the bundled adapter); realize: the per-fact prompts of the plan-then-realise drafter (default out: agents/artifacts/realizer_lora.gguf, cache: .cache/finetune-realize)"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="only errors"),
    ) -> None:
        setup_logging(quiet=quiet)
        with surface_errors():
            from copyloop.errors import DependencyError, InputError
            from copyloop.settings import Settings
            from copyloop.training.reward import RewardWeights

            import importlib.util

            for package in ("peft", "gguf", "accelerate"):
                if importlib.util.find_spec(package) is None:  # found, not imported: importing peft takes seconds
                    raise DependencyError(package, f"copyloop finetune needs {package}: pip install 'copyloop[train]'")
            from copyloop.training.finetune import FinetuneConfig, run_finetune
            from copyloop.training.lora_train import LoraTrainConfig
            from copyloop.training.tradeoff import format_table

            task = task.strip().lower()
            if task not in ("draft", "realize"):
                raise InputError(f"--task must be draft or realize, got {task!r}", field="task")
            if task == "realize" and cache_dir == Path(".cache/finetune"):
                cache_dir = Path(".cache/finetune-realize")  # other prompts, other samples
            source = catalog or default_catalog()
            if not source.is_file():
                raise InputError(f"catalog file does not exist: {source} (pass --catalog)", field="catalog")
            settings = Settings()
            cfg = FinetuneConfig(
                catalog=source,
                out=out,
                cache_dir=cache_dir,
                channels=[c.strip().lower() for c in channels] or FinetuneConfig.model_fields["channels"].default_factory(),
                train_products=train_products,
                candidates=candidates,
                seed=seed,
                weights=RewardWeights(lam=lam, lambda_by_category=parse_category_lambdas(lambda_category)),
                lora=LoraTrainConfig(
                    rank=rank, alpha=alpha, sft_lr=lr, threads=threads, seed=seed,
                    sft_epochs=sft_epochs, dpo_epochs=dpo_epochs, max_minutes=max_minutes,
                ),
                plot=plot,
                dry_run=dry_run,
                sample_minutes=sample_minutes,
                task=task,
            )
            report = run_finetune(cfg, settings, progress_factory=None if quiet else _rich_progress)
            payload = report.as_dict()
            if as_json:
                typer.echo(json.dumps(payload, indent=2))
                return
            if not quiet:
                if report.sweep:  # the realize task has no λ sweep
                    typer.echo(format_table(report.sweep, report.elbow))
                    typer.echo(f"trade-off plot: {report.plot}")
                typer.echo(json.dumps({k: payload[k] for k in ("data", "stages", "seconds", "logits")}, indent=2))
            if report.adapter:
                typer.echo(f"adapter: {report.adapter}  (held-out ids: {report.heldout_ids})")
