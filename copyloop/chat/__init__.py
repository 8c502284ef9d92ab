"""Chat-style refinement sessions: one product's copy, refined turn by turn.

``session`` is the public ``Session``/``SessionStore`` API, ``graph`` the LangGraph session graph
(human turns are ``interrupt()``s), ``checkpointer`` picks SQLite or Postgres persistence,
``turns`` parses what a person typed into a command, ``product_input`` reads a product from chat
text (JSON, key: value lines, a catalog id). The terminal chat and the Slack bot share all of it.
"""

from __future__ import annotations

from copyloop.chat.session import DEFAULT_CHANNEL, Reply, Scorecard, Session, SessionStore, Turn, Version

__all__ = ["DEFAULT_CHANNEL", "Reply", "Scorecard", "Session", "SessionStore", "Turn", "Version"]
