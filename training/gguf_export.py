"""Export a PEFT LoRA adapter to llama.cpp's GGUF LoRA format, so llama-cpp serves what we trained.

llama.cpp reads an adapter GGUF with ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha`` and, per adapted weight ``blk.N.<tensor>.weight``, two tensors
``.lora_a`` (rank x in, numpy layout) and ``.lora_b`` (out x rank). It applies
``scale = alpha / rank`` per tensor, exactly like PEFT's ``lora_alpha / r``.

One subtlety: llama.cpp stores the Q and K projections of LLaMA-family models with the rows of
each head interleaved for its rotary layout (``convert_hf_to_gguf.py``'s ``permute``), and
transformers un-permutes them when it loads a GGUF. The LoRA delta ``B @ A`` of Q/K must get the
same row permutation, which only touches ``B``. Without it the served adapter would perturb the
wrong rows and the logits check would fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from copyloop.errors import InputError

# transformers module suffix -> is it Q or K (needs the rotary row permutation)
_ROTARY = {"self_attn.q_proj": "q", "self_attn.k_proj": "k"}
_LAYER_RE = re.compile(r"(?:^|\.)layers\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class LoraPair:
    """One adapted linear layer in transformers naming and torch layout.

    ``a`` is ``(rank, in_features)``, ``b`` is ``(out_features, rank)``; the layer's update is
    ``scaling * b @ a`` with ``scaling = alpha / rank``.
    """

    module: str  # e.g. "model.layers.3.self_attn.q_proj"
    a: np.ndarray
    b: np.ndarray
    scaling: float

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])


@dataclass(frozen=True)
class ExportSummary:
    """What was written: path, tensor count, alpha, size on disk."""

    path: Path
    tensors: int
    alpha: float
    rank: int
    bytes: int
    names: tuple[str, ...]


def lora_pairs_from_peft(model: Any, adapter_name: str = "default") -> list[LoraPair]:
    """Collect the LoRA A/B matrices of every adapted linear layer of a PEFT model."""
    from peft.tuners.lora import LoraLayer

    pairs: list[LoraPair] = []
    for name, module in model.named_modules():
        if not isinstance(module, LoraLayer) or adapter_name not in module.lora_A:
            continue
        if getattr(module, "use_dora", {}).get(adapter_name, False):
            raise InputError("DoRA adapters cannot be served by llama.cpp; train plain LoRA", field="adapter")
        a = module.lora_A[adapter_name].weight.detach().float().cpu().numpy()
        b = module.lora_B[adapter_name].weight.detach().float().cpu().numpy()
        # PEFT names look like base_model.model.model.layers.N...; keep from "model.layers" on
        clean = name.split("base_model.model.", 1)[-1]
        pairs.append(LoraPair(clean, a, b, float(module.scaling[adapter_name])))
    if not pairs:
        raise InputError("the model carries no LoRA layers to export", field="adapter")
    return pairs


def rotary_permute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's Q/K row permutation (HF layout -> GGUF layout), applied to the row axis."""
    out_features = rows.shape[0]
    if out_features % (2 * n_head):
        raise InputError(f"cannot permute {out_features} rows into {n_head} rotary heads", field="adapter")
    return (
        rows.reshape(n_head, 2, out_features // n_head // 2, *rows.shape[1:])
        .swapaxes(1, 2)
        .reshape(rows.shape)
    )


def rotary_unpermute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of ``rotary_permute`` (GGUF layout -> HF layout)."""
    out_features = rows.shape[0]
    if out_features % (2 * n_head):
        raise InputError(f"cannot un-permute {out_features} rows from {n_head} rotary heads", field="adapter")
    return (
        rows.reshape(n_head, out_features // n_head // 2, 2, *rows.shape[1:])
        .swapaxes(1, 2)
        .reshape(rows.shape)
    )


def gguf_tensor_base(module: str, n_layers: int, arch: str = "llama") -> str:
    """``model.layers.3.self_attn.q_proj`` -> ``blk.3.attn_q`` via gguf's own name map."""
    import gguf

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], n_layers)
    name = tmap.get_name(module)
    if name is None:
        raise InputError(f"no llama.cpp tensor for adapted module {module!r}", field="adapter")
    return name


def write_lora_gguf(
    pairs: Iterable[LoraPair],
    path: Path,
    *,
    n_layers: int,
    n_head: int,
    n_head_kv: int,
    arch: str = "llama",
    dtype: str = "f16",
    metadata: dict[str, str] | None = None,
) -> ExportSummary:
    """Write ``pairs`` as a llama.cpp LoRA adapter GGUF at ``path``.

    ``dtype`` "f16" halves the file (the committed adapter stays a few MB); "f32" is exact.
    All pairs must share one alpha/rank ratio per tensor; llama.cpp takes one ``alpha`` per file
    and divides by each tensor's own rank, so we store ``alpha = scaling * rank`` and insist that
    every tensor implies the same alpha.
    """
    import gguf

    if dtype not in ("f16", "f32"):
        raise InputError(f"dtype must be f16 or f32, not {dtype!r}", field="dtype")
    np_dtype = np.float16 if dtype == "f16" else np.float32
    pairs = list(pairs)
    alphas = {round(p.scaling * p.rank, 6) for p in pairs}
    if len(alphas) != 1:
        raise InputError(f"adapter layers imply different alphas {sorted(alphas)}; llama.cpp needs one", field="adapter")
    alpha = alphas.pop()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for key, value in (metadata or {}).items():
        writer.add_string(f"copyloop.{key}", str(value))

    try:
        names = _add_tensors(writer, pairs, n_layers=n_layers, n_head=n_head, n_head_kv=n_head_kv, arch=arch, np_dtype=np_dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)  # never leave a half-written adapter behind
        raise
    writer.close()
    tmp.replace(path)
    return ExportSummary(path, len(names), float(alpha), max(p.rank for p in pairs), path.stat().st_size, tuple(names))


def _add_tensors(writer: Any, pairs: list[LoraPair], *, n_layers: int, n_head: int, n_head_kv: int, arch: str, np_dtype: Any) -> list[str]:
    names: list[str] = []
    for pair in sorted(pairs, key=lambda p: _layer_sort_key(p.module)):
        if pair.a.shape[0] != pair.b.shape[1]:
            raise InputError(f"{pair.module}: A {pair.a.shape} and B {pair.b.shape} ranks differ", field="adapter")
        b = pair.b
        for suffix, which in _ROTARY.items():
            if pair.module.endswith(suffix):
                b = rotary_permute(b, n_head if which == "q" else n_head_kv)
        base = gguf_tensor_base(pair.module, n_layers, arch)
        writer.add_tensor(f"{base}.weight.lora_a", np.ascontiguousarray(pair.a, dtype=np_dtype))
        writer.add_tensor(f"{base}.weight.lora_b", np.ascontiguousarray(b, dtype=np_dtype))
        names += [f"{base}.weight.lora_a", f"{base}.weight.lora_b"]
    return names


def export_peft_model(model: Any, path: Path, *, dtype: str = "f16", metadata: dict[str, str] | None = None) -> ExportSummary:
    """Export the default adapter of a PEFT-wrapped LLaMA-family causal LM."""
    cfg = model.config if hasattr(model, "config") else model.base_model.model.config
    return write_lora_gguf(
        lora_pairs_from_peft(model),
        path,
        n_layers=int(cfg.num_hidden_layers),
        n_head=int(cfg.num_attention_heads),
        n_head_kv=int(getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads),
        dtype=dtype,
        metadata=metadata,
    )


def load_gguf_adapter(model: Any, path: Path, *, rank: int | None = None) -> Any:
    """A PEFT model carrying the LoRA stored in a llama.cpp adapter GGUF (inverse of the export).

    Used to check a committed adapter without its training run: transformers applies the
    imported delta to HF-layout weights, llama.cpp applies the stored one to GGUF-layout weights,
    so a wrong Q/K permutation or transpose shows up as disagreeing logits.
    """
    import gguf
    import torch
    from peft import LoraConfig, get_peft_model

    reader = gguf.GGUFReader(str(path))
    alpha = float(reader.fields["adapter.lora.alpha"].contents())
    tensors = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
    cfg = model.config
    n_layers, n_head = int(cfg.num_hidden_layers), int(cfg.num_attention_heads)
    n_head_kv = int(getattr(cfg, "num_key_value_heads", None) or n_head)
    suffixes = {
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    }
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, a in tensors.items():
        if not name.endswith(".weight.lora_a"):
            continue
        base = name[: -len(".weight.lora_a")]
        layer, kind = base.split(".")[1], base.split(".", 2)[2]
        if kind not in suffixes:
            raise InputError(f"adapter tensor {name} has no transformers module here", field="adapter")
        b = tensors[base + ".weight.lora_b"]
        if kind == "attn_q":
            b = rotary_unpermute(b, n_head)
        elif kind == "attn_k":
            b = rotary_unpermute(b, n_head_kv)
        found[f"model.layers.{layer}.{suffixes[kind]}"] = (a, b)
    if not found:
        raise InputError(f"no LoRA tensors in {path}", field="adapter")
    ranks = {a.shape[0] for a, _ in found.values()}
    r = rank or max(ranks)
    targets = sorted({m.rsplit(".", 1)[-1] for m in found})
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets))
    modules = dict(peft_model.named_modules())
    with torch.no_grad():
        for module_name, (a, b) in found.items():
            layer = modules[f"base_model.model.{module_name}"]
            layer.lora_A["default"].weight.copy_(torch.from_numpy(a))
            layer.lora_B["default"].weight.copy_(torch.from_numpy(b))
    if len(ranks) != 1 or len(found) != sum(1 for m in modules.values() if hasattr(m, "lora_A") and "default" in getattr(m, "lora_A", {})):
        raise InputError(f"{path}: adapter layers differ in rank or do not cover every target module", field="adapter")
    peft_model.eval()
    return peft_model


def read_adapter_info(path: Path) -> dict[str, Any]:
    """Header fields and tensor shapes (ggml order) of an adapter GGUF, for checks and reports."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    fields: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            fields[key] = field.contents()
        except (ValueError, IndexError, TypeError):  # pragma: no cover - exotic field types
            fields[key] = None
    tensors = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    return {"fields": fields, "tensors": tensors}


def _layer_sort_key(module: str) -> tuple[int, str]:
    match = _LAYER_RE.search(module)
    return (int(match.group(1)), match.group(2)) if match else (-1, module)


__all__ = [
    "ExportSummary",
    "LoraPair",
    "export_peft_model",
    "gguf_tensor_base",
    "load_gguf_adapter",
    "lora_pairs_from_peft",
    "read_adapter_info",
    "rotary_permute",
    "rotary_unpermute",
    "write_lora_gguf",
]
