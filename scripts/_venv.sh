# Sourced by run.sh and test.sh: create .venv and install copyloop (+ extras in $1) into it.
# llama-cpp-python is built by scripts/llama_build.py, not by pip's default native build: once per
# CPU level (about 6 minutes on 2 cores), without -march=native, AVX-512 or AMX, into copyloop's
# own wheel cache (~/.cache/copyloop/wheels), so the wheel runs on any x86-64 CPU of that level and
# later installs take seconds. See README "CPU support".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python scripts/llama_build.py
.venv/bin/python -m pip install -q -e ".${1:-}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
