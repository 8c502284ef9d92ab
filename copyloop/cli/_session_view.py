"""Rich rendering of session objects for ``copyloop chat``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from copyloop.chat.session import Scorecard, Turn, Version


def version_panel(version: "Version", *, note: str | None = None, title: str | None = None) -> Panel:
    """A draft with its score and rule verdict."""
    if version.hard_pass:
        rules = Text("passes every rule", style="green")
    else:
        rules = Text("breaks: " + "; ".join(version.hard_failures), style="red")
    head = Text.assemble(f"score {version.score:.2f} / threshold {version.threshold:.2f}  ·  ", rules)
    parts: list[object] = []
    if note:
        parts += [Text(note, style="yellow"), Text("")]
    parts += [Text(version.text, style="bold"), Text(""), head]
    name = title or f"v{version.index} · {version.channel}"
    return Panel(Group(*parts), title=escape(name), title_align="left", expand=True)


def score_table(card: "Scorecard") -> Table:
    table = Table(title=f"score {card.score:.2f} (threshold {card.threshold:.2f}) · {card.channel}", expand=True)
    table.add_column("critic", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("message", ratio=3)
    for c in card.critiques:
        verdict = Text("pass", style="green") if c.passed else Text("FAIL", style="red" if c.hard else "yellow")
        table.add_row(c.critic, "hard" if c.hard else "soft", f"{c.score:.2f}", verdict, escape(c.message))
    for name in card.passed_critics:
        table.add_row(name, "", "", Text("pass", style="green"), "")
    if card.explanation:
        table.caption = card.explanation
    return table


def history_table(turns: "list[Turn]") -> Table:
    table = Table(title="history", expand=True)
    table.add_column("time", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("text", ratio=3)
    for t in turns:
        when = dt.datetime.fromtimestamp(t.at).strftime("%H:%M:%S") if t.at else ""
        text = t.text if not t.reasons else f"{t.text}  ({'; '.join(t.reasons)})" if t.kind != "refusal" else "; ".join(t.reasons)
        version = f" v{t.version}" if t.version is not None else ""
        table.add_row(when, t.role, t.kind + version, escape(text))
    return table


HELP = (
    "Type a request to revise the copy (\"shorter\", \"mention it is dishwasher safe\").\n"
    "Commands: /accept  /undo  /variants [n]  /pick N  /regenerate  /score  /channel NAME  /history  /help  /quit"
)
