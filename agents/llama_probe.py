"""Load the model and generate a few tokens in a child process, so that a native crash is reported,
not suffered.

A SIGSEGV or SIGILL inside llama.cpp kills the whole Python process: a test suite ends with no
report, ``copyloop doctor`` with no diagnosis. ``probe_generation`` runs this module as a child
(``python -m copyloop.agents.llama_probe``) and turns its death into a ``ProbeResult`` that names
the signal and this CPU's flags. Used by ``copyloop doctor`` and by the smoke test.

The child prints llama.cpp's system info before it loads anything heavy, so even a crash during
loading leaves the build's CPU features in the report.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from copyloop.agents.llama_loader import cpu_model, notable_cpu_flags

PROBE_PROMPT = "Write a short product headline for a cast iron skillet."
_MARK = "COPYLOOP_PROBE "


class ProbeResult(BaseModel):
    """What the child reported, or how it died."""

    ok: bool
    returncode: int | None = Field(None, description="child exit code; negative = killed by that signal")
    signal: str | None = Field(None, description="signal name when the child was killed (SIGSEGV, SIGILL, ...)")
    error: str = ""
    system_info: str = ""
    llama_cpp_python: str = ""
    llama_cpp: str = ""
    model_path: str = ""
    lora_path: str = ""
    text: str = ""
    tokens: int = 0
    seconds: float = 0.0
    tokens_per_second: float = Field(0.0, description="decode speed: tokens per second over a fixed-length generation")
    decode_tokens: int = 0
    load_seconds: float = 0.0
    extra_buffer_types: bool = False
    cpu: str = ""
    cpu_flags: list[str] = Field(default_factory=list)
    stderr_tail: str = ""

    def describe_failure(self) -> str:
        """One paragraph for a test failure or a bug report."""
        how = f"killed by {self.signal}" if self.signal else f"exit code {self.returncode}"
        return (
            f"llama.cpp generation in a child process failed ({how}): {self.error or 'no message'}. "
            f"CPU: {self.cpu}; flags: {' '.join(self.cpu_flags) or 'unknown'}. "
            f"llama.cpp system info: {self.system_info or 'not reached'}. "
            f"stderr tail: {self.stderr_tail[-600:]}"
        )


def probe_generation(
    model_path: str | Path | None = None,
    lora_path: str | Path | None = None,
    *,
    n_threads: int | None = None,
    extra_buffer_types: bool = False,
    max_tokens: int = 32,
    timeout: float = 300.0,
) -> ProbeResult:
    """Load the model (and adapter) in a child process and generate ``max_tokens`` tokens.

    ``lora_path`` None means the bundled adapter (as ``LLMSettings``), ``"none"`` no adapter.
    """
    cmd = [sys.executable, "-m", "copyloop.agents.llama_probe", "--max-tokens", str(max_tokens)]
    if model_path:
        cmd += ["--model", str(model_path)]
    if lora_path is not None:
        cmd += ["--lora", str(lora_path)]
    if n_threads:
        cmd += ["--threads", str(n_threads)]
    if extra_buffer_types:
        cmd.append("--extra-buffer-types")
    return run_probe_command(cmd, timeout=timeout, extra_buffer_types=extra_buffer_types)


def run_probe_command(cmd: list[str], *, timeout: float = 300.0, extra_buffer_types: bool = False) -> ProbeResult:
    """Run a probe child ``cmd`` and read its report lines; a signal death becomes ``signal``."""
    base = {"cpu": cpu_model(), "cpu_flags": notable_cpu_flags(), "extra_buffer_types": extra_buffer_types}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"")[-2000:]
        tail_text = tail.decode("utf-8", "replace") if isinstance(tail, bytes) else str(tail)
        return ProbeResult(ok=False, error=f"no answer within {timeout:.0f} s", stderr_tail=tail_text, **base)
    reported: dict[str, object] = {}
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            try:
                reported.update(json.loads(line[len(_MARK):]))
            except ValueError:
                pass
    sig = None
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = f"signal {-proc.returncode}"
    fields = {k: v for k, v in reported.items() if k in ProbeResult.model_fields and k not in base and k != "error"}
    ok = proc.returncode == 0 and bool(reported.get("done"))
    error = str(reported.get("error") or "")
    if not ok and not error:
        error = "the child died before it finished" if sig else "the child did not report a result"
    return ProbeResult(ok=ok, returncode=proc.returncode, signal=sig, error=error, stderr_tail=proc.stderr[-2000:],
                       **fields, **base)


def _emit(**fields: object) -> None:
    print(_MARK + json.dumps(fields), flush=True)


def _child(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="generate a few tokens (run by probe_generation)")
    ap.add_argument("--model")
    ap.add_argument("--lora")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--extra-buffer-types", action="store_true")
    args = ap.parse_args(argv)

    from copyloop.agents.llama_loader import system_info, versions

    try:
        _emit(system_info=system_info(), **versions())
        from copyloop.agents.llama_backend import LlamaCppBackend, default_adapter_path, resolve_lora_path

        adapter = resolve_lora_path(args.lora, use_default=True) if args.lora is not None else default_adapter_path()
        started = time.perf_counter()
        backend = LlamaCppBackend(
            args.model, adapter, n_ctx=512, n_threads=args.threads, extra_buffer_types=args.extra_buffer_types
        )
        load = time.perf_counter() - started
        _emit(model_path=str(backend.model_path), lora_path=str(backend.lora_path or "none"), load_seconds=round(load, 3))
        text = backend.generate(
            [{"role": "user", "content": PROBE_PROMPT}], n=1, max_tokens=args.max_tokens, temperature=0.0, seed=0
        )[0]
        _emit(text=text, tokens=backend.stats.tokens_generated)
        # decode speed: a fixed number of tokens with the end-of-turn tokens banned, prompt cached
        llama = backend.llama
        banned = {int(llama.token_eos()): -1e9}
        for marker in ("<|im_end|>", "<|endoftext|>"):
            ids = llama.tokenize(marker.encode(), add_bos=False, special=True)
            if len(ids) == 1:
                banned[int(ids[0])] = -1e9
        prompt = backend.format_prompt([{"role": "user", "content": PROBE_PROMPT}])
        llama.create_completion(prompt, max_tokens=1, temperature=0.0, seed=0)  # warm the prompt cache
        started = time.perf_counter()
        out = llama.create_completion(prompt, max_tokens=args.max_tokens, temperature=0.0, seed=0, logit_bias=banned)
        seconds = time.perf_counter() - started
        decoded = int(out["usage"]["completion_tokens"])
        _emit(seconds=round(seconds, 4), tokens_per_second=round(decoded / seconds, 2) if seconds else 0.0,
              decode_tokens=decoded, done=True)
    except Exception as exc:  # noqa: BLE001 - the child reports every failure to its parent
        _emit(error=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child())
