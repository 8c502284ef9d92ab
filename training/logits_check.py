"""Does llama-cpp, serving the exported GGUF adapter, reproduce the trained transformers model?

We compare next-token logits at every position of the same token ids: the transformers model
(de-quantised base + PEFT LoRA) against llama-cpp (4-bit base + GGUF LoRA, ``logits_all``). The
bases hold identical (de-quantised) weights, so the logits should agree closely; greedy text may
still differ where two tokens are nearly tied. We also compare the *change* the adapter makes
(adapted minus base logits) on both sides: if the export put a delta on the wrong rows the
absolute logits could still correlate well, but the deltas would not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np


@dataclass
class LogitsAgreement:
    """Agreement figures, averaged over every position of every prompt."""

    prompts: int
    positions: int
    pearson: float  # correlation of served vs trained logits (adapter on)
    top1_agreement: float  # share of positions whose argmax token matches
    top5_overlap: float  # mean |top5 served ∩ top5 trained| / 5
    delta_pearson: float  # correlation of the adapter's effect (adapted - base), served vs trained
    delta_cosine: float
    mean_abs_delta_trained: float  # how much the adapter moves the logits at all
    base_pearson: float  # served vs transformers with the adapter off (the 4-bit/fp32 floor)

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _torch_logits(model: Any, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long)).logits[0]
    return out.float().numpy()


def _llama_logits(llm: Any, ids: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denom) if denom else 0.0


def compare_logits(
    peft_model: Any,
    tokenizer: Any,
    gguf_model: Path,
    adapter: Path,
    texts: Sequence[str],
    *,
    threads: int = 2,
    max_tokens: int = 384,
) -> LogitsAgreement:
    """Compare trained (PEFT) and served (llama-cpp + GGUF LoRA) logits on ``texts``.

    ``texts`` are full prompt strings (chat template already applied); they are tokenised once
    with the transformers tokenizer and fed as the same ids to both sides.
    """
    from copyloop.agents.llama_loader import load_llama

    n_ctx = max_tokens + 16
    served = load_llama(gguf_model, lora_path=str(adapter), n_ctx=n_ctx, n_threads=threads, logits_all=True, verbose=False)
    served_base = load_llama(gguf_model, n_ctx=n_ctx, n_threads=threads, logits_all=True, verbose=False)
    try:
        stats: dict[str, list[float]] = {k: [] for k in ("pearson", "delta_pearson", "delta_cos", "mad", "base")}
        top1 = top5 = positions = 0
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
            trained = _torch_logits(peft_model, ids)
            with peft_model.disable_adapter():
                trained_base = _torch_logits(peft_model, ids)
            got = _llama_logits(served, ids)
            got_base = _llama_logits(served_base, ids)
            stats["pearson"].append(_pearson(got, trained))
            stats["base"].append(_pearson(got_base, trained_base))
            d_served, d_trained = got - got_base, trained - trained_base
            stats["delta_pearson"].append(_pearson(d_served, d_trained))
            denom = float(np.linalg.norm(d_served) * np.linalg.norm(d_trained))
            stats["delta_cos"].append(float((d_served.ravel() @ d_trained.ravel()) / denom) if denom else 0.0)
            stats["mad"].append(float(np.abs(d_trained).mean()))
            top1 += int((got.argmax(-1) == trained.argmax(-1)).sum())
            k_s = np.argsort(-got, axis=-1)[:, :5]
            k_t = np.argsort(-trained, axis=-1)[:, :5]
            top5 += sum(len(set(a) & set(b)) for a, b in zip(k_s.tolist(), k_t.tolist()))
            positions += len(ids)
    finally:
        served.close()
        served_base.close()
    return LogitsAgreement(
        prompts=len(texts),
        positions=positions,
        pearson=float(np.mean(stats["pearson"])),
        top1_agreement=top1 / max(positions, 1),
        top5_overlap=top5 / max(5 * positions, 1),
        delta_pearson=float(np.mean(stats["delta_pearson"])),
        delta_cosine=float(np.mean(stats["delta_cos"])),
        mean_abs_delta_trained=float(np.mean(stats["mad"])),
        base_pearson=float(np.mean(stats["base"])),
    )


__all__ = ["LogitsAgreement", "compare_logits"]
