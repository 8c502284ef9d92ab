"""Chat sessions on the Postgres checkpointer, against a real PostgreSQL server (tests/services.py).

The engine is the real one with a scripted FakeLLM (tests/session_fakes.py). Covered: a session
resumed after the server restarted; two processes taking turns on one thread; and lost
connections — the server restarted between turns and *during* a turn (the next checkpoint write
must reconnect), and the server down during a turn (a clear SessionStoreError, then the session
resumes with a consistent history once the server is back).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from session_fakes import PRODUCT, copy_writer

pytest.importorskip("langgraph.checkpoint.postgres", reason="the [postgres] extra is not installed")

from copyloop.agents.llm import FakeCall, FakeLLM  # noqa: E402
from copyloop.chat.checkpointer import SessionStoreError  # noqa: E402
from copyloop.chat.session import SessionStore  # noqa: E402
from copyloop.engine import Engine  # noqa: E402
from copyloop.settings import Settings  # noqa: E402

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parent.parent


class Hooked:
    """A FakeLLM reply function that runs queued actions (restart or stop the server) inside the
    next model call, i.e. in the middle of a turn, between checkpoint writes."""

    def __init__(self) -> None:
        self.actions: list[Callable[[], None]] = []

    def __call__(self, call: FakeCall, index: int) -> str:
        while self.actions:
            self.actions.pop(0)()
        return copy_writer(call, index)


@pytest.fixture(scope="module")
def hook() -> Hooked:
    return Hooked()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, hook: Hooked) -> Engine:
    engine = Engine(Settings(home=tmp_path_factory.mktemp("pg-engine")), llm=FakeLLM(default=hook), store=None)
    engine.drafter.model_from_round = 0  # every round asks the model, so the hook fires inside each turn's drafting
    return engine


def _settings(tmp_path: Path, dsn: str) -> Settings:
    return Settings(home=tmp_path, store={"postgres_dsn": dsn})


def _kinds(history: list[Any]) -> list[tuple[str, str]]:
    return [(t.role, t.kind) for t in history]


def test_a_session_resumes_after_the_server_restarts(postgres_server: Any, postgres_dsn: str, engine: Engine,
                                                    tmp_path: Path) -> None:
    settings = _settings(tmp_path, postgres_dsn)
    with SessionStore(settings, engine) as store:
        session = store.start(PRODUCT, "product_description")
        session.say("make it shorter")
        thread, before, text = session.thread_id, _kinds(session.history()), session.current.text
    postgres_server.restart()
    with SessionStore(settings, engine) as store:
        again = store.resume(thread)
        assert _kinds(again.history()) == before and again.current.text == text
        again.say("more playful")
        assert _kinds(again.history()) == before + [("user", "say"), ("assistant", "draft")]
    assert not settings.checkpoint_path().exists()  # nothing went to the SQLite default


def test_lost_connections_reconnect_or_fail_clearly(postgres_server: Any, postgres_dsn: str, engine: Engine,
                                                    hook: Hooked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from copyloop.chat import checkpointer

    monkeypatch.setattr(checkpointer, "CONNECT_TIMEOUT_S", 3.0)  # fail fast while the server is down
    settings = _settings(tmp_path, postgres_dsn)
    with SessionStore(settings, engine) as store:
        session = store.start(PRODUCT, "product_description")
        base = _kinds(session.history())
        postgres_server.restart()  # between turns: every pooled connection is dead
        session.say("make it shorter")
        hook.actions.append(postgres_server.restart)  # during a turn: the next checkpoint write finds a dead connection
        reply = session.say("more playful")
        assert reply.text and _kinds(session.history()) == base + [("user", "say"), ("assistant", "draft")] * 2
        good = (_kinds(session.history()), session.current.text)

        hook.actions.append(postgres_server.stop)  # the server goes away in the middle of a turn
        try:
            with pytest.raises(SessionStoreError, match="cannot be reached") as info:
                session.say("mention the juice groove")
            assert postgres_dsn not in str(info.value)
        finally:
            hook.actions.clear()
            postgres_server.start()
        # back: the half-done turn is recorded as failed (or absent), the draft is the last good one.
        # The pool reconnects with backoff: on a loaded box that can take more than one 3 s timeout.
        deadline = time.monotonic() + 60
        while True:
            try:
                history = _kinds(session.history())
                break
            except SessionStoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert history[: len(good[0])] == good[0]
        assert history[len(good[0]):] in ([], [("user", "say"), ("assistant", "error")]), history
        assert session.current.text == good[1]
        session.say("shorter")
        final = _kinds(session.history())
        assert final[-2:] == [("user", "say"), ("assistant", "draft")]
    with SessionStore(settings, engine) as store:  # and a fresh store's view agrees
        assert _kinds(store.resume(session.thread_id).history()) == final


OTHER_PROCESS = r"""
import json, sys
from session_fakes import fake_engine
from copyloop.chat.session import SessionStore
from copyloop.settings import Settings
settings = Settings(home=sys.argv[1], store={"postgres_dsn": sys.argv[2]})
with SessionStore(settings, engine_factory=fake_engine) as store:
    session = store.resume(sys.argv[3])
    seen = len(session.history())
    reply = session.say(sys.argv[4])
    print(json.dumps({"seen": seen, "text": reply.text, "turns": len(session.history())}))
"""


def test_two_processes_take_turns_on_one_thread(postgres_dsn: str, engine: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path, postgres_dsn)
    with SessionStore(settings, engine) as store:
        session = store.start(PRODUCT, "product_description")
        session.say("make it shorter")
        mine = len(session.history())
        env_path = {"PYTHONPATH": str(TESTS)}
        import os

        other = subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(tmp_path / "other"), postgres_dsn, session.thread_id, "more playful"],
            capture_output=True, text=True, timeout=300, env={**os.environ, **env_path},
        )
        assert other.returncode == 0, other.stderr[-2000:]
        result = json.loads(other.stdout.strip().splitlines()[-1])
        assert result["seen"] == mine  # the other process saw this one's turns
        # this process sees the other's turn at once (no stale cache) and goes on from it
        history = session.history()
        assert len(history) == mine + 2 and history[-1].kind == "draft" and session.current.text == result["text"]
        session.say("shorter")
        texts = [t.text for t in session.history() if t.role == "user"]
        assert texts == ["make it shorter", "more playful", "shorter"]
