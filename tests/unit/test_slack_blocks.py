"""Block Kit layout of the bot's messages (no Slack needed)."""

from __future__ import annotations

from copyloop.chat.session import Scorecard, Version
from copyloop.slack.blocks import BUTTONS, accepted_blocks, draft_blocks, escape, scores_blocks, variant_blocks
from copyloop.tools.schemas import Critique


def _version(**kw: object) -> Version:
    base = dict(index=2, text="Sturdy <bamboo> & smooth. Shop now.", channel="product_description", score=0.61,
                passed=True, hard_pass=True, threshold=0.55, action="say")
    base.update(kw)
    return Version.model_validate(base)


def test_draft_has_the_five_buttons_carrying_the_session_id() -> None:
    blocks = draft_blocks(_version(), "slack:T:C1:171.1", note="Kept the current draft")
    actions = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [a["text"]["text"] for a in actions] == ["Accept", "Shorter", "More playful", "Regenerate", "Show scores"]
    assert {a["action_id"] for a in actions} == set(BUTTONS)
    assert {a["value"] for a in actions} == {"slack:T:C1:171.1"}
    text = " ".join(b.get("text", {}).get("text", "") for b in blocks if b["type"] == "section")
    assert "&lt;bamboo&gt; &amp; smooth" in text  # user text cannot inject Slack markup


def test_rule_breaking_draft_says_which_rule() -> None:
    blocks = draft_blocks(_version(hard_pass=False, passed=False, hard_failures=["grounding: unsupported '2-year warranty'"]), "s")
    context = [b for b in blocks if b["type"] == "context"][-1]["elements"][0]["text"]
    assert "breaks: grounding" in context


def test_accepted_has_no_buttons_and_names_the_user() -> None:
    blocks = accepted_blocks(_version(), "U42")
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "<@U42>" in blocks[-1]["elements"][0]["text"]


def test_scores_list_every_critic() -> None:
    card = Scorecard(text="t", channel="sms", score=0.4, threshold=0.55, passed=False, hard_pass=True,
                     critiques=[Critique(critic="cta", score=0.2, passed=False, message="no call to action"),
                                Critique(critic="grounding", score=1.0, passed=True, hard=True)])
    text = "\n".join(b["text"]["text"] for b in scores_blocks(card) if b["type"] == "section")
    assert "cta" in text and "grounding* (hard rule)" in text and "0.40" in text


def test_variant_pick_button_value() -> None:
    button = variant_blocks(_version(index=7), "sid", 1)[-1]["elements"][0]
    assert button["action_id"] == "copy_pick" and button["value"] == "sid|7"


def test_long_text_is_cut_for_slack() -> None:
    blocks = draft_blocks(_version(text="word " * 1000), "s")
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert escape("a<b") == "a&lt;b"
