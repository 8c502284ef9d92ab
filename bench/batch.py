"""Batch benchmark: throughput, memory and quality of the refinement loop against a single pass.

For each mode (``refine``: the full loop with the catalog-diversity pass; ``baseline``: one draft
per item — max_iterations=1, candidates=1, no diversity pass; critics and scorer only report)
and each worker count, a fresh ``rewrite_catalog`` runs in a child process on the first N
products of the shared Amazon catalog. The parent samples the RSS of that child and all its
worker processes every 0.2 s (peak of the sum = what the machine must hold), then measures every
output with the same yardsticks: mean conversion score, pass rate, and the catalog's mean
pairwise similarity / near-duplicates / most repeated phrases.

    .venv/bin/python bench/batch.py --products 100 --workers 1,2          # the full benchmark
    .venv/bin/python bench/batch.py --products 20 --workers 1,2           # a quicker look
    .venv/bin/python bench/batch.py --engine ray --products 6 --workers 1,2 --modes refine
                                          # the local pool, then Ray Data with 1 and 2 actors, same run

With ``--engine ray`` every (mode, workers) runs twice: on the local process pool and on Ray Data
(a local Ray started by the child, ``workers`` = actors, each with the same llama.cpp threads as a
local worker). Besides the peak RSS of the whole process tree, the sampler keeps the peak RSS of
each Ray actor process (``ray::...CopyActor``) and of Ray's own daemons (GCS, raylet, ...).

Figures go to stdout (and ``--json FILE``). Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "amazon_products" / "products.csv"
PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------------ memory sampling
def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _tree(root: int) -> dict[int, int]:
    """``{pid: RSS bytes}`` of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
            with open(f"/proc/{entry}/statm", "rb") as fh:
                pages = int(fh.read().split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = pages * PAGE
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        out[pid] = rss.get(pid, 0)
        todo.extend(c for c, p in parents.items() if p == pid)
    return out


def _tree_rss(root: int) -> int:
    """Sum of RSS (bytes) of ``root`` and all its descendants."""
    return sum(_tree(root).values())


class PeakSampler(threading.Thread):
    """Peak RSS of a process tree (sum), and the peak of each Ray actor process and Ray daemon."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self._halt = pid, every, 0, threading.Event()
        self.actor_peaks: dict[int, int] = {}
        self.ray_daemons_peak = 0

    def run(self) -> None:
        while not self._halt.is_set():
            tree = _tree(self.pid)
            self.peak = max(self.peak, sum(tree.values()))
            daemons = 0
            for pid, rss in tree.items():
                name = _cmdline(pid)  # not cached: a Ray worker renames itself when it becomes an actor
                if "CopyActor" in name:
                    self.actor_peaks[pid] = max(self.actor_peaks.get(pid, 0), rss)
                elif any(d in name for d in ("gcs_server", "raylet", "dashboard", "runtime_env", "log_monitor",
                                             "monitor.py", "ray::IDLE", "default_worker")):
                    daemons += rss
            self.ray_daemons_peak = max(self.ray_daemons_peak, daemons)
            self._halt.wait(self.every)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


# ------------------------------------------------------------------------------ one run (child)
def run_one(args: argparse.Namespace) -> None:
    from copyloop.batch import rewrite_catalog
    from copyloop.settings import Settings

    settings = Settings()
    baseline = args.mode == "baseline"
    if baseline:
        settings = settings.model_copy(
            update={"refine": settings.refine.model_copy(update={"max_iterations": 1, "candidates": 1})}
        )
    summary = rewrite_catalog(
        args.source, args.channels.split(","), args.out, workers=args.workers, limit=args.products,
        settings=settings, quiet=True, diversity=not baseline, seed=args.seed, engine=args.engine,
    )
    print(summary.model_dump_json())


# ------------------------------------------------------------------------------ the benchmark
def measure(source: Path, out: Path, mode: str, workers: int, products: int, channels: str, seed: int,
            engine: str = "local") -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", "--mode", mode, "--workers", str(workers), "--products", str(products),
           "--channels", channels, "--source", str(source), "--out", str(out), "--seed", str(seed), "--engine", engine]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampler = PeakSampler(proc.pid)
    sampler.start()
    stdout, _ = proc.communicate()
    peak = sampler.stop()
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{mode} on {engine} with {workers} worker(s) failed with exit code {proc.returncode}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    actors = sorted(sampler.actor_peaks.values())
    return {"mode": mode, "engine": engine, "workers": workers, "wall_seconds": round(wall, 1),
            "peak_rss_mb": round(peak / 2**20), "summary": summary,
            "actor_peak_rss_mb": [round(a / 2**20) for a in actors],
            "ray_daemons_peak_rss_mb": round(sampler.ray_daemons_peak / 2**20) if engine == "ray" else None,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def quality(out: Path, similarity_max: float) -> dict[str, Any]:
    from copyloop.batch.output import read_output
    from copyloop.batch.diversity import CopyItem, analyse_catalog
    from copyloop.tools.embeddings import load_embedder

    rows = [r for r in read_output(out) if not r.error and r.text]
    report = analyse_catalog([CopyItem(r.product_id, r.channel, r.text or "") for r in rows], load_embedder(),
                             similarity_max).report
    n = len(rows) or 1
    return {
        "items": len(rows),
        "mean_score": round(sum(r.score or 0.0 for r in rows) / n, 4),
        "pass_rate": round(sum(1 for r in rows if r.passed) / n, 4),
        "mean_iterations": round(sum(r.iterations or 0 for r in rows) / n, 2),
        "catalog_similarity": report.mean_similarity,
        "near_duplicates": report.near_duplicates,
        "top_phrases": [f"{p.phrase} x{p.texts}" for p in report.top_phrases[:5]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=100)
    ap.add_argument("--channels", default="product_description,amazon_bullet")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--modes", default="refine,baseline")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="ray: run every configuration on the local pool and on Ray Data (workers = actors)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", type=Path, help="keep outputs in this folder (default: a temp folder)")
    # child mode
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="refine", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        args.workers = int(args.workers)
        run_one(args)
        return
    engines = ["local", "ray"] if args.engine == "ray" else ["local"]
    if not args.source.is_file():
        raise SystemExit(f"catalog not found: {args.source}")

    from copyloop.settings import Settings

    similarity_max = Settings().refine.similarity_max
    folder = args.keep or Path(tempfile.mkdtemp(prefix="copyloop-bench-batch-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    runs = [(m, e, int(w)) for m in args.modes.split(",") for e in engines for w in args.workers.split(",")]
    for mode, engine, workers in runs:
        out = folder / f"{mode}-{engine}-w{workers}.jsonl"
        for stale in folder.glob(f"{out.name}*"):
            stale.unlink()
        print(f"running {mode} on {engine} with {workers} worker(s) on {args.products} products ...", file=sys.stderr, flush=True)
        res = measure(args.source, out, mode, workers, args.products, args.channels, args.seed, engine)
        res["quality"] = quality(out, similarity_max)
        s = res["summary"]
        res["products_per_minute"] = round(s["products"] / res["wall_seconds"] * 60, 2) if res["wall_seconds"] else None
        results.append(res)
        _print_row(res)
    _print_table(results)
    _print_engines(results, folder)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _print_engines(results: list[dict[str, Any]], folder: Path) -> None:
    """Local pool against Ray Data: throughput, memory per actor, and whether the copy is identical."""
    from copyloop.batch.output import read_output

    ray_runs = [r for r in results if r["engine"] == "ray"]
    if not ray_runs:
        return
    print(f"{'mode':<9}{'engine':>7}{'workers':>8}{'products/min':>14}{'peak RSS MB':>13}{'per actor MB':>14}"
          f"{'Ray daemons MB':>16}{'load avg':>14}")
    for r in results:
        actors = "/".join(str(a) for a in r["actor_peak_rss_mb"]) or "-"
        load = f"{r['load_average'][0]}->{r['load_average'][1]}"
        print(f"{r['mode']:<9}{r['engine']:>7}{r['workers']:>8}{r['products_per_minute']!s:>14}{r['peak_rss_mb']:>13}"
              f"{actors:>14}{r['ray_daemons_peak_rss_mb'] or '-'!s:>16}{load:>14}")
    for r in ray_runs:
        twin = folder / f"{r['mode']}-local-w{r['workers']}.jsonl"
        mine = folder / f"{r['mode']}-ray-w{r['workers']}.jsonl"
        if twin.exists() and mine.exists():
            same = [(x.product_id, x.channel, x.text) for x in read_output(twin)] == \
                   [(x.product_id, x.channel, x.text) for x in read_output(mine)]
            print(f"{r['mode']} w={r['workers']}: Ray and the local pool wrote {'identical' if same else 'DIFFERENT'} copy")


def _print_row(r: dict[str, Any]) -> None:
    q = r["quality"]
    print(f"{r['mode']:>8} {r['engine']} w={r['workers']}: {r['products_per_minute']} products/min, peak RSS {r['peak_rss_mb']} MB, "
          f"mean score {q['mean_score']}, pass rate {q['pass_rate']}, catalog similarity {q['catalog_similarity']}",
          file=sys.stderr, flush=True)


def _print_table(results: list[dict[str, Any]]) -> None:
    head = f"{'mode':<9}{'workers':>8}{'products/min':>14}{'peak RSS MB':>13}{'mean score':>12}{'pass rate':>11}" \
           f"{'iters':>7}{'catalog sim':>13}{'near-dups':>11}{'failed':>8}{'redrafted':>11}"
    print(head)
    for r in results:
        q, s = r["quality"], r["summary"]
        print(f"{r['mode']:<9}{r['workers']:>8}{r['products_per_minute']:>14}{r['peak_rss_mb']:>13}{q['mean_score']:>12}"
              f"{q['pass_rate']:>11}{q['mean_iterations']:>7}{q['catalog_similarity']!s:>13}{q['near_duplicates']:>11}"
              f"{s['failed']:>8}{s['redrafted']:>11}")
    by = {(r["mode"], r["workers"]): r for r in results if r["engine"] == "local"}
    for w in sorted({r["workers"] for r in results}):
        a, b = by.get(("refine", w)), by.get(("baseline", w))
        if a and b and a["products_per_minute"] and b["products_per_minute"]:
            print(f"workers={w}: refinement costs {b['products_per_minute'] / a['products_per_minute']:.1f}x the time of a "
                  f"single pass; mean score {b['quality']['mean_score']} -> {a['quality']['mean_score']}, pass rate "
                  f"{b['quality']['pass_rate']} -> {a['quality']['pass_rate']}, catalog similarity "
                  f"{b['quality']['catalog_similarity']} -> {a['quality']['catalog_similarity']}")
    for r in results:
        print(f"{r['mode']} w={r['workers']} top phrases: {'; '.join(r['quality']['top_phrases'])}")


if __name__ == "__main__":
    main()
