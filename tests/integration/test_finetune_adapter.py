"""A tiny random LoRA exported by our GGUF writer loads in llama-cpp and moves the served logits
the way the trained (transformers + PEFT) model moves them."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("peft", reason="training extra not installed (pip install copyloop[train])")
pytest.importorskip("gguf", reason="training extra not installed (pip install copyloop[train])")

pytestmark = [pytest.mark.integration, pytest.mark.llama]


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory: pytest.TempPathFactory):
    import torch
    from peft import LoraConfig, get_peft_model

    from copyloop.agents.llama_backend import default_model_path
    from copyloop.training.base_model import load_base_model
    from copyloop.training.gguf_export import export_peft_model

    base = load_base_model(default_model_path(), threads=1)
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, init_lora_weights=False,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"])
    model = get_peft_model(base.model, config)
    with torch.no_grad():  # a visible but realistic perturbation
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.mul_(0.3)
    model.eval()
    path = tmp_path_factory.mktemp("adapter") / "random_lora.gguf"
    summary = export_peft_model(model, path, dtype="f32")
    return model, base, path, summary


def test_export_names_every_adapted_layer(random_adapter) -> None:
    from copyloop.training.gguf_export import read_adapter_info

    model, _, path, summary = random_adapter
    info = read_adapter_info(path)
    layers = model.config.num_hidden_layers
    assert summary.tensors == len(info["tensors"]) == layers * 6 * 2
    assert info["fields"]["adapter.type"] == "lora" and info["fields"]["general.type"] == "adapter"
    hidden, kv = model.config.hidden_size, model.config.num_key_value_heads * model.config.head_dim
    assert info["tensors"][f"blk.{layers - 1}.attn_k.weight.lora_b"] == (4, kv)
    assert info["tensors"]["blk.0.attn_q.weight.lora_a"] == (hidden, 4)


def test_served_logits_follow_the_trained_adapter(random_adapter) -> None:
    from copyloop.agents.llama_backend import default_model_path
    from copyloop.training.logits_check import compare_logits

    model, base, path, _ = random_adapter
    prompt = base.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write a short ad for a wooden puzzle."}], tokenize=False, add_generation_prompt=True
    )
    got = compare_logits(model, base.tokenizer, default_model_path(), path, [prompt + "Discover the joy of"], threads=1)
    assert got.mean_abs_delta_trained > 0.2  # the adapter really changes the model ...
    assert got.delta_pearson > 0.8  # ... and llama-cpp applies the same change (wrong rows would not correlate)
    # top-1 on 43 positions of a random adapter flips on near-ties between the 4-bit served model
    # and the fp32 trained one: measured 38/43 = 0.884 with both the native and the portable
    # x86-64-v3 llama.cpp builds (transformers 5.x); the Pearson figures above are the real check
    assert got.pearson > 0.99 and got.top1_agreement >= 0.85


def test_drafter_backend_generates_with_the_adapter(random_adapter) -> None:
    from copyloop.agents.llama_backend import LlamaCppBackend

    _, _, path, _ = random_adapter
    backend = LlamaCppBackend(lora_path=path, n_ctx=512, n_threads=1)
    assert backend.lora_path == Path(path)
    out = backend.generate([{"role": "user", "content": "Name a toy."}], max_tokens=8, temperature=0.0, seed=1)
    assert out and isinstance(out[0], str)
