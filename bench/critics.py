"""Critic and rule-code cost per draft, on real catalog copy.

The refinement loop runs five critics on every candidate of every round, plus ``clean`` and the
grounding repair; this prints what that costs per call so the "time outside the LLM" budget of
the loop can be checked. Drafts are the sellers' own bullet text of the first N products of the
shared Amazon catalog (real marketing copy of realistic length), judged as product descriptions
against their own product; run_texts are the other products' drafts.

    .venv/bin/python bench/critics.py --products 30

Prints mean milliseconds per call for each critic, ``clean``, ``remove_unsupported`` and
``check_request``. Nothing here asserts timings.

``--rounds`` also times whole refinement rounds through two shapes of the graph in the same run,
interleaved product by product (issue #12: one node per critic must not make a round slower):
the default graph (one node per critic, in parallel, joining at ``score``) and the same graph with
every critic in a single node (``build_graph(critic_names=())``, the shape before issue #12). The
round is the real one (the rule-based round 0 of the plan drafter, the real critics, embedder and
conversion scorer; no retrieval, no model call), and the two shapes must return the same copy and
score.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=30)
    parser.add_argument("--catalog", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/amazon_products/products.csv")
    parser.add_argument("--no-embedder", action="store_true", help="diversity by word overlap only")
    parser.add_argument("--rounds", action="store_true", help="also time whole rounds through both graph shapes")
    parser.add_argument("--channels", default="product_description,google_ads_headline,amazon_bullet")
    parser.add_argument("--candidates", type=int, default=3)
    args = parser.parse_args()

    from copyloop.agents.critics import CriticContext, default_critics
    from copyloop.tools.catalog import read_catalog
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.claims import remove_unsupported
    from copyloop.tools.policy import check_request
    from copyloop.tools.postprocess import clean
    from copyloop.tools.schemas import Draft

    if not args.catalog.is_file():
        print(f"catalog not found: {args.catalog}", file=sys.stderr)
        return 2
    products = [r.product for r in read_catalog(args.catalog, limit=args.products * 2) if r.product and r.product.facts][: args.products]
    spec = ChannelRegistry().get("product_description")
    embedder = None
    if not args.no_embedder:
        from copyloop.tools.embeddings import load_embedder

        t = time.perf_counter()
        embedder = load_embedder()
        print(f"embedder load: {time.perf_counter() - t:.1f} s")
    drafts = [" ".join(p.facts[:5]) for p in products]
    critics = default_critics()
    timings: dict[str, list[float]] = {c.name: [] for c in critics}
    for extra in ("clean", "remove_unsupported", "check_request"):
        timings[extra] = []
    failed: dict[str, int] = {c.name: 0 for c in critics}
    for i, (product, text) in enumerate(zip(products, drafts)):
        ctx = CriticContext(product=product, spec=spec, run_texts=drafts[:i][-20:], embedder=embedder)
        draft = Draft(text=text)
        for c in critics:
            t = time.perf_counter()
            verdict = c.critique(draft, ctx)
            timings[c.name].append((time.perf_counter() - t) * 1000)
            failed[c.name] += not verdict.passed
        for name, fn in (
            ("clean", lambda: clean(text, spec)),
            ("remove_unsupported", lambda: remove_unsupported(text, product)),
            ("check_request", lambda: check_request("shorter, and mention the 2-year warranty", spec, product)),
        ):
            t = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - t) * 1000)
    print(f"{len(products)} products, drafts of {statistics.mean(len(d.split()) for d in drafts):.0f} words on average")
    print(f"{'step':<20}{'mean ms':>10}{'p95 ms':>10}{'failed':>8}")
    for name, ms in timings.items():
        p95 = sorted(ms)[int(0.95 * (len(ms) - 1))]
        print(f"{name:<20}{statistics.mean(ms[1:] or ms):>10.2f}{p95:>10.2f}{failed.get(name, ''):>8}")
    total = sum(statistics.mean(timings[c.name][1:] or timings[c.name]) for c in critics)
    print(f"all {len(critics)} critics: {total:.1f} ms per draft (first call excluded: VADER lexicon load)")
    if args.rounds:
        compare_graph_shapes(products, embedder, args.channels.split(","), args.candidates)
    return 0


def compare_graph_shapes(products: list, embedder: object, channels: list[str], candidates: int) -> None:
    """Time one refinement round per product and channel through both graph shapes, interleaved."""
    from copyloop.agents.llm import FakeLLM
    from copyloop.engine import Engine
    from copyloop.graph.build import build_graph
    from copyloop.settings import Settings

    def engine() -> Engine:
        e = Engine(Settings(), llm=FakeLLM(default=lambda call, i: "unused"), store=None, embedder=embedder)
        e.load()
        return e

    per_critic, one_node = engine(), engine()
    one_node._graph = build_graph(critic_names=())
    shapes = {"node per critic": per_critic, "one critique node": one_node}
    ms: dict[str, list[float]] = {k: [] for k in shapes}
    differ = 0
    for channel in channels:
        for i, product in enumerate(products):
            order = list(shapes.items()) if i % 2 == 0 else list(shapes.items())[::-1]
            results = {}
            for name, e in order:
                t = time.perf_counter()
                results[name] = e.refine(product, channel, max_iterations=1, candidates=candidates, seed=i)
                ms[name].append((time.perf_counter() - t) * 1000)
            a, b = results.values()
            differ += (a.text, round(a.score, 6)) != (b.text, round(b.score, 6))
    n = len(ms["node per critic"])
    print(f"\none refinement round ({candidates} candidates, {', '.join(channels)}; {n} rounds per shape, interleaved;"
          " first round of each shape excluded: warm-up)")
    print(f"{'graph shape':<22}{'mean ms':>10}{'median ms':>11}{'p95 ms':>10}")
    for name, xs in ms.items():
        xs = xs[1:] or xs
        print(f"{name:<22}{statistics.mean(xs):>10.1f}{statistics.median(xs):>11.1f}{sorted(xs)[int(0.95 * (len(xs) - 1))]:>10.1f}")
    ratio = statistics.median(ms["node per critic"][1:]) / statistics.median(ms["one critique node"][1:])
    print(f"node per critic / one node (median): {ratio:.2f}x; rounds whose copy or score differ: {differ} of {n}")


if __name__ == "__main__":
    raise SystemExit(main())
