"""Decode the n candidates of one prompt together: one prompt evaluation, one batch per step.

Why: the drafter asks for several samples of the same prompt. Decoded one after another, every
candidate pays a full forward pass per token; a small model on a CPU is bound by per-pass costs
(weights streamed from memory, thread barriers), so a pass over 3 tokens costs little more than a
pass over 1. llama.cpp's ``batched`` example shows the way, and this module follows it:

1. evaluate the prompt once, on sequence 0, from an empty cache. No prefix is reused from the
   previous call (unlike ``Llama``'s own prefix reuse): llama.cpp's logits depend on how many
   tokens a pass holds (measured: up to 0.5 apart for the same token alone or in a batch) and
   on where the cells lie, so reuse would make a candidate depend on what ran before it — in a
   batch, on which worker an item landed. A call's output depends only on its arguments;
2. ``llama_memory_seq_cp`` sequence 0 to sequences 1..n-1; with a *unified* KV cache that is a
   metadata copy, the prompt's cells are shared;
3. each step, sample one token per live sequence (each with its own sampler chain: seed
   ``seed + i``, its own grammar state, repeat-penalty history, stop strings and token budget),
   then decode all the new tokens in one ``llama_decode`` call.

The decoder owns a second ``llama_context`` on the already loaded model (no second model load;
the LoRA adapter is attached to it too), created on first use, with ``n_seq_max`` sequences and
a unified KV cache of ``n_ctx`` cells. Sampling reuses ``Llama._init_sampler`` (and so the
grammar-first sampler of ``llama_sampling``) and the stop rules of ``create_completion``, so a
candidate is drawn from the same distribution as on the sequential path; tokens can still differ
from the sequential path, because a multi-token pass rounds differently than a single-token one.

When the prompt plus n candidates do not fit the context, the candidates run in groups that fit
(each group reuses the cached prompt).
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover - typing only
    import llama_cpp


DEFAULT_MAX_SEQUENCES = 8


@dataclass
class _Stream:
    """One candidate being decoded."""

    index: int
    seq_id: int
    sampler: Any
    max_tokens: int
    tokens: list[int] = field(default_factory=list)
    text: bytes = b""
    done: bool = False
    logits_at: int = -1  # batch index whose logits this stream samples from next
    multibyte_fix: int = 0


@dataclass
class BatchedCall:
    """What one ``generate`` call cost (for the backend's counters)."""

    texts: list[str]
    tokens_generated: int
    prompt_tokens: int
    prompt_tokens_reused: int
    decode_calls: int
    seconds: float


class BatchedDecoder:
    """Multi-sequence decoding on a second context of ``llama``'s model. Not thread-safe: the
    backend holds its lock around every call."""

    def __init__(self, llama: "llama_cpp.Llama", *, max_sequences: int = DEFAULT_MAX_SEQUENCES,
                 n_ctx: int | None = None) -> None:
        self.llama = llama
        self.max_sequences = max(1, int(max_sequences))
        self.n_ctx_wanted = n_ctx or llama.n_ctx()
        self._ctx: Any = None
        self._batch: Any = None
        self._n_batch = 0
        self._cached: list[int] = []  # prompt tokens held by sequence 0

    # set-up ------------------------------------------------------------------------------------
    def _ensure_context(self) -> None:
        if self._ctx is not None:
            return
        import llama_cpp
        from llama_cpp._internals import LlamaBatch, LlamaContext

        src = self.llama.context_params
        params = llama_cpp.llama_context_params.from_buffer_copy(src)
        params.n_ctx = self.n_ctx_wanted
        params.n_seq_max = self.max_sequences
        params.kv_unified = True  # the sequences share the prompt's cells (seq_cp copies metadata)
        params.embeddings = False
        ctx = LlamaContext(model=self.llama._model, params=params, verbose=self.llama.verbose)
        adapter = getattr(self.llama, "_lora_adapter", None)
        if adapter:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(self.llama.lora_scale)
            if llama_cpp.llama_set_adapters_lora(ctx.ctx, adapters, 1, scales):
                ctx.close()
                raise RuntimeError("llama.cpp could not attach the LoRA adapter to the batched context")
        self._n_batch = max(int(params.n_batch), self.max_sequences)
        self._batch = LlamaBatch(n_tokens=self._n_batch, embd=0, n_seq_max=self.max_sequences, verbose=False)
        self._ctx = ctx

    @property
    def n_ctx(self) -> int:
        self._ensure_context()
        import llama_cpp

        return int(llama_cpp.llama_n_ctx(self._ctx.ctx))

    def close(self) -> None:
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None
        self._cached = []

    # tokens ------------------------------------------------------------------------------------
    def prompt_tokens(self, prompt: str) -> list[int]:
        """The prompt's tokens exactly as ``Llama.create_completion`` builds them."""
        llama = self.llama
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        model = llama._model
        if model.add_bos_token() and llama.token_bos() != -1:
            tokens = [llama.token_bos(), *tokens]
        if model.add_eos_token():
            tokens = [*tokens, llama.token_eos()]
        return tokens

    def fits(self, prompt_len: int, max_tokens: int, n: int = 1) -> bool:
        return prompt_len + n * max_tokens <= self.n_ctx

    def prompt_logits(self, prompt: str) -> Any:
        """The next-token logits after ``prompt`` in this context (a numpy copy): lets a check
        compare this context with the ``Llama``'s own one (same model, same adapter)."""
        import llama_cpp
        import numpy as np

        self._ensure_context()
        tokens = self.prompt_tokens(prompt)
        llama_cpp.llama_memory_clear(self._ctx.memory, True)
        self._cached = []
        last = -1
        for pos in range(0, len(tokens), self._n_batch):
            last = self._fill(tokens[pos : pos + self._n_batch], pos, seq=0)
        self._cached = list(tokens)
        n_vocab = self.llama.n_vocab()
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx.ctx, last), shape=(n_vocab,)).copy()

    # decoding ----------------------------------------------------------------------------------
    def generate(
        self,
        prompt: str,
        n: int,
        *,
        max_tokens: int,
        temperature: float,
        seed: int,
        repeat_penalty: float,
        grammar: Any = None,
        stop: Sequence[str] = (),
    ) -> BatchedCall:
        """``n`` completions of ``prompt``; completion ``i`` uses seed ``seed + i``."""
        self._ensure_context()
        started = time.perf_counter()
        tokens = self.prompt_tokens(prompt)
        if len(tokens) >= self.n_ctx:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {self.n_ctx}")
        budget = min(max_tokens, self.n_ctx - len(tokens) - 1) if max_tokens > 0 else self.n_ctx - len(tokens) - 1
        per_group = max(1, min(self.max_sequences, (self.n_ctx - len(tokens)) // max(budget, 1)))
        stops = [s.encode("utf-8") for s in stop]
        texts: list[str] = []
        generated = reused = evaluated = decodes = 0
        for start in range(0, n, per_group):
            indexes = range(start, min(n, start + per_group))
            got, used, fresh, calls = self._group(tokens, indexes, budget=budget, temperature=temperature, seed=seed,
                                                   repeat_penalty=repeat_penalty, grammar=grammar, stops=stops)
            for s in got:
                texts.append(s.text.decode("utf-8", errors="ignore"))
                generated += len(s.tokens)
            reused += used
            evaluated += fresh
            decodes += calls
        return BatchedCall(texts, generated, len(tokens), min(reused, len(tokens) - 1) if n else 0, decodes,
                           time.perf_counter() - started)

    def _group(self, tokens: list[int], indexes: range, *, budget: int, temperature: float, seed: int,
               repeat_penalty: float, grammar: Any, stops: list[bytes]) -> tuple[list[_Stream], int, int, int]:
        import llama_cpp

        mem = self._ctx.memory
        # every call starts from an empty cache and evaluates the whole prompt in the same chunks:
        # llama.cpp's numerics depend on how many tokens a pass holds and on where cells lie, so
        # reusing the previous call's prefix would make a candidate depend on what ran before
        # (a batch item's copy on which worker it landed); see the module docstring
        llama_cpp.llama_memory_clear(mem, True)
        keep = 0
        self._cached = []
        decodes = 0
        last = -1
        for pos in range(keep, len(tokens), self._n_batch):
            chunk = tokens[pos : pos + self._n_batch]
            last = self._fill(chunk, pos, seq=0)
            decodes += 1
        self._cached = list(tokens)
        streams = []
        for j, i in enumerate(indexes):
            if j:
                llama_cpp.llama_memory_seq_cp(mem, 0, j, -1, -1)
            streams.append(_Stream(i, j, self._sampler(seed + i, temperature, repeat_penalty, grammar), budget,
                                   logits_at=last))
        try:
            pos = len(tokens)
            while True:
                batch = self._batch.batch
                batch.n_tokens = 0
                for s in streams:
                    if s.done:
                        continue
                    token = s.sampler.sample(self._ctx, s.logits_at)
                    if self._take(s, token, stops):
                        continue
                    k = batch.n_tokens
                    batch.token[k] = token
                    batch.pos[k] = pos + len(s.tokens) - 1
                    batch.seq_id[k][0] = s.seq_id
                    batch.n_seq_id[k] = 1
                    batch.logits[k] = True
                    batch.n_tokens = k + 1
                    s.logits_at = k
                if batch.n_tokens == 0:
                    break
                self._decode()
                decodes += 1
        finally:
            for s in streams:
                s.sampler.close()
        return streams, keep, len(tokens) - keep, decodes

    def _take(self, s: _Stream, token: int, stops: list[bytes]) -> bool:
        """Apply ``create_completion``'s end rules to a sampled token; True when ``s`` ended."""
        import llama_cpp

        llama = self.llama
        if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
            s.text = llama.detokenize(s.tokens)
            s.done = True
            return True
        s.tokens.append(token)
        text = llama.detokenize(s.tokens)
        for k, char in enumerate(text[-3:]):  # an incomplete UTF-8 character: no stop check yet
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    s.multibyte_fix = num - k
        found = [text.index(x) for x in stops if x in text] if s.multibyte_fix <= 0 else []
        if s.multibyte_fix > 0:
            s.multibyte_fix -= 1
        if found:
            s.text = text[: min(found)]
            s.done = True
        elif len(s.tokens) >= s.max_tokens:
            s.text = text
            s.done = True
        return s.done

    def _fill(self, chunk: list[int], pos: int, seq: int) -> int:
        """Decode prompt tokens on one sequence; returns the batch index holding the last logits."""
        batch = self._batch.batch
        n = len(chunk)
        for k, token in enumerate(chunk):
            batch.token[k] = token
            batch.pos[k] = pos + k
            batch.seq_id[k][0] = seq
            batch.n_seq_id[k] = 1
            batch.logits[k] = k == n - 1
        batch.n_tokens = n
        self._decode()
        return n - 1

    def _decode(self) -> None:
        import llama_cpp

        rc = llama_cpp.llama_decode(self._ctx.ctx, self._batch.batch)
        if rc != 0:
            self._cached = []
            raise RuntimeError(f"llama_decode returned {rc} (batched decoding)")

    def _sampler(self, seed: int, temperature: float, repeat_penalty: float, grammar: Any) -> Any:
        """The sampler chain ``create_completion`` would build for this seed (penalties, top-k,
        typical, top-p, min-p, temperature, dist; the grammar first when given)."""
        llama = self.llama
        llama.set_seed(int(seed) & 0xFFFFFFFF)
        return llama._init_sampler(temp=max(0.0, float(temperature)), repeat_penalty=repeat_penalty, grammar=grammar)


__all__ = ["BatchedCall", "BatchedDecoder", "DEFAULT_MAX_SEQUENCES"]
