"""Block Kit messages for ``/copy experiment``: the status of an A/B experiment and its buttons.

Pure functions from ``ExperimentStatus`` to Slack payloads. Buttons carry the experiment id in
their ``value``, so a click after a restart still finds its experiment.
"""

from __future__ import annotations

from typing import Any

from copyloop.experiments import ExperimentStatus
from copyloop.slack.blocks import escape

EXPERIMENT_BUTTONS: dict[str, str] = {
    "experiment_status": "Status",
    "experiment_refresh": "Retire losers & refresh",
    "experiment_close": "Close & feed back",
}
EXPERIMENT_COMMANDS = {"status": "experiment_status", "refresh": "experiment_refresh", "close": "experiment_close"}

_DECISION_LABEL = {
    "collecting": ":hourglass_flowing_sand: collecting data",
    "running": ":bar_chart: running, no winner yet",
    "winner": ":trophy: winner",
    "guardrail": ":warning: CTR leader blocked by the CVR guardrail",
    "srm": ":rotating_light: sample ratio mismatch",
    "closed": ":checkered_flag: closed",
}


def _clip(text: str, limit: int = 2900) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(st: ExperimentStatus) -> str:
    """One-line summary (the message's fallback text and notification)."""
    head = _DECISION_LABEL.get(st.decision, st.decision)
    if st.winner:
        return f"{head}: {st.winner} — experiment {st.experiment_id}"
    return f"{head} — experiment {st.experiment_id}"


def experiment_blocks(st: ExperimentStatus, *, note: str | None = None, buttons: bool = True) -> list[dict[str, Any]]:
    """Status of every variant (counts, rate, P(best), traffic share), the decision and the buttons."""
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
    head = f"*A/B experiment* `{st.experiment_id}` · `{st.channel}` · {st.metric.upper()} · {st.allocation}"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": head}})
    for v in st.variants:
        tags = []
        if v.variant_id == st.winner:
            tags.append(":trophy: *winner*")
        if v.is_control:
            tags.append("control")
        if not v.active:
            tags.append("retired")
        line = (
            f"*{v.variant_id}*{' (' + ', '.join(tags) + ')' if tags else ''}\n{escape(v.text)}\n"
            f"_{v.impressions} impressions · {v.clicks} clicks · {v.conversions} conversions · "
            f"rate {v.rate:.2%} · P(best) {v.p_best:.2f} · traffic {v.weight:.0%}_"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(line)}})
    decision = f"{_DECISION_LABEL.get(st.decision, st.decision)} — {escape(st.reason)}"
    if st.fatigue is not None and st.fatigue.fatigued:
        decision += f"\n:chart_with_downwards_trend: fatigue: {st.fatigue.variant_id} — {escape(st.fatigue.reason)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(decision)}]})
    if buttons and st.state == "running":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"experiment_{st.experiment_id}",
                "elements": [
                    {"type": "button", "action_id": aid, "text": {"type": "plain_text", "text": label}, "value": st.experiment_id}
                    for aid, label in EXPERIMENT_BUTTONS.items()
                ],
            }
        )
    return blocks


__all__ = ["EXPERIMENT_BUTTONS", "EXPERIMENT_COMMANDS", "experiment_blocks", "status_text"]
