"""The LoRA trainers learn on a tiny random LLaMA: weighted SFT lowers the completion loss, DPO
starts at log 2 (policy = reference) and prefers the chosen text afterwards."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("peft", reason="training extra not installed (pip install copyloop[train])")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """A tiny model gains nothing from threads, and a second thread stalls on a busy CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class CharTokenizer:
    """One id per character: enough of a tokenizer for the trainers."""

    eos_token = "#"
    pad_token_id = 0

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [2 + (ord(c) % 60) for c in text]}


def _model(seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from copyloop.training.lora_train import LoraTrainConfig, attach_lora

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      initializer_range=0.3)  # a random LM with logits big enough to be learnable
    base = LlamaForCausalLM(cfg)
    return attach_lora(base, LoraTrainConfig(rank=4, alpha=8, dropout=0.0, seed=seed))


def _cfg(**kw):
    from copyloop.training.lora_train import LoraTrainConfig

    return LoraTrainConfig(rank=4, alpha=8, dropout=0.0, sft_batch=1, dpo_batch=1, **kw)


def test_weighted_sft_lowers_the_completion_loss(tmp_path: Path) -> None:
    from copyloop.training.lora_train import SFTExample, train_sft

    model = _model()
    model.train()
    examples = [SFTExample("Write: ", "bright wooden toy", 1.0), SFTExample("Write: ", "bright wooden toy", 1.0)]
    report = train_sft(model, CharTokenizer(), examples, _cfg(sft_epochs=4, sft_lr=5e-2), tmp_path)
    assert report.steps == 8 and report.examples == 2
    assert report.last_loss < 0.5 * report.first_loss


def test_prompt_pass_without_gradients_gives_the_same_loss(tmp_path: Path) -> None:
    """The KV-cache shortcut must not change the forward pass (guards the cache API too)."""
    from copyloop.training.lora_train import SFTExample, train_sft

    losses = []
    for prompt_grad in (True, False):
        model = _model(seed=1)
        model.train()
        report = train_sft(model, CharTokenizer(), [SFTExample("Describe it: ", "soft plush fox", 1.0)],
                           _cfg(sft_epochs=1, sft_lr=1e-3, prompt_grad=prompt_grad), tmp_path / str(prompt_grad))
        losses.append(report.first_loss)
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_dpo_starts_at_log2_and_learns_the_preference(tmp_path: Path) -> None:
    import torch

    from copyloop.training.lora_train import PreferencePair, completion_logp, forward_prefix, train_dpo

    model = _model(seed=2)
    tok = CharTokenizer()
    pairs = [PreferencePair("Headline: ", "Cosy fox", "BEST EVER", 0.5)] * 2
    model.train()
    report = train_dpo(model, tok, pairs, _cfg(dpo_epochs=3, dpo_lr=5e-2, dpo_beta=0.5), tmp_path)
    assert report.first_loss == pytest.approx(math.log(2), abs=1e-3)  # LoRA starts as a no-op
    assert report.last_loss < report.first_loss
    model.eval()
    prompt = torch.tensor([tok("Headline: ")["input_ids"]])

    def margin() -> float:
        head, last = prompt[:, :-1], prompt[:, -1:]
        chosen = torch.tensor([tok("Cosy fox#")["input_ids"]])
        rejected = torch.tensor([tok("BEST EVER#")["input_ids"]])
        with torch.no_grad():
            import copy

            cache = forward_prefix(model, head)
            return float(completion_logp(model, copy.deepcopy(cache), last, chosen) - completion_logp(model, cache, last, rejected))

    trained = margin()
    with model.disable_adapter():
        base = margin()
    assert trained > base
