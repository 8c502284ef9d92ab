"""Issue #10 smoke test: the default model and the bundled adapter load and generate, in a child
process, so a native crash (SIGSEGV on AMX CPUs, SIGILL from a wheel built for another CPU) fails
this test with the signal and the CPU flags, and the rest of the suite still runs and reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH, default_model_path
from copyloop.agents.llama_loader import installed_build
from copyloop.agents.llama_probe import probe_generation

pytestmark = pytest.mark.integration


def test_default_model_and_bundled_adapter_generate_in_a_child_process() -> None:
    result = probe_generation(max_tokens=16, timeout=300)
    assert result.ok, result.describe_failure()
    assert result.tokens > 0 and result.text.strip()
    assert Path(result.model_path) == default_model_path()
    assert Path(result.lora_path) == DEFAULT_ADAPTER_PATH
    assert result.extra_buffer_types is False
    assert "AVX512 = 1" not in result.system_info and "AMX" not in result.system_info


def test_extra_buffer_types_are_off_by_default_in_the_loaded_model() -> None:
    code = (
        "from copyloop.agents.llama_backend import LlamaCppBackend\n"
        "b = LlamaCppBackend(n_ctx=256, n_threads=1)\n"
        "print(int(b.llama.model_params.use_extra_bufts))\n"
        "b2 = LlamaCppBackend(n_ctx=256, n_threads=1, extra_buffer_types=True)\n"
        "print(int(b2.llama.model_params.use_extra_bufts))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["0", "1"]


def _ggml_cpu_libraries() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    assert spec is not None and spec.submodule_search_locations
    lib = Path(list(spec.submodule_search_locations)[0]) / "lib"
    return sorted(p for p in lib.glob("libggml-cpu*.so*") if p.is_file() and not p.is_symlink())


def test_the_installed_wheel_holds_no_avx512_or_amx_instructions() -> None:
    """What the install scripts built must run on an AVX2 laptop: no zmm (AVX-512) or tmm (AMX)
    register appears anywhere in the CPU backend's machine code."""
    build = installed_build()
    if build is None or not str(build.get("level", "")).startswith("x86-64"):
        pytest.skip("llama-cpp-python was not built by scripts/llama_build.py for an x86-64 level here")
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    libs = _ggml_cpu_libraries()
    assert libs, "no libggml-cpu in the installed llama_cpp package"
    for lib in libs:
        proc = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-500:]
        code = proc.stdout
        assert "ymm" in code or build["level"] != "x86-64-v3", "expected AVX2 code in an x86-64-v3 build"
        for marker in ("%zmm", "%tmm", "tdpbssd", "ldtilecfg"):
            assert marker not in code, f"{lib.name} contains {marker}: built for a newer CPU than {build['level']}"


def test_doctor_reports_a_working_installation() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "copyloop.cli", "doctor", "--json"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    names = {c["name"]: c for c in report["checks"]}
    assert set(names) >= {"versions", "cpu", "model", "llama.cpp", "generation", "embeddings", "storage"}
    assert all(c["ok"] for c in report["checks"])
    assert names["generation"]["details"]["tokens_per_second"] > 0
    assert "CPU" in names["llama.cpp"]["details"]["system_info"]
    assert names["versions"]["details"]["llama_cpp_python"] == "0.3.36"
    assert names["storage"]["details"]["home_writable"] is True


def test_doctor_fails_with_exit_1_when_the_model_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COPYLOOP_LLM__MODEL_PATH": str(tmp_path / "missing.gguf")}
    proc = subprocess.run([sys.executable, "-m", "copyloop.cli", "doctor"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 1
    assert "missing.gguf" in proc.stdout
    assert "FAIL" in proc.stdout
