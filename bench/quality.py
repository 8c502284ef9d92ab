"""Is the copy something a marketer would publish? Today's drafter and the new one, side by side.

    .venv/bin/python bench/quality.py [--products 30] [--skip 0] [--variants freeform,plan,plan-rules]
                                      [--channels product_description,google_ads_headline,amazon_bullet]
                                      [--out bench/out/quality]

Runs the full refinement loop (real SmolLM2 + the bundled adapter, real scorer, real retrieval
store, default settings) on held-out catalog products (agents/artifacts/drafter_lora.heldout.txt:
never trained on) for each drafter variant:

- ``freeform``: the drafter before issue #11 (one prompt writes the whole copy);
- ``plan``: plan-then-realise, the model realising each planned fact under a grammar of the
  fact's words, rule-based sentence when no sample passes (the default);
- ``plan-rules``: the same plan with rule-based sentences only (``fact_samples=0``, no model).

Per variant it prints, measured on the *returned* copy (the figures the issue asks for):

- off-topic units: sentences / bullets / headlines closer in MiniLM space to another product's
  data (the other products of the run) than to this product's own data;
- names the product: headlines and descriptions that name it, its type or its brand;
- unsupported soft claims (popularity, reputation, awards, scarcity, superlatives) per copy;
- unsupported claims of any kind (numbers, materials, words not in the data, ...) per copy;
- facts per description; generic filler per copy;
- passed (what the loop says) and *honest* pass rate: passed and publishable by the independent
  checks above (names, >= 3 facts in a description, labelled fact bullets, nothing unsupported,
  no filler, no leftover prompt text, on topic);
- mean score; seconds per product (all channels).

Results go to ``<out>/<variant>.jsonl`` (a re-run skips finished items) and a side-by-side report
with the seller's own copy to ``<out>/report.md`` for a person to read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "amazon_products" / "products.csv"
HELDOUT = ROOT / "agents" / "artifacts" / "drafter_lora.heldout.txt"
CHANNELS = "product_description,google_ads_headline,amazon_bullet"


def settings_for(variant: str, home: Path) -> Any:
    from copyloop.settings import Settings

    llm: dict[str, Any] = {"drafter": "freeform"} if variant == "freeform" else {"drafter": "plan"}
    if variant == "plan-rules":
        llm["fact_samples"] = 0
    if variant.endswith("-base"):
        llm["lora_path"] = "none"
    return Settings(home=home, llm=llm)


def units_of(text: str, channel: str) -> list[str]:
    from copyloop.tools.text import bullet_items, sentences
    from copyloop.tools.vocab import content_words

    parts = bullet_items(text) if channel == "amazon_bullet" else sentences(text) if channel == "product_description" else [text]
    return [p for p in parts if len(content_words(p)) >= 2]


def run_variant(variant: str, products: list[Any], channels: list[str], out: Path, home: Path) -> None:
    from copyloop.engine import Engine

    path = out / f"{variant}.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done.add((row["product_id"], row["channel"]))
    engine = Engine(settings_for(variant, home / variant)).load()
    with path.open("a", encoding="utf-8") as fh:
        for p in products:
            for ch in channels:
                if (p.id, ch) in done:
                    continue
                t0 = time.perf_counter()
                r = engine.refine(p, ch, seed=0)
                row = {"product_id": p.id, "channel": ch, "text": r.text, "score": r.score, "passed": r.passed,
                       "stop_reason": r.stop_reason, "iterations": r.iterations, "seconds": time.perf_counter() - t0,
                       "load": os.getloadavg()[0]}
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"[{variant}] {p.id[:8]} {ch:22s} {r.stop_reason:15s} {r.score:.2f} {row['seconds']:6.1f}s", flush=True)


def evaluate(variant: str, products: dict[str, Any], out: Path, embedder: Any) -> dict[str, Any]:
    import numpy as np

    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.claims import unsupported_claims
    from copyloop.tools.quality import assess

    rows = [json.loads(line) for line in (out / f"{variant}.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["product_id"] in products]
    registry = ChannelRegistry()
    ids = list(products)
    data_vecs = embedder.encode([products[i].fact_text()[:2000] for i in ids])
    index = {pid: k for k, pid in enumerate(ids)}
    off = units = 0
    names = name_total = 0
    soft = unsupported = filler = 0
    facts_desc: list[int] = []
    honest = passed = 0
    per_row = []
    for r in rows:
        p = products[r["product_id"]]
        spec = registry.get(r["channel"])
        text = r["text"] or ""
        rep = assess(text, p, spec)
        parts = units_of(text, r["channel"])
        off_here = 0
        if parts:
            vecs = embedder.encode(parts)
            sims = vecs @ data_vecs.T
            own = sims[:, index[p.id]]
            others = np.delete(sims, index[p.id], axis=1).max(axis=1) if len(ids) > 1 else np.zeros(len(parts))
            off_here = int((others > own).sum())
            off += off_here
            units += len(parts)
        if r["channel"] in ("product_description", "google_ads_headline"):
            name_total += 1
            names += int(bool(rep.names))
        soft += len(rep.soft_claims)
        bad = unsupported_claims(text, p) if text else []
        unsupported += int(bool(bad))
        filler += int(bool(rep.filler))
        if r["channel"] == "product_description":
            facts_desc.append(len(rep.facts_used))
        publishable = bool(text) and not bad and not rep.filler and not rep.leftovers and not rep.voice and off_here == 0 \
            and (rep.names is not False or not rep.needs_name) and not (rep.needs_facts and len(rep.facts_used) < rep.needs_facts) \
            and not rep.unlabeled_bullets and not rep.factless_bullets
        passed += int(r["passed"])
        honest += int(r["passed"] and publishable)
        per_row.append({**r, "publishable": publishable, "off_topic_units": off_here})
    n = max(1, len(rows))
    secs = {}
    for r in rows:
        secs[r["product_id"]] = secs.get(r["product_id"], 0.0) + r["seconds"]
    return {
        "variant": variant,
        "runs": len(rows),
        "off_topic_unit_rate": off / max(1, units),
        "names_product_rate": names / max(1, name_total),
        "unsupported_soft_claims_per_copy": soft / n,
        "unsupported_claim_rate": unsupported / n,
        "facts_per_description": sum(facts_desc) / max(1, len(facts_desc)),
        "descriptions_with_3_facts": sum(f >= 3 for f in facts_desc) / max(1, len(facts_desc)),
        "generic_filler_rate": filler / n,
        "passed_rate": passed / n,
        "honest_pass_rate": honest / n,
        "mean_score": sum(r["score"] for r in rows) / n,
        "seconds_per_product": sum(secs.values()) / max(1, len(secs)),
        "mean_load": sum(r.get("load", 0.0) for r in rows) / n,
        "rows": per_row,
    }


def seller_text(p: Any, channel: str) -> str:
    if channel == "google_ads_headline":
        return p.title
    if channel == "amazon_bullet":
        return "\n".join(p.facts[:5])
    return (" ".join(p.facts[:4]) + (" " + p.description[:400] if p.description else ""))[:900]


def write_report(results: list[dict[str, Any]], products: dict[str, Any], channels: list[str], path: Path) -> None:
    lines = ["# Copy quality: today's drafter vs the new one (bench/quality.py)", ""]
    keys = ["off_topic_unit_rate", "names_product_rate", "unsupported_soft_claims_per_copy", "unsupported_claim_rate",
            "facts_per_description", "descriptions_with_3_facts", "generic_filler_rate", "passed_rate", "honest_pass_rate",
            "mean_score", "seconds_per_product", "mean_load"]
    lines.append("| metric | " + " | ".join(r["variant"] for r in results) + " |")
    lines.append("|---|" + "---|" * len(results))
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(f"{r[k]:.3f}" for r in results) + " |")
    lines.append("")
    by = {r["variant"]: {(x["product_id"], x["channel"]): x for x in r["rows"]} for r in results}
    for pid, p in products.items():
        lines.append(f"## {p.title[:120]}")
        lines.append(f"`{pid}` · {p.category[:100]}")
        lines.append("")
        for ch in channels:
            lines.append(f"### {ch}")
            lines.append("")
            lines.append("**Seller's own copy:**")
            lines.append("")
            lines.append("> " + seller_text(p, ch).replace("\n", "\n> "))
            lines.append("")
            for variant, rows in by.items():
                row = rows.get((pid, ch))
                if row is None:
                    continue
                flag = "passed" if row["passed"] else row["stop_reason"]
                pub = "publishable" if row["publishable"] else "NOT publishable"
                lines.append(f"**{variant}** ({flag}, score {row['score']:.2f}, {pub}):")
                lines.append("")
                lines.append("> " + (row["text"] or "(empty)").replace("\n", "\n> "))
                lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=30)
    ap.add_argument("--skip", type=int, default=0, help="skip the first N held-out products (a fresh set to check generalisation)")
    ap.add_argument("--variants", default="freeform,plan,plan-rules")
    ap.add_argument("--channels", default=CHANNELS)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "quality")
    ap.add_argument("--report-only", action="store_true", help="recompute figures and the report from saved runs")
    args = ap.parse_args(argv)

    from copyloop.tools.catalog import read_catalog
    from copyloop.tools.embeddings import load_embedder

    ids = [line.strip() for line in HELDOUT.read_text().splitlines() if line.strip() and not line.startswith("#")]
    wanted = set(ids)
    found = {r.product.id: r.product for r in read_catalog(args.csv) if r.product is not None and r.product.id in wanted}
    products = {pid: found[pid] for pid in ids if pid in found}
    products = dict(list(products.items())[args.skip: args.skip + args.products])
    channels = [c for c in args.channels.split(",") if c]
    variants = [v for v in args.variants.split(",") if v]
    args.out.mkdir(parents=True, exist_ok=True)
    home = args.out / "home"
    if not args.report_only:
        for v in variants:
            run_variant(v, list(products.values()), channels, args.out, home)
    embedder = load_embedder()
    results = [evaluate(v, products, args.out, embedder) for v in variants if (args.out / f"{v}.jsonl").exists()]
    print(f"\n{len(products)} held-out products x {len(channels)} channels")
    keys = [k for k in results[0] if k not in ("variant", "rows")]
    print(f"{'metric':34s} " + " ".join(f"{r['variant']:>12s}" for r in results))
    for k in keys:
        print(f"{k:34s} " + " ".join(f"{r[k]:12.3f}" for r in results))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    summary = {r["variant"]: {k: v for k, v in r.items() if k != "rows"} for r in results}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_report(results, products, channels, args.out / "report.md")
    print(f"report: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
