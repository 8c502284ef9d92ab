"""The Slack bot's edges: signatures, stale and re-delivered requests, secrets in logs, Socket Mode.

Bad or stale signatures must get 401 with no work started; Slack's re-deliveries of an event
(X-Slack-Retry-Num) must not start a second draft; no token or signing secret may reach the logs.
The real slack_sdk client talks to a local mock of the Web API; the Engine is real with a scripted
FakeLLM.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Iterator

import pytest
from session_fakes import fake_engine
from slack_mock import MockSlackApi, RunningBot, SlackClientSim, buttons

from copyloop.engine import Engine
from copyloop.errors import InputError
from copyloop.settings import Settings

pytestmark = pytest.mark.integration

BOT_TOKEN = "xoxb-secret-bot-token-4242"
SECRET = "signing-secret-4242-do-not-log"
APP_TOKEN = "xapp-secret-app-token-4242"
PRODUCT_TEXT = "Bamboo Cutting Board; made of bamboo; dishwasher safe"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockSlackApi]:
    server = MockSlackApi()
    yield server
    server.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, mock: MockSlackApi) -> Settings:
    return Settings(
        home=tmp_path_factory.mktemp("slack_sec"),
        slack={"bot_token": BOT_TOKEN, "signing_secret": SECRET, "app_token": APP_TOKEN, "api_url": mock.api_url},
    )


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Engine:
    return fake_engine(settings)


@pytest.fixture(scope="module")
def running(settings: Settings, engine: Engine) -> Iterator[RunningBot]:
    bot = RunningBot(settings, engine)
    yield bot
    bot.close()


@pytest.fixture(scope="module")
def slack(running: RunningBot) -> SlackClientSim:
    return SlackClientSim(running.events_url, SECRET)


def channel_calls(mock: MockSlackApi, channel: str) -> list[Any]:
    return [c for c in mock.calls if c.args.get("channel") == channel]


def test_building_the_app_touches_nothing(settings: Settings) -> None:
    from copyloop.slack.app import build_app

    quiet = MockSlackApi()
    try:
        app = build_app(settings.model_copy(update={"slack": settings.slack.model_copy(update={"api_url": quiet.api_url})}))
        assert app.client.base_url == quiet.api_url
        assert quiet.calls == []  # no auth.test, no model: only the first request does work
    finally:
        quiet.close()


def test_missing_secrets_are_clear_errors(tmp_path: Any) -> None:
    from copyloop.slack.app import build_app

    with pytest.raises(InputError, match="SLACK_BOT_TOKEN"):
        build_app(Settings(home=tmp_path, slack={"signing_secret": SECRET}))
    with pytest.raises(InputError, match="SLACK_SIGNING_SECRET"):
        build_app(Settings(home=tmp_path, slack={"bot_token": BOT_TOKEN}))
    build_app(Settings(home=tmp_path, slack={"bot_token": BOT_TOKEN}), socket_mode=True)  # no signature in Socket Mode


def test_bad_signature_is_401_and_nothing_runs(mock: MockSlackApi, slack: SlackClientSim, running: RunningBot) -> None:
    response = slack.command(PRODUCT_TEXT, channel="C_FORGED", secret="not-the-secret")
    assert response.status == 401
    event = slack.mention(PRODUCT_TEXT, channel="C_FORGED", secret="not-the-secret")
    assert event.status == 401
    time.sleep(0.5)
    assert running.bot.drain(timeout=10)
    assert channel_calls(mock, "C_FORGED") == []


def test_stale_timestamp_is_401_even_with_a_valid_signature(mock: MockSlackApi, slack: SlackClientSim,
                                                            running: RunningBot) -> None:
    ten_minutes_ago = int(time.time()) - 600
    response = slack.command(PRODUCT_TEXT, channel="C_STALE", timestamp=ten_minutes_ago)
    assert response.status == 401
    time.sleep(0.5)
    assert running.bot.drain(timeout=10)
    assert channel_calls(mock, "C_STALE") == []


def test_slack_retries_do_not_duplicate_work(mock: MockSlackApi, slack: SlackClientSim, running: RunningBot) -> None:
    first = slack.mention(PRODUCT_TEXT, channel="C_RETRY", event_id="EvRETRY0001")
    # Slack did not see the ack in time and re-delivers the same event, twice
    ts_body = None
    assert first.status == 200
    for attempt in (1, 2):
        again = slack.event(
            {"type": "app_mention", "channel": "C_RETRY", "user": "U1", "text": "<@UBOT> " + PRODUCT_TEXT, "ts": ts_body or "5.5"},
            event_id="EvRETRY0001",
            retry=attempt,
        )
        assert again.status == 200
    mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_RETRY" and "copy_accept" in buttons(c)])
    time.sleep(0.5)
    assert running.bot.drain(timeout=30)
    placeholders = [c for c in channel_calls(mock, "C_RETRY") if c.method == "chat.postMessage"]
    assert len(placeholders) == 1


def test_url_verification_challenge(slack: SlackClientSim) -> None:
    from slack_mock import post, sign

    body = json.dumps({"type": "url_verification", "challenge": "chal-123", "token": "x"})
    response = post(slack.url, body, "application/json", sign(SECRET, body))
    assert response.status == 200 and "chal-123" in response.body


def test_tokens_never_reach_the_logs(mock: MockSlackApi, settings: Settings, engine: Engine,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = RunningBot(settings, engine)
    try:
        sim = SlackClientSim(bot.events_url, SECRET)
        sim.command(PRODUCT_TEXT, channel="C_LOGS")
        draft = mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_LOGS" and "copy_accept" in buttons(c)])[-1]
        sim.click("copy_scores", buttons(draft)["copy_scores"], message_ts=draft.args["ts"], channel="C_LOGS")
        sim.command(PRODUCT_TEXT, channel="C_LOGS", secret="forged")  # a failed verification logs too
        mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_LOGS" and "Conversion score" in str(c.args)])
        assert bot.bot.drain(timeout=30)
    finally:
        bot.close()
    text = caplog.text + repr(settings) + "".join(repr(r.args) for r in caplog.records)
    assert "slack_sdk" in caplog.text or "slack_bolt" in caplog.text  # debug logging was really on
    for secret in (BOT_TOKEN, SECRET, APP_TOKEN):
        assert secret not in text


def test_socket_mode_receives_a_command_and_acks(mock: MockSlackApi, settings: Settings, engine: Engine) -> None:
    """A real Socket Mode round trip: a local WebSocket server plays Slack's side."""
    from websockets.sync.server import serve

    from copyloop.slack.app import build_bot, socket_mode_handler

    acks: list[dict[str, Any]] = []
    got_ack = threading.Event()
    envelope = {
        "envelope_id": "env-1",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {"command": "/copy", "text": PRODUCT_TEXT, "channel_id": "C_SOCKET", "user_id": "U1", "team_id": "T0001",
                    "response_url": "http://127.0.0.1:9/unused", "trigger_id": "1.2.3"},
    }

    def slack_side(ws: Any) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1}))
        ws.send(json.dumps(envelope))
        try:
            for message in ws:
                data = json.loads(message)
                if data.get("envelope_id"):
                    acks.append(data)
                    got_ack.set()
        except Exception:
            pass

    with serve(slack_side, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        mock.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
        bot = build_bot(settings, engine=engine, socket_mode=True)
        handler = socket_mode_handler(bot)
        try:
            handler.connect()
            assert got_ack.wait(30), "the command was not acknowledged over the socket"
            assert acks[0]["envelope_id"] == "env-1"
            mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_SOCKET" and "copy_accept" in buttons(c)])
            opened = [c for c in mock.calls if c.method == "apps.connections.open"]
            assert opened and opened[-1].authorized
        finally:
            handler.close()
            bot.drain(timeout=30)
            bot.close()
            server.shutdown()
