"""Build (once per CPU level) and install llama-cpp-python so that it runs on any x86-64 CPU.

Run by scripts/_venv.sh (both README commands) with the venv's interpreter; stdlib only.

Why (issue #10): pip builds llama-cpp-python from source with llama.cpp's default GGML_NATIVE=ON,
i.e. -march=native. That wheel lands in pip's cache and is then reused on any machine that shares
the cache or the venv: a wheel built on an AVX-512/AMX server dies of SIGILL on an AVX2 laptop,
and on AMX CPUs the native build's AMX weight buffers crashed llama_decode (SIGSEGV). So:

* the build never uses GGML_NATIVE; it targets a fixed x86-64 micro-architecture level chosen
  from this CPU's flags (x86-64-v3 = AVX2+FMA+F16C+BMI2 on every CPU that has them, including
  AVX-512 and AMX servers; v2 = SSE4.2; v1 = baseline SSE2), with AVX-512 and AMX off;
* the wheel goes to copyloop's own wheel cache, in a folder keyed by version, level and the exact
  CMake arguments (``~/.cache/copyloop/wheels/llama-cpp-python-<ver>-<level>-<hash>/``), and is
  built with ``--no-cache-dir`` so a natively built wheel in pip's cache is never picked up;
* what was installed is recorded in ``<venv>/copyloop-llama-build.json``; at run time copyloop
  checks this CPU has every flag the build needs (a clear error instead of SIGILL), and this
  script rebuilds/reinstalls when the venv holds another build than this CPU should use.

``COPYLOOP_LLAMA_CMAKE_ARGS`` replaces the CMake arguments (for example
``-DGGML_NATIVE=ON`` for a machine-specific build); such a wheel is keyed by this CPU's flags too,
so it is never reused on another CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.3.36"
"""The llama-cpp-python release copyloop is tested with (pinned in pyproject.toml too)."""

MARKER = "copyloop-llama-build.json"

# x86-64 micro-architecture levels: (name, flags the CPU must have, CMake arguments).
_OFF = ["-DGGML_AVX512=OFF", "-DGGML_AVX512_VBMI=OFF", "-DGGML_AVX512_VNNI=OFF", "-DGGML_AVX512_BF16=OFF",
        "-DGGML_AVX_VNNI=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
LEVELS: list[tuple[str, list[str], list[str]]] = [
    ("x86-64-v3", ["sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"],
     ["-DGGML_NATIVE=OFF", "-DGGML_SSE42=ON", "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON",
      "-DGGML_BMI2=ON", *_OFF]),
    ("x86-64-v2", ["sse4_2"],
     ["-DGGML_NATIVE=OFF", "-DGGML_SSE42=ON", "-DGGML_AVX=OFF", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF",
      "-DGGML_F16C=OFF", "-DGGML_BMI2=OFF", *_OFF]),
    ("x86-64", [],
     ["-DGGML_NATIVE=OFF", "-DGGML_SSE42=OFF", "-DGGML_AVX=OFF", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF",
      "-DGGML_F16C=OFF", "-DGGML_BMI2=OFF", *_OFF]),
]
# Same for every level: no network code in the library.
_COMMON = ["-DLLAMA_CURL=OFF"]


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("flags", "Features"):
                return set(value.split())
    except OSError:
        pass
    return set()


def choose() -> dict[str, object]:
    """The build this machine should use: level name, CMake arguments and required CPU flags."""
    flags = cpu_flags()
    custom = os.environ.get("COPYLOOP_LLAMA_CMAKE_ARGS", "").strip()
    arch = platform.machine().lower()
    if custom:
        args = custom.split()
        native = any(a.upper().replace(" ", "") in ("-DGGML_NATIVE=ON", "-DGGML_NATIVE=1") for a in args)
        # a native build belongs to this exact CPU: key it (and require) all of its flags
        required = sorted(flags) if native else []
        level = "custom-native" if native else "custom"
        return {"level": level, "cmake_args": args, "required_cpu_flags": required, "machine": arch}
    if arch in ("x86_64", "amd64"):
        for level, needs, args in LEVELS:
            if all(f in flags for f in needs):
                return {"level": level, "cmake_args": [*args, *_COMMON], "required_cpu_flags": needs, "machine": arch}
    # other architectures: llama.cpp's generic (non-native) build for the architecture
    return {"level": f"{arch}-generic", "cmake_args": ["-DGGML_NATIVE=OFF", *_COMMON], "required_cpu_flags": [],
            "machine": arch}


def build_key(build: dict[str, object]) -> str:
    blob = json.dumps([VERSION, sys.version_info[:2], build["level"], build["cmake_args"], build["required_cpu_flags"]])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def wheel_dir(build: dict[str, object]) -> Path:
    root = os.environ.get("COPYLOOP_WHEELHOUSE")
    if root:
        base = Path(root).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME")
        base = (Path(cache).expanduser() if cache else Path.home() / ".cache") / "copyloop" / "wheels"
    return base / f"llama-cpp-python-{VERSION}-{build['level']}-{build_key(build)}"


def installed_marker() -> dict[str, object] | None:
    try:
        data = json.loads((Path(sys.prefix) / MARKER).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def llama_importable() -> bool:
    """The installed package is importable (checked in a child: a wrong build must not kill us)."""
    probe = subprocess.run([sys.executable, "-c", "import llama_cpp, sys; sys.exit(0)"], capture_output=True)
    return probe.returncode == 0


def build_wheel(build: dict[str, object], target: Path) -> Path:
    """Build the wheel into ``target`` (atomically: a killed build leaves no half folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join(build["cmake_args"])  # type: ignore[arg-type]
    env["FORCE_CMAKE"] = "1"
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    print(f"building llama-cpp-python {VERSION} for {build['level']} (once per CPU level, ~5-7 min on 2 cores)",
          file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
           "-w", str(tmp), f"llama-cpp-python=={VERSION}"]
    try:
        subprocess.run(cmd, check=True, env=env)
        wheels = sorted(tmp.glob("llama_cpp_python-*.whl"))
        if not wheels:
            raise SystemExit("llama-cpp-python build produced no wheel")
        (tmp / "build.json").write_text(json.dumps({**build, "version": VERSION}, indent=2))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def main() -> int:
    build = choose()
    key = build_key(build)
    marker = installed_marker()
    if marker and marker.get("key") == key and marker.get("version") == VERSION and llama_importable():
        return 0
    target = wheel_dir(build)
    wheels = sorted(target.glob("llama_cpp_python-*.whl")) if target.is_dir() else []
    if not wheels:
        build_wheel(build, target)
        wheels = sorted(target.glob("llama_cpp_python-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheels[-1])], check=True
    )
    record = {**build, "version": VERSION, "key": key, "wheel": str(wheels[-1])}
    (Path(sys.prefix) / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"llama-cpp-python {VERSION} installed for {build['level']} ({wheels[-1].parent.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
