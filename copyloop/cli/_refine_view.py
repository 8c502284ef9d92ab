"""Rich rendering of ``RefineResult`` for ``copyloop refine`` and ``copyloop demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from copyloop.graph.result import RefineResult


def verdict(result: "RefineResult") -> Text:
    if result.passed:
        return Text("PASSED", style="bold green")
    style = "bold red" if result.stop_reason in ("no_valid_draft", "llm_failed") else "bold yellow"
    return Text("NOT PASSED", style=style)


def result_panel(result: "RefineResult", title: str | None = None, seconds: float | None = None) -> Panel:
    """The returned copy with its score, stop reason and open critiques."""
    head = Text.assemble(
        verdict(result),
        f"  score {result.score:.2f} / threshold {result.threshold:.2f}",
        f"  ·  {result.stop_reason}",
        f"  ·  {result.iterations} round{'s' if result.iterations != 1 else ''}",
        *( [f"  ·  first draft {result.first_draft_score:.2f}"] if result.first_draft_score is not None else [] ),
        *( [f"  ·  {seconds:.1f} s"] if seconds is not None else [] ),
    )
    parts: list[object] = [head, Text(""), Text(result.text or "(no text)", style="bold")]
    if result.critiques:
        parts.append(Text(""))
        for c in result.critiques:
            kind = "hard" if c.hard else "soft"
            parts.append(Text.from_markup(f"[dim]open {kind}[/] [cyan]{escape(c.critic)}[/]: {escape(c.message)}"))
    if result.explanation:
        parts.append(Text(""))
        parts.append(Text(result.explanation, style="dim"))
    for w in result.warnings:
        parts.append(Text(f"warning: {w}", style="yellow"))
    name = title or f"{result.channel}" + (f" · {result.product_id}" if result.product_id else "")
    return Panel(Group(*parts), title=escape(name), title_align="left", expand=True)


def trace_table(result: "RefineResult") -> Table:
    """One row per candidate of every round, plus the feedback each round sent on."""
    table = Table(title="Refinement trace", show_lines=False, expand=True)
    table.add_column("round", justify="right", no_wrap=True)
    table.add_column("cand", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("rules", no_wrap=True)
    table.add_column("failed critics")
    table.add_column("text", ratio=3)
    for it in result.trace:
        if not it.candidates:
            table.add_row(str(it.iteration + 1), "-", "-", "-", it.decision, "")
        for i, c in enumerate(it.candidates):
            best = c.text == it.best_text
            table.add_row(
                str(it.iteration + 1) if i == 0 else "",
                f"{i + 1}{'*' if best else ''}",
                f"{c.score:.2f}",
                Text("pass", style="green") if c.hard_pass else Text("FAIL", style="red"),
                ", ".join(c.failed),
                escape((f"[{c.angle}] " if c.angle else "") + c.text),
            )
        tail = f"→ {it.decision} ({it.seconds:.1f} s)"
        if it.feedback:
            tail += "  feedback: " + " | ".join(it.feedback)
        table.add_row("", "", "", "", "", Text(tail, style="dim italic"), end_section=True)
    return table


def print_result(console: Console, result: "RefineResult", *, trace: bool = False, seconds: float | None = None) -> None:
    if trace:
        console.print(trace_table(result))
    console.print(result_panel(result, seconds=seconds))
