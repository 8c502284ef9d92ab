"""Building the service app for tests: settings in a temp home, a fake engine, a TestClient.

``make_client(...)`` returns a started TestClient (lifespan entered) whose requests come from
127.0.0.1 (a loopback peer, as a local browser would be); ``AUTH`` is the header for key ``k1``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from fastapi.testclient import TestClient
from pydantic import SecretStr

from copyloop.service.app import build_app
from copyloop.settings import ServiceSettings, Settings
from service_fakes import service_engine

KEY = "k1-test-secret"
OTHER_KEY = "k2-other-secret"
AUTH = {"Authorization": f"Bearer {KEY}"}


def settings_for(home: Path, keys: str | None = f"{KEY},{OTHER_KEY}", **service: Any) -> Settings:
    service.setdefault("rate_limit", "10000/minute")
    return Settings(home=home, api_keys=SecretStr(keys) if keys else None, service=ServiceSettings(**service))


@contextmanager
def make_client(home: Path, keys: str | None = f"{KEY},{OTHER_KEY}", *, engine: Any = None, launcher: Any = None,
                peer: str = "127.0.0.1", **service: Any) -> Iterator[TestClient]:
    settings = settings_for(home, keys, **service)
    app = build_app(settings, engine=engine if engine is not None else service_engine(settings), launcher=launcher)
    with TestClient(app, client=(peer, 50000)) as client:
        yield client


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent-event body."""
    events: list[tuple[str, str]] = []
    name, data = "message", []
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1][1:] if line[5:6] == " " else line[5:])
        elif not line.strip():
            if data:
                events.append((name, "\n".join(data)))
            name, data = "message", []
    if data:
        events.append((name, "\n".join(data)))
    return events


__all__ = ["AUTH", "KEY", "OTHER_KEY", "make_client", "settings_for", "sse_events"]
