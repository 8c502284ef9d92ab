"""Wiring of the refinement graph, built by a factory (never at import time).

    retrieve -> draft -> repair -> critique x N (parallel, Send) -> score -> decide
                  ^                                                             |
                  +------------------------- revise ----------------------------+--> finish

Models are not created here: they travel in the run context (``RunContext``), so the same
compiled graph serves the CLI, batch workers, chat sessions and tests with fakes.
"""

from __future__ import annotations

import sqlite3

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from copyloop.errors import CopyloopError
from copyloop.graph import nodes, routing
from copyloop.graph.context import RunContext
from copyloop.graph.state import CritiqueTask, InputState, State

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
    """Super-steps a run may need: 5 per round (draft, repair, critique, score, decide) plus
    retrieve and finish, with headroom."""
    return 5 * max_iterations + 10


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    """Compile the refinement graph (``context_schema=RunContext``).

    Pass a checkpointer (``InMemorySaver``, ``SqliteSaver``, a Postgres saver) to persist runs by
    ``thread_id``; without one each ``invoke`` is a self-contained run.
    """
    builder = StateGraph(State, context_schema=RunContext, input_schema=InputState)
    builder.add_node("retrieve", nodes.retrieve, retry_policy=TRANSIENT_RETRY)
    builder.add_node("draft", nodes.draft, retry_policy=TRANSIENT_RETRY)
    builder.add_node("repair", nodes.repair)
    builder.add_node("critique", nodes.critique, input_schema=CritiqueTask)
    builder.add_node("score", nodes.score, retry_policy=TRANSIENT_RETRY)
    builder.add_node("decide", nodes.decide)
    builder.add_node("finish", nodes.finish)

    builder.add_edge(START, "retrieve")
    builder.add_edge("retrieve", "draft")
    builder.add_conditional_edges("draft", routing.route_after_draft)
    builder.add_conditional_edges("repair", routing.fan_out_critiques, ["critique"])
    builder.add_edge("critique", "score")
    builder.add_edge("score", "decide")
    builder.add_conditional_edges("decide", routing.route_after_decide)
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, name="copyloop-refine")
