"""Compare llama-cpp-python builds (for example the portable x86-64-v3 wheel the install scripts
build against pip's default -march=native wheel) on the drafter's prompts, in one run.

    .venv/bin/python bench/llama_builds.py --wheel native=/path/native.whl --wheel portable=/path/portable.whl
                                           [--rounds 2] [--n 3]

Each wheel is unpacked into its own folder and bench/llm_raw.py runs under it (PYTHONPATH first),
the variants alternating round by round so that load changes on a shared machine hit all of them.
Prints tokens/s per channel (grammar on) and the mean over rounds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def unpack(wheel: Path, into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(into), str(wheel)], check=True)
    return into


def run(target: Path, n: int, candidates: int) -> dict:
    env = {"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(HERE / "llm_raw.py"), "--n", str(n), "--candidates", str(candidates), "--extra-buffers", "off", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )
    line = next(l for l in proc.stdout.splitlines() if l.startswith("JSON "))
    return json.loads(line[5:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", action="append", required=True, help="label=path/to/llama_cpp_python.whl")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--n", type=int, default=3, help="products per round")
    ap.add_argument("--candidates", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        targets = {}
        for spec in args.wheel:
            label, _, path = spec.partition("=")
            targets[label] = unpack(Path(path), Path(tmp) / label)
        rates: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in range(args.rounds):
            for label, target in targets.items():
                out = run(target, args.n, args.candidates)
                for f in out["figures"]:
                    if f["grammar"]:
                        rates[(label, f["channel"])].append(f["tokens_per_second"])
                print(f"round {r + 1} {label:10s} {out['system_info']}")
        print(f"\n{'build':12s} {'channel':24s} tokens/s per round -> mean")
        for (label, channel), values in rates.items():
            print(f"{label:12s} {channel:24s} {' '.join(f'{v:6.1f}' for v in values)} -> {sum(values) / len(values):6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
