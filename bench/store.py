"""Retrieval store and catalog reading: what they cost.

Prints: embedder load time, time to seed a fresh embedded ChromaDB with the bundled exemplars,
re-index time (idempotent, nothing re-embedded), search latency (p50/p95, with and without a
category), bulk indexing throughput on real copy (the seller bullets of the shared Amazon catalog
as amazon_bullet records), catalog reading throughput (rows/s) of the shared CSV as it is, and
peak RSS.

    .venv/bin/python bench/store.py                   # defaults: 200 searches, 2000 bulk records
    .venv/bin/python bench/store.py --bulk 500 --searches 50

Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
AMAZON = Path(os.environ.get("COPYLOOP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "amazon_products" / "products.csv"


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, mean {statistics.fmean(values) * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--searches", type=int, default=200)
    ap.add_argument("--bulk", type=int, default=2000, help="seller bullets to bulk-index (0 to skip)")
    args = ap.parse_args()

    from copyloop.tools.catalog import read_catalog
    from copyloop.tools.embeddings import load_embedder
    from copyloop.tools.store import CopyStore, PastCopy, load_bundled_exemplars

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if AMAZON.is_file():
        t = time.perf_counter()
        rows = list(read_catalog(AMAZON))
        dt = time.perf_counter() - t
        ok = sum(r.ok for r in rows)
        print(f"catalog read: {len(rows)} rows ({ok} ok) in {dt:.2f} s = {len(rows) / dt:.0f} rows/s")
    else:
        rows = []
        print(f"catalog read: skipped ({AMAZON} not found)")

    t = time.perf_counter()
    embedder = load_embedder()
    embedder.encode(["warm up"])
    print(f"embedder load: {time.perf_counter() - t:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        store = CopyStore(path=Path(tmp) / "chroma", embedder=embedder)
        print(f"open embedded store: {time.perf_counter() - t:.2f} s")
        exemplars = load_bundled_exemplars()
        t = time.perf_counter()
        n = store.ensure_seeded()
        dt = time.perf_counter() - t
        print(f"seed {n} bundled exemplars: {dt:.2f} s ({n / dt:.0f} records/s)")
        t = time.perf_counter()
        rep = store.add_report(exemplars)
        print(f"re-index the same {rep.total}: {time.perf_counter() - t:.2f} s (added {rep.added}, unchanged {rep.unchanged})")

        products = [r.product for r in rows if r.product is not None]
        queries = [(" ".join([p.title, *p.facts[:2]]), p.category) for p in products] or [
            (e.text, e.category) for e in exemplars
        ]
        channels = sorted({e.channel for e in exemplars})
        with_cat, without_cat = [], []
        for i in range(args.searches):
            q, cat = queries[i % len(queries)]
            ch = channels[i % len(channels)]
            t = time.perf_counter()
            store.search(q, channel=ch, category=cat, k=4)
            with_cat.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.search(q, channel=ch, k=4)
            without_cat.append(time.perf_counter() - t)
        print(f"search k=4, channel + category ({args.searches}x): {_ms(with_cat)}")
        print(f"search k=4, channel only ({args.searches}x): {_ms(without_cat)}")
        encode = []
        for q, _ in queries[: min(50, len(queries))]:
            t = time.perf_counter()
            embedder.encode([q])
            encode.append(time.perf_counter() - t)
        print(f"  of which query embedding: {_ms(encode)}")

        if args.bulk and products:
            bullets = []
            for p in products:
                for fact in p.facts:
                    if ":" in fact[:40] or len(fact) > 250:
                        continue
                    bullets.append(PastCopy(text=fact, channel="amazon_bullet", category=p.category, ctr=0.01 + (zlib.crc32(fact.encode()) % 100) / 1000, source="bench"))
            bullets = bullets[: args.bulk]
            t = time.perf_counter()
            rep = store.add_report(bullets)
            dt = time.perf_counter() - t
            print(f"bulk index {rep.total} real seller bullets: {dt:.2f} s ({rep.total / dt:.0f} records/s; {rep.added} new)")
            lat = []
            for i in range(min(args.searches, 100)):
                q, cat = queries[i % len(queries)]
                t = time.perf_counter()
                store.search(q, channel="amazon_bullet", category=cat, k=4)
                lat.append(time.perf_counter() - t)
            print(f"search amazon_bullet among {store.count('amazon_bullet')} records: {_ms(lat)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
