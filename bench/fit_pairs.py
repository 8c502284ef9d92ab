"""Does the score prefer specific copy over generic copy for the same product? (issue #11)

    .venv/bin/python bench/fit_pairs.py [--products 30] [--csv ../shared/data/amazon_products/products.csv]

For each held-out catalog product (agents/artifacts/drafter_lora.heldout.txt) and each of
google_ads_headline, product_description and amazon_bullet it builds

- *specific* copy: the product's own rule-based copy (the plan drafter without a model) and, where
  the channel fits, the seller's own text (title cut to the headline limit, the seller's bullets);
- *generic* copy: the filler the loop used to pass ("The Best Product Ever", "Good Product",
  "Quality Toys", ...), generic descriptions and bullets, and another product's specific copy
  (off-topic: what leaked exemplars looked like);

and counts the (specific, generic) pairs of the same product and channel that the scorer orders
the right way: with product fit (the default when the graph scores) and with click appeal alone
(the news-headline model by itself). It also prints the product fit of the seller's own copy, the
reference ``FIT_REFERENCE`` in agents/scorer.py is set from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "amazon_products" / "products.csv"
HELDOUT = ROOT / "agents" / "artifacts" / "drafter_lora.heldout.txt"

GENERIC = {
    "google_ads_headline": [
        "The Best Product Ever", "Good Product", "Quality Toys", "Beautiful Kids", "Gentle, Fun", "Glittery Glamour",
        "Beautiful and Well-Meaning", "Beach Home", "Great Gift Idea", "Shop Now and Save", "Fun for Everyone",
        "You Will Love It",
    ],
    "product_description": [
        "This is a great product made of good materials. It is perfect for all ages and makes a great gift for any "
        "occasion. Kids and adults will love it, and it is a favorite among our customers. We have been around for "
        "decades and are a trusted brand. You won't be disappointed with this must-have item. Order yours today.",
        "A wonderful, fun-filled day at the beach is waiting for you. The flat is perfect for a swaddle blanket, and "
        "it comes pre-seasoned with vegetable oil, so it holds heat evenly. Everyone in the family will love it, "
        "and it is easy to clean. What are you waiting for? Add it to your cart today.",
    ],
    "amazon_bullet": [
        "HIGH QUALITY: Made of good materials that last.\nGREAT GIFT: A great gift for any occasion.\n"
        "FOR ALL AGES: Perfect for all ages.\nFUN: Kids and adults will love it.\nSATISFACTION: A favorite among customers.",
        "SOLD OUT: Get it before it is gone.\nBEST EVER: The best product ever made.\nTRUSTED BRAND: Around for decades.\n"
        "LOVED BY ALL: Everyone loves it.\nPREMIUM: Premium quality you can feel.",
    ],
}


def seller_copy(product, channel: str) -> str:  # noqa: ANN001
    from copyloop.tools.realize import _smart_title

    if channel == "google_ads_headline":
        words, out = product.title.split(), ""
        for w in words:
            if len(out) + len(w) + 1 > 30:
                break
            out = f"{out} {w}".strip()
        return _smart_title(out.strip(" ,-"))
    if channel == "amazon_bullet":
        return "\n".join(f for f in product.facts[:5])
    return " ".join(product.facts[:6])[:900]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=30)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "fit_pairs.json")
    args = ap.parse_args(argv)

    from copyloop.agents.plan_drafter import PlanDrafter
    from copyloop.agents.scorer import FIT_REFERENCE, ConversionScorer
    from copyloop.tools.catalog import read_catalog
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.quality import assess

    ids = {line.strip() for line in HELDOUT.read_text().splitlines() if line.strip() and not line.startswith("#")}
    products = [r.product for r in read_catalog(args.csv) if r.product is not None and r.product.id in ids][: args.products]
    registry = ChannelRegistry()
    drafter = PlanDrafter(None, use_llm=False)
    scorer = ConversionScorer.load()
    started = time.perf_counter()
    own: dict[tuple[str, str], list[str]] = {}
    for p in products:
        for ch in GENERIC:
            spec = registry.get(ch)
            texts = [d.text for d in drafter.draft(p, spec, n=2, seed=0)]
            own[(p.id, ch)] = texts
    results: dict[str, dict[str, int]] = defaultdict(lambda: {"pairs": 0, "with_fit": 0, "appeal_only": 0})
    seller_fit: dict[str, list[float]] = defaultdict(list)
    for k, p in enumerate(products):
        other = products[(k + 1) % len(products)]
        for ch, generic in GENERIC.items():
            spec = registry.get(ch)
            specific = list(own[(p.id, ch)])
            seller = seller_copy(p, ch)
            seller_fit[ch].append(assess(seller, p, spec).fit)
            if ch != "product_description":
                specific.append(seller)
            bad = list(generic) + own[(other.id, ch)][:1]
            texts = specific + bad
            fit = scorer.score(texts, channel=ch, product=p, spec=spec)
            plain = scorer.score(texts, channel=ch)
            for i in range(len(specific)):
                for j in range(len(specific), len(texts)):
                    r = results[ch]
                    r["pairs"] += 1
                    r["with_fit"] += int(fit[i].score > fit[j].score)
                    r["appeal_only"] += int(plain[i].score > plain[j].score)
    total = {"pairs": 0, "with_fit": 0, "appeal_only": 0}
    print(f"{len(products)} held-out products; FIT_REFERENCE = {FIT_REFERENCE}")
    print(f"{'channel':22s} {'pairs':>6s} {'with fit':>9s} {'appeal only':>12s} {'seller copy fit (mean)':>24s}")
    for ch, r in results.items():
        for key in total:
            total[key] += r[key]
        sf = sum(seller_fit[ch]) / len(seller_fit[ch])
        print(f"{ch:22s} {r['pairs']:6d} {r['with_fit'] / r['pairs']:9.3f} {r['appeal_only'] / r['pairs']:12.3f} {sf:24.3f}")
    print(f"{'all':22s} {total['pairs']:6d} {total['with_fit'] / total['pairs']:9.3f} {total['appeal_only'] / total['pairs']:12.3f}")
    print(f"{time.perf_counter() - started:.1f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "products": len(products), "fit_reference": FIT_REFERENCE,
        "per_channel": {ch: {**r, "accuracy_with_fit": r["with_fit"] / r["pairs"], "accuracy_appeal_only": r["appeal_only"] / r["pairs"],
                             "seller_copy_fit": sum(seller_fit[ch]) / len(seller_fit[ch])} for ch, r in results.items()},
        "all": {**total, "accuracy_with_fit": total["with_fit"] / total["pairs"], "accuracy_appeal_only": total["appeal_only"] / total["pairs"]},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
