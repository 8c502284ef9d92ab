"""Benchmark of the refinement loop on real catalog products.

For each channel (default: product_description and google_ads_headline) it refines the first N
valid products of ../shared/data/amazon_products/products.csv and prints:

- mean conversion score of the first draft (round 1, candidate 1, unrepaired: what a single
  plain call would give) vs the returned copy;
- share of results meeting the threshold (``passed``), mean rounds, stop reasons;
- hard-rule pass rate of the returned copy, re-checked here with the validators and the claim
  checker (must be 100% for results marked passed), and of the first drafts;
- unsupported-claim rate of first drafts vs returned copy;
- seconds per product, LLM tokens/s inside the loop, and the same prompts replayed on raw
  llama-cpp in the same process right after (ratio goal >= 0.9);
- share of wall time spent outside the LLM (goal <= 10%), peak RSS.

Run:  .venv/bin/python bench/refine.py [--n 30] [--channels a,b] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO.parent / "shared" / "data" / "amazon_products" / "products.csv"


@dataclass
class Call:
    """One ``generate`` call as the drafter made it, with what it cost inside the loop."""

    messages: list[dict[str, str]]
    kwargs: dict[str, Any]
    seconds: float
    tokens: int


@dataclass
class RecordingLLM:
    """Wraps the real backend: records every call (prompt, sampling arguments) and the wall
    time the loop spent inside ``generate`` (formatting, grammar lookup, lock, generation)."""

    inner: Any
    calls: list[Call] = field(default_factory=list)

    def generate(self, messages: Sequence[dict[str, str]], n: int = 1, **kwargs: Any) -> list[str]:
        before = self.inner.tokens_generated
        started = time.perf_counter()
        out = self.inner.generate(messages, n=n, **kwargs)
        seconds = time.perf_counter() - started
        self.calls.append(Call([dict(m) for m in messages], {"n": n, **kwargs}, seconds, self.inner.tokens_generated - before))
        return out

    def __getattr__(self, name: str) -> Any:  # counters, format_prompt, model_path...
        return getattr(self.inner, name)


def load_products(path: Path, n: int) -> list[Any]:
    from copyloop.tools.catalog import read_catalog

    products = []
    for row in read_catalog(path):
        if row.product is not None:
            products.append(row.product)
        if len(products) >= n:
            break
    return products


def first_draft_text(result: Any) -> str | None:
    if not result.trace or not result.trace[0].candidates:
        return None
    firsts = [c for c in result.trace[0].candidates if "repaired" not in c.angle]
    return (firsts or result.trace[0].candidates)[0].text


def hard_ok(text: str, spec: Any, product: Any) -> tuple[bool, bool]:
    """(every hard channel rule passes, no unsupported claim) for ``text``."""
    from copyloop.tools.claims import unsupported_claims
    from copyloop.tools.validators import check_rules, shouted_words

    rules = not [v for v in check_rules(text, spec, allowed_caps=shouted_words(product.fact_text())) if v.hard]
    return rules, not unsupported_claims(text, product)


def replay_raw(backend: Any, calls: list[Call]) -> tuple[int, float]:
    """The loop's prompts on raw llama-cpp (``create_completion`` on the formatted prompt, same
    sampling arguments, same order so KV-cache reuse matches). Returns (tokens, seconds)."""
    from llm_raw import raw_generate  # H4's helper (bench/llm_raw.py)

    tokens = 0
    seconds = 0.0
    for call in calls:
        kw = dict(call.kwargs)
        n = kw.pop("n", 1)
        for i in range(n):
            got_tokens, got_seconds = raw_generate(backend, call.messages, **{**kw, "seed": kw.get("seed", 0) + i})
            tokens += got_tokens
            seconds += got_seconds
    return tokens, seconds


def interleaved_ab(backend: Any, calls: list[Call], k: int) -> tuple[float, float]:
    """Load-robust overhead check: ``k`` of the loop's calls, each run once through the loop's
    path (``backend.generate``) and once on raw llama-cpp, alternating which goes first, with the
    KV cache reset before every run so neither side profits from the other's prefix.
    Returns (tokens/s via backend.generate, tokens/s raw)."""
    from llm_raw import raw_generate

    picked = [calls[round(i * (len(calls) - 1) / max(1, k - 1))] for i in range(min(k, len(calls)))]
    a_tok = b_tok = 0
    a_sec = b_sec = 0.0
    for i, call in enumerate(picked):
        kw = {key: v for key, v in call.kwargs.items() if key != "n"}

        def loop_path() -> None:
            nonlocal a_tok, a_sec
            backend.llama.reset()
            before = backend.tokens_generated
            t = time.perf_counter()
            backend.generate(call.messages, n=1, **kw)
            a_sec += time.perf_counter() - t
            a_tok += backend.tokens_generated - before

        def raw_path() -> None:
            nonlocal b_tok, b_sec
            backend.llama.reset()
            tokens, seconds = raw_generate(backend, call.messages, **kw)
            b_tok += tokens
            b_sec += seconds

        for run in ((loop_path, raw_path) if i % 2 == 0 else (raw_path, loop_path)):
            run()
    return (a_tok / a_sec if a_sec else 0.0), (b_tok / b_sec if b_sec else 0.0)


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30, help="products per channel")
    ap.add_argument("--channels", default="product_description,google_ads_headline")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--max-iterations", type=int, default=None)
    ap.add_argument("--candidates", type=int, default=None)
    ap.add_argument("--no-replay", action="store_true", help="skip the raw llama-cpp replay")
    ap.add_argument("--replay-every", type=int, default=3, help="replay every k-th LLM call on raw llama-cpp")
    ap.add_argument("--ab-calls", type=int, default=10, help="calls for the interleaved loop-path vs raw check (0: skip)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    from copyloop.agents.llama_backend import LlamaCppBackend
    from copyloop.engine import Engine
    from copyloop.settings import Settings

    if not args.csv.is_file():
        print(f"catalog not found: {args.csv}", file=sys.stderr)
        return 2
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    products = load_products(args.csv, args.n)
    home = Path(tempfile.mkdtemp(prefix="copyloop-bench-"))
    settings = Settings(home=home)
    t0 = time.perf_counter()
    backend = LlamaCppBackend.from_settings(settings.llm)
    llm = RecordingLLM(backend)
    engine = Engine(settings, llm=llm).load()
    load_seconds = time.perf_counter() - t0
    print(f"{len(products)} products x {len(channels)} channels; models loaded in {load_seconds:.1f} s; "
          f"LLM {backend!r}; home {home}", flush=True)

    report: dict[str, Any] = {"products": len(products), "channels": {}, "load_seconds": load_seconds}
    for channel in channels:
        spec = engine.channels.get(channel)
        rows: list[dict[str, Any]] = []
        calls_before = len(llm.calls)
        stats_before = (engine.stats.seconds, engine.stats.llm_seconds, engine.stats.llm_tokens)
        for i, product in enumerate(products, 1):
            result = engine.refine(product, channel, args.threshold, args.max_iterations, args.candidates, args.seed)
            run = engine.last_run
            first = first_draft_text(result)
            rules_ok, grounded = hard_ok(result.text, spec, product) if result.text else (False, False)
            f_rules, f_grounded = hard_ok(first, spec, product) if first else (False, False)
            rows.append(
                dict(
                    id=product.id, passed=result.passed, score=result.score, first=result.first_draft_score,
                    iterations=result.iterations, stop=result.stop_reason, rules_ok=rules_ok, grounded=grounded,
                    first_rules_ok=f_rules, first_grounded=f_grounded, seconds=run.seconds,
                    llm_seconds=run.llm_seconds, tokens=run.llm_tokens,
                )
            )
            print(f"  {channel} {i:>3}/{len(products)} {result.stop_reason:<15} score {result.score:.2f} "
                  f"(first {result.first_draft_score or 0:.2f}) rounds {result.iterations} {run.seconds:5.1f} s  "
                  f"{result.text[:70]!r}", flush=True)
        wall = engine.stats.seconds - stats_before[0]
        llm_seconds = engine.stats.llm_seconds - stats_before[1]
        tokens = engine.stats.llm_tokens - stats_before[2]
        calls = llm.calls[calls_before:]
        loop_gen_seconds = sum(c.seconds for c in calls)
        fig: dict[str, Any] = {
            "n": len(rows),
            "first_draft_score": mean([r["first"] for r in rows if r["first"] is not None]),
            "final_score": mean([r["score"] for r in rows]),
            "passed_share": mean([float(r["passed"]) for r in rows]),
            "mean_iterations": mean([r["iterations"] for r in rows]),
            "stop_reasons": {s: sum(r["stop"] == s for r in rows) for s in sorted({r["stop"] for r in rows})},
            "hard_rule_pass_rate": mean([float(r["rules_ok"] and r["grounded"]) for r in rows]),
            "hard_rule_pass_rate_of_passed": mean([float(r["rules_ok"] and r["grounded"]) for r in rows if r["passed"]]),
            "first_draft_hard_rule_pass_rate": mean([float(r["first_rules_ok"] and r["first_grounded"]) for r in rows]),
            "unsupported_claim_rate": mean([float(not r["grounded"]) for r in rows]),
            "first_draft_unsupported_claim_rate": mean([float(not r["first_grounded"]) for r in rows]),
            "seconds_per_product": wall / max(1, len(rows)),
            "seconds_per_round": wall / max(1, sum(r["iterations"] for r in rows)),
            "llm_tokens": tokens,
            "llm_tokens_per_s_backend": tokens / llm_seconds if llm_seconds else 0.0,
            "llm_tokens_per_s_in_loop": tokens / loop_gen_seconds if loop_gen_seconds else 0.0,
            "outside_llm_share": (wall - loop_gen_seconds) / wall if wall else 0.0,
            "outside_llm_share_backend_clock": (wall - llm_seconds) / wall if wall else 0.0,
            "llm_calls": len(calls),
        }
        if not args.no_replay and calls:
            # Replay every k-th call (the replay costs as much LLM time as the loop itself) and
            # compare with the loop's figures on exactly those calls.
            sample = calls[:: max(1, args.replay_every)]
            raw_tokens, raw_seconds = replay_raw(backend, sample)
            loop_tokens = sum(c.tokens for c in sample)
            loop_seconds = sum(c.seconds for c in sample)
            loop_tps = loop_tokens / loop_seconds if loop_seconds else 0.0
            fig["replayed_calls"] = len(sample)
            fig["raw_tokens"] = raw_tokens
            fig["raw_tokens_per_s"] = raw_tokens / raw_seconds if raw_seconds else 0.0
            fig["loop_tokens_on_replayed"] = loop_tokens
            fig["loop_seconds_on_replayed"] = loop_seconds
            fig["raw_seconds"] = raw_seconds
            fig["loop_tokens_per_s_on_replayed"] = loop_tps
            fig["loop_vs_raw_ratio"] = loop_tps / fig["raw_tokens_per_s"] if fig["raw_tokens_per_s"] else 0.0
        if args.ab_calls and calls:
            loop_ab, raw_ab = interleaved_ab(backend, calls, args.ab_calls)
            fig["ab_calls"] = min(args.ab_calls, len(calls))
            fig["ab_loop_path_tokens_per_s"] = loop_ab
            fig["ab_raw_tokens_per_s"] = raw_ab
            fig["ab_ratio"] = loop_ab / raw_ab if raw_ab else 0.0
        report["channels"][channel] = fig

    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    for channel, f in report["channels"].items():
        print(f"== {channel} ({f['n']} products)")
        print(f"  mean score: first draft {f['first_draft_score']:.3f} -> final {f['final_score']:.3f}")
        print(f"  meeting threshold: {pct(f['passed_share'])}   mean rounds: {f['mean_iterations']:.2f}   stops: {f['stop_reasons']}")
        print(f"  hard-rule pass rate of returned copy: {pct(f['hard_rule_pass_rate'])} "
              f"(of passed: {pct(f['hard_rule_pass_rate_of_passed']) if f['passed_share'] else 'n/a'}; "
              f"first drafts: {pct(f['first_draft_hard_rule_pass_rate'])})")
        print(f"  unsupported-claim rate: first drafts {pct(f['first_draft_unsupported_claim_rate'])} -> returned {pct(f['unsupported_claim_rate'])}")
        print(f"  seconds per product: {f['seconds_per_product']:.1f}   per round: {f['seconds_per_round']:.1f}   LLM calls: {f['llm_calls']}   tokens: {f['llm_tokens']}")
        line = f"  LLM tokens/s in loop: {f['llm_tokens_per_s_in_loop']:.1f}"
        if "raw_tokens_per_s" in f:
            line += (f"\n  same prompts replayed on raw llama-cpp ({f['replayed_calls']} calls): loop "
                     f"{f['loop_tokens_on_replayed']} tokens in {f['loop_seconds_on_replayed']:.1f} s = {f['loop_tokens_per_s_on_replayed']:.1f}/s, "
                     f"raw {f['raw_tokens']} tokens in {f['raw_seconds']:.1f} s = {f['raw_tokens_per_s']:.1f}/s, "
                     f"ratio {f['loop_vs_raw_ratio']:.2f} (goal >= 0.9)")
        print(line)
        if "ab_ratio" in f:
            print(f"  interleaved A/B on {f['ab_calls']} calls (cold KV cache each): loop path {f['ab_loop_path_tokens_per_s']:.1f} "
                  f"vs raw {f['ab_raw_tokens_per_s']:.1f} tokens/s, ratio {f['ab_ratio']:.2f}")
        print(f"  time outside the LLM: {pct(f['outside_llm_share'])} of wall time (goal <= 10%; "
              f"by the backend's own clock {pct(f['outside_llm_share_backend_clock'])})")
    print(f"peak RSS: {report['peak_rss_mb']:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
