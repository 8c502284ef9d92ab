"""``copyloop slack serve`` / ``socket`` as real processes configured only through the environment."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from slack_mock import MockSlackApi, SlackClientSim

pytestmark = pytest.mark.integration

TESTS_DIR = Path(__file__).resolve().parents[1]
COPYLOOP = Path(sys.executable).with_name("copyloop")
SECRET = "cli-signing-secret"


@pytest.fixture()
def mock() -> Iterator[MockSlackApi]:
    server = MockSlackApi()
    yield server
    server.close()


def slack_env(home: Path, mock: MockSlackApi, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        COPYLOOP_HOME=str(home),
        COPYLOOP_ENGINE_FACTORY="session_fakes:fake_engine",
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
        HF_HUB_OFFLINE="1",
        SLACK_BOT_TOKEN="xoxb-cli-test",
        SLACK_API_URL=mock.api_url,
        **extra,
    )
    return env


def test_socket_mode_without_app_token_fails_fast(tmp_path: Path, mock: MockSlackApi) -> None:
    done = subprocess.run([str(COPYLOOP), "slack", "socket"], env=slack_env(tmp_path, mock), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in done.stderr


def test_serve_reads_its_config_from_the_environment_and_stops_cleanly(tmp_path: Path, mock: MockSlackApi) -> None:
    log_path = tmp_path / "serve.log"
    with open(log_path, "w", encoding="utf-8") as log:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(
            [str(COPYLOOP), "slack", "serve", "--port", "0", "--lazy"],
            env=slack_env(tmp_path, mock, SLACK_SIGNING_SECRET=SECRET),
            stderr=log,
            stdout=log,
        )
    try:
        deadline = time.monotonic() + 120
        match = None
        while match is None and time.monotonic() < deadline and proc.poll() is None:
            match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))/slack/events", log_path.read_text())
            time.sleep(0.1)
        assert match, log_path.read_text()
        base = match.group(1)
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            assert resp.read() == b"ok"
        # Secrets, API URL and token all came from the environment: a signed request is answered
        # through the mock Web API (a bad product needs no model, so this process never loads one).
        response = SlackClientSim(base + "/slack/events", SECRET).command('{"title": ', channel="C_CLI")
        assert response.status == 200
        note = mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_CLI"], timeout=60)[-1]
        assert note.method == "chat.postEphemeral" and note.authorized and "not valid JSON" in note.args["text"]
        forged = SlackClientSim(base + "/slack/events", "wrong").command("x", channel="C_CLI")
        assert forged.status == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, log_path.read_text()
    assert "xoxb-cli-test" not in log_path.read_text() and SECRET not in log_path.read_text()
