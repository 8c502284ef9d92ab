"""The committed fine-tuned adapter: a fresh install drafts with it, its report matches the file,
it was never trained on its held-out products, and llama-cpp serving it reproduces the model
that was trained (the adapter is imported back into PEFT with the exporter's inverse)."""

from __future__ import annotations

import json

import pytest

from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH, BackendCache, LlamaCppBackend, default_model_path
from copyloop.settings import LLMSettings

pytestmark = [pytest.mark.integration, pytest.mark.llama]

REPORT = DEFAULT_ADAPTER_PATH.with_suffix(".json")
HELDOUT = DEFAULT_ADAPTER_PATH.with_suffix(".heldout.txt")


def test_adapter_and_its_report_are_bundled() -> None:
    assert DEFAULT_ADAPTER_PATH.is_file(), "the trained default adapter must be committed (copyloop finetune writes it)"
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    assert report["data"]["adapter_bytes"] == DEFAULT_ADAPTER_PATH.stat().st_size
    assert report["stages"] and report["data"]["sft_examples"] > 0 and report["data"]["dpo_pairs"] > 0
    assert report["logits"]["delta_pearson"] > 0.8  # what the training run itself measured
    heldout = [line for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert len(heldout) == report["data"]["heldout_products"]


def test_a_fresh_install_drafts_with_the_bundled_adapter() -> None:
    backend = LlamaCppBackend.from_settings(LLMSettings(), cache=BackendCache())
    assert backend.lora_path == DEFAULT_ADAPTER_PATH
    base = LlamaCppBackend.from_settings(LLMSettings(lora_path="none"), cache=BackendCache())
    assert base.lora_path is None
    messages = [{"role": "user", "content": "Write a one-line ad for a wooden puzzle."}]
    tuned = backend.generate(messages, max_tokens=12, temperature=0.0, seed=1)[0]
    plain = base.generate(messages, max_tokens=12, temperature=0.0, seed=1)[0]
    assert tuned.strip() and plain.strip()


def test_heldout_products_were_not_trained_on(amazon_csv) -> None:
    from copyloop.training.finetune_data import load_catalog, read_ids, split_catalog, split_ids

    report = json.loads(REPORT.read_text(encoding="utf-8"))
    catalog = load_catalog(amazon_csv)
    split = split_ids([p.id for p in catalog], seed=report["config"]["split_seed"], heldout_fraction=report["config"]["heldout_fraction"])
    assert split.fingerprint() == report["data"]["split_fingerprint"]  # the split is reproducible from the report
    assert set(read_ids(HELDOUT)) == set(split.heldout)
    train, _ = split_catalog(catalog, split)
    assert not {p.id for p in train} & set(split.heldout)


def test_served_adapter_reproduces_the_trained_logits() -> None:
    pytest.importorskip("peft", reason="training extra not installed (pip install copyloop[train])")
    pytest.importorskip("gguf", reason="training extra not installed (pip install copyloop[train])")
    from copyloop.agents.draft_prompt import build_messages
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.schemas import ProductBrief
    from copyloop.training.base_model import load_base_model
    from copyloop.training.gguf_export import load_gguf_adapter
    from copyloop.training.logits_check import compare_logits

    base = load_base_model(default_model_path(), threads=1)
    model = load_gguf_adapter(base.model, DEFAULT_ADAPTER_PATH)
    model.eval()
    product = ProductBrief(title="Wooden Animal Puzzle, 12 pieces", category="Toys & Games | Puzzles",
                           facts=["12 chunky beech-wood pieces", "water-based paint"])
    spec = ChannelRegistry().get("google_ads_headline")
    prompt = base.tokenizer.apply_chat_template(build_messages(product, spec), tokenize=False, add_generation_prompt=True)
    got = compare_logits(model, base.tokenizer, default_model_path(), DEFAULT_ADAPTER_PATH, [prompt], threads=1)
    assert got.mean_abs_delta_trained > 0.1  # the trained adapter really changes the model ...
    assert got.delta_pearson > 0.8  # ... and llama-cpp applies that change
    assert got.pearson > 0.99 and got.top1_agreement >= 0.9
