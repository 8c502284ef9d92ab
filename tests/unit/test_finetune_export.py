"""The GGUF LoRA exporter writes what llama.cpp's adapter loader expects (no model load here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gguf", reason="training extra not installed (pip install copyloop[train])")

from copyloop.errors import InputError  # noqa: E402
from copyloop.training.gguf_export import LoraPair, read_adapter_info, rotary_permute, write_lora_gguf  # noqa: E402

HIDDEN, KV, FFN, RANK, HEADS, KV_HEADS = 32, 16, 48, 4, 4, 2


def _pairs(rng: np.random.Generator, layers: int = 2, scaling: float = 2.0) -> list[LoraPair]:
    shapes = {
        "self_attn.q_proj": (HIDDEN, HIDDEN),
        "self_attn.k_proj": (KV, HIDDEN),
        "self_attn.v_proj": (KV, HIDDEN),
        "self_attn.o_proj": (HIDDEN, HIDDEN),
        "mlp.up_proj": (FFN, HIDDEN),
        "mlp.down_proj": (HIDDEN, FFN),
    }
    pairs = []
    for layer in range(layers):
        for mod, (out_f, in_f) in shapes.items():
            a = rng.standard_normal((RANK, in_f)).astype(np.float32)
            b = rng.standard_normal((out_f, RANK)).astype(np.float32)
            pairs.append(LoraPair(f"model.layers.{layer}.{mod}", a, b, scaling))
    return pairs


def _write(tmp_path: Path, pairs: list[LoraPair], dtype: str = "f32") -> Path:
    out = tmp_path / "adapter.gguf"
    write_lora_gguf(pairs, out, n_layers=2, n_head=HEADS, n_head_kv=KV_HEADS, dtype=dtype)
    return out


def test_header_says_lora_adapter_with_alpha(tmp_path: Path) -> None:
    info = read_adapter_info(_write(tmp_path, _pairs(np.random.default_rng(0))))
    fields = info["fields"]
    assert fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == "llama"
    assert fields["adapter.lora.alpha"] == pytest.approx(2.0 * RANK)  # scaling * rank: llama.cpp divides by rank


def test_tensor_names_and_ggml_shapes_match_llama_cpp(tmp_path: Path) -> None:
    tensors = read_adapter_info(_write(tmp_path, _pairs(np.random.default_rng(0))))["tensors"]
    assert len(tensors) == 2 * 6 * 2
    # ggml order (ne0, ne1): lora_a = (in, rank), lora_b = (rank, out)
    assert tensors["blk.0.attn_q.weight.lora_a"] == (HIDDEN, RANK)
    assert tensors["blk.0.attn_q.weight.lora_b"] == (RANK, HIDDEN)
    assert tensors["blk.1.attn_k.weight.lora_b"] == (RANK, KV)
    assert tensors["blk.1.attn_output.weight.lora_a"] == (HIDDEN, RANK)
    assert tensors["blk.0.ffn_up.weight.lora_b"] == (RANK, FFN)
    assert tensors["blk.0.ffn_down.weight.lora_a"] == (FFN, RANK)
    assert all(name.startswith("blk.") and name.endswith((".weight.lora_a", ".weight.lora_b")) for name in tensors)


def test_q_and_k_deltas_get_llama_cpp_rotary_row_order(tmp_path: Path) -> None:
    import gguf

    pairs = _pairs(np.random.default_rng(1), layers=1)
    reader = gguf.GGUFReader(str(_write(tmp_path, pairs)))
    stored = {t.name: np.array(t.data) for t in reader.tensors}
    by_mod = {p.module.split(".", 3)[-1]: p for p in pairs}
    # V is written as is; Q/K rows are permuted per head so that the delta lands on the rows
    # llama.cpp's own conversion would have put them on
    np.testing.assert_array_equal(stored["blk.0.attn_v.weight.lora_b"], by_mod["self_attn.v_proj"].b)
    q = by_mod["self_attn.q_proj"].b
    np.testing.assert_array_equal(stored["blk.0.attn_q.weight.lora_b"], rotary_permute(q, HEADS))
    assert not np.array_equal(stored["blk.0.attn_q.weight.lora_b"], q)
    np.testing.assert_array_equal(stored["blk.0.attn_k.weight.lora_b"], rotary_permute(by_mod["self_attn.k_proj"].b, KV_HEADS))
    np.testing.assert_array_equal(stored["blk.0.attn_q.weight.lora_a"], by_mod["self_attn.q_proj"].a)


def test_rotary_permute_is_the_interleave_of_each_heads_halves() -> None:
    rows = np.arange(8).reshape(8, 1)  # one head of 8 rows: halves [0..3] and [4..7] interleave
    assert rotary_permute(rows, 1).ravel().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def test_f16_export_halves_the_file(tmp_path: Path) -> None:
    pairs = _pairs(np.random.default_rng(0))
    big = _write(tmp_path, pairs, "f32").stat().st_size
    small_path = tmp_path / "small.gguf"
    write_lora_gguf(pairs, small_path, n_layers=2, n_head=HEADS, n_head_kv=KV_HEADS, dtype="f16")
    assert small_path.stat().st_size < 0.6 * big


def test_mixed_alphas_and_unknown_modules_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pairs = _pairs(rng, layers=1)
    mixed = [pairs[0], LoraPair(pairs[1].module, pairs[1].a, pairs[1].b, 3.0)]
    with pytest.raises(InputError, match="alpha"):
        write_lora_gguf(mixed, tmp_path / "x.gguf", n_layers=1, n_head=HEADS, n_head_kv=KV_HEADS)
    odd = [LoraPair("model.layers.0.mystery_proj", pairs[0].a, pairs[0].b, 2.0)]
    with pytest.raises(InputError, match="mystery_proj"):
        write_lora_gguf(odd, tmp_path / "y.gguf", n_layers=1, n_head=HEADS, n_head_kv=KV_HEADS)
    assert not list(tmp_path.glob("y.gguf*"))


def test_rotary_unpermute_inverts_the_permutation() -> None:
    from copyloop.training.gguf_export import rotary_unpermute

    rows = np.random.default_rng(3).standard_normal((KV, RANK))
    np.testing.assert_array_equal(rotary_unpermute(rotary_permute(rows, KV_HEADS), KV_HEADS), rows)


def test_peft_adapter_survives_export_and_import(tmp_path: Path) -> None:
    """A tiny random LLaMA + random LoRA -> GGUF -> imported into a fresh copy: same logits."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from copyloop.training.gguf_export import export_peft_model, load_gguf_adapter

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only stalls on a busy CPU
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    base = LlamaForCausalLM(cfg).eval()
    fresh = copy.deepcopy(base)
    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, init_lora_weights=False,
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"])
    trained = get_peft_model(base, lora).eval()
    path = tmp_path / "tiny.gguf"
    summary = export_peft_model(trained, path, dtype="f32")
    assert summary.tensors == 2 * 6 * 2 and summary.alpha == pytest.approx(8.0)
    imported = load_gguf_adapter(fresh, path)
    ids = torch.tensor([[1, 5, 9, 12, 40, 3]])
    with torch.no_grad():
        want = trained(ids).logits
        got = imported(ids).logits
        with imported.disable_adapter():
            plain = imported(ids).logits
    torch.set_num_threads(threads)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert (want - plain).abs().max() > 1e-2  # the adapter does something
