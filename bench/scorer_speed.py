"""Scoring speed of the conversion scorer: texts/s with the model loaded once, and peak RSS.

    .venv/bin/python bench/scorer_speed.py [--n 1000] [--kind headline|description|both]

Texts are real: Upworthy headlines and Amazon seller copy from ../shared/data when present,
otherwise synthetic sentences of the same lengths. Load time is reported apart from scoring.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("COPYLOOP_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _texts(kind: str, n: int) -> list[str]:
    out: list[str] = []
    if kind == "headline" and (DATA / "upworthy" / "packages.csv").is_file():
        with (DATA / "upworthy" / "packages.csv").open(encoding="utf-8", newline="") as fh:
            seen = dict.fromkeys(r["headline"] for r in csv.DictReader(fh))
        out = list(seen)[:n]
    elif kind == "description" and (DATA / "amazon_products" / "products.csv").is_file():
        with (DATA / "amazon_products" / "products.csv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                words = (r.get("about_product") or "").replace(" | ", " ").split()
                if len(words) >= 50:
                    out.append(" ".join(words[:150]))
    base = "Keep your coffee hot for hours with this leak-proof stainless steel travel mug"
    while len(out) < n:  # top up with distinct synthetic text of the same kind
        k = len(out)
        out.append(f"{base} number {k}" if kind == "headline" else " ".join([base] * 8) + f" {k}")
    return out[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--kind", choices=["headline", "description", "both"], default="both")
    args = ap.parse_args()

    from copyloop.agents.scorer import ConversionScorer

    t0 = time.perf_counter()
    scorer = ConversionScorer.load()
    scorer.score(["warm-up"])  # loads the embedder once
    load_s = time.perf_counter() - t0
    print(f"load (artifact + MiniLM): {load_s:.1f} s; torch threads: {__import__('torch').get_num_threads()}")
    for kind in (["headline", "description"] if args.kind == "both" else [args.kind]):
        texts = _texts(kind, args.n)
        words = sum(len(t.split()) for t in texts) / len(texts)
        t1, c1 = time.perf_counter(), time.process_time()
        res = scorer.score(texts)
        dt, cpu = time.perf_counter() - t1, time.process_time() - c1
        assert len(res) == len(texts)
        emb = scorer.embedder.encode(texts)
        t2 = time.perf_counter()
        scorer.score(texts, embeddings=emb)
        dt_pre = time.perf_counter() - t2
        print(
            f"{kind:12s}: {len(texts)} texts (mean {words:.0f} words) in {dt:.2f} s = {len(texts) / dt:.0f} texts/s "
            f"({len(texts) / cpu:.0f} per CPU-second); with embeddings passed in: {len(texts) / dt_pre:.0f} texts/s"
        )
    print(f"load average (1/5/15 min) at the end: {os.getloadavg()} on {os.cpu_count()} cores — other jobs share the CPU")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
