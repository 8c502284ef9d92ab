"""Where sessions and Slack deliveries are persisted, and how the engine hook is resolved."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from copyloop.chat.checkpointer import open_checkpointer
from copyloop.engine_factory import ENGINE_FACTORY_ENV, default_engine, load_engine_factory
from copyloop.errors import DependencyError, InputError
from copyloop.settings import Settings
from copyloop.slack.ledger import EventLedger


def test_sqlite_checkpointer_lives_at_checkpoint_path(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with open_checkpointer(settings) as saver:
        assert type(saver).__name__ == "SqliteSaver"
    assert settings.checkpoint_path().is_file()


def test_postgres_without_the_optional_dependency_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)  # as if not installed
    settings = Settings(home=tmp_path, store={"postgres_dsn": "postgresql://u:secret@db/copy"})
    with pytest.raises(DependencyError, match=r"copyloop\[postgres\]") as info:
        with open_checkpointer(settings):
            pass
    assert "secret" not in str(info.value)


def test_event_ledger_remembers_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    ledger = EventLedger(path)
    assert ledger.first_time("Ev1") is True
    assert ledger.first_time("Ev1") is False
    ledger.close()
    again = EventLedger(path)
    assert again.first_time("Ev1") is False
    assert again.first_time("Ev2") is True
    again.close()


def test_engine_factory_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENGINE_FACTORY_ENV, raising=False)
    assert load_engine_factory() is default_engine
    monkeypatch.setenv(ENGINE_FACTORY_ENV, "copyloop.engine_factory:default_engine")
    assert load_engine_factory() is default_engine
    for bad, message in [("nocolon", "package.module:function"), ("no_such_mod_xyz:f", "cannot import"),
                         ("copyloop.engine_factory:ENGINE_FACTORY_ENV", "not a callable")]:
        with pytest.raises(InputError, match=message):
            load_engine_factory(bad)
