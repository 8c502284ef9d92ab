"""Parsing one line a person typed in a session into a command (shared by chat and Slack).

In the terminal chat, commands start with '/' (``/undo``, ``/variants 3``) and anything else is a
request for the copy. In a Slack thread '/' would trigger Slack's own slash commands, so a reply
that is exactly a command word (``undo``, ``variants 3``, ``channel sms``) is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass

from copyloop.errors import InputError

COMMANDS = ("accept", "undo", "variants", "score", "channel", "history", "regenerate", "pick", "help", "quit")
_ALIASES = {"scores": "score", "exit": "quit", "q": "quit", "variant": "variants", "regen": "regenerate", "use": "pick"}
DEFAULT_VARIANTS = 3


@dataclass(frozen=True)
class TurnCommand:
    """``op`` is one of COMMANDS or "say"; ``arg`` is its argument (the request text for "say")."""

    op: str
    arg: str = ""

    def count(self, default: int = DEFAULT_VARIANTS) -> int:
        """The integer argument (``/variants 3``, ``/pick 2``)."""
        if not self.arg:
            return default
        try:
            return int(self.arg)
        except ValueError:
            raise InputError(f"/{self.op} expects a number, got {self.arg!r}", field=self.op) from None


def parse_turn(text: str, *, bare_commands: bool = False) -> TurnCommand:
    """'/variants 3' -> TurnCommand('variants', '3'); 'shorter please' -> TurnCommand('say', ...)."""
    line = text.strip()
    slash = line.startswith("/")
    if slash or bare_commands:
        word, _, rest = line.lstrip("/").partition(" ")
        op = _ALIASES.get(word.lower(), word.lower())
        if op in COMMANDS and (slash or _looks_like_command(op, rest)):
            return TurnCommand(op, rest.strip())
        if slash:
            raise InputError(f"Unknown command /{word}. Commands: " + ", ".join("/" + c for c in COMMANDS), field="command")
    return TurnCommand("say", line)


def _looks_like_command(op: str, rest: str) -> bool:
    # A bare reply "channel sms" is a command; "channel the summer mood" is a request.
    rest = rest.strip()
    if op in ("variants", "pick"):
        return rest == "" or rest.isdigit()
    if op == "channel":
        return rest != "" and " " not in rest
    return rest == ""


__all__ = ["COMMANDS", "DEFAULT_VARIANTS", "TurnCommand", "parse_turn"]
