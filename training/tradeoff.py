"""The creativity–conversion trade-off: what λ buys, measured on the scored candidates.

For each λ of a grid, every prompt's candidates are reranked by R_λ (hard filters still apply)
and the winners' mean predicted conversion is set against their creativity: the diversity
critic's score (novelty against retrieved exemplars and other products' copy) and distinct-2 of
the winners. λ = 0 picks for conversion alone, λ = 1 for novelty alone. The elbow is the λ
whose point lies farthest from the straight line between the two extremes (the "kneedle"
rule): past it, more creativity costs conversion quickly.

This reranking sweep is cheap (no training per λ) and is exactly the choice the reward makes
when it picks fine-tuning targets, so it shows what the adapter is taught at each λ.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Sequence

from copyloop.training.reward import RewardWeights


def sweep_lambda(groups: Sequence[Any], weights: RewardWeights, lambdas: Sequence[float]) -> list[dict[str, float]]:
    """One row per λ: mean conversion, creativity and distinct-2 of the per-prompt winners."""
    from copyloop.tools.text import distinct_n

    rows: list[dict[str, float]] = []
    for lam in sorted(set(float(x) for x in lambdas)):
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"λ must be in [0, 1], got {lam}")
        w = weights.model_copy(update={"lam": lam, "lambda_by_category": {}})
        winners = []
        for g in groups:
            r, best = g.ranked(w)[0]
            if best.hard_pass and r > 0:
                winners.append(best)
        if not winners:
            continue
        rows.append(
            {
                "lambda": lam,
                "conversion": round(statistics.fmean(c.conversion for c in winners), 4),
                "creativity": round(statistics.fmean(c.diversity for c in winners), 4),
                "distinct2": round(float(distinct_n([c.text for c in winners], 2)), 4),
                "seller_share": round(sum(c.source == "seller" for c in winners) / len(winners), 4),
                "winners": len(winners),
            }
        )
    return rows


def elbow(rows: Sequence[dict[str, float]]) -> float | None:
    """λ of the point farthest from the chord between the first and last points (None if < 3)."""
    if len(rows) < 3:
        return None
    xs = [r["creativity"] for r in rows]
    ys = [r["conversion"] for r in rows]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    pts = [((x - min(xs)) / span_x, (y - min(ys)) / span_y) for x, y in zip(xs, ys)]
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    dx, dy = x1 - x0, y1 - y0
    norm = (dx * dx + dy * dy) ** 0.5
    if norm == 0:
        return None
    dist = [abs(dy * x - dx * y + x1 * y0 - y1 * x0) / norm for x, y in pts]
    best = max(range(len(rows)), key=lambda i: (dist[i], -i))
    return rows[best]["lambda"] if dist[best] > 0 else None


def plot_tradeoff(rows: Sequence[dict[str, float]], knee: float | None, path: Path, *, chosen_lambda: float | None = None) -> Path:
    """Save creativity (x) against predicted conversion (y), λ annotated, elbow marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=90)
    xs = [r["creativity"] for r in rows]
    ys = [r["conversion"] for r in rows]
    ax.plot(xs, ys, "-o", color="#3b6ea8", markersize=4, label="winners per prompt, reranked by R_λ")
    # several λ often pick the same winners: one label per distinct point ("λ=0.2–0.8")
    labels: dict[tuple[float, float], list[float]] = {}
    for r in rows:
        labels.setdefault((r["creativity"], r["conversion"]), []).append(r["lambda"])
    for (x, y), lams in labels.items():
        text = f"λ={lams[0]:g}" if len(lams) == 1 else f"λ={min(lams):g}–{max(lams):g}"
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if knee is not None:
        k = next(r for r in rows if r["lambda"] == knee)
        ax.plot([k["creativity"]], [k["conversion"]], "s", color="#d0473b", markersize=9, fillstyle="none", label=f"elbow (λ={knee:g})")
    if chosen_lambda is not None:
        c = min(rows, key=lambda r: abs(r["lambda"] - chosen_lambda), default=None)
        if c is not None:
            ax.plot([c["creativity"]], [c["conversion"]], "*", color="#2a9d5b", markersize=11, label=f"training λ={chosen_lambda:g}")
    ax.set_xlabel("creativity (diversity critic: novelty vs exemplars and other products)")
    ax.set_ylabel("predicted conversion (scorer)")
    ax.set_title("Creativity vs conversion across λ", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def format_table(rows: Sequence[dict[str, float]], knee: float | None) -> str:
    """The sweep as a plain-text table (printed by the CLI)."""
    head = f"{'lambda':>6} {'conversion':>10} {'creativity':>10} {'distinct2':>9} {'seller':>6} {'n':>4}"
    lines = [head]
    for r in rows:
        mark = "  <- elbow" if knee is not None and r["lambda"] == knee else ""
        lines.append(
            f"{r['lambda']:>6.2f} {r['conversion']:>10.4f} {r['creativity']:>10.4f} {r['distinct2']:>9.4f} "
            f"{r['seller_share']:>6.2f} {int(r['winners']):>4}{mark}"
        )
    return "\n".join(lines)


__all__ = ["elbow", "format_table", "plot_tradeoff", "sweep_lambda"]
