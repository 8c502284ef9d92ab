"""The Slack bot end to end over real HTTP: /copy, mentions, buttons, thread replies, restarts.

Requests are signed like Slack signs them and sent to the bot's /slack/events endpoint; the bot's
real slack_sdk client talks to a local mock of the Web API (tests/slack_mock.py). The Engine is
real with a scripted FakeLLM (tests/session_fakes.py). Each test uses its own Slack channel id so
assertions only see that test's messages.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest
from session_fakes import PRODUCT, fake_engine
from slack_mock import TEAM, ApiCall, MockSlackApi, RunningBot, SlackClientSim, block_text, buttons, draft_text

from copyloop.engine import Engine
from copyloop.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.llama]

# the product as a person types it after /copy: enough facts for a 50-word description (issue #11:
# copy may only use the product's own facts, so a thinner product honestly cannot fill 50 words)
COMMAND_TEXT = "; ".join([PRODUCT["title"], *PRODUCT["facts"]])
BOT_TOKEN = "xoxb-test-0000-bot-token-never-logged"
SECRET = "test-signing-secret-never-logged"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockSlackApi]:
    server = MockSlackApi()
    yield server
    server.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, mock: MockSlackApi) -> Settings:
    home = tmp_path_factory.mktemp("slack_home")
    catalog = home / "catalog.jsonl"
    catalog.write_text(json.dumps({**PRODUCT, "id": "sku-100042"}) + "\n", encoding="utf-8")
    return Settings(
        home=home,
        slack={"bot_token": BOT_TOKEN, "signing_secret": SECRET, "api_url": mock.api_url, "catalog_path": catalog},
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


def in_channel(channel: str, method: str | None = None):  # type: ignore[no-untyped-def]
    def select(calls: list[ApiCall]) -> list[ApiCall]:
        return [c for c in calls if c.args.get("channel") == channel and (method is None or c.method == method)]

    return select


def drafts(channel: str):  # type: ignore[no-untyped-def]
    """Messages in ``channel`` that carry the draft buttons."""
    return lambda calls: [c for c in in_channel(channel)(calls) if "copy_accept" in buttons(c)]


def start_session(mock: MockSlackApi, slack: SlackClientSim, channel: str, text: str = "") -> ApiCall:
    text = text or COMMAND_TEXT
    response = slack.command(text, channel=channel)
    assert response.status == 200
    return mock.wait_for(drafts(channel))[-1]


def test_slash_command_acks_then_posts_the_draft_in_a_thread(mock: MockSlackApi, slack: SlackClientSim) -> None:
    response = slack.command(
        COMMAND_TEXT,
        channel="C_CMD",
    )
    assert response.status == 200
    draft = mock.wait_for(drafts("C_CMD"))[-1]
    root, placeholder = in_channel("C_CMD", "chat.postMessage")(mock.calls)[:2]
    assert "thread_ts" not in root.args and "Bamboo Cutting Board" in root.args["text"]
    assert placeholder.args["thread_ts"] == root.response["ts"]  # the session lives in the root's thread
    assert draft.method == "chat.update" and draft.args["ts"] == placeholder.response["ts"]
    assert "Bamboo" in draft_text(draft) and "passes every rule" in block_text(draft)
    assert set(buttons(draft)) == {"copy_accept", "copy_shorter", "copy_playful", "copy_regenerate", "copy_scores"}
    assert set(buttons(draft).values()) == {f"slack:{TEAM}:C_CMD:{root.response['ts']}"}
    assert all(c.authorized for c in mock.calls)


def draft_thread(mock: MockSlackApi, channel: str) -> str:
    posts = in_channel(channel, "chat.postMessage")(mock.calls)
    return next(p.args["thread_ts"] for p in posts if "thread_ts" in p.args)


def test_bad_product_gets_an_ephemeral_explanation(mock: MockSlackApi, slack: SlackClientSim) -> None:
    assert slack.command('{"title": ', channel="C_BADJSON").status == 200
    note = mock.wait_for(in_channel("C_BADJSON", "chat.postEphemeral"))[-1]
    assert "not valid JSON" in note.args["text"] and "Usage" in note.args["text"]
    assert not in_channel("C_BADJSON", "chat.postMessage")(mock.calls)
    assert slack.command("help", channel="C_HELP").status == 200
    usage = mock.wait_for(in_channel("C_HELP", "chat.postEphemeral"))[-1]
    assert usage.args["text"].startswith("Usage: /copy") and usage.args["user"] == "U1"


def test_catalog_id_and_channel_argument(mock: MockSlackApi, slack: SlackClientSim) -> None:
    assert slack.command("sku-100042 amazon_bullet", channel="C_CAT").status == 200
    draft = mock.wait_for(drafts("C_CAT"))[-1]
    assert "`amazon_bullet`" in block_text(draft)
    assert "BAMBOO: " in block_text(draft)


def test_buttons_shorter_scores_and_accept(mock: MockSlackApi, slack: SlackClientSim) -> None:
    first = start_session(mock, slack, "C_BTN")
    value = buttons(first)["copy_shorter"]
    assert slack.click("copy_shorter", value, message_ts=first.args["ts"], channel="C_BTN").status == 200
    shorter = mock.wait_for(lambda calls: drafts("C_BTN")(calls)[1:])[-1]
    assert len(draft_text(shorter)) < len(draft_text(first))

    assert slack.click("copy_scores", value, message_ts=shorter.args["ts"], channel="C_BTN").status == 200
    scores = mock.wait_for(lambda calls: [c for c in in_channel("C_BTN")(calls) if "Conversion score" in block_text(c)])[-1]
    assert "grounding" in block_text(scores)

    assert slack.click("copy_accept", value, message_ts=shorter.args["ts"], channel="C_BTN").status == 200
    accepted = mock.wait_for(lambda calls: [c for c in in_channel("C_BTN", "chat.update")(calls) if "Accepted" in block_text(c)])[-1]
    assert accepted.args["ts"] == shorter.args["ts"] and not buttons(accepted)
    assert "<@U1>" in block_text(accepted)


def test_thread_replies_are_chat_turns(mock: MockSlackApi, slack: SlackClientSim) -> None:
    first = start_session(mock, slack, "C_THREAD")
    thread_ts = draft_thread(mock, "C_THREAD")
    assert slack.thread_reply("more playful please", thread_ts, channel="C_THREAD").status == 200
    playful = mock.wait_for(lambda calls: drafts("C_THREAD")(calls)[1:])[-1]
    assert "!" in draft_text(playful) and playful.args["ts"] != first.args["ts"]

    assert slack.thread_reply("undo", thread_ts, channel="C_THREAD").status == 200
    back = mock.wait_for(lambda calls: [c for c in drafts("C_THREAD")(calls) if "Back to v0" in block_text(c)])[-1]
    assert draft_text(back) == draft_text(first)

    # replies outside session threads, top-level chatter and bot posts start no work
    before = len(mock.calls)
    slack.thread_reply("hello", "999.000", channel="C_THREAD")
    slack.event({"type": "message", "channel": "C_THREAD", "user": "U1", "text": "top level", "ts": "1.1"})
    slack.event({"type": "message", "subtype": "bot_message", "bot_id": "BBOT", "channel": "C_THREAD", "text": "x",
                 "ts": "1.2", "thread_ts": thread_ts})
    time.sleep(1.0)  # listeners run after the ack; give them time to (not) post
    assert [c.method for c in mock.calls[before:] if c.method != "auth.test"] == []


def test_refusal_is_posted_with_its_reason(mock: MockSlackApi, slack: SlackClientSim) -> None:
    start_session(mock, slack, "C_REFUSE")
    thread_ts = draft_thread(mock, "C_REFUSE")
    slack.thread_reply("add 'cures colds'", thread_ts, channel="C_REFUSE")
    refusal = mock.wait_for(lambda calls: [c for c in in_channel("C_REFUSE")(calls) if "can't do that" in block_text(c)])[-1]
    assert "health" in block_text(refusal)


def test_mention_starts_a_session_in_the_mention_thread(mock: MockSlackApi, slack: SlackClientSim) -> None:
    slack.mention("Bamboo Cutting Board; made of bamboo; dishwasher safe", channel="C_MENTION")
    draft = mock.wait_for(drafts("C_MENTION"))[-1]
    mention_ts = [c for c in in_channel("C_MENTION", "chat.postMessage")(mock.calls)][0].args["thread_ts"]
    assert buttons(draft)["copy_accept"].endswith(f":C_MENTION:{mention_ts}")


def test_session_survives_a_bot_restart(mock: MockSlackApi, settings: Settings, engine: Engine) -> None:
    first_bot = RunningBot(settings, engine)
    try:
        sim = SlackClientSim(first_bot.events_url, SECRET)
        start_session(mock, sim, "C_RESTART")
        thread_ts = draft_thread(mock, "C_RESTART")
    finally:
        first_bot.close()
    second_bot = RunningBot(settings, engine)  # new bot, new SqliteSaver connection, same files
    try:
        sim = SlackClientSim(second_bot.events_url, SECRET)
        sim.thread_reply("more playful", thread_ts, channel="C_RESTART")
        revised = mock.wait_for(lambda calls: drafts("C_RESTART")(calls)[1:])[-1]
        assert "v1" in block_text(revised) and "!" in draft_text(revised)
        session = second_bot.bot.store.resume(f"slack:{TEAM}:C_RESTART:{thread_ts}")
        assert [t.kind for t in session.history()] == ["draft", "say", "draft"]
    finally:
        second_bot.close()


def test_model_failure_becomes_an_apology(mock: MockSlackApi, settings: Settings, engine: Engine,
                                          caplog: pytest.LogCaptureFixture) -> None:
    from copyloop.agents.llm import FakeLLM

    def explode(call: object, index: int) -> str:
        raise RuntimeError("llama exploded")

    broken = Engine(settings, llm=FakeLLM(default=explode), store=None, scorer=engine.scorer, embedder=engine.embedder)
    bot = RunningBot(settings, broken)
    try:
        SlackClientSim(bot.events_url, SECRET).command("Bamboo Cutting Board; dishwasher safe", channel="C_FAIL")
        apology = mock.wait_for(lambda calls: [c for c in in_channel("C_FAIL")(calls) if "Sorry" in block_text(c)])[-1]
        assert apology.method == "chat.update"
        assert "llama exploded" not in block_text(apology)  # internals stay in the log
    finally:
        bot.close()
    assert any(r.exc_info and "llama exploded" in str(r.exc_info[1]) for r in caplog.records)
