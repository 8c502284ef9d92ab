"""Shared fixtures.

Tests never touch the network or the user's home: COPYLOOP_HOME points at a temp folder and the
Hugging Face hub is offline. Tests that read ../shared/data skip with a clear reason when it is
absent (a user's clone); CI has it, so there they run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("COPYLOOP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("copyloop_home")
    monkeypatch.setenv("COPYLOOP_HOME", str(home))
    monkeypatch.delenv("COPYLOOP_CONFIG", raising=False)
    return home


@pytest.fixture(scope="session")
def llama_native_check():
    """Load the default model and adapter and generate a few tokens in a child process, once.

    Tests marked ``llama`` load llama.cpp inside the pytest process, where a native crash
    (SIGSEGV, SIGILL) would end the whole run without a report. They run only when this child
    succeeded; otherwise each fails at once with the child's signal and the CPU flags, and the
    rest of the suite still runs and reports.
    """
    from copyloop.agents.llama_probe import probe_generation

    return probe_generation(max_tokens=8, timeout=300)


@pytest.fixture(autouse=True)
def _llama_crash_guard(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("llama") is None:
        return
    result = request.getfixturevalue("llama_native_check")
    if not result.ok:
        pytest.fail("not run in the test process: " + result.describe_failure(), pytrace=False)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this test session (tests/services.py); skipped when no
    PostgreSQL is installed (``.ci/run`` installs it, so CI always has one)."""
    import uuid

    from services import PostgresServer, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does this)")
    server = PostgresServer(bin_dir).start()
    server.fresh = lambda: server.create_database("t_" + uuid.uuid4().hex[:12])  # type: ignore[attr-defined]
    yield server
    server.cleanup()


@pytest.fixture()
def postgres_dsn(postgres_server) -> str:
    """A DSN of a fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.fresh()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is not there."""
    if not (SHARED_DATA / "upworthy" / "packages.csv").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA} (only CI and developers have ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def amazon_csv(shared_data: Path) -> Path:
    return shared_data / "amazon_products" / "products.csv"


@pytest.fixture(scope="session")
def upworthy_csv(shared_data: Path) -> Path:
    return shared_data / "upworthy" / "packages.csv"
