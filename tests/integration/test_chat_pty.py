"""``copyloop chat`` driven through a pseudo-terminal, as a person would use it.

The chat runs as a real separate process (the installed ``copyloop`` command) in a pty; the engine
is the real Engine with the scripted FakeLLM (COPYLOOP_ENGINE_FACTORY=session_fakes:fake_engine).
The session is then resumed by a *second* process with ``--thread``: persistence across restarts
(that process needs no model: history and undo come from the checkpoint).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.integration

TESTS_DIR = Path(__file__).resolve().parents[1]
COPYLOOP = Path(sys.executable).with_name("copyloop")
PROMPT = "you> "
TIMEOUT = 120  # the first draft includes loading the embedder and scorer on a busy 2-core box


def spawn(args: list[str], home: Path, factory: str | None = "session_fakes:fake_engine",
          extra: dict[str, str] | None = None) -> pexpect.spawn:
    env = {
        **os.environ,
        "COPYLOOP_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "TERM": "dumb",  # no colour codes or spinners inside the text we match
        "COLUMNS": "160",
        **(extra or {}),
    }
    if factory:
        env["COPYLOOP_ENGINE_FACTORY"] = factory
    else:
        env.pop("COPYLOOP_ENGINE_FACTORY", None)
    child = pexpect.spawn(str(COPYLOOP), ["chat", *args], env=env, encoding="utf-8", timeout=TIMEOUT, dimensions=(50, 160))
    return child


def turn(child: pexpect.spawn, line: str, *expected: str) -> str:
    """Send one line; wait for each expected pattern, then the next prompt; return the output."""
    child.sendline(line)
    out = ""
    for pattern in expected:
        child.expect(pattern)
        out += child.before + child.after
    child.expect_exact(PROMPT)
    return out + child.before


def test_chat_session_then_resume_in_a_new_process(tmp_path: Path) -> None:
    import json

    from session_fakes import PRODUCT  # enough facts for a 50-word description without padding

    product = tmp_path / "board.json"
    product.write_text(json.dumps(PRODUCT), encoding="utf-8")
    child = spawn([str(product)], tmp_path)
    try:
        child.expect(r"Session ([0-9a-f]{32})")
        thread_id = child.match.group(1)
        child.expect("v0 · product_description")
        child.expect_exact(PROMPT)

        turn(child, "make it shorter", "v1 · product_description", "passes every rule")
        refused = turn(child, "add 'cures colds'", "refused:")
        assert "health" in refused
        out = turn(child, "/variants 2", r"variant v\d+", r"variant v\d+")
        picks = re.findall(r"/pick (\d+)", out)
        assert len(set(picks)) == 2
        turn(child, f"/pick {picks[0]}", f"using v{picks[0]}")
        turn(child, "/score", "grounding")
        turn(child, "/undo", "back to v1")
        turn(child, "/channel fax", "Unknown channel 'fax'")
        turn(child, "/accept", "accepted v1")
        turn(child, "/history", "refusal")
        child.sendline("/quit")
        child.expect(f"Resume with: copyloop chat --thread {thread_id}")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0

    again = spawn(["--thread", thread_id], tmp_path)
    try:
        again.expect(f"Resumed session {thread_id}")
        again.expect("v1 · product_description")
        again.expect_exact(PROMPT)
        history = turn(again, "/history", "accepted")
        assert "cures colds" in history and "make it shorter" in history
        turn(again, "/undo", "back to v0")  # the resumed stack is intact (revisions after resume: tests/unit/test_session.py)
        again.sendeof()  # Ctrl-D quits too
        again.expect("Session saved")
        again.expect(pexpect.EOF)
    finally:
        again.close()
    assert again.exitstatus == 0


def test_chat_with_an_unknown_thread_fails_clearly(tmp_path: Path) -> None:
    child = spawn(["--thread", "does-not-exist"], tmp_path)
    child.expect("No session with thread id 'does-not-exist'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_chat_with_the_real_local_model(tmp_path: Path) -> None:
    """One short conversation on the real SmolLM2 (headlines, one candidate, one round: stays quick)."""
    child = spawn(
        ["--title", "Bamboo Cutting Board", "--fact", "made of bamboo", "--fact", "dishwasher safe",
         "--channel", "google_ads_headline"],
        tmp_path,
        factory=None,
        extra={"COPYLOOP_REFINE__CANDIDATES": "1", "COPYLOOP_REFINE__MAX_ITERATIONS": "1"},
    )
    try:
        child.expect("v0 · google_ads_headline")
        child.expect(r"score \d\.\d\d / threshold")
        child.expect_exact(PROMPT)
        out = turn(child, "make it shorter", r"(v1 · google_ads_headline|kept the current draft)")
        assert "v1" in out or "kept" in out
        refused = turn(child, "mention the 2-year warranty", "refused:")
        assert "warranty" in refused
        child.sendline("/quit")
        child.expect("Session saved")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
