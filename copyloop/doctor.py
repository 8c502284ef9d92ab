"""``copyloop doctor``: what a user pastes into a bug report.

Every check is independent and reports instead of raising, so one broken part never hides the
state of the others. Everything that touches llama.cpp (its version, system info, a short
generation) runs in a child process (``copyloop.agents.llama_probe``): a native crash is reported
with its signal and the CPU flags, not suffered.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, Field

from copyloop.settings import Settings


class Check(BaseModel):
    """One line of the report."""

    name: str
    ok: bool
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)


class DoctorReport(BaseModel):
    """The whole report; ``ok`` when every check passed."""

    ok: bool
    checks: list[Check]

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _size(path: Path | None) -> str:
    if path is None or not path.exists():
        return "missing"
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return f"{size / 1e6:.1f} MB"


def check_versions() -> Check:
    from copyloop import __version__

    info = {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "copyloop": __version__,
        "llama_cpp_python": _pkg("llama-cpp-python"),
        "chromadb": _pkg("chromadb"),
        "langgraph": _pkg("langgraph"),
        "torch": _pkg("torch"),
    }
    ok = info["llama_cpp_python"] != "not installed"
    summary = f"Python {info['python']}, copyloop {info['copyloop']}, llama-cpp-python {info['llama_cpp_python']}"
    return Check(name="versions", ok=ok, summary=summary, details=info)


def check_cpu_build() -> Check:
    """This CPU, and the llama.cpp build recorded by scripts/llama_build.py (if any)."""
    from copyloop.agents.llama_loader import UnsupportedCPUError, check_cpu, cpu_model, installed_build, notable_cpu_flags

    build = installed_build()
    details: dict[str, Any] = {"cpu": cpu_model(), "cpu_flags": notable_cpu_flags(), "machine": platform.machine(),
                               "cores": os.cpu_count(), "build": build}
    try:
        check_cpu(build)
    except UnsupportedCPUError as exc:
        return Check(name="cpu", ok=False, summary=str(exc), details=details)
    if build:
        summary = f"{details['cpu']}; llama.cpp built for {build.get('level')} (needs: {' '.join(build.get('required_cpu_flags', [])) or 'nothing special'})"
    else:
        summary = f"{details['cpu']}; llama-cpp-python was not installed by scripts/llama_build.py (build flags unknown)"
    return Check(name="cpu", ok=True, summary=summary, details=details)


def check_model_files(settings: Settings) -> Check:
    from copyloop.agents.llama_backend import default_model_path, resolve_lora_path
    from copyloop.errors import CopyloopError

    details: dict[str, Any] = {}
    try:
        model = Path(settings.llm.model_path).expanduser() if settings.llm.model_path else default_model_path()
        details["model_path"] = str(model)
        details["model_size"] = _size(model)
        adapter = resolve_lora_path(settings.llm.lora_path, use_default=True)
        details["adapter_path"] = str(adapter) if adapter else "none"
        details["adapter_size"] = _size(adapter) if adapter else "-"
    except CopyloopError as exc:
        return Check(name="model", ok=False, summary=str(exc), details=details)
    ok = model.is_file()
    summary = f"{model.name} ({details['model_size']}), adapter {Path(details['adapter_path']).name} ({details['adapter_size']})"
    return Check(name="model", ok=ok, summary=summary, details=details)


def check_generation(settings: Settings, timeout: float = 300.0) -> Check:
    from copyloop.agents.llama_probe import probe_generation

    llm = settings.llm
    result = probe_generation(
        llm.model_path,
        llm.lora_path if llm.lora_path is not None else None,
        n_threads=llm.n_threads,
        extra_buffer_types=llm.extra_buffer_types,
        max_tokens=32,
        timeout=timeout,
    )
    details = result.model_dump(exclude={"stderr_tail"} if result.ok else set())
    if result.ok:
        summary = (f"in a child process: loaded in {result.load_seconds:.1f} s, wrote {result.text.strip()[:60]!r}; "
                   f"decoding {result.tokens_per_second:.1f} tokens/s ({result.decode_tokens} tokens, "
                   f"{'with' if result.extra_buffer_types else 'without'} extra buffer types)")
    else:
        summary = result.describe_failure()
    return Check(name="generation", ok=result.ok, summary=summary, details=details)


def check_llama_system(generation: Check) -> Check:
    """llama.cpp's version and system info, as the child process read them."""
    d = generation.details
    info = d.get("system_info") or ""
    details = {"llama_cpp_python": d.get("llama_cpp_python", ""), "llama_cpp": d.get("llama_cpp", ""), "system_info": info}
    if not info:
        return Check(name="llama.cpp", ok=False, summary="the child process died before llama.cpp reported its system info", details=details)
    return Check(name="llama.cpp", ok=True, summary=f"llama.cpp {details['llama_cpp']}: {info}", details=details)


def check_embeddings(settings: Settings) -> Check:
    from copyloop.errors import CopyloopError
    from copyloop.tools.embeddings import default_embedding_model_path, load_embedder

    try:
        path = Path(settings.embeddings.model_path) if settings.embeddings.model_path else default_embedding_model_path()
        embedder = load_embedder(path)
        vec = embedder.encode(["cast iron skillet"])
    except (CopyloopError, OSError, ValueError) as exc:
        return Check(name="embeddings", ok=False, summary=f"{type(exc).__name__}: {exc}")
    ok = vec.shape == (1, embedder.dim)
    return Check(name="embeddings", ok=ok, summary=f"{path.name} at {path} (dim {embedder.dim}, {_size(path)})",
                 details={"path": str(path), "dim": embedder.dim, "offline": os.environ.get("HF_HUB_OFFLINE", "")})


def _writable(folder: Path) -> tuple[bool, str]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as fh:
            fh.write(b"ok")
        return True, "writable"
    except OSError as exc:
        return False, f"not writable: {exc}"


def check_storage(settings: Settings) -> Check:
    home_ok, home_msg = _writable(settings.home)
    chroma = settings.store.chroma_url or str(settings.chroma_path())
    if settings.store.postgres_dsn is not None:
        checkpointer = "postgres (DSN from settings, not shown)"
    else:
        checkpointer = str(settings.checkpoint_path())
    details = {"home": str(settings.home), "home_writable": home_ok, "chroma": chroma, "checkpointer": checkpointer}
    summary = f"data folder {settings.home} ({home_msg}); Chroma: {chroma}; sessions: {checkpointer}"
    return Check(name="storage", ok=home_ok, summary=summary, details=details)


def run_doctor(settings: Settings | None = None, *, generation_timeout: float = 300.0,
               progress: Callable[[str], None] | None = None) -> DoctorReport:
    """Run every check (the generation in a child process) and collect the report."""
    settings = settings if settings is not None else Settings()
    say = progress or (lambda _msg: None)
    checks: list[Check] = []
    say("versions and CPU")
    checks += [check_versions(), check_cpu_build(), check_model_files(settings)]
    say("loading the model in a child process and generating")
    generation = check_generation(settings, timeout=generation_timeout)
    checks += [check_llama_system(generation), generation]
    say("embedding model")
    checks.append(check_embeddings(settings))
    checks.append(check_storage(settings))
    return DoctorReport(ok=all(c.ok for c in checks), checks=checks)


__all__ = ["Check", "DoctorReport", "run_doctor"]
