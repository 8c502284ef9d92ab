"""HTTP service figures with the default local model: start-up, refine over HTTP vs in process,
/healthz while the model works, and what concurrent requests do (queued on one model thread).

Starts ``copyloop serve`` in a child process on a free loopback port (real SmolLM2, scorer,
embedder and ChromaDB store in a fresh data folder) and measures

* ready: process start until ``/healthz`` reports the models loaded (``--preload``);
* refine: ``POST /v1/refine`` for N products, sequentially, against ``Engine.refine`` of the same
  inputs and seeds in this process (same copy expected: the HTTP layer and the queue must not change it);
* healthz: its latency while a refinement runs (p50 / max over ~50 calls), and on the idle server;
* burst: K requests sent at once; each waits for the one before it (one llama context), so the
  last finishes after about K times a single refine — and none runs alongside another;
* peak RSS of the server process.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/service.py [--products 3] [--burst 3] [--channel google_ads_headline]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from services import free_port  # noqa: E402

PRODUCTS = [
    {"title": "Bamboo Cutting Board", "category": "Home & Kitchen | Cutting Boards",
     "facts": ["made of bamboo", "dishwasher safe", "juice groove around the edge", "comes in three sizes"]},
    {"title": "Wooden Puzzle Set", "category": "Toys & Games | Puzzles",
     "facts": ["6 puzzles", "solid beech wood", "for ages 3 and up", "water-based paint"]},
    {"title": "Stainless Steel Water Bottle", "category": "Sports & Outdoors | Water Bottles",
     "facts": ["750 ml", "keeps drinks cold for 24 hours", "leak-proof lid"]},
    {"title": "Cotton Beach Towel", "category": "Home & Kitchen | Towels", "facts": ["100% cotton", "90 x 180 cm", "quick drying"]},
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=3)
    ap.add_argument("--burst", type=int, default=3)
    ap.add_argument("--channel", default="google_ads_headline")
    args = ap.parse_args()
    products = PRODUCTS[: args.products]
    home = Path(tempfile.mkdtemp(prefix="copyloop-bench-service-"))
    env = {k: v for k, v in os.environ.items() if k not in ("COPYLOOP_ENGINE_FACTORY", "COPYLOOP_API_KEYS")}
    env.update(COPYLOOP_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "copyloop", "serve", "--port", str(port), "--preload"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "wb"))
    try:
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).json()["model"] == "ready":
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"server exited: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        ready = time.perf_counter() - started
        print(f"ready (models loaded) after {ready:.1f} s   load average {os.getloadavg()[0]:.2f}")

        http_times, http_texts = [], []
        for i, product in enumerate(products):
            t = time.perf_counter()
            r = httpx.post(base + "/v1/refine", json={"product": product, "channel": args.channel, "seed": i}, timeout=900)
            r.raise_for_status()
            http_times.append(time.perf_counter() - t)
            http_texts.append(r.json()["text"])
        print(f"POST /v1/refine  {args.channel}: " + ", ".join(f"{x:.1f}" for x in http_times)
              + f" s (mean {statistics.fmean(http_times):.1f})   load average {os.getloadavg()[0]:.2f}")

        from copyloop.engine import Engine
        from copyloop.settings import Settings

        engine = Engine(Settings(home=home / "inproc")).load()
        local_times, same = [], 0
        for i, product in enumerate(products):
            t = time.perf_counter()
            result = engine.refine(product, args.channel, seed=i)
            local_times.append(time.perf_counter() - t)
            same += result.text == http_texts[i]
        print("Engine.refine in process: " + ", ".join(f"{x:.1f}" for x in local_times)
              + f" s (mean {statistics.fmean(local_times):.1f}); identical copy {same}/{len(products)}"
              + f"   load average {os.getloadavg()[0]:.2f}")
        del engine

        probe = httpx.Client(base_url=base, timeout=10)  # one connection: time the server, not TLS/context set-up
        idle: list[float] = []
        for _ in range(30):
            t = time.perf_counter()
            probe.get("/healthz")
            idle.append(time.perf_counter() - t)
        latencies: list[float] = []
        done = threading.Event()

        def slow() -> None:
            httpx.post(base + "/v1/refine", json={"product": PRODUCTS[0], "channel": "product_description", "seed": 99}, timeout=900)
            done.set()

        threading.Thread(target=slow, daemon=True).start()
        time.sleep(0.5)
        while not done.is_set() and len(latencies) < 50:
            t = time.perf_counter()
            busy = probe.get("/healthz").json()["busy"]
            if busy:
                latencies.append(time.perf_counter() - t)
            time.sleep(0.1)
        done.wait(900)
        if latencies:
            print(f"/healthz while the model works: p50 {1000 * statistics.median(latencies):.1f} ms, max {1000 * max(latencies):.1f} ms "
                  f"over {len(latencies)} calls (idle server: p50 {1000 * statistics.median(idle):.1f} ms)"
                  f"   load average {os.getloadavg()[0]:.2f}")

        ends: list[float] = []
        t0 = time.perf_counter()

        def one(i: int) -> None:
            httpx.post(base + "/v1/refine", json={"product": PRODUCTS[i % len(PRODUCTS)], "channel": args.channel, "seed": 100 + i},
                       timeout=900).raise_for_status()
            ends.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ends.sort()
        print(f"burst of {args.burst} at once: finished after " + ", ".join(f"{x:.1f}" for x in ends)
              + f" s (one at a time on the model thread)   load average {os.getloadavg()[0]:.2f}")
        print(f"server peak RSS {rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
