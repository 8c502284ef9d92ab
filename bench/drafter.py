"""What the drafter's first candidates look like on real catalog products, with and without the
GBNF grammar (default: grammar whose digits may only spell the product's numbers; grammar with free
digits; no grammar).

    .venv/bin/python bench/drafter.py [--n 10] [--candidates 3] [--channels ...] [--modes default,no-grammar]

For each channel and mode: share of candidates within the channel's hard length limits (and of
the raw model text before post-processing), share passing every hard channel rule, share with an
invented number (a number not in the product's data) and with any unsupported claim (tools.claims),
garbage retries and dropped candidates, seconds per candidate and tokens/s. Prints one line per
channel and mode, plus a few sample texts.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_products" / "products.csv"
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


def invented_numbers(text: str, product: Any) -> list[str]:
    """Numbers in ``text`` that appear nowhere in the product's data (title, facts, price, ...)."""
    known = {n.replace(",", "") for n in _NUMBER_RE.findall(product.fact_text())}
    return [n for n in _NUMBER_RE.findall(text) if n.replace(",", "") not in known]


def within_length(text: str, spec: Any) -> bool:
    """The channel's hard length limits only (characters, words, items)."""
    from copyloop.tools.text import bullet_items, visible_len, word_count

    if spec.is_bullets:
        items = bullet_items(text)
        return len(items) >= spec.required_items and all(visible_len(i) <= (spec.item_max_chars or 10**6) for i in items)
    if spec.max_chars is not None and visible_len(text) > spec.max_chars:
        return False
    if spec.min_chars is not None and visible_len(text) < spec.min_chars:
        return False
    n = word_count(text)
    return not (spec.max_words is not None and n > spec.max_words or spec.min_words is not None and n < spec.min_words)


@dataclass
class RecordingLLM:
    """Keeps every raw completion so the bench can judge the model before post-processing."""

    inner: Any
    raw: list[str] = field(default_factory=list)

    def generate(self, messages: Sequence[dict[str, str]], n: int = 1, **kw: Any) -> list[str]:
        out = self.inner.generate(messages, n=n, **kw)
        self.raw.extend(out)
        return out


MODES = {
    "default": {"use_grammar": True, "restrict_numbers": True},
    "grammar-free-digits": {"use_grammar": True, "restrict_numbers": False},
    "no-grammar": {"use_grammar": False, "restrict_numbers": False},
}


def run(products: list[Any], channel: str, mode: str, candidates: int, backend: Any) -> dict[str, Any]:
    from copyloop.agents.drafter import Drafter
    from copyloop.errors import LLMOutputError
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.claims import unsupported_claims
    from copyloop.tools.validators import check_rules, shouted_words

    spec = ChannelRegistry().get(channel)
    recorder = RecordingLLM(backend)
    drafter = Drafter(recorder, **MODES[mode])
    tokens0, seconds0 = backend.tokens_generated, backend.seconds_generating
    started = time.perf_counter()
    texts: list[tuple[Any, str]] = []
    failed = 0
    for product in products:
        try:
            drafts = drafter.draft(product, spec, n=candidates, seed=0)
        except LLMOutputError:
            failed += candidates
            continue
        failed += candidates - len(drafts)
        texts += [(product, d.text) for d in drafts]
    wall = time.perf_counter() - started
    n = max(len(texts), 1)
    raw_ok = sum(within_length(r.strip(), spec) for r in recorder.raw)
    return {
        "channel": channel,
        "mode": mode,
        "candidates": len(texts),
        "calls": len(recorder.raw),
        "dropped": failed,
        "raw_within_length": raw_ok / max(len(recorder.raw), 1),
        "within_length": sum(within_length(t, spec) for _, t in texts) / n,
        "hard_rules_pass": sum(
            not [v for v in check_rules(t, spec, allowed_caps=shouted_words(p.fact_text())) if v.hard] for p, t in texts
        ) / n,
        "invented_number": sum(bool(invented_numbers(t, p)) for p, t in texts) / n,
        "unsupported_claim": sum(bool(unsupported_claims(t, p)) for p, t in texts) / n,
        "seconds_per_candidate": wall / n,
        "tokens_per_s": (backend.tokens_generated - tokens0) / max(backend.seconds_generating - seconds0, 1e-9),
        "samples": [t for _, t in texts[:: max(1, len(texts) // 4)]][:4],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10, help="products")
    ap.add_argument("--skip", type=int, default=0, help="skip the first products of the file")
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--channels", default="google_ads_headline,product_description")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of: {', '.join(MODES)}")
    args = ap.parse_args(argv)

    from copyloop.agents.llama_backend import LlamaCppBackend
    from copyloop.tools.catalog import read_catalog

    products = [r.product for r in read_catalog(args.csv, limit=args.n + args.skip) if r.product][args.skip :]
    backend = LlamaCppBackend(lora_path="none")
    print(f"{len(products)} products, {args.candidates} candidates each; model load {backend.load_seconds:.2f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for channel in args.channels.split(","):
        for mode in args.modes.split(","):
            r = run(products, channel, mode, args.candidates, backend)
            print(
                f"{channel:22s} {mode:19s} kept {r['candidates']:3d} (dropped {r['dropped']}, "
                f"{r['calls']} calls)  raw within length {100 * r['raw_within_length']:3.0f}%  after clean "
                f"{100 * r['within_length']:3.0f}%  all hard rules {100 * r['hard_rules_pass']:3.0f}%  invented number "
                f"{100 * r['invented_number']:3.0f}%  unsupported claim {100 * r['unsupported_claim']:3.0f}%  "
                f"{r['seconds_per_candidate']:.1f} s/candidate  {r['tokens_per_s']:.1f} tok/s",
                flush=True,
            )
            for s in r["samples"]:
                print("    | " + s.replace("\n", " / ")[:160])
    return 0


if __name__ == "__main__":
    sys.exit(main())
