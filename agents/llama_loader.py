"""Loading llama.cpp models so that they run on any x86-64 CPU.

Why this module exists (issue #10): on a CPU with AMX (Intel Sapphire Rapids and later) a
llama-cpp-python wheel built with ``GGML_NATIVE`` stores weights in llama.cpp's AMX "extra buffer
type", and ``llama_decode`` crashed with SIGSEGV (with or without a LoRA adapter). Two layers keep
that from happening:

1. **Build**: ``scripts/llama_build.py`` (run by both README commands) builds llama-cpp-python
   without ``GGML_NATIVE`` for a fixed x86-64 micro-architecture level (x86-64-v3 = AVX2/FMA/F16C
   on every CPU that has them), so AVX-512 and AMX code is never compiled in and a wheel that
   moves between CPUs cannot hold a too-new instruction. It records what it built in
   ``<venv>/copyloop-llama-build.json``; ``check_cpu`` refuses, with a clear message, to load a
   build whose instruction set this CPU lacks (instead of dying of SIGILL).
2. **Runtime**: every model copyloop loads goes through ``load_llama``, which turns llama.cpp's
   extra buffer types (AMX, weight repacking) off unless ``LLMSettings.extra_buffer_types`` opts
   in. That also protects users who installed their own natively built wheel. Measured cost on
   the bundled Q4_1 model: none (``bench/llm_raw.py --extra-buffers``): llama.cpp only repacks
   Q4_0/IQ4_NL/Q8_0-style weights.

``llama-cpp-python`` 0.3.36 does not expose ``use_extra_bufts`` as an argument of ``Llama``; the
model parameters are built inside ``Llama.__init__`` from ``llama_model_default_params()``, so
``load_llama`` swaps that function for the duration of one construction (under a lock) and then
checks that the loaded model really carries the setting.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copyloop.errors import ModelLoadError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import llama_cpp

BUILD_MARKER = "copyloop-llama-build.json"
"""Written into the virtual environment by ``scripts/llama_build.py``."""

_PARAMS_LOCK = threading.Lock()


class UnsupportedCPUError(ModelLoadError):
    """The installed llama.cpp build needs instructions this CPU does not have."""

    def __init__(self, missing: list[str], build: dict[str, Any]) -> None:
        super().__init__(
            "llama.cpp",
            build.get("marker", BUILD_MARKER),
            f"this llama-cpp-python build ({build.get('level', '?')}) needs CPU features this CPU lacks: "
            f"{', '.join(missing)}. Re-run `bash scripts/run.sh` on this machine to build a wheel for it "
            "(the wheel cache is keyed by CPU level, so nothing is lost).",
        )
        self.missing = missing


def cpu_flags() -> set[str]:
    """The CPU feature flags the kernel reports (``/proc/cpuinfo``); empty where unavailable."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_model() -> str:
    """The CPU's marketing name, for reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def notable_cpu_flags(flags: set[str] | None = None) -> list[str]:
    """The flags that matter for llama.cpp builds (SIMD levels, AMX), for messages and reports."""
    flags = cpu_flags() if flags is None else flags
    wanted = ("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512vbmi", "amx_tile", "amx_int8", "amx_bf16", "asimd", "sve")
    return [f for f in wanted if f in flags]


def build_marker_path() -> Path:
    return Path(sys.prefix) / BUILD_MARKER


def installed_build() -> dict[str, Any] | None:
    """What ``scripts/llama_build.py`` recorded about the installed llama-cpp-python, if anything."""
    path = build_marker_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    data["marker"] = str(path)
    return data


def check_cpu(build: dict[str, Any] | None = None, flags: set[str] | None = None) -> None:
    """Raise ``UnsupportedCPUError`` when the recorded build needs CPU features this CPU lacks.

    Loading such a library would die of SIGILL somewhere inside llama.cpp; this turns it into a
    message that says what to do. Without a marker (a wheel the user built) nothing is checked.
    """
    build = installed_build() if build is None else build
    if not build:
        return
    required = [str(f) for f in build.get("required_cpu_flags", [])]
    have = cpu_flags() if flags is None else flags
    if not have:  # no /proc/cpuinfo: cannot tell, do not block
        return
    missing = [f for f in required if f not in have]
    if missing:
        raise UnsupportedCPUError(missing, build)


def load_llama(model_path: str | Path, *, extra_buffer_types: bool = False, **kwargs: Any) -> "llama_cpp.Llama":
    """``llama_cpp.Llama(model_path, **kwargs)`` with llama.cpp's extra buffer types off by default.

    ``extra_buffer_types=True`` restores llama.cpp's default (AMX / repacked weights where the
    build and CPU have them): faster on some models and CPUs, and the path that crashed on AMX.
    """
    check_cpu()
    import llama_cpp
    import llama_cpp.llama as llama_module

    lowlevel = llama_module.llama_cpp  # the ctypes module Llama.__init__ takes its defaults from
    original = lowlevel.llama_model_default_params

    def default_params() -> Any:
        params = original()
        params.use_extra_bufts = bool(extra_buffer_types)
        return params

    with _PARAMS_LOCK:
        lowlevel.llama_model_default_params = default_params
        try:
            llama = llama_cpp.Llama(model_path=str(model_path), **kwargs)
        finally:
            lowlevel.llama_model_default_params = original
    if bool(llama.model_params.use_extra_bufts) != bool(extra_buffer_types):  # pragma: no cover - version drift
        raise ModelLoadError("Model", model_path, "could not set llama.cpp's use_extra_bufts (llama-cpp-python changed?)")
    return llama


def system_info() -> str:
    """llama.cpp's own report of the CPU features it was built with and uses."""
    check_cpu()
    import llama_cpp

    raw = llama_cpp.llama_print_system_info()
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()


def versions() -> dict[str, str]:
    """Versions of llama-cpp-python and of the llama.cpp it bundles (build number and commit)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    try:
        out["llama_cpp_python"] = version("llama-cpp-python")
    except PackageNotFoundError:
        out["llama_cpp_python"] = "not installed"
        return out
    try:
        check_cpu()
        import llama_cpp

        getter = getattr(llama_cpp, "llama_version", None)
        if getter is not None:
            raw = getter()
            out["llama_cpp"] = raw.decode() if isinstance(raw, bytes) else str(raw)
    except Exception as exc:  # noqa: BLE001 - a report must not die on a missing symbol
        out["llama_cpp"] = f"unknown ({type(exc).__name__})"
    return out


__all__ = [
    "BUILD_MARKER",
    "UnsupportedCPUError",
    "build_marker_path",
    "check_cpu",
    "cpu_flags",
    "cpu_model",
    "installed_build",
    "load_llama",
    "notable_cpu_flags",
    "system_info",
    "versions",
]
