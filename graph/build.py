"""Wiring of the refinement graph, built by a factory (never at import time).

                                  +-> sentiment ------+
                                  +-> diversity ------+
                                  +-> cta ------------+
    retrieve -> draft -> repair --+-> grounding ------+--> score -> decide
                  ^               +-> relevance ------+                |
                  |               +-> specificity ----+                |
                  |               +-> coherence ------+                |
                  |               +-> channel_rules --+                |
                  +------------------------- revise -------------------+--> finish

One node per critic, all in parallel, joining at ``score`` (issue #12).

Models are not created here: they travel in the run context (``RunContext``), so the same
compiled graph serves the CLI, batch workers, chat sessions and tests with fakes.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from copyloop.errors import CopyloopError
from copyloop.graph import nodes, routing
from copyloop.graph.context import RunContext
from copyloop.graph.state import InputState, State

_TRANSIENT_NAMES = {"TransportError", "TimeoutException", "ConnectError", "RemoteProtocolError"}


def is_transient(exc: Exception) -> bool:
    """Worth retrying: lost connections and timeouts (Chroma server, a remote LLM), a locked
    SQLite file. Our own errors (bad input, LLM garbage after the drafter's own retries) are not."""
    if isinstance(exc, CopyloopError):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


TRANSIENT_RETRY = RetryPolicy(initial_interval=0.2, backoff_factor=2.0, max_interval=2.0, max_attempts=3, retry_on=is_transient)
"""Retry policy of the nodes that touch a store or a model."""


def recursion_limit(max_iterations: int) -> int:
    """Super-steps a run may need: 5 per round (draft, repair, the critics in one parallel step,
    score, decide) plus retrieve and finish, with headroom."""
    return 5 * max_iterations + 10


OTHER_CRITICS = "other_critics"
"""The node that runs critics a run context brings and the graph was not built with."""


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None, *, critic_names: Sequence[str] | None = None
) -> CompiledStateGraph:
    """Compile the refinement graph (``context_schema=RunContext``).

    ``critic_names`` are the critic nodes to wire (default: every built-in critic,
    ``copyloop.agents.critics.CRITIC_NAMES``); each runs the context's critic of that name on
    every candidate, and an ``other_critics`` node runs any further critic the context brings.
    Pass a checkpointer (``InMemorySaver``, ``SqliteSaver``, a Postgres saver) to persist runs by
    ``thread_id``; without one each ``invoke`` is a self-contained run.
    """
    if critic_names is None:
        from copyloop.agents.critics import CRITIC_NAMES

        critic_names = CRITIC_NAMES
    names = list(dict.fromkeys(critic_names))
    reserved = {"retrieve", "draft", "repair", "score", "decide", "finish", OTHER_CRITICS}
    clash = [n for n in names if n in reserved or not n.isidentifier()]
    if clash:
        raise ValueError(f"critic names {clash} cannot be graph nodes (reserved or not identifiers)")
    builder = StateGraph(State, context_schema=RunContext, input_schema=InputState)
    builder.add_node("retrieve", nodes.retrieve, retry_policy=TRANSIENT_RETRY)
    builder.add_node("draft", nodes.draft, retry_policy=TRANSIENT_RETRY)
    builder.add_node("repair", nodes.repair)
    for name in names:
        builder.add_node(name, nodes.make_critic_node(name))
    builder.add_node(OTHER_CRITICS, nodes.make_critic_node(OTHER_CRITICS, others=set(names)))
    builder.add_node("score", nodes.score, retry_policy=TRANSIENT_RETRY)
    builder.add_node("decide", nodes.decide)
    builder.add_node("finish", nodes.finish)

    builder.add_edge(START, "retrieve")
    builder.add_edge("retrieve", "draft")
    builder.add_conditional_edges("draft", routing.route_after_draft)
    critic_nodes = [*names, OTHER_CRITICS]
    for name in critic_nodes:
        builder.add_edge("repair", name)
    builder.add_edge(critic_nodes, "score")  # waits for every critic
    builder.add_edge("score", "decide")
    builder.add_conditional_edges("decide", routing.route_after_decide)
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, name="copyloop-refine")
