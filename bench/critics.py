"""Critic and rule-code cost per draft, on real catalog copy.

The refinement loop runs five critics on every candidate of every round, plus ``clean`` and the
grounding repair; this prints what that costs per call so the "time outside the LLM" budget of
the loop can be checked. Drafts are the sellers' own bullet text of the first N products of the
shared Amazon catalog (real marketing copy of realistic length), judged as product descriptions
against their own product; run_texts are the other products' drafts.

    .venv/bin/python bench/critics.py --products 30

Prints mean milliseconds per call for each critic, ``clean``, ``remove_unsupported`` and
``check_request``. Nothing here asserts timings.
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
    print(f"all five critics: {total:.1f} ms per draft (first call excluded: VADER lexicon load)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
