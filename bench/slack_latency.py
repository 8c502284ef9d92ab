"""Slack bot latency with the default local model: slash command -> ack, and -> first draft posted.

Starts the real bot (``build_bot`` + the threaded WSGI server of ``copyloop slack serve``) against a
local mock of the Slack Web API, sends signed ``/copy`` requests exactly as Slack would, and times

* ack: the HTTP response to the slash command (Slack wants it within 3 s);
* first draft: from sending the command until the draft (the message with the Accept button)
  reaches the mock Web API;
* a revision: a thread reply ("make it shorter") until the revised draft is posted;
* a burst: two commands back to back — the second is acked while the model works on the first,
  and its draft waits in the queue (one model, one worker).

"cold" is the first command on a fresh process with lazy loading (it pays for loading SmolLM2,
the embedder, the scorer and the store); "warm" commands follow with everything loaded.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/slack_latency.py [--commands 3] [--engine-factory module:function]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the mock Slack Web API and the request signer live with the tests

from slack_mock import MockSlackApi, RunningBot, SlackClientSim, buttons  # noqa: E402

from copyloop.engine_factory import load_engine_factory  # noqa: E402
from copyloop.settings import Settings  # noqa: E402

SECRET = "bench-signing-secret"
PRODUCTS = [
    "Bamboo Cutting Board; made of bamboo; dishwasher safe; juice groove around the edge; comes in three sizes",
    "Wooden Puzzle Set; 6 puzzles; solid beech wood; for ages 3 and up; water-based paint",
    "Stainless Steel Water Bottle; 750 ml; keeps drinks cold for 24 hours; leak-proof lid",
    "Cotton Beach Towel; 100% cotton; 90 x 180 cm; quick drying",
]


def draft_in(channel: str, skip: int = 0):  # type: ignore[no-untyped-def]
    """Wait condition: the (skip+1)-th draft in ``channel``, or the bot's apology if it failed."""

    def found(calls: list) -> list:  # type: ignore[type-arg]
        mine = [c for c in calls if c.args.get("channel") == channel]
        failed = [c for c in mine if "Sorry" in str(c.args.get("text", ""))]
        if failed:
            raise SystemExit(f"the bot failed instead of drafting: {failed[-1].args.get('text')}")
        return [c for c in mine if "copy_accept" in buttons(c)][skip:]

    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=3, help="slash commands to send (the first one is cold)")
    parser.add_argument("--channel", default="product_description", help="copy channel")
    parser.add_argument("--engine-factory", default=None, help="module:function building the Engine (default: the real one)")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    mock = MockSlackApi()
    home = Path(tempfile.mkdtemp(prefix="copyloop-slack-bench-"))
    settings = Settings(home=home, slack={"bot_token": "xoxb-bench", "signing_secret": SECRET, "api_url": mock.api_url})
    engine = load_engine_factory(args.engine_factory)(settings)
    bot = RunningBot(settings, engine)
    slack = SlackClientSim(bot.events_url, SECRET)
    rows = []
    try:
        for i in range(args.commands):
            channel = f"CBENCH{i}"
            product = PRODUCTS[i % len(PRODUCTS)]
            sent = time.perf_counter()
            response = slack.command(f"{product} {args.channel}", channel=channel)
            assert response.status == 200, response
            draft = mock.wait_for(draft_in(channel), timeout=args.timeout)[-1]
            first_draft = draft.at - sent
            # one revision turn in the draft's thread
            thread_ts = next(c.args["thread_ts"] for c in mock.calls if c.args.get("channel") == channel and "thread_ts" in c.args)
            sent_reply = time.perf_counter()
            slack.thread_reply("make it shorter", thread_ts, channel=channel)
            revised = mock.wait_for(draft_in(channel, skip=1), timeout=args.timeout)[-1]
            rows.append({
                "run": "cold" if i == 0 else "warm",
                "ack_ms": round(response.seconds * 1000, 1),
                "first_draft_s": round(first_draft, 2),
                "revision_s": round(revised.at - sent_reply, 2),
                "draft_chars": len(str(draft.args.get("text", ""))),
            })
            print(json.dumps(rows[-1]), flush=True)
        # A burst: a second command arrives while the model is busy with the first one.
        burst = []
        for j in range(2):
            channel = f"CBURST{j}"
            sent = time.perf_counter()
            response = slack.command(f"{PRODUCTS[j]} {args.channel}", channel=channel)
            burst.append((channel, sent, response))
        for channel, sent, response in burst:
            draft = mock.wait_for(draft_in(channel), timeout=args.timeout)[-1]
            rows.append({"run": "burst", "ack_ms": round(response.seconds * 1000, 1), "first_draft_s": round(draft.at - sent, 2)})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        bot.close()
        mock.close()
    warm = [r for r in rows if r["run"] == "warm"]
    summary = {
        "model": "default (SmolLM2-135M-Instruct via llama-cpp)" if not args.engine_factory else args.engine_factory,
        "channel": args.channel,
        "ack_ms_max": max(r["ack_ms"] for r in rows),
        "ack_ms_median": statistics.median(r["ack_ms"] for r in rows),
        "first_draft_s_cold": rows[0]["first_draft_s"],
        "first_draft_s_warm_median": statistics.median(r["first_draft_s"] for r in warm) if warm else None,
        "revision_s_median": statistics.median(r["revision_s"] for r in rows if "revision_s" in r),
        "burst_ack_ms_max": max(r["ack_ms"] for r in rows if r["run"] == "burst"),
        "burst_second_draft_s": rows[-1]["first_draft_s"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }
    stats = getattr(engine, "stats", None)
    if stats is not None and stats.refines:
        summary.update(
            refine_calls=stats.refines,
            seconds_per_refine=round(stats.seconds / stats.refines, 2),
            llm_share_of_refine_time=round(stats.llm_seconds / stats.seconds, 3) if stats.seconds else None,
            llm_tokens_per_second=round(stats.tokens_per_second, 1),
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
