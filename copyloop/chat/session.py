"""Conversational refinement: a Session is one product's copy, refined by talking to it.

>>> session = Session.start(product, "product_description")      # first draft
>>> session.say("shorter, and mention it is dishwasher safe")     # a revision that passes every hard rule
>>> session.undo(); session.variants(3); session.pick(i); session.switch_channel("sms")
>>> session.accept(); session.history(); session.score()
>>> Session.resume(session.thread_id)                             # later, in another process

Every human message is fed to ``Engine.refine`` as human feedback with ``previous=`` the current
text, so the same critics, grounding and channel rules judge it; a revision that breaks a hard
rule is never adopted (``Reply.changed`` is False and ``Reply.reasons`` says why).

Refusals: a request that would itself break a hard rule ("say it's the best on Amazon",
"add 'cures colds'", a warranty the facts don't give) is checked with
``copyloop.tools.policy.check_request`` before any model work. ``say`` then raises
``RuleRefusal(request, reasons)`` — a caller cannot mistake a refusal for a draft — and the
refusal is also recorded as a ``refusal`` turn in ``history()``, so it survives a restart and
shows in the chat and Slack transcripts.

Persistence: a LangGraph checkpointer keyed by thread id (SQLite at ``settings.checkpoint_path()``,
Postgres when ``settings.store.postgres_dsn`` is set); the human turn is an ``interrupt()`` that
``Command(resume=...)`` continues. See ``copyloop.chat.graph``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import ExitStack
from typing import Any, Callable, Literal

from langgraph.types import Command
from pydantic import BaseModel, Field

from copyloop.chat.checkpointer import open_checkpointer
from copyloop.engine import coerce_product
from copyloop.errors import InputError, RuleRefusal
from copyloop.chat.graph import SessionContext, build_session_graph
from copyloop.settings import Settings
from copyloop.tools.schemas import Critique, ProductBrief

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "product_description"
MAX_VARIANTS = 5
MAX_REQUEST_CHARS = 500


class Version(BaseModel):
    """One draft the session produced, with its verdicts."""

    index: int
    text: str
    channel: str
    score: float
    passed: bool = Field(..., description="score >= threshold and every hard rule passes")
    hard_pass: bool = Field(..., description="every hard rule passes")
    hard_failures: list[str] = Field(default_factory=list)
    threshold: float = 0.0
    stop_reason: str = ""
    explanation: str = ""
    critiques: list[Critique] = Field(default_factory=list, description="open critiques (what is still wrong)")
    passed_critics: list[str] = Field(default_factory=list, description="critics with nothing to object")
    action: str = Field(..., description="start | say | regenerate | variant | channel")
    request: str | None = None
    seed: int = 0
    iterations: int = 0


class Turn(BaseModel):
    """One entry of the conversation transcript."""

    role: Literal["user", "assistant"]
    kind: str = Field(..., description="say|undo|accept|variants|pick|channel|regenerate (user); draft|kept|refusal|accepted|variants|error (assistant)")
    text: str = ""
    at: float = 0.0
    version: int | None = None
    versions: list[int] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what a revision changed, part by part of the request")
    action: str | None = None


class Reply(BaseModel):
    """What a revising command returns: the current draft after the turn and whether it changed."""

    draft: Version
    changed: bool
    reasons: list[str] = Field(default_factory=list, description="why the draft was kept, when changed is False")
    notes: list[str] = Field(default_factory=list, description="what changed (and what could not be done), part by part")

    @property
    def text(self) -> str:
        return self.draft.text


class Scorecard(BaseModel):
    """The current draft's conversion score and every critic's verdict."""

    text: str
    channel: str
    score: float
    threshold: float
    passed: bool
    hard_pass: bool
    explanation: str = ""
    critiques: list[Critique] = Field(default_factory=list, description="open critiques of the current draft")
    passed_critics: list[str] = Field(default_factory=list, description="critics with nothing to object")


class SessionStore:
    """One per process: the checkpointer, the compiled session graph and the Engine.

    Owns the checkpointer it opens (``close()`` releases it); a caller may pass its own. The
    Engine is built lazily with ``Engine(settings)`` unless one is given.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Any = None,
        *,
        engine_factory: Callable[[Settings], Any] | None = None,
        checkpointer: Any = None,
    ) -> None:
        self.settings = settings or Settings()
        self._engine = engine
        self._engine_factory = engine_factory
        self._engine_guard = threading.Lock()
        self._exit = ExitStack()
        self.checkpointer = checkpointer if checkpointer is not None else self._exit.enter_context(open_checkpointer(self.settings))
        self.graph = build_session_graph(self.checkpointer)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._registry: Any = None

    # dependencies -----------------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """The Engine, built on first use (``engine_factory(settings)`` or ``Engine(settings)``)."""
        with self._engine_guard:
            if self._engine is None:
                if self._engine_factory is not None:
                    self._engine = self._engine_factory(self.settings)
                else:
                    from copyloop.engine import Engine

                    self._engine = Engine(self.settings)
            return self._engine

    def channel_spec(self, name: str) -> Any:
        """The ChannelSpec for ``name`` (UnknownChannelError lists the known ones)."""
        if self._registry is None:
            from copyloop.tools.channels import ChannelRegistry

            self._registry = ChannelRegistry(extra=self.settings.channels or None)
        return self._registry.get(name)

    def channel_names(self) -> list[str]:
        self.channel_spec(DEFAULT_CHANNEL)
        return list(self._registry.names())

    def context(self) -> SessionContext:
        from copyloop.tools.policy import check_request

        return SessionContext(engine=self.engine, channel_spec=self.channel_spec, check_request=check_request)

    def lock(self, thread_id: str) -> threading.Lock:
        """Serialises turns of one thread (two Slack clicks must not interleave)."""
        with self._locks_guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    # sessions ---------------------------------------------------------------------------------
    def exists(self, thread_id: str) -> bool:
        return bool(self.graph.get_state(_config(thread_id)).values)

    def start(
        self,
        product: ProductBrief | dict[str, Any],
        channel: str = DEFAULT_CHANNEL,
        *,
        thread_id: str | None = None,
        seed: int = 0,
    ) -> "Session":
        brief = coerce_product(product)
        self.channel_spec(channel)  # unknown channel: clear error before any model work
        thread_id = thread_id or uuid.uuid4().hex
        if self.exists(thread_id):
            raise InputError(f"A session with thread id {thread_id!r} already exists; resume it instead", field="thread_id")
        with self.lock(thread_id):
            self.graph.invoke(
                {"product": brief.model_dump(mode="json"), "channel": channel, "seed": seed},
                _config(thread_id),
                context=self.context(),
            )
        return Session(self, thread_id)

    def resume(self, thread_id: str) -> "Session":
        if not self.exists(thread_id):
            raise InputError(f"No session with thread id {thread_id!r}", field="thread_id")
        session = Session(self, thread_id)
        session._rearm()
        return session

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> "SessionStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


class Session:
    """One conversation about one product's copy, persisted under ``thread_id``."""

    def __init__(self, store: SessionStore, thread_id: str) -> None:
        self.store = store
        self.thread_id = thread_id
        self._owns_store = False

    # construction -----------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        product: ProductBrief | dict[str, Any],
        channel: str = DEFAULT_CHANNEL,
        *,
        settings: Settings | None = None,
        engine: Any = None,
        store: SessionStore | None = None,
        thread_id: str | None = None,
        seed: int = 0,
    ) -> "Session":
        """Write the first draft and open a session (a new store is opened unless one is given)."""
        own = store is None
        store = store or SessionStore(settings, engine)
        try:
            session = store.start(product, channel, thread_id=thread_id, seed=seed)
        except BaseException:
            if own:
                store.close()
            raise
        session._owns_store = own
        return session

    @classmethod
    def resume(
        cls,
        thread_id: str,
        *,
        settings: Settings | None = None,
        engine: Any = None,
        store: SessionStore | None = None,
    ) -> "Session":
        """Reopen a session by thread id (after a restart, from another process)."""
        own = store is None
        store = store or SessionStore(settings, engine)
        try:
            session = store.resume(thread_id)
        except BaseException:
            if own:
                store.close()
            raise
        session._owns_store = own
        return session

    def close(self) -> None:
        """Release the store if this session opened it (state is already persisted)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # read-only views --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return dict(self.store.graph.get_state(_config(self.thread_id)).values)

    @property
    def product(self) -> ProductBrief:
        return ProductBrief.model_validate(self._state()["product"])

    @property
    def channel(self) -> str:
        return self._state()["channel"]

    @property
    def current(self) -> Version:
        state = self._state()
        return Version.model_validate(state["versions"][state["stack"][-1]])

    @property
    def accepted(self) -> Version | None:
        state = self._state()
        index = state.get("accepted")
        return None if index is None else Version.model_validate(state["versions"][index])

    def versions(self) -> list[Version]:
        return [Version.model_validate(v) for v in self._state().get("versions", [])]

    def history(self) -> list[Turn]:
        """The transcript: user commands and assistant drafts, refusals, kept drafts, errors."""
        return [Turn.model_validate(t) for t in self._state().get("history", [])]

    def messages(self) -> list[Any]:
        """The conversation as LangChain messages (``HumanMessage`` / ``AIMessage``), as LangGraph's
        ``add_messages`` keeps them in the session state."""
        return list(self._state().get("messages", []))

    def score(self) -> Scorecard:
        """Conversion score of the current draft, its open critiques and the critics it passed."""
        v = self.current
        return Scorecard(
            text=v.text,
            channel=v.channel,
            score=v.score,
            threshold=v.threshold,
            passed=v.passed,
            hard_pass=v.hard_pass,
            explanation=v.explanation,
            critiques=v.critiques,
            passed_critics=v.passed_critics,
        )

    # commands ---------------------------------------------------------------------------------
    def say(self, text: str) -> Reply:
        """A human request ("shorter", "mention the bamboo") -> a revision that passes every hard rule.

        Raises RuleRefusal when the request itself would break a hard rule or asks for something
        the product's data does not have (also recorded in history). When no revision honouring
        it passes the rules, the draft is kept and the reply says why; ``Reply.notes`` says what
        changed, part by part ("mention: Works on gas, ... induction", "shorter (55 -> 50 words)").
        """
        request = " ".join(str(text).split())
        if not request:
            raise InputError("Say what to change, e.g. 'shorter' or 'more playful'", field="text")
        if len(request) > MAX_REQUEST_CHARS:
            raise InputError(f"Request too long ({len(request)} characters; at most {MAX_REQUEST_CHARS})", field="text")
        before = len(self._state().get("versions", []))
        state = self._run({"op": "say", "text": request})
        last = state["history"][-1]
        if last["kind"] == "refusal":
            raise RuleRefusal(request, list(last["reasons"]))
        return self._reply(state, before)

    def undo(self) -> Version:
        """Go back to the previous draft."""
        if len(self._state().get("stack", [])) < 2:
            raise InputError("Nothing to undo: this is the first draft", field="undo")
        self._run({"op": "undo"})
        return self.current

    def accept(self) -> Version:
        """Mark the current draft as the one to use (refused if it breaks a hard rule)."""
        current = self.current
        if not current.hard_pass:
            raise RuleRefusal("accept", current.hard_failures)
        self._run({"op": "accept"})
        return current

    def variants(self, n: int = 3) -> list[Version]:
        """Up to ``n`` alternative drafts that pass the hard rules; ``pick(version.index)`` adopts one."""
        if not 1 <= n <= MAX_VARIANTS:
            raise InputError(f"variants: n must be between 1 and {MAX_VARIANTS}", field="n")
        state = self._run({"op": "variants", "n": n})
        return [Version.model_validate(state["versions"][i]) for i in state.get("variants", [])]

    def pick(self, index: int) -> Version:
        """Adopt a variant (or any earlier version) by its index."""
        if not 0 <= index < len(self._state().get("versions", [])):
            raise InputError(f"No version {index}", field="index")
        self._run({"op": "pick", "index": index})
        return self.current

    def switch_channel(self, name: str) -> Reply:
        """Rewrite the current copy for another channel (its rules apply from now on)."""
        self.store.channel_spec(name)  # UnknownChannelError before any model work
        before = len(self._state()["versions"])
        state = self._run({"op": "channel", "name": name})
        return self._reply(state, before)

    def regenerate(self) -> Reply:
        """A fresh draft (new seed) that differs from the current one; standing requests still apply."""
        before = len(self._state()["versions"])
        state = self._run({"op": "regenerate"})
        return self._reply(state, before)

    # plumbing ---------------------------------------------------------------------------------
    def _reply(self, state: dict[str, Any], before: int) -> Reply:
        current = Version.model_validate(state["versions"][state["stack"][-1]])
        last = state["history"][-1]
        changed = len(state["versions"]) > before and last["kind"] == "draft"
        return Reply(
            draft=current,
            changed=changed,
            reasons=[] if changed else list(last.get("reasons", [])),
            notes=list(last.get("notes", [])),
        )

    def _run(self, command: dict[str, Any]) -> dict[str, Any]:
        """Resume the paused graph with one command; on failure, record it and re-arm the pause."""
        config = _config(self.thread_id)
        graph = self.store.graph
        with self.store.lock(self.thread_id):
            self._rearm()
            try:
                graph.invoke(Command(resume=command), config, context=self.store.context())
            except Exception as exc:
                self._recover(command, exc)
                raise
        return self._state()

    def _recover(self, command: dict[str, Any], exc: Exception) -> None:
        """Leave the session usable after a failed turn: log it in history and pause again."""
        graph = self.store.graph
        config = _config(self.thread_id)
        turns = [
            {"role": "user", "kind": command["op"], "text": str(command.get("text", "")), "at": time.time()},
            {"role": "assistant", "kind": "error", "text": f"{type(exc).__name__}: {exc}"[:500], "at": time.time()},
        ]
        from copyloop.chat.graph import with_messages

        graph.update_state(config, with_messages({"pending": None, "history": turns}), as_node="act")
        graph.invoke(None, config, context=self.store.context())

    def _rearm(self) -> None:
        """Bring a thread to its human pause if a process died mid-turn (or before the first pause)."""
        graph = self.store.graph
        config = _config(self.thread_id)
        snapshot = graph.get_state(config)
        if snapshot.interrupts:
            return
        if snapshot.next == ("act",):
            log.warning("session %s: a turn was interrupted by a crash; it is recorded as failed", self.thread_id)
            self._recover(snapshot.values.get("pending") or {"op": "unknown"}, RuntimeError("interrupted before it finished"))
            return
        graph.invoke(None, config, context=self.store.context())  # "open" not finished, or pause not yet armed


__all__ = ["DEFAULT_CHANNEL", "Reply", "Scorecard", "Session", "SessionStore", "Turn", "Version"]
