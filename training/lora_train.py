"""LoRA training of the drafter: reward-weighted SFT, then DPO on best-vs-worst pairs.

Both stages train the same PEFT adapter on the de-quantised base (``base_model.py``):

1. **Reward-weighted SFT** (a ``transformers.Trainer`` with a weighted loss): the best candidate
   of each prompt that passed every hard filter, weighted by its reward relative to the mean, so a
   clear winner teaches more than a marginal one. The loss covers the completion tokens only.
2. **DPO** (a ``transformers.Trainer`` with the DPO loss): chosen = best candidate, rejected =
   the lowest-reward one (often an ungrounded or rule-breaking draft), kept only when the reward
   margin is large enough. The reference policy is the adapter-disabled base. We do not use
   ``trl.DPOTrainer``: it runs prompt + completion four times per pair, and on this CPU the prompt
   is most of the cost; our trainer shares one prompt pass per side (see ``_dpo_trainer_class``).

Prompts are rendered with the serving drafter's ``build_messages`` and the model's own chat
template, by the caller; this module only sees (prompt text, completion text) pairs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj")


class LoraTrainConfig(BaseModel):
    """Adapter shape and the optimisation of both stages."""

    rank: int = Field(8, ge=1, le=64, description="LoRA rank r")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha (update scale alpha / r)")
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    seed: int = 0
    threads: int = Field(
        1, ge=1, description="torch CPU threads (1 is fastest on a shared 2-core box: 2 threads ran 10x slower under load)"
    )
    prompt_grad: bool = Field(False, description="backpropagate through the prompt too (exact, about twice the cost)")
    max_length: int = Field(1536, ge=64, description="prompt + completion tokens; longer examples are dropped (prompts run 500-960)")
    sft_epochs: float = Field(1.0, ge=0.0, description="passes over the SFT examples (0 skips SFT)")
    sft_lr: float = Field(3e-4, gt=0)
    sft_batch: int = Field(4, ge=1, description="examples per optimiser step (gradient accumulation)")
    dpo_epochs: float = Field(1.0, ge=0.0, description="passes over the DPO pairs (0 skips DPO)")
    dpo_lr: float = Field(5e-5, gt=0)
    dpo_beta: float = Field(0.1, gt=0)
    dpo_batch: int = Field(2, ge=1)
    max_minutes: float | None = Field(None, gt=0, description="stop a stage early when the run exceeds this")


@dataclass(frozen=True)
class SFTExample:
    prompt: str
    completion: str
    weight: float


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    margin: float


@dataclass
class StageReport:
    name: str
    examples: int
    steps: int
    seconds: float
    first_loss: float | None
    last_loss: float | None
    stopped_early: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def attach_lora(model: Any, cfg: LoraTrainConfig) -> Any:
    """Wrap ``model`` with a fresh LoRA adapter (plain LoRA: llama.cpp cannot serve DoRA/rsLoRA)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(cfg.seed)
    config = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
        use_rslora=False,
        use_dora=False,
    )
    return get_peft_model(model, config)


def _cache_kwarg(model: Any) -> str:
    """The KV-cache argument name of this transformers version (``cache`` since 5.x, before:
    ``past_key_values``)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def forward_prefix(model: Any, ids: Any) -> Any:
    """Run ``ids`` without gradients and return the KV cache."""
    import torch

    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True)
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def forward_with_cache(model: Any, ids: Any, cache: Any) -> Any:
    """Continue from ``cache`` (extended in place) and return the logits of ``ids``."""
    return model(input_ids=ids, use_cache=False, **{_cache_kwarg(model): cache}).logits


# --- SFT -----------------------------------------------------------------------------------------


def _encode_sft(tokenizer: Any, examples: Sequence[SFTExample], max_length: int) -> list[dict[str, Any]]:
    eos = tokenizer.eos_token or ""
    rows = []
    for ex in examples:
        prompt_ids = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
        completion_ids = tokenizer(ex.completion + eos, add_special_tokens=False)["input_ids"]
        ids = prompt_ids + completion_ids
        if len(ids) > max_length:
            continue
        labels = [-100] * len(prompt_ids) + completion_ids
        rows.append({"input_ids": ids, "labels": labels, "weight": float(ex.weight), "prompt_len": len(prompt_ids)})
    return rows


class _SFTCollator:
    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            labels[i, :n] = torch.tensor(r["labels"])
            mask[i, :n] = 1
        weights = torch.tensor([r["weight"] for r in rows], dtype=torch.float32)
        prompt_len = torch.tensor([r["prompt_len"] for r in rows], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels, "weight": weights, "prompt_len": prompt_len}


def weighted_completion_loss(logits: Any, labels: Any, weights: Any) -> Any:
    """Mean over examples of ``weight * mean token NLL of the completion``."""
    import torch.nn.functional as F

    shift_logits = logits[:, :-1, :].float()
    shift_labels = labels[:, 1:]
    nll = F.cross_entropy(shift_logits.transpose(1, 2), shift_labels, ignore_index=-100, reduction="none")
    mask = (shift_labels != -100).float()
    per_example = (nll * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return (per_example * weights).sum() / weights.numel()


def _trainer_classes() -> tuple[type, type]:
    from transformers import Trainer, TrainerCallback

    class WeightedSFTTrainer(Trainer):
        """``Trainer`` whose loss is the reward-weighted completion NLL.

        With ``prompt_grad`` off (the default) the prompt is run once without gradients and its
        KV cache feeds the completion pass: the forward pass is exactly the served model's, only
        the gradient that would flow back through the prompt's keys and values is dropped. The
        prompt is most of every sequence (~650 of ~850 tokens), so this halves the cost per example.
        """

        prompt_grad: bool = False
        # our loss is a per-example mean: let the Trainer divide by the accumulation steps
        loss_is_scaled_for_ga = False

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
            import torch

            weights = inputs.pop("weight")
            labels = inputs.pop("labels")
            prompt_len = inputs.pop("prompt_len")
            ids = inputs["input_ids"]
            if self.prompt_grad or ids.shape[0] != 1 or int(prompt_len[0]) < 2:
                outputs = model(**inputs)
                loss = weighted_completion_loss(outputs.logits, labels, weights.to(outputs.logits.device))
                return (loss, outputs) if return_outputs else loss
            cut = int(prompt_len[0]) - 1  # the last prompt token predicts the first completion token
            logits = forward_with_cache(model, ids[:, cut:], forward_prefix(model, ids[:, :cut]))
            loss = weighted_completion_loss(logits, labels[:, cut:], weights.to(logits.device))
            return (loss, {"logits": logits}) if return_outputs else loss

    class Deadline(TrainerCallback):
        """Stops training when the wall-clock budget is spent (and remembers the losses)."""

        def __init__(self, deadline: float | None) -> None:
            self.deadline = deadline
            self.stopped = False
            self.losses: list[float] = []

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
            if self.deadline is not None and time.time() > self.deadline:
                self.stopped = True
                control.should_training_stop = True
            return control

    return WeightedSFTTrainer, Deadline


def _common_args(cfg: LoraTrainConfig, out_dir: Path, *, epochs: float, lr: float, batch: int) -> dict[str, Any]:
    return dict(
        output_dir=str(out_dir),
        use_cpu=True,
        bf16=False,
        fp16=False,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=batch,
        num_train_epochs=epochs,
        learning_rate=lr,
        lr_scheduler_type="cosine",
        warmup_steps=0,  # a handful of steps per run: warm-up would spend a large share at lr ~ 0
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=False,
    )


def train_sft(model: Any, tokenizer: Any, examples: Sequence[SFTExample], cfg: LoraTrainConfig, work_dir: Path, deadline: float | None = None) -> StageReport:
    """Reward-weighted SFT of the adapter on ``examples``."""
    from transformers import TrainingArguments

    rows = _encode_sft(tokenizer, examples, cfg.max_length)
    if not rows or cfg.sft_epochs <= 0:
        return StageReport("sft", len(rows), 0, 0.0, None, None)
    trainer_cls, deadline_cls = _trainer_classes()
    stop = deadline_cls(deadline)
    args = TrainingArguments(**_common_args(cfg, work_dir / "sft", epochs=cfg.sft_epochs, lr=cfg.sft_lr, batch=cfg.sft_batch))
    trainer = trainer_cls(model=model, args=args, train_dataset=_ListDataset(rows), data_collator=_SFTCollator(tokenizer.pad_token_id), callbacks=[stop])
    trainer.prompt_grad = cfg.prompt_grad
    started = time.perf_counter()
    state = trainer.train()
    seconds = time.perf_counter() - started
    return StageReport("sft", len(rows), int(state.global_step), seconds, _first(stop.losses), _last(stop.losses), stop.stopped)


# --- DPO -----------------------------------------------------------------------------------------


def _encode_pairs(tokenizer: Any, pairs: Sequence[PreferencePair], max_length: int) -> list[dict[str, Any]]:
    eos = tokenizer.eos_token or ""
    rows = []
    for pair in pairs:
        prompt = tokenizer(pair.prompt, add_special_tokens=False)["input_ids"]
        chosen = tokenizer(pair.chosen + eos, add_special_tokens=False)["input_ids"]
        rejected = tokenizer(pair.rejected + eos, add_special_tokens=False)["input_ids"]
        if len(prompt) < 2 or len(prompt) + max(len(chosen), len(rejected)) > max_length:
            continue
        rows.append({"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected})
    return rows


def _pair_collator(rows: list[dict[str, Any]]) -> dict[str, Any]:
    import torch

    if len(rows) != 1:
        raise ValueError("DPO pairs are processed one at a time (gradient accumulation makes the batch)")
    return {k: torch.tensor([v], dtype=torch.long) for k, v in rows[0].items()}


def completion_logp(model: Any, prefix_cache: Any, last_prompt_token: Any, completion: Any) -> Any:
    """Sum of log p(completion | prompt) given the KV cache of all prompt tokens but the last.

    The cache is extended in place by the forward pass, so callers pass a copy when they reuse it.
    """
    import torch

    tail = torch.cat([last_prompt_token, completion], dim=1)
    logits = forward_with_cache(model, tail, prefix_cache)[:, :-1, :].float()
    logps = torch.log_softmax(logits, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)
    return logps.sum(-1)


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    """The DPO loss: -log σ(β[(log πc - log πref,c) - (log πr - log πref,r)])."""
    import torch.nn.functional as F

    return -F.logsigmoid(beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))).mean()


def _dpo_trainer_class() -> type:
    from transformers import Trainer

    class PairwiseDPOTrainer(Trainer):
        """``Trainer`` with the DPO loss, sharing one prompt pass per pair.

        The prompt (~650 tokens) is run once without gradients for the policy and once for the
        reference (the adapter switched off, i.e. the base model); chosen and rejected completions
        then continue from copies of that KV cache. A generic DPO trainer runs the full
        prompt + completion four times per pair, about four times the cost on this CPU. As in SFT,
        the forward pass is exact and the gradient through the prompt's keys/values is dropped.
        """

        beta: float = 0.1
        loss_is_scaled_for_ga = False

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
            import copy

            import torch

            prompt, chosen, rejected = inputs["prompt_ids"], inputs["chosen_ids"], inputs["rejected_ids"]
            head, last = prompt[:, :-1], prompt[:, -1:]
            with torch.no_grad():
                with model.disable_adapter():
                    ref_cache = forward_prefix(model, head)
                    ref_c = completion_logp(model, copy.deepcopy(ref_cache), last, chosen)
                    ref_r = completion_logp(model, ref_cache, last, rejected)
                cache = forward_prefix(model, head)
            pol_c = completion_logp(model, copy.deepcopy(cache), last, chosen)
            pol_r = completion_logp(model, cache, last, rejected)
            loss = dpo_loss(pol_c, pol_r, ref_c, ref_r, self.beta)
            return (loss, {"margin": (pol_c - ref_c) - (pol_r - ref_r)}) if return_outputs else loss

    return PairwiseDPOTrainer


def train_dpo(model: Any, tokenizer: Any, pairs: Sequence[PreferencePair], cfg: LoraTrainConfig, work_dir: Path, deadline: float | None = None) -> StageReport:
    """DPO of the adapter on best-vs-worst pairs (reference: the adapter-disabled base)."""
    from transformers import TrainingArguments

    rows = _encode_pairs(tokenizer, pairs, cfg.max_length)
    if not rows or cfg.dpo_epochs <= 0:
        return StageReport("dpo", len(rows), 0, 0.0, None, None)
    _, deadline_cls = _trainer_classes()
    stop = deadline_cls(deadline)
    args = TrainingArguments(**_common_args(cfg, work_dir / "dpo", epochs=cfg.dpo_epochs, lr=cfg.dpo_lr, batch=cfg.dpo_batch))
    trainer = _dpo_trainer_class()(model=model, args=args, train_dataset=_ListDataset(rows), data_collator=_pair_collator, callbacks=[stop])
    trainer.beta = cfg.dpo_beta
    started = time.perf_counter()
    state = trainer.train()
    seconds = time.perf_counter() - started
    return StageReport("dpo", len(rows), int(state.global_step), seconds, _first(stop.losses), _last(stop.losses), stop.stopped)


class _ListDataset:
    """The smallest map-style dataset the Trainer accepts."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


def _first(values: list[float]) -> float | None:
    return values[0] if values else None


def _last(values: list[float]) -> float | None:
    return values[-1] if values else None


def limit_threads(threads: int) -> None:
    """Keep torch (and the BLAS it calls) to ``threads`` threads on the shared CPU."""
    import torch

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    torch.set_num_threads(max(1, threads))
    if math.isfinite(threads):
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set once in this process
            pass


__all__ = [
    "DEFAULT_TARGET_MODULES",
    "LoraTrainConfig",
    "PreferencePair",
    "SFTExample",
    "StageReport",
    "attach_lora",
    "completion_logp",
    "dpo_loss",
    "limit_threads",
    "train_dpo",
    "train_sft",
    "weighted_completion_loss",
]
