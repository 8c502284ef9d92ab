"""Block Kit messages of the Slack bot: drafts with buttons, scores, variants, notes.

Pure functions from session models to Slack payloads, so the layout can be tested without Slack
and the app module only decides *when* to post. Every button carries the session thread id in
its ``value``: a click never needs a lookup table that a restart would lose.
"""

from __future__ import annotations

from typing import Any

from copyloop.chat.session import Scorecard, Version

ACTION_PREFIX = "copy_"
# action_id -> (button label, what it does)
BUTTONS: dict[str, str] = {
    "copy_accept": "Accept",
    "copy_shorter": "Shorter",
    "copy_playful": "More playful",
    "copy_regenerate": "Regenerate",
    "copy_scores": "Show scores",
}
PICK_ACTION = "copy_pick"
SECTION_MAX = 2900  # Slack caps a section's text at 3000 characters


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_MAX:
        text = text[: SECTION_MAX - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def verdict_line(version: Version) -> str:
    rules = "passes every rule" if version.hard_pass else "breaks: " + "; ".join(version.hard_failures)
    return (
        f"`{version.channel}` · score *{version.score:.2f}* (threshold {version.threshold:.2f}) · "
        f"{rules} · v{version.index}"
    )


def draft_blocks(version: Version, session_id: str, *, note: str | None = None) -> list[dict[str, Any]]:
    """A draft with its verdict and the Accept / Shorter / More playful / Regenerate / Show scores buttons."""
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append(_context(escape(note)))
    blocks.append(_section(escape(version.text)))
    blocks.append(_context(verdict_line(version)))
    buttons = []
    for action_id, label in BUTTONS.items():
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": session_id,
        }
        if action_id == "copy_accept":
            button["style"] = "primary"
        buttons.append(button)
    blocks.append({"type": "actions", "block_id": "copy_actions", "elements": buttons})
    return blocks


def accepted_blocks(version: Version, user: str | None) -> list[dict[str, Any]]:
    """The accepted draft, buttons removed."""
    who = f" by <@{user}>" if user else ""
    return [_section(escape(version.text)), _context(f":white_check_mark: Accepted{who} · " + verdict_line(version))]


def scores_blocks(card: Scorecard) -> list[dict[str, Any]]:
    """Every critic's verdict on the current draft."""
    head = (
        f"*Conversion score {card.score:.2f}* (threshold {card.threshold:.2f}) — "
        + ("passes" if card.passed else "below threshold or breaks a rule")
    )
    lines = []
    for c in card.critiques:
        mark = ":white_check_mark:" if c.passed else (":no_entry:" if c.hard else ":warning:")
        kind = " (hard rule)" if c.hard else ""
        message = f" — {escape(c.message)}" if c.message else ""
        lines.append(f"{mark} *{c.critic}*{kind}: {c.score:.2f}{message}")
    if card.passed_critics:
        lines.append(":white_check_mark: " + ", ".join(f"*{name}*" for name in card.passed_critics) + ": nothing to fix")
    blocks = [_section(head)]
    if lines:
        blocks.append(_section("\n".join(lines)))
    if card.explanation:
        blocks.append(_context(escape(card.explanation)))
    return blocks


def variant_blocks(version: Version, session_id: str, number: int) -> list[dict[str, Any]]:
    """One variant with a "Use this" button (value: '<session id>|<version index>')."""
    return [
        _section(f"*Variant {number}*\n{escape(version.text)}"),
        _context(verdict_line(version)),
        {
            "type": "actions",
            "block_id": f"copy_pick_{version.index}",
            "elements": [
                {
                    "type": "button",
                    "action_id": PICK_ACTION,
                    "text": {"type": "plain_text", "text": "Use this"},
                    "value": f"{session_id}|{version.index}",
                }
            ],
        },
    ]


def note_blocks(text: str) -> list[dict[str, Any]]:
    return [_section(escape(text))]


__all__ = [
    "ACTION_PREFIX",
    "BUTTONS",
    "PICK_ACTION",
    "accepted_blocks",
    "draft_blocks",
    "escape",
    "note_blocks",
    "scores_blocks",
    "variant_blocks",
    "verdict_line",
]
