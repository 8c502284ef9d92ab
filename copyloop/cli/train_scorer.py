"""``copyloop train-scorer``: rebuild the bundled scorer, or train one on the user's own A/B log."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from copyloop.cli._common import err_console, surface_errors

HELP = """Train the conversion scorer from A/B test logs.

Without --ab-log it rebuilds the bundled model, bit for bit (fixed seed), from the Upworthy Research Archive in ../shared/data/upworthy/packages.csv — news-headline A/B tests, available in the copyloop development checkout only — and uses real Amazon seller copy (../shared/data/amazon_products, text only) as the typical competitor for product channels. The bundled model therefore knows what made people click news headlines, not what sells your products.

With --ab-log FILE it learns your shop: a CSV/TSV, JSON-lines or Parquet file with one row per variant shown in a randomized test — columns test_id, text, impressions, clicks and optionally conversions, channel, category. Variants are compared only within their own test; with a conversions column the outcome is conversions per impression (CVR), else clicks per impression. Bad rows are listed and skipped. Use the result with `copyloop score --model PATH` or by setting COPYLOOP_SCORER__ARTIFACT_PATH=PATH (or [scorer] artifact_path in copyloop.toml).
"""

UPWORTHY_DESCRIPTION = (
    "Upworthy Research Archive (Matias et al. 2021, CC BY 4.0), exploratory part: news-headline A/B tests, "
    "CTR. Learned from headlines, not product copy."
)


def default_data_dir() -> Path:
    """../shared/data next to the checkout (COPYLOOP_SHARED_DATA overrides it)."""
    env = os.environ.get("COPYLOOP_SHARED_DATA")
    if env:
        return Path(env)
    import copyloop

    return Path(copyloop.__file__).resolve().parent.parent.parent / "shared" / "data"


def default_training_data() -> Path:
    """The Upworthy A/B tests the bundled model learns from."""
    return default_data_dir() / "upworthy" / "packages.csv"


def default_reference_copy() -> Path:
    """The Amazon catalog sample whose seller copy is the typical competitor for product channels."""
    return default_data_dir() / "amazon_products" / "products.csv"


def register(app: typer.Typer) -> None:
    @app.command("train-scorer", help=HELP)
    def train_scorer_cmd(
        ab_log: Optional[Path] = typer.Option(None, "--ab-log", help="your A/B log (default: rebuild the bundled Upworthy model)", dir_okay=False),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="artifact to write (default: bundled artifact without --ab-log, else <home>/scorer/conversion_scorer.json)"),
        seed: int = typer.Option(0, "--seed", help="seed of the grouped calibration folds"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the artifact path"),
    ) -> None:
        from copyloop.agents.scorer_artifact import DEFAULT_ARTIFACT, save_artifact
        from copyloop.errors import InputError
        from copyloop.settings import Settings
        from copyloop.tools.embeddings import load_embedder
        from copyloop.training.ab_log import file_sha256, read_ab_log
        from copyloop.training.reference_copy import amazon_reference_texts
        from copyloop.training.scorer_train import TrainConfig, train_scorer

        def say(msg: str) -> None:
            if not quiet:
                err_console.print(msg, highlight=False)

        with surface_errors():
            settings = Settings()
            reference_texts = None
            reference_source: dict = {}
            if ab_log is None:
                source = default_training_data()
                catalog = default_reference_copy()
                for needed in (source, catalog):
                    if needed.is_file():
                        continue
                    raise InputError(
                        f"the default training data is not here: {needed}. It ships with the copyloop development "
                        "checkout only (../shared/data). Train on your own A/B log instead: "
                        "copyloop train-scorer --ab-log FILE (columns test_id, text, impressions, clicks[, conversions]).",
                        field="ab_log",
                    )
                target = out or DEFAULT_ARTIFACT
                description = UPWORTHY_DESCRIPTION
                reference_texts = amazon_reference_texts(catalog)
                reference_source = {
                    "reference_copy": {
                        "file": catalog.name,
                        "sha256": file_sha256(catalog),
                        "texts": {k: len(v) for k, v in reference_texts.items()},
                    }
                }
            else:
                source = ab_log
                target = out or settings.home / "scorer" / "conversion_scorer.json"
                description = None
            started = time.perf_counter()
            log = read_ab_log(source)
            for e in log.errors[:20]:
                err_console.print(f"bad row, line {e.line}: {e.error}", highlight=False, markup=False)
            if len(log.errors) > 20:
                err_console.print(f"... and {len(log.errors) - 20} more bad rows", highlight=False)
            say(f"read {len(log.rows)} rows in {log.n_tests} tests from {source} (outcome: {log.outcome.upper()})")
            embedder = load_embedder(settings.embeddings.model_path)
            artifact, report = train_scorer(
                log, embedder, TrainConfig(seed=seed), description=description, progress=say, reference_texts=reference_texts
            )
            if reference_source:
                artifact = artifact.model_copy(update={"source": artifact.source | reference_source})
            path = save_artifact(artifact, target)
            data = path.read_bytes()
            elapsed = time.perf_counter() - started
            summary = {
                "artifact": str(path),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "seconds": round(elapsed, 1),
                **report.model_dump(),
            }
            if quiet:
                typer.echo(str(path))
            else:
                typer.echo(json.dumps(summary, indent=2))
                if report.significant_pairs < 30:
                    say(
                        f"warning: only {report.significant_pairs} significant pairs; scores from this model are "
                        "weakly supported. More tests (or more impressions per test) will help."
                    )
            sys.stdout.flush()
