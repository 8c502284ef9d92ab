"""How well does the model (base, bundled adapter, another LoRA) say one planned fact? (issue #11)

    python bench/realizer.py [--products 20] [--adapters none,bundled[,PATH...]] [--facts 4] [--samples 3]

The plan-then-realise drafter asks the model, per planned fact, for ``llm.fact_samples``
re-wordings (``realize_messages`` under the words grammar) and, for a headline, for a few
headlines (``headline_messages``); a sample is kept only when ``sample_problem`` (headlines:
``headline_problem``) finds nothing wrong. The bundled adapter was trained on the old free-form
prompts, so whether it still helps on these prompts has to be measured, not assumed. This bench
runs the CURRENT per-fact prompts on the first N held-out products for every variant, with the
same seeds, through ``FactRealizer`` itself (the serving path), and records for every raw
sample whether it was accepted and why not.

Each variant runs in its own child process (this script with ``--variant``) so the model loads
once per variant and the peak RSS is that variant's own. Figures per variant: acceptance rate of
fact samples (``sample_problem == ""``) and of headlines, rejection reasons by count, distinct
samples, mean words, seconds per sample and generated tokens/s. JSON goes to
bench/out/realizer.json. The facts are planned without the topicality re-ranking (it needs the
sentence embedder and changes which facts, not how they are said). No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from copyloop.agents.llm import LLMBackend
    from copyloop.tools.channels import ChannelSpec
    from copyloop.tools.plan import PlanFact
    from copyloop.tools.schemas import ProductBrief

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "out" / "realizer.json"
HEADLINE_CHANNEL = "google_ads_headline"
ECHO = "echoes its fact verbatim"


# Counting (pure: unit-tested with FakeLLM) -----------------------------------------------------
@dataclass
class Tally:
    """Counts over the samples of one kind (fact sentences or headlines) of one variant."""

    prompts: int = 0
    samples: int = 0
    accepted: int = 0
    usable: int = 0
    """Accepted and not a verbatim echo of the fact: what the drafter can actually use."""
    prompts_with_one: int = 0
    """Prompts with at least one usable sample (otherwise the rule-based sentence is used)."""
    distinct: int = 0
    """Distinct samples, summed over prompts (k identical samples count 1)."""
    words: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)

    def add(self, judged: list[tuple[str, str]], seconds: float, *, keep_examples: int = 2) -> None:
        """Add one prompt's samples: ``(sample, problem)`` pairs, problem "" when accepted."""
        from copyloop.tools.text import word_count
        from copyloop.training.finetune_realize import reason_class

        self.prompts += 1
        self.samples += len(judged)
        self.seconds += seconds
        self.distinct += len({s.lower() for s, _ in judged})
        usable = 0
        for sample, problem in judged:
            self.words += word_count(sample)
            if problem in ("", ECHO):
                self.accepted += 1
            if not problem:
                usable += 1
            else:
                self.reasons[reason_class(problem)] += 1
            if len(self.examples) < keep_examples * 4 and (problem == "" or len(self.examples) < keep_examples * 2):
                self.examples.append({"sample": sample, "problem": problem})
        self.usable += usable
        self.prompts_with_one += usable > 0

    def figures(self) -> dict[str, Any]:
        n = max(1, self.samples)
        return {
            "prompts": self.prompts,
            "samples": self.samples,
            "acceptance": round(self.accepted / n, 3),
            "usable": round(self.usable / n, 3),
            "prompts_with_usable": round(self.prompts_with_one / max(1, self.prompts), 3),
            "distinct_per_prompt": round(self.distinct / max(1, self.prompts), 2),
            "mean_words": round(self.words / n, 2),
            "seconds_per_sample": round(self.seconds / n, 3),
            "rejections": dict(self.reasons.most_common()),
            "examples": self.examples,
        }


def judge_fact_samples(raw: Sequence[str], fact: "PlanFact", product: "ProductBrief", name: str) -> list[tuple[str, str]]:
    """Every raw sample with the reason ``FactRealizer.realize`` would drop it ("" when kept;
    ``ECHO`` when ``sample_problem`` passes it but it only repeats the fact)."""
    from copyloop.agents.realizer import is_echo, sample_problem, tidy_sample
    from copyloop.tools.vocab import content_words, stem

    name_words = frozenset(stem(w) for w in content_words(name))
    out: list[tuple[str, str]] = []
    for text in raw:
        s = tidy_sample(text)
        problem = sample_problem(s, fact, product, name_words)
        if not problem and is_echo(s, fact):
            problem = ECHO
        out.append((s, problem))
    return out


def judge_headlines(raw: Sequence[str], product: "ProductBrief", spec: "ChannelSpec") -> list[tuple[str, str]]:
    """Every raw headline sample, tidied, with the reason ``FactRealizer.headlines`` drops it."""
    from copyloop.agents.realizer import headline_problem

    return [headline_problem(text, product, spec) for text in raw]


def planned(product: "ProductBrief", facts: int) -> tuple[list["PlanFact"], "PlanFact | None"]:
    """The facts a product description's first candidate would realise, and the headline's key fact."""
    from copyloop.tools.plan import plan_facts, product_facts

    all_facts = product_facts(product)
    body = plan_facts(all_facts, facts, variant=0)
    top = plan_facts(all_facts, 1, variant=0)
    return body, (top[0] if top else None)


def run_products(llm: "LLMBackend", products: Sequence["ProductBrief"], *, facts: int, samples: int, seed: int,
                 temperature: float = 0.6) -> dict[str, Tally]:
    """Sample every planned fact and one headline per product through ``FactRealizer``."""
    from copyloop.agents.llm import RecordingLLM
    from copyloop.agents.realizer import FactRealizer
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.plan import product_name

    spec = ChannelRegistry().get(HEADLINE_CHANNEL)
    rec = RecordingLLM(llm)
    realizer = FactRealizer(rec, samples=samples, temperature=temperature)
    tallies = {"fact": Tally(), "headline": Tally()}
    for p_i, product in enumerate(products):
        name = product_name(product)
        body, top = planned(product, facts)
        for f_i, fact in enumerate(body):
            started = time.perf_counter()
            realizer.realize(product, name, fact, seed=seed + 1000 * p_i + 31 * f_i)
            tallies["fact"].add(judge_fact_samples(rec.last, fact, product, name), time.perf_counter() - started)
        if top is not None:
            started = time.perf_counter()
            realizer.headlines(product, name, top, spec, seed=seed + 1000 * p_i + 500)
            tallies["headline"].add(judge_headlines(rec.last, product, spec), time.perf_counter() - started)
    return tallies


# One variant (child process) -------------------------------------------------------------------
def held_out_products(catalog: Path, ids_file: Path, limit: int) -> list["ProductBrief"]:
    """The first ``limit`` held-out products of the catalog, in catalog order."""
    from copyloop.tools.catalog import read_catalog
    from copyloop.training.finetune_data import read_ids

    heldout = set(read_ids(ids_file))
    out: list[ProductBrief] = []
    for row in read_catalog(catalog):
        if row.product is not None and str(row.product.id) in heldout:
            out.append(row.product)
            if len(out) >= limit:
                break
    return out


def adapter_path(variant: str) -> Path | None:
    """``none`` -> None, ``bundled`` -> the committed drafter adapter, else a path."""
    from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH

    if variant == "none":
        return None
    if variant == "bundled":
        return DEFAULT_ADAPTER_PATH
    return Path(variant).expanduser().resolve()


def run_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Load the model (with the variant's adapter, through ``load_llama``) once and measure it."""
    from copyloop.agents.llama_backend import LlamaCppBackend

    products = held_out_products(args.catalog, args.ids, args.products)
    started = time.perf_counter()
    llm = LlamaCppBackend(lora_path=adapter_path(variant), n_threads=args.threads)
    load_seconds = time.perf_counter() - started
    tallies = run_products(llm, products, facts=args.facts, samples=args.samples, seed=args.seed)
    seconds = time.perf_counter() - started - load_seconds
    tps = llm.tokens_per_second()
    return {
        "variant": variant,
        "adapter": str(llm.lora_path) if llm.lora_path else None,
        "products": len(products),
        "load_seconds": round(load_seconds, 2),
        "seconds": round(seconds, 1),
        "tokens_generated": llm.tokens_generated,
        "tokens_per_second": round(tps, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "fact": tallies["fact"].figures(),
        "headline": tallies["headline"].figures(),
    }


# Report ----------------------------------------------------------------------------------------
def table(results: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the figures, one column per variant."""
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any) -> None:
        rows.append((label, [str(get(r)) for r in results]))

    row("adapter", lambda r: r["variant"] if r["variant"] in ("none", "bundled") else Path(r["variant"]).name)
    row("products", lambda r: r["products"])
    for kind in ("fact", "headline"):
        row(f"{kind}: prompts / samples", lambda r, k=kind: f"{r[k]['prompts']} / {r[k]['samples']}")
        row(f"{kind}: accepted", lambda r, k=kind: f"{r[k]['acceptance']:.1%}")
        row(f"{kind}: usable (not an echo)", lambda r, k=kind: f"{r[k]['usable']:.1%}")
        row(f"{kind}: prompts with a usable one", lambda r, k=kind: f"{r[k]['prompts_with_usable']:.1%}")
        row(f"{kind}: distinct per prompt", lambda r, k=kind: r[k]["distinct_per_prompt"])
        row(f"{kind}: mean words", lambda r, k=kind: r[k]["mean_words"])
        row(f"{kind}: s / sample", lambda r, k=kind: r[k]["seconds_per_sample"])
    row("tokens/s (generation)", lambda r: r["tokens_per_second"])
    row("load s / run s", lambda r: f"{r['load_seconds']} / {r['seconds']}")
    row("peak RSS MB", lambda r: r["peak_rss_mb"])
    width = max(len(label) for label, _ in rows)
    cols = [max(len(v[i]) for _, v in rows) for i in range(len(results))]
    lines = [f"{label:<{width}}  " + "  ".join(f"{v:>{c}}" for v, c in zip(values, cols)) for label, values in rows]
    reasons: list[str] = []
    for r in results:
        for kind in ("fact", "headline"):
            top = ", ".join(f"{k} {v}" for k, v in list(r[kind]["rejections"].items())[:6])
            reasons.append(f"{r['variant']} {kind} rejections: {top or '-'}")
    return "\n".join(lines + [""] + reasons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20, help="held-out products (the first N in the catalog)")
    parser.add_argument("--adapters", default="none,bundled", help="comma list: none, bundled, or GGUF LoRA paths")
    parser.add_argument("--facts", type=int, default=4, help="planned facts per product (a product description's count)")
    parser.add_argument("--samples", type=int, default=3, help="samples per fact and per headline (llm.fact_samples)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads per variant")
    parser.add_argument("--catalog", type=Path, default=ROOT.parent / "shared" / "data" / "amazon_products" / "products.csv")
    parser.add_argument("--ids", type=Path, default=ROOT / "agents" / "artifacts" / "drafter_lora.heldout.txt")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)  # child mode: one variant, JSON to --out
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    if args.variant is not None:
        args.out.write_text(json.dumps(run_variant(args.variant, args)), encoding="utf-8")
        return 0

    if not args.catalog.is_file():
        print(f"catalog does not exist: {args.catalog}", file=sys.stderr)
        return 2
    variants = [v.strip() for v in args.adapters.split(",") if v.strip()]
    for v in variants:
        if v not in ("none", "bundled") and not Path(v).expanduser().is_file():
            print(f"adapter does not exist: {v}", file=sys.stderr)
            return 2
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, v in enumerate(variants):
            out = Path(tmp) / f"{i}.json"
            cmd = [sys.executable, __file__, "--variant", v, "--out", str(out), "--products", str(args.products),
                   "--facts", str(args.facts), "--samples", str(args.samples), "--seed", str(args.seed),
                   "--threads", str(args.threads), "--catalog", str(args.catalog), "--ids", str(args.ids)]
            print(f"[{v}] running ...", file=sys.stderr, flush=True)
            done = subprocess.run(cmd, check=False)
            if done.returncode != 0:
                print(f"[{v}] failed with exit code {done.returncode}", file=sys.stderr)
                return done.returncode or 1
            results.append(json.loads(out.read_text(encoding="utf-8")))
            print(f"[{v}] done in {results[-1]['seconds']} s", file=sys.stderr, flush=True)
    report = {
        "products": args.products, "facts_per_product": args.facts, "samples": args.samples, "seed": args.seed,
        "threads": args.threads, "ids": str(args.ids), "variants": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
