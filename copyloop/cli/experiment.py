"""``copyloop experiment create|assign|ingest|status|refresh|close``: live A/B tests from the shell.

A thin shell over ``copyloop.Experiment``. Exit codes: 0 done; 1 ``ingest`` skipped a bad line
(each is reported on stderr as ``{"line": N, "error": "..."}``); 2 bad input (unknown
experiment, bad product, unknown channel, ...).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors

experiment_app = typer.Typer(
    name="experiment",
    help="Live A/B experiments: serve variants to real traffic (bandit allocation), decide, feed winners back.",
    no_args_is_help=True,
)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False))


@experiment_app.command("create")
def create(
    product: Path = typer.Option(..., "--product", help="product JSON file (title, category, facts, ...)"),
    channel: str = typer.Option(..., "--channel", help="channel of the copy, e.g. google_ads_headline"),
    variants: int = typer.Option(3, "--variants", min=1, help="variants the refinement loop writes (ignored with --text)"),
    text: Optional[List[str]] = typer.Option(None, "--text", help="a variant's text (repeat; no model is needed)"),
    control: Optional[str] = typer.Option(None, "--control", help="the current or seller copy, served as control arm v0"),
    metric: str = typer.Option("ctr", "--metric", help="decision metric: ctr or cvr"),
    allocation: str = typer.Option("thompson", "--allocation", help="thompson (bandit), fixed (classic equal split) or top_two"),
    batch_events: Optional[int] = typer.Option(None, "--batch-events", help="re-weight every N impressions (default 1000)"),
    batch_minutes: Optional[float] = typer.Option(None, "--batch-minutes", help="... or every T minutes (default 60)"),
    floor: Optional[float] = typer.Option(None, "--floor", help="smallest traffic share per arm (default 0.05)"),
    burn_in: Optional[int] = typer.Option(None, "--burn-in", help="impressions per arm at an equal split first (default 200)"),
    min_impressions: Optional[int] = typer.Option(None, "--min-impressions", help="impressions per arm before a winner (default 1000)"),
    seed: int = typer.Option(0, "--seed", help="seed of the loop's drafts and the Monte-Carlo draws"),
    as_json: bool = typer.Option(False, "--json", help='print {"experiment_id": ..., "variants": [{"variant_id", "text"}, ...]}'),
) -> None:
    """Start an experiment: K diverse variants from the refinement loop (or --text), plus an optional control."""
    setup_logging(quiet=as_json)
    with surface_errors():
        from copyloop.cli.refine import load_product_file
        from copyloop.experiments import Experiment
        from copyloop.settings import Settings

        settings = Settings()
        policy = {
            k: v
            for k, v in {"batch_events": batch_events, "batch_minutes": batch_minutes, "floor": floor,
                         "burn_in": burn_in, "min_impressions": min_impressions}.items()
            if v is not None
        }
        engine = None
        if not text:
            from copyloop.engine_factory import load_engine_factory

            engine = load_engine_factory()(settings)
        exp = Experiment.create(
            load_product_file(product), channel.strip().lower(), variants=variants, texts=text or None, control=control,
            metric=metric, allocation=allocation, settings=settings, engine=engine, seed=seed, **policy,
        )
        arms = exp.variants()
        if as_json:
            _print_json(
                {
                    "experiment_id": exp.experiment_id,
                    "variants": [{"variant_id": v.variant_id, "text": v.text, "is_control": v.is_control} for v in arms],
                }
            )
            return
        typer.echo(f"experiment {exp.experiment_id} ({exp.channel}, {exp.metric}, {exp.allocation} allocation)")
        for v in arms:
            tag = " [control]" if v.is_control else (f" [score {v.predicted_score:.2f}]" if v.predicted_score is not None else "")
            typer.echo(f"  {v.variant_id}{tag}: {v.text}")


@experiment_app.command("assign")
def assign(
    experiment_id: str = typer.Argument(..., metavar="EXP"),
    unit: str = typer.Option(..., "--unit", help="visitor / session id; the same unit always gets the same variant"),
    as_json: bool = typer.Option(False, "--json", help='print {"variant_id": ...}'),
) -> None:
    """The sticky variant of one unit."""
    setup_logging(quiet=True)
    with surface_errors():
        from copyloop.experiments import Experiment

        variant_id = Experiment.open(experiment_id).assign(unit)
        typer.echo(json.dumps({"variant_id": variant_id}) if as_json else variant_id)


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, object or LineError) for each non-blank line of a JSON-lines file or stdin."""
    from copyloop.errors import InputError
    from copyloop.experiments.models import LineError

    if str(path) == "-":
        fh = sys.stdin
    else:
        if not path.is_file():
            raise InputError(f"events file not found: {path}", field="events")
        fh = path.open(encoding="utf-8", errors="replace")
    try:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, LineError(line=n, error=f"not JSON: {exc.msg} at column {exc.colno}")
    finally:
        if fh is not sys.stdin:
            fh.close()


@experiment_app.command("ingest")
def ingest(
    experiment_id: str = typer.Argument(..., metavar="EXP"),
    events: Path = typer.Argument(..., metavar="EVENTS.jsonl", help='lines of {"event_id", "variant_id", "type", "unit"?, "ts"?}; - for stdin'),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Record events (impression, click, conversion). Re-ingesting a file counts nothing twice."""
    setup_logging(quiet=True)
    with surface_errors():
        from copyloop.experiments import Experiment

        exp = Experiment.open(experiment_id)
        report = exp.record_lines(_jsonl(events))
        for e in report.errors:
            sys.stderr.write(json.dumps({"line": e.line, "error": e.error}) + "\n")
        summary = {
            "experiment_id": exp.experiment_id,
            "recorded": report.recorded,
            "duplicates": report.duplicates,
            "reattributed": report.reattributed,
            "bad_lines": len(report.errors),
            "periods_opened": report.periods_opened,
        }
        if as_json:
            _print_json(summary)
        else:
            typer.echo(
                f"recorded {report.recorded} events ({report.duplicates} already recorded, "
                f"{report.reattributed} counted for their unit's variant); {len(report.errors)} bad lines"
            )
    if report.errors:
        raise typer.Exit(code=1)


@experiment_app.command("status")
def status(
    experiment_id: str = typer.Argument(..., metavar="EXP"),
    as_json: bool = typer.Option(False, "--json", help="print the status object"),
) -> None:
    """Per-variant counts, stratified rate, P(best), traffic weight, and the decision."""
    setup_logging(quiet=True)
    with surface_errors():
        from copyloop.experiments import Experiment

        st = Experiment.open(experiment_id).status()
        if as_json:
            typer.echo(st.model_dump_json())
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{st.experiment_id} · {st.channel} · {st.metric.upper()} · {st.allocation} · period {st.period}")
        for col in ("variant", "impressions", "clicks", "conversions", "rate", "P(best)", "weight", "text"):
            table.add_column(col, overflow="fold")
        for v in st.variants:
            name = v.variant_id + (" (control)" if v.is_control else "") + ("" if v.active else " (retired)")
            if v.variant_id == st.winner:
                name += " ★"
            table.add_row(name, str(v.impressions), str(v.clicks), str(v.conversions), f"{v.rate:.3%}",
                          f"{v.p_best:.3f}", f"{v.weight:.2f}", v.text[:80])
        console = Console()
        console.print(table)
        console.print(f"decision: [bold]{st.decision}[/] — {st.reason}", highlight=False)
        if st.fatigue is not None and st.fatigue.fatigued:
            console.print(f"fatigue: {st.fatigue.variant_id} — {st.fatigue.reason}; run `copyloop experiment refresh {st.experiment_id}`")


@experiment_app.command("refresh")
def refresh(
    experiment_id: str = typer.Argument(..., metavar="EXP"),
    variants: Optional[int] = typer.Option(None, "--variants", min=1, help="fresh variants to add (default: one per retired loser)"),
    text: Optional[List[str]] = typer.Option(None, "--text", help="a fresh variant's text (repeat; no model is needed)"),
    as_json: bool = typer.Option(False, "--json", help="print the refresh report"),
) -> None:
    """Retire losing variants and ask the refinement loop for fresh ones (fights fatigue)."""
    setup_logging(quiet=as_json)
    with surface_errors():
        from copyloop.experiments import Experiment
        from copyloop.settings import Settings

        settings = Settings()
        engine = None
        if not text:
            from copyloop.engine_factory import load_engine_factory

            engine = load_engine_factory()(settings)
        report = Experiment.open(experiment_id, settings, engine=engine).refresh(variants, texts=text or None, engine=engine)
        if as_json:
            typer.echo(report.model_dump_json())
        else:
            typer.echo(report.reason)
            for v in report.added:
                typer.echo(f"  {v.variant_id}: {v.text}")


@experiment_app.command("close")
def close(
    experiment_id: str = typer.Argument(..., metavar="EXP"),
    export: Optional[Path] = typer.Option(None, "--export", help="also write the A/B log (train-scorer --ab-log format) here"),
    no_index: bool = typer.Option(False, "--no-index", help="do not add the winner to the retrieval store"),
    as_json: bool = typer.Option(False, "--json", help="print the close report"),
) -> None:
    """Close: export the A/B log, index the winner into the retrieval store, serve the winner."""
    setup_logging(quiet=True)
    with surface_errors():
        from copyloop.experiments import Experiment

        report = Experiment.open(experiment_id).close(export, index=not no_index)
        if as_json:
            typer.echo(report.model_dump_json())
            return
        typer.echo(f"closed {report.experiment_id}: " + (f"winner {report.winner}" if report.winner else "no winner") + f" ({report.reason})")
        typer.echo(f"A/B log: {report.exported_rows} rows → {report.export_path or report.ab_log_path}")
        if report.indexed:
            typer.echo(f"indexed into the retrieval store: {', '.join(report.indexed)}")
        typer.echo(f"retrain the scorer on the shop's log: {report.retrain_command}")


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
