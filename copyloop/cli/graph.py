"""``copyloop graph``: draw the refinement graph and the session graph with LangGraph's own drawing.

Mermaid is LangGraph's ``get_graph().draw_mermaid()`` as is. For PNG, LangGraph offers
``draw_mermaid_png`` (which renders on mermaid.ink, or in a browser that fetches mermaid.js from a
CDN — both online) and ``draw_png`` (pygraphviz, a C extension most machines lack, one graph per
file); copyloop stays offline, so it lays out LangGraph's own node and edge list
(``get_graph()``) with matplotlib: layers by distance from the start, conditional edges dashed as in
LangGraph's drawings, both graphs side by side in one image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors


def graphs(channel: str | None = None, critic_names: list[str] | None = None) -> dict[str, Any]:
    """The compiled graphs to draw: {"refinement graph": ..., "session graph": ...}."""
    from langgraph.checkpoint.memory import InMemorySaver

    from copyloop.chat.graph import build_session_graph
    from copyloop.graph.build import build_graph

    title = "refinement graph" + (f" ({channel})" if channel else "")
    return {title: build_graph(critic_names=critic_names), "session graph": build_session_graph(InMemorySaver())}


def _layers(g: Any) -> dict[str, int]:
    """Longest distance from the start once the loops' back edges (found by depth-first search:
    an edge to a node still on the search stack) are set aside; the end node goes last."""
    out: dict[str, list[str]] = {}
    for e in g.edges:
        out.setdefault(e.source, []).append(e.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(n: str) -> None:
        state[n] = 1
        for t in out.get(n, []):
            if state.get(t) == 1:
                back.add((n, t))
            elif t not in state:
                visit(t)
        state[n] = 2

    start = "__start__" if "__start__" in g.nodes else next(iter(g.nodes))
    visit(start)
    for n in g.nodes:
        if n not in state:
            visit(n)
    layer = {n: 0 for n in g.nodes}
    for _ in range(len(g.nodes)):  # relax forward edges until longest paths settle
        changed = False
        for src, targets in out.items():
            for t in targets:
                if (src, t) not in back and layer[t] < layer[src] + 1:
                    layer[t] = layer[src] + 1
                    changed = True
        if not changed:
            break
    if "__end__" in layer:
        layer["__end__"] = max(v for k, v in layer.items() if k != "__end__") + 1
    return layer


def render_png(named: dict[str, Any], path: Path) -> None:
    """One PNG with every graph side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    drawn = [(title, compiled.get_graph()) for title, compiled in named.items()]
    widths = []
    for _, g in drawn:
        layers = _layers(g)
        per = {}
        for n, l in layers.items():
            per[l] = per.get(l, 0) + 1
        widths.append(max(per.values()))
    step = 2.0  # data units between neighbours: boxes are 1.6 wide
    fig, axes = plt.subplots(1, len(drawn), figsize=(sum(max(3.5, 1.6 * w) for w in widths), 9), squeeze=False,
                             gridspec_kw={"width_ratios": [max(2, w) for w in widths]})
    for ax, (title, g), width in zip(axes[0], drawn, widths):
        layers = _layers(g)
        by_layer: dict[int, list[str]] = {}
        for n in g.nodes:
            by_layer.setdefault(layers[n], []).append(n)
        depth = max(by_layer) + 1
        pos: dict[str, tuple[float, float]] = {}
        span = max(2, width) * step
        for l, names in by_layer.items():
            for k, n in enumerate(names):
                pos[n] = ((k + 0.5) / len(names) * span, depth - l)
        for e in g.edges:
            (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
            back = y2 >= y1
            style = "arc3,rad=0.45" if back else "arc3,rad=0.0"
            ax.add_patch(FancyArrowPatch((x1, y1 - 0.18), (x2, y2 + 0.18), connectionstyle=style, arrowstyle="-|>",
                                         mutation_scale=12, color="#555", lw=1.0, linestyle="--" if e.conditional else "-"))
        for n, (x, y) in pos.items():
            label = n.strip("_")
            start_end = n in ("__start__", "__end__")
            box = FancyBboxPatch((x - 0.8, y - 0.18), 1.6, 0.36, boxstyle="round,pad=0.02,rounding_size=0.15",
                                 fc="#e8eefc" if not start_end else "#d9f2e3", ec="#3a4a7a", lw=1.0)
            ax.add_patch(box)
            ax.text(x, y, label, ha="center", va="center", fontsize=9)
        ax.set_xlim(-0.2, span + 0.2)
        ax.set_ylim(0.3, depth + 0.6)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    @app.command("graph")
    def graph(
        channel: Optional[str] = typer.Option(None, "--channel", "-c", help="label the refinement graph with this channel (checked)"),
        fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid (text) or png"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="file to write (default: stdout for mermaid, copyloop-graph.png for png)"),
    ) -> None:
        """Draw the refinement graph (a node per critic) and the chat session graph."""
        setup_logging(quiet=True)
        with surface_errors():
            from copyloop.errors import InputError
            from copyloop.settings import Settings
            from copyloop.tools.channels import ChannelRegistry

            if fmt not in ("mermaid", "png"):
                raise InputError(f"--format must be mermaid or png, got {fmt!r}", field="format")
            if channel:
                ChannelRegistry(Settings().channels or None).get(channel)  # unknown channel: clear error
            named = graphs(channel)
            if fmt == "mermaid":
                text = "\n".join(f"%% {title}\n{compiled.get_graph().draw_mermaid()}" for title, compiled in named.items())
                if out is None:
                    typer.echo(text)
                else:
                    out.write_text(text, encoding="utf-8")
                    typer.echo(f"wrote {out}")
                return
            path = out or Path("copyloop-graph.png")
            render_png(named, path)
            typer.echo(f"wrote {path}")
