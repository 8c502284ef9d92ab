"""``/copy experiment <product>`` over real HTTP: the thread shows the experiment, its status and the winner.

The bot runs as ``copyloop slack serve`` does, against the local mock of the Slack Web API; the
engine is the real one with a FakeLLM that writes grounded headlines (tests/experiment_fakes.py).
Traffic reaches the experiment through the public ``copyloop.Experiment`` API, as a storefront's
events would through ``copyloop experiment ingest``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest
from experiment_fakes import headline_engine
from slack_mock import ApiCall, MockSlackApi, RunningBot, SlackClientSim, block_text, buttons

from copyloop import Experiment
from copyloop.settings import Settings

pytestmark = [pytest.mark.integration]

SECRET = "test-signing-secret-never-logged"
CHANNEL = "C_EXPERIMENT"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockSlackApi]:
    server = MockSlackApi()
    yield server
    server.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, mock: MockSlackApi) -> Settings:
    home = tmp_path_factory.mktemp("slack_experiment_home")
    return Settings(
        home=home,
        slack={"bot_token": "xoxb-test", "signing_secret": SECRET, "api_url": mock.api_url},
        experiments={"policy": {"burn_in": 100, "min_impressions": 200, "batch_events": 500}},
    )


@pytest.fixture(scope="module")
def running(settings: Settings) -> Iterator[RunningBot]:
    bot = RunningBot(settings, headline_engine(settings))
    yield bot
    bot.close()


def in_thread(thread_ts: str):  # type: ignore[no-untyped-def]
    return lambda calls: [c for c in calls if c.args.get("channel") == CHANNEL and
                          (c.args.get("thread_ts") == thread_ts or c.method == "chat.update")]


def with_text(fragment: str, thread_ts: str):  # type: ignore[no-untyped-def]
    return lambda calls: [c for c in in_thread(thread_ts)(calls) if fragment in block_text(c)]


def test_slash_command_starts_an_experiment_and_the_thread_shows_status_and_winner(
    mock: MockSlackApi, running: RunningBot, settings: Settings
) -> None:
    slack = SlackClientSim(running.events_url, SECRET)
    text = "experiment Bamboo Cutting Board; made of bamboo; dishwasher safe; juice groove around the edge; comes in three sizes google_ads_headline"
    assert slack.command(text, channel=CHANNEL).status == 200
    root = mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == CHANNEL and "A/B experiment" in c.args.get("text", "")])[0]
    thread_ts = root.response["ts"]
    card: ApiCall = mock.wait_for(with_text("*A/B experiment*", thread_ts), timeout=120)[-1]
    assert card.method == "chat.update"  # the placeholder became the experiment card
    experiment_id = buttons(card)["experiment_status"]
    assert set(buttons(card)) == {"experiment_status", "experiment_refresh", "experiment_close"}
    assert "collecting data" in block_text(card) and "copyloop experiment assign" in block_text(card)

    exp = Experiment.open(experiment_id, settings)
    assert exp.origin == f"slack:T0001:{CHANNEL}:{thread_ts}" and len(exp.variants()) == 3
    arms = [v.variant_id for v in exp.variants()]
    rng = np.random.default_rng(0)
    events: list[dict] = []
    for i in range(4000):  # a storefront that asks for each visitor's variant (the bandit's weights apply)
        vid = exp.assign(f"u{i}")
        events.append({"event_id": f"i{i}", "type": "impression", "unit": f"u{i}", "variant_id": vid})
        if rng.random() < (0.09 if vid == arms[1] else 0.02):
            events.append({"event_id": f"c{i}", "type": "click", "unit": f"u{i}"})
        if len(events) >= 300:
            exp.record(events)
            events = []
    exp.record(events)
    assert exp.status().decision == "winner"

    assert running.bot.poll_experiments() == 1  # the winner is posted in the thread once
    assert running.bot.poll_experiments() == 0
    news = mock.wait_for(with_text(":trophy: winner", thread_ts))[-1]
    assert arms[1] in block_text(news) and news.args["thread_ts"] == thread_ts

    slack.thread_reply("status", thread_ts, channel=CHANNEL)
    mock.wait_for(lambda calls: len(with_text(":trophy: winner", thread_ts)(calls)) >= 2)

    slack.click("experiment_close", experiment_id, message_ts=card.args["ts"], channel=CHANNEL)
    closed = mock.wait_for(with_text("Closed. Winner", thread_ts), timeout=60)[-1]
    assert "retrain with `copyloop train-scorer --ab-log" in block_text(closed) and not buttons(closed)
    assert Experiment.open(experiment_id, settings).closed
    assert (settings.home / "ab_log.csv").is_file()


def test_experiment_usage_and_bad_product(mock: MockSlackApi, running: RunningBot) -> None:
    slack = SlackClientSim(running.events_url, SECRET)
    assert slack.command("experiment", channel="C_EXP_HELP").status == 200
    note = mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_EXP_HELP" and c.method == "chat.postEphemeral"])[-1]
    assert note.args["text"].startswith("Usage: /copy experiment")
    assert slack.command('experiment {"title": ', channel="C_EXP_BAD").status == 200
    bad = mock.wait_for(lambda calls: [c for c in calls if c.args.get("channel") == "C_EXP_BAD" and c.method == "chat.postEphemeral"])[-1]
    assert "not valid JSON" in bad.args["text"]
