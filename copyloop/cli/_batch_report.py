"""Rich rendering of a BatchSummary (the table ``copyloop batch`` prints at the end)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from copyloop.batch import BatchSummary
from copyloop.batch.diversity import DiversityReport


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:.1%}" if pct else f"{v:.3f}"


def summary_table(s: BatchSummary) -> Table:
    t = Table(title=("Dry run" if s.dry_run else "Batch") + f" {s.job_id}", show_header=False, title_justify="left")
    t.add_column("what", style="bold")
    t.add_column("value")
    t.add_row("input", escape(str(s.source)))
    t.add_row("channels", ", ".join(s.channels))
    t.add_row("products", str(s.products))
    t.add_row("items planned", str(s.items))
    if s.dry_run:
        t.add_row("already finished", str(s.skipped))
        t.add_row("would run", f"{s.pending} item(s) with {s.workers} worker(s)")
    else:
        t.add_row("done (this run)", str(s.done))
        t.add_row("skipped (finished before)", str(s.skipped))
        t.add_row("failed", f"[red]{s.failed}[/]" if s.failed else "0")
        if s.pending:
            t.add_row("unfinished", str(s.pending))
        t.add_row("mean score", _fmt(s.mean_score))
        t.add_row("pass rate", _fmt(s.pass_rate, pct=True))
        t.add_row("redrafted for diversity", f"{s.redrafted} accepted of {s.redraft_attempts} tried")
        t.add_row("seconds", f"{s.seconds:.1f}")
        t.add_row("items/s", _fmt(s.items_per_second))
        t.add_row("products/min", _fmt(s.products_per_minute))
        t.add_row("workers", f"{s.workers} Ray actor(s)" if s.engine == "ray" else str(s.workers))
        t.add_row("output", escape(str(s.output)))
    t.add_row("bad input rows", f"[red]{s.bad_rows}[/]" if s.bad_rows else "0")
    if s.bad_rows or s.failed:
        t.add_row("errors file", escape(str(s.errors_path)))
    return t


def diversity_table(before: DiversityReport, after: DiversityReport | None) -> Table:
    t = Table(title="Catalog diversity", title_justify="left")
    t.add_column("")
    t.add_column("before")
    t.add_column("after")
    a = after or DiversityReport()
    t.add_row("mean pairwise similarity", _fmt(before.mean_similarity), _fmt(a.mean_similarity))
    t.add_row("max similarity", _fmt(before.max_similarity), _fmt(a.max_similarity))
    t.add_row("near-duplicate pairs", str(before.near_duplicates), str(a.near_duplicates))
    for i in range(max(len(before.top_phrases), len(a.top_phrases))):
        b = before.top_phrases[i] if i < len(before.top_phrases) else None
        c = a.top_phrases[i] if i < len(a.top_phrases) else None
        t.add_row(
            "top phrases" if i == 0 else "",
            escape(f"{b.phrase!r} x{b.texts}") if b else "",
            escape(f"{c.phrase!r} x{c.texts}") if c else "",
        )
    return t


def print_summary(s: BatchSummary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(s))
    if s.diversity_before is not None:
        console.print(diversity_table(s.diversity_before, s.diversity_after))
    for e in s.bad_row_examples:
        console.print(f"[yellow]row {e.row}[/] {escape(e.product_id or '')}: {escape(e.reason)}", highlight=False)
    if s.bad_rows > len(s.bad_row_examples):
        console.print(f"... and {s.bad_rows - len(s.bad_row_examples)} more in {escape(str(s.errors_path))}")
