"""Raw llama-cpp generation speed on the drafter's own prompts.

    .venv/bin/python bench/llm_raw.py [--n 5] [--channels product_description,google_ads_headline]
                                      [--extra-buffers off|on|both] [--json]
    .venv/bin/python bench/llm_raw.py --batched compare --candidates 3 [--n 5] [--threads 1]

``--batched compare`` measures ``LlamaCppBackend.generate(messages, n=CANDIDATES)`` on the
drafter's prompts (one prompt per product and channel, its grammar and stops) decoded one
candidate after another (``batched=False``) and together in one batch per step (``batched=True``),
product by product in alternation on the same loaded model, so both see the same machine load.
Next to tokens/s it judges the copy of both paths with the same yardsticks: grammar validity (the
text is accepted by the channel's GBNF grammar, and complete), the channel's hard length limits,
invented numbers (digits not in the product's data), mean length.

``--extra-buffers both`` (the default) loads the model twice in the same run, with llama.cpp's
extra buffer types (AMX / repacked weights) off (copyloop's default since issue #10) and on, and
prints both side by side. bench/llama_builds.py runs this script under several llama-cpp-python
wheels (native vs portable build) to compare builds in one run.

Prints model load time, prompt tokens (and how many the KV cache reused), generated tokens and
tokens/s, with and without the channel grammar, calling ``Llama.create_completion`` directly on
the exact prompt text the drafter sends. ``raw_generate`` is the helper bench/refine.py imports to
replay the loop's prompts and compare "tokens/s inside the loop" with raw llama-cpp in one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_products" / "products.csv"


def raw_generate(
    backend: Any,
    messages: Sequence[dict[str, str]],
    *,
    max_tokens: int = 200,
    temperature: float = 0.7,
    seed: int = 0,
    grammar: str | None = None,
    stop: Sequence[str] | None = None,
    **_: Any,
) -> tuple[int, float]:
    """One completion straight from ``backend.llama`` (a ``LlamaCppBackend``): same prompt text,
    sampling arguments, grammar and stops as ``backend.generate``, without any of its bookkeeping.
    Returns (completion tokens, seconds inside ``create_completion``)."""
    import llama_cpp

    from copyloop.agents.llama_backend import TEMPLATE_STOPS

    prompt = backend.format_prompt(messages)
    compiled = llama_cpp.LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
    started = time.perf_counter()
    result: Any = backend.llama.create_completion(
        prompt,
        max_tokens=max_tokens,
        temperature=max(0.0, float(temperature)),
        repeat_penalty=backend.repeat_penalty,
        seed=int(seed) & 0xFFFFFFFF,
        stop=list(dict.fromkeys([*TEMPLATE_STOPS, *(stop or ())])),
        grammar=compiled,
    )
    seconds = time.perf_counter() - started
    return int(result["usage"]["completion_tokens"]), seconds


def drafter_calls(products: list[Any], channels: list[str], candidates: int) -> list[dict[str, Any]]:
    """The generate() arguments the drafter would use for each product, channel and candidate."""
    from copyloop.agents.draft_prompt import ANGLES, build_messages, grammar_for, stop_sequences, token_budget
    from copyloop.tools.channels import ChannelRegistry

    registry = ChannelRegistry()
    calls = []
    for product in products:
        for channel in channels:
            spec = registry.get(channel)
            for i in range(candidates):
                angle = ANGLES[i % len(ANGLES)]
                calls.append(
                    {
                        "channel": channel,
                        "messages": build_messages(product, spec, angle=angle),
                        "max_tokens": token_budget(spec),
                        "temperature": angle.temperature,
                        "seed": i,
                        "grammar": grammar_for(spec, product),
                        "stop": stop_sequences(spec),
                    }
                )
    return calls


def grammar_verdict(backend: Any, grammar: str, text: str) -> tuple[bool, bool]:
    """(every character of ``text`` is allowed by the GBNF ``grammar``, the grammar may end there).

    Replays the text's tokens through a fresh llama.cpp grammar sampler, one candidate at a time
    (a GBNF grammar judges characters, so any tokenization of the same text gives the same answer).
    """
    import ctypes
    import math

    import llama_cpp
    from llama_cpp._internals import LlamaTokenDataArray

    sampler = llama_cpp.llama_sampler_init_grammar(backend.llama._model.vocab, grammar.encode("utf-8"), b"root")
    one = LlamaTokenDataArray(n_vocab=1)

    def allowed(token: int) -> bool:
        one.candidates_data.id[0] = token
        one.candidates_data.logit[0] = 0.0
        one.candidates_data.p[0] = 0.0
        one.candidates.size = 1
        one.candidates.sorted = False
        one.candidates.selected = -1
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(one.candidates))
        return math.isfinite(float(one.candidates_data.logit[0]))

    try:
        for token in backend.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False):
            if not allowed(token):
                return False, False
            llama_cpp.llama_sampler_accept(sampler, token)
        return True, allowed(backend.llama.token_eos())
    finally:
        llama_cpp.llama_sampler_free(sampler)


def compare_batched(backend: Any, products: list[Any], channels: list[str], candidates: int, seed: int) -> list[dict[str, Any]]:
    """Sequential against batched decoding of ``candidates`` samples per prompt (see module doc)."""
    from drafter import invented_numbers, within_length  # bench/drafter.py

    from copyloop.agents.draft_prompt import ANGLES, build_messages, grammar_for, stop_sequences, token_budget
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.text import word_count

    registry = ChannelRegistry()
    rows: list[dict[str, Any]] = []
    for channel in channels:
        spec = registry.get(channel)
        acc = {mode: {"tokens": 0, "seconds": 0.0, "texts": [], "valid": 0, "complete": 0, "length_ok": 0,
                      "invented": 0, "words": 0} for mode in ("sequential", "batched")}
        for product in products:
            angle = ANGLES[0]
            grammar = grammar_for(spec, product)
            kwargs = dict(n=candidates, max_tokens=token_budget(spec), temperature=angle.temperature, seed=seed,
                          grammar=grammar, stop=stop_sequences(spec))
            messages = build_messages(product, spec, angle=angle)
            for mode in ("sequential", "batched"):
                backend.batched = mode == "batched"
                before = backend.stats.tokens_generated
                started = time.perf_counter()
                texts = backend.generate(messages, **kwargs)
                a = acc[mode]
                a["seconds"] += time.perf_counter() - started
                a["tokens"] += backend.stats.tokens_generated - before
                for text in texts:
                    valid, complete = grammar_verdict(backend, grammar, text)
                    a["valid"] += valid
                    a["complete"] += complete
                    a["length_ok"] += within_length(text.strip(), spec)
                    a["invented"] += bool(invented_numbers(text, product))
                    a["words"] += word_count(text)
                    a["texts"].append(text)
        for mode, a in acc.items():
            n = len(a["texts"]) or 1
            rows.append({
                "channel": channel, "mode": mode, "candidates": candidates, "calls": len(products),
                "completions": len(a["texts"]), "tokens": a["tokens"], "seconds": round(a["seconds"], 2),
                "tokens_per_second": round(a["tokens"] / a["seconds"], 2) if a["seconds"] else 0.0,
                "grammar_valid": round(a["valid"] / n, 3), "grammar_complete": round(a["complete"] / n, 3),
                "within_length": round(a["length_ok"] / n, 3), "invented_number_rate": round(a["invented"] / n, 3),
                "mean_words": round(a["words"] / n, 1), "distinct": len(set(a["texts"])),
                "sample": a["texts"][0][:100] if a["texts"] else "",
            })
    return rows


def print_comparison(rows: list[dict[str, Any]]) -> None:
    head = (f"{'channel':22s} {'mode':10s} {'tokens':>7s} {'seconds':>8s} {'tokens/s':>9s} {'grammar ok':>10s} "
            f"{'complete':>8s} {'length ok':>9s} {'invented#':>9s} {'words':>6s} {'distinct':>8s}")
    print(head)
    for r in rows:
        print(f"{r['channel']:22s} {r['mode']:10s} {r['tokens']:7d} {r['seconds']:8.1f} {r['tokens_per_second']:9.1f} "
              f"{r['grammar_valid']:10.2f} {r['grammar_complete']:8.2f} {r['within_length']:9.2f} "
              f"{r['invented_number_rate']:9.2f} {r['mean_words']:6.1f} {r['distinct']:5d}/{r['completions']}")
    by = {(r["channel"], r["mode"]): r for r in rows}
    for channel in dict.fromkeys(r["channel"] for r in rows):
        seq, bat = by.get((channel, "sequential")), by.get((channel, "batched"))
        if seq and bat and seq["tokens_per_second"]:
            print(f"{channel}: batched / sequential = {bat['tokens_per_second'] / seq['tokens_per_second']:.2f}x tokens/s")


def load_products(path: Path, n: int) -> list[Any]:
    from copyloop.tools.catalog import read_catalog

    out = []
    for row in read_catalog(path):
        if row.product is not None:
            out.append(row.product)
        if len(out) >= n:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5, help="products")
    ap.add_argument("--candidates", type=int, default=2)
    ap.add_argument("--channels", default="product_description,google_ads_headline")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--extra-buffers", choices=("off", "on", "both"), default="both",
                    help="llama.cpp extra buffer types (AMX/repack): off is copyloop's default")
    ap.add_argument("--batched", choices=("off", "compare"), default="off",
                    help="compare: generate(n=CANDIDATES) decoded sequentially and batched, side by side, with "
                         "quality yardsticks; off: the raw create_completion figures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="also print one JSON line with every figure")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/drafter.py's yardsticks

    import json

    from copyloop.agents.llama_backend import LlamaCppBackend
    from copyloop.agents.llama_loader import system_info

    print(f"llama.cpp: {system_info()}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine: figures vary with it)")
    channels = args.channels.split(",")
    calls = drafter_calls(load_products(args.csv, args.n), channels, args.candidates)
    variants = {"off": [False], "on": [True], "both": [False, True]}[args.extra_buffers]
    figures: list[dict[str, Any]] = []
    for extra in variants:
        started = time.perf_counter()
        backend = LlamaCppBackend(lora_path="none", n_threads=args.threads, extra_buffer_types=extra)
        load = time.perf_counter() - started
        label_buf = "extra buffers on" if extra else "extra buffers off"
        print(f"[{label_buf}] model: {backend.model_path.name}  threads: {backend.n_threads}  load: {load:.2f} s")
        if args.batched == "compare":
            print(f"  load average before: {os.getloadavg()[0]:.2f}")
            rows = compare_batched(backend, load_products(args.csv, args.n), channels, args.candidates, args.seed)
            for r in rows:
                r["extra_buffers"] = extra
            print_comparison(rows)
            print(f"  load average after: {os.getloadavg()[0]:.2f}")
            figures.extend(rows)
            del backend
            continue
        for channel in channels:
            mine = [c for c in calls if c["channel"] == channel]
            for label, use_grammar in (("grammar", True), ("no grammar", False)):
                prompt = reused = tokens = 0
                seconds = 0.0
                for c in mine:
                    ids = backend.llama.tokenize(backend.format_prompt(c["messages"]).encode("utf-8"), add_bos=False, special=True)
                    prompt += len(ids)
                    reused += min(backend.llama.longest_token_prefix(backend.llama._input_ids.tolist(), ids), len(ids) - 1)
                    kw = {k: v for k, v in c.items() if k not in ("channel", "messages")}
                    if not use_grammar:
                        kw["grammar"] = None
                    got, secs = raw_generate(backend, c["messages"], **kw)
                    tokens += got
                    seconds += secs
                rate = tokens / seconds if seconds else 0.0
                figures.append({"extra_buffers": extra, "channel": channel, "grammar": use_grammar, "calls": len(mine),
                                "prompt_tokens": prompt, "tokens": tokens, "seconds": round(seconds, 3),
                                "tokens_per_second": round(rate, 2)})
                print(
                    f"  {channel:22s} {label:10s} calls {len(mine):3d}  prompt tokens {prompt:6d} (KV reused {100 * reused / max(prompt, 1):.0f}%)"
                    f"  generated {tokens:5d} in {seconds:6.1f} s = {rate:5.1f} tokens/s"
                )
        del backend
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")
    if args.json:
        print("JSON " + json.dumps({"system_info": system_info(), "figures": figures, "peak_rss_mib": round(rss)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
