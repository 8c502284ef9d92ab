"""Does llama-cpp serving a LoRA GGUF reproduce the same LoRA applied in transformers?

    .venv/bin/python bench/adapter_logits.py [--adapter agents/artifacts/drafter_lora.gguf] [--prompts 4]

The adapter GGUF is imported back into a PEFT model on the de-quantised base (the inverse of the
exporter: Q/K rows un-permuted), and next-token logits at every position of real drafter prompts
(held-out products, the serving template) are compared with llama-cpp's (4-bit base + the GGUF
adapter, ``logits_all``). Prints JSON: Pearson correlation of the logits, top-1 agreement, top-5
overlap, and the same for the adapter's effect alone (adapted minus base logits). Needs the
training extra (peft, gguf).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", type=Path, default=None, help="adapter GGUF (default: the bundled drafter adapter)")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog CSV (default: the shared Amazon sample)")
    parser.add_argument("--prompts", type=int, default=4, help="held-out prompts to compare")
    parser.add_argument("--max-tokens", type=int, default=512, help="tokens per prompt compared")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from copyloop.agents.draft_prompt import ANGLES, build_messages
    from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH, LlamaCppBackend, default_model_path
    from copyloop.cli.finetune import default_catalog
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.embeddings import load_embedder
    from copyloop.tools.store import CopyStore
    from copyloop.training.base_model import load_base_model
    from copyloop.training.candidates import retrieve_exemplars
    from copyloop.training.finetune_data import FINETUNE_CHANNELS, load_catalog, read_ids, split_ids
    from copyloop.training.gguf_export import load_gguf_adapter
    from copyloop.training.logits_check import compare_logits
    from copyloop.training.lora_train import limit_threads

    adapter = args.adapter or DEFAULT_ADAPTER_PATH
    if not adapter.is_file():
        print(f"adapter does not exist: {adapter}", file=sys.stderr)
        return 2
    limit_threads(args.threads)
    catalog = load_catalog(args.catalog or default_catalog())
    ids_file = adapter.with_suffix(".heldout.txt")
    heldout = set(read_ids(ids_file)) if ids_file.is_file() else set(split_ids([c.id for c in catalog]).heldout)
    products = [c.product for c in catalog if c.id in heldout][: args.prompts]

    started = time.perf_counter()
    gguf_model = default_model_path()
    llm = LlamaCppBackend(model_path=gguf_model, n_ctx=2048, n_threads=args.threads)
    registry = ChannelRegistry()
    with tempfile.TemporaryDirectory() as tmp:
        store = CopyStore(path=Path(tmp), embedder=load_embedder())
        store.ensure_seeded()
        texts = []
        for i, product in enumerate(products):
            channel = FINETUNE_CHANNELS[i % len(FINETUNE_CHANNELS)]
            messages = build_messages(product, registry.get(channel), retrieve_exemplars(store, product, channel), angle=ANGLES[0])
            texts.append(llm.format_prompt(messages))
    base = load_base_model(gguf_model, threads=args.threads)
    model = load_gguf_adapter(base.model, adapter)
    result = compare_logits(model, base.tokenizer, gguf_model, adapter, texts, threads=args.threads, max_tokens=args.max_tokens)
    out = {"adapter": str(adapter), **result.as_dict(), "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
