"""The drafter's base model in transformers, loaded from the very GGUF that llama-cpp serves.

Fine-tuning must start from the weights the product serves, so we do not use a separate
checkpoint: transformers de-quantises the bundled GGUF (``gguf_file=``) to float32. The LoRA we
train on top of it is then exported back to GGUF and applied by llama.cpp to the same 4-bit base.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copyloop.errors import ModelPathError


@dataclass
class BaseModel:
    """A transformers causal LM plus its tokenizer and where they came from."""

    model: Any
    tokenizer: Any
    gguf_path: Path


def resolve_gguf(model_path: Path | None = None) -> Path:
    """The GGUF file to train on: ``model_path`` or the drafter's default model."""
    if model_path is None:
        from copyloop.agents.llama_backend import default_model_path

        model_path = default_model_path()
    path = Path(model_path)
    if not path.is_file():
        raise ModelPathError("Base model GGUF", path)
    return path


def load_base_model(model_path: Path | None = None, *, threads: int = 1) -> BaseModel:
    """De-quantise the GGUF into a float32 transformers model (CPU, ``threads`` threads)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(max(1, threads))
    hf_logging.set_verbosity_error()
    path = resolve_gguf(model_path)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    _drop_gguf_quantizer_marker(model)
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return BaseModel(model=model, tokenizer=tokenizer, gguf_path=path)


def _drop_gguf_quantizer_marker(model: Any) -> None:
    """The weights are plain float32 after de-quantisation, but transformers keeps a GGUF
    "quantizer" on the model and its Trainer then refuses to train it; drop the stale marker."""
    for name in ("hf_quantizer", "quantization_method"):
        if hasattr(model, name):
            setattr(model, name, None)
    if hasattr(model, "is_quantized"):
        try:
            model.is_quantized = False
        except AttributeError:  # pragma: no cover - a read-only property in some versions
            pass
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


__all__ = ["BaseModel", "load_base_model", "resolve_gguf"]
