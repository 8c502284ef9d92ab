"""Issue #10: the llama.cpp build and loader never assume the CPU.

Unit level: choosing the build level from CPU flags, refusing a build this CPU cannot run with a
message instead of SIGILL, and turning a child's death by signal into a report that names it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from copyloop.agents.llama_loader import UnsupportedCPUError, check_cpu, installed_build
from copyloop.agents.llama_probe import run_probe_command

ROOT = Path(__file__).resolve().parents[2]


def _build_script():
    spec = importlib.util.spec_from_file_location("llama_build", ROOT / "scripts" / "llama_build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


AVX2_LAPTOP = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "ssse3"}
AMX_SERVER = AVX2_LAPTOP | {"avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"}
OLD_CPU = {"sse4_2", "ssse3", "popcnt"}


@pytest.mark.parametrize(
    ("flags", "level"),
    [(AVX2_LAPTOP, "x86-64-v3"), (AMX_SERVER, "x86-64-v3"), (OLD_CPU, "x86-64-v2"), ({"sse2"}, "x86-64")],
)
def test_build_level_follows_the_cpu_and_never_enables_avx512_or_amx(monkeypatch, flags, level) -> None:
    build = _build_script()
    monkeypatch.setattr(build, "cpu_flags", lambda: set(flags))
    monkeypatch.setattr(build.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv("COPYLOOP_LLAMA_CMAKE_ARGS", raising=False)
    chosen = build.choose()
    assert chosen["level"] == level
    args = chosen["cmake_args"]
    assert "-DGGML_NATIVE=OFF" in args
    for off in ("-DGGML_AVX512=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AVX512_VNNI=OFF"):
        assert off in args
    # the CPU the wheel needs is a subset of the CPU it was chosen on
    assert set(chosen["required_cpu_flags"]) <= set(flags)


def test_wheel_cache_is_keyed_by_level_and_flags(monkeypatch) -> None:
    build = _build_script()
    monkeypatch.setattr(build.platform, "machine", lambda: "x86_64")
    monkeypatch.delenv("COPYLOOP_LLAMA_CMAKE_ARGS", raising=False)
    monkeypatch.setattr(build, "cpu_flags", lambda: set(AVX2_LAPTOP))
    laptop = build.wheel_dir(build.choose())
    monkeypatch.setattr(build, "cpu_flags", lambda: set(OLD_CPU))
    old = build.wheel_dir(build.choose())
    assert laptop != old and "x86-64-v3" in laptop.name and "x86-64-v2" in old.name
    # a user's native build is keyed by every flag of its CPU: never reused on another CPU
    monkeypatch.setenv("COPYLOOP_LLAMA_CMAKE_ARGS", "-DGGML_NATIVE=ON")
    monkeypatch.setattr(build, "cpu_flags", lambda: set(AMX_SERVER))
    native_amx = build.choose()
    monkeypatch.setattr(build, "cpu_flags", lambda: set(AVX2_LAPTOP))
    native_laptop = build.choose()
    assert native_amx["level"] == "custom-native"
    assert build.wheel_dir(native_amx) != build.wheel_dir(native_laptop)
    assert "amx_int8" in native_amx["required_cpu_flags"]


def test_a_build_this_cpu_cannot_run_is_a_clear_error() -> None:
    build = {"level": "x86-64-v3", "required_cpu_flags": ["avx", "avx2", "fma"], "marker": "/venv/copyloop-llama-build.json"}
    with pytest.raises(UnsupportedCPUError) as err:
        check_cpu(build, flags={"sse4_2", "avx"})
    message = str(err.value)
    assert "avx2" in message and "fma" in message and "x86-64-v3" in message
    assert "scripts/run.sh" in message
    check_cpu(build, flags={"avx", "avx2", "fma", "f16c"})  # has them all: no error
    check_cpu({}, flags={"sse2"})  # no marker (a user's own wheel): nothing to check


def test_the_installed_build_runs_on_this_cpu() -> None:
    marker = installed_build()
    if marker is None:
        pytest.skip("llama-cpp-python was not installed by scripts/llama_build.py in this environment")
    assert marker["version"] == "0.3.36"
    check_cpu(marker)


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_killed_by_sigsegv_is_reported_with_signal_and_cpu_flags() -> None:
    result = run_probe_command(_child("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"), timeout=60)
    assert not result.ok
    assert result.signal == "SIGSEGV"
    text = result.describe_failure()
    assert "SIGSEGV" in text and "flags:" in text
    assert result.cpu_flags == [] or "sse4_2" in result.cpu_flags or "asimd" in result.cpu_flags


def test_a_child_report_is_read_back() -> None:
    line = "COPYLOOP_PROBE " + json.dumps({"text": "Hello", "tokens": 3, "done": True, "system_info": "CPU : AVX2 = 1"})
    result = run_probe_command(_child(f"print({line!r})"), timeout=60)
    assert result.ok and result.text == "Hello" and result.tokens == 3 and result.system_info.startswith("CPU")


def test_a_child_error_is_reported_without_a_signal() -> None:
    line = "COPYLOOP_PROBE " + json.dumps({"error": "ModelPathError: Model path does not exist: /x.gguf"})
    result = run_probe_command(_child(f"print({line!r}); raise SystemExit(1)"), timeout=60)
    assert not result.ok and result.signal is None and result.returncode == 1
    assert "/x.gguf" in result.error


def test_a_hung_child_times_out() -> None:
    result = run_probe_command(_child("import time; time.sleep(30)"), timeout=1)
    assert not result.ok and "within 1 s" in result.error


def test_every_llama_model_is_loaded_through_load_llama() -> None:
    """The runtime half of the AMX fix only holds if nothing builds ``llama_cpp.Llama`` itself."""
    import re

    offenders = []
    for folder in ("agents", "graph", "tools", "training", "copyloop", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "llama_loader.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"(?<![\w.])(?:llama_cpp\.)?Llama\(", text) or "from llama_cpp import Llama" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"construct models with copyloop.agents.llama_loader.load_llama: {offenders}"
