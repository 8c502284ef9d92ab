"""``copyloop batch``: rewrite a catalog for several channels (resumable, parallel).

Exit codes: 0 — every item finished and no input row was rejected; 1 — the batch ran but some
item failed or some input row was rejected (see OUT.errors.jsonl; a dry run also exits 1 when it
finds rejected rows); 2 — the command could not run (missing or empty input, unknown channel or
column, bad option, missing model); 130 — interrupted (finished items are kept; re-run to resume).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from copyloop.cli._common import err_console, setup_logging, surface_errors


def _parse_columns(values: list[str] | None) -> dict[str, str] | None:
    from copyloop.errors import InputError

    if not values:
        return None
    mapping: dict[str, str] = {}
    for v in values:
        key, sep, name = v.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise InputError(f"--column must look like key=column_name, got {v!r}", field="column")
        mapping[key.strip()] = name.strip()
    return mapping


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        input: Path = typer.Argument(..., help="catalog file: CSV, JSONL or Parquet", show_default=False),
        channels: str = typer.Option("product_description", "--channels", "-c", help="comma-separated channel names"),
        out: Path = typer.Option(..., "--out", "-o", help="output file: .jsonl, .csv or .parquet (job store and errors file go beside it)"),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="worker processes, or Ray actors with --engine ray (default: number of cores; 1 = in-process for the local engine)"),
        limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="read only the first N rows"),
        dry_run: bool = typer.Option(False, "--dry-run", help="validate the input and show what would run; loads no model"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar (for logs); the summary is still printed"),
        column: Optional[list[str]] = typer.Option(None, "--column", help="column mapping key=name, repeatable (e.g. title=product_name)"),
        seed: int = typer.Option(0, "--seed", help="base seed (each item derives its own)"),
        diversity: bool = typer.Option(True, "--diversity/--no-diversity", help="re-draft near-duplicate copy across products"),
        threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, max=1.0, help="conversion score needed (default: settings)"),
        max_iterations: Optional[int] = typer.Option(None, "--max-iterations", min=1, help="refinement rounds at most (default: settings)"),
        candidates: Optional[int] = typer.Option(None, "--candidates", min=1, help="drafts per round (default: settings)"),
        snapshot_seconds: float = typer.Option(30.0, "--snapshot-seconds", min=0.0, help="how often the output file is refreshed during the run"),
        engine: str = typer.Option("local", "--engine", help="local: a process pool on this machine; ray: Ray Data actors (pip install 'copyloop[ray]')"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address for --engine ray ('auto': the cluster this machine joined; default: a new local Ray)"),
        engine_factory: Optional[str] = typer.Option(None, "--engine-factory", help="module:function building the engine in each worker (advanced)"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    ) -> None:
        """Rewrite every product of INPUT for every channel into OUT. Re-running the same command
        resumes: finished items are kept, failed or missing ones are redone. Exit code 1 if any
        item failed or any input row was rejected (listed in OUT.errors.jsonl), 2 if it could not run."""
        setup_logging(quiet=quiet)
        with surface_errors():
            from copyloop.batch import rewrite_catalog
            from copyloop.settings import Settings

            settings = Settings()
            refine_update: dict[str, Any] = {
                k: v for k, v in {"threshold": threshold, "max_iterations": max_iterations, "candidates": candidates}.items()
                if v is not None
            }
            if refine_update:
                settings = settings.model_copy(update={"refine": settings.refine.model_copy(update=refine_update)})
            try:
                summary = rewrite_catalog(
                    input, channels.split(","), out, workers=workers, limit=limit, dry_run=dry_run,
                    settings=settings, columns=_parse_columns(column), quiet=quiet, seed=seed,
                    diversity=diversity, engine_factory=engine_factory, snapshot_seconds=snapshot_seconds,
                    engine=engine, address=address,
                )
            except KeyboardInterrupt:
                err_console.print("interrupted: finished items are saved; run the same command again to resume")
                raise typer.Exit(code=130) from None
            if as_json:
                typer.echo(summary.model_dump_json(indent=2))
            else:
                from copyloop.cli._batch_report import print_summary

                print_summary(summary)
        raise typer.Exit(code=summary.exit_code())
