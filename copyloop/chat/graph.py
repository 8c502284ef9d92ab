"""The conversation graph behind a Session: first draft, then a human turn, an action, repeat.

```
 START ──► open ──► human ──► act ─┐
                      ▲            │
                      └────────────┘
```

``open`` writes the first draft with the refinement loop. ``human`` pauses with LangGraph's
``interrupt()`` until the caller resumes it with ``Command(resume=<command dict>)``; the
checkpointer (keyed by thread id) holds the paused state, so the next turn can come from another
process days later. ``act`` carries out one command (say / undo / accept / variants / pick /
channel / regenerate) by calling ``Engine.refine`` and returns a partial update.

The graph lives in the front door (not in ``graph/``) because it drives the Engine, which is a
front-door object; the Engine, channel registry and policy check travel in the run context, never
in the persisted state. State holds only plain JSON types so the checkpointer can load it with
msgpack's strict allow-list.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from copyloop.tools.schemas import ProductBrief

# What a request asks of the length, judged on characters so it works for every channel.
_SHORTER = ("shorter", "more concise", "concise", "trim", "tighter", "cut it down", "less wordy", "briefer", "too long")
_LONGER = ("longer", "more detail", "expand", "elaborate", "too short", "add more")

Op = Literal["say", "undo", "accept", "variants", "pick", "channel", "regenerate"]


class SessionState(TypedDict, total=False):
    """Everything a conversation needs to continue later; plain JSON only."""

    product: dict[str, Any]
    """The ProductBrief as a dict (facts are the only claims copy may make)."""
    channel: str
    """Channel the current copy is written for."""
    seed: int
    """Base seed; turn k uses seed + k so a session replays identically."""
    versions: Annotated[list[dict[str, Any]], operator.add]
    """Every draft the session produced, append-only (index = position)."""
    stack: list[int]
    """Indexes into ``versions``: the last one is the current draft; undo pops."""
    variants: list[int]
    """Indexes of the variants offered by the last ``variants`` command (``pick`` adopts one)."""
    accepted: int | None
    """Index of the accepted version, if any."""
    requests: list[str]
    """Honoured human requests, re-applied when copy is regenerated or moved to another channel."""
    history: Annotated[list[dict[str, Any]], operator.add]
    """The conversation: user commands, drafts, refusals, errors (append-only)."""
    messages: Annotated[list[AnyMessage], add_messages]
    """The same conversation as LangChain chat messages (LangGraph's ``add_messages``): a person's
    turns as ``HumanMessage``, the drafts and answers as ``AIMessage`` (``name`` = what happened:
    draft, refusal, kept, ...), so any LangChain tool can read a session."""
    pending: dict[str, Any] | None
    """The command the human gave at the last interrupt (consumed by ``act``)."""


@dataclass
class SessionContext:
    """Per-run dependencies: never persisted, rebuilt by each process."""

    engine: Any
    """copyloop.engine.Engine (or anything with the same ``refine``)."""
    channel_spec: Callable[[str], Any]
    """name -> ChannelSpec (raises UnknownChannelError)."""
    check_request: Callable[[str, Any, ProductBrief], list[str]]
    """copyloop.tools.policy.check_request."""


# --- helpers ---------------------------------------------------------------------------------


def length_direction(request: str) -> int:
    """-1 when the request asks for shorter copy, +1 for longer, 0 when it says nothing."""
    low = request.lower()
    if any(k in low for k in _SHORTER):
        return -1
    if any(k in low for k in _LONGER):
        return 1
    return 0


def _turn(role: str, kind: str, text: str = "", **extra: Any) -> dict[str, Any]:
    return {"role": role, "kind": kind, "text": text, "at": time.time(), **extra}


def as_message(turn: dict[str, Any]) -> AnyMessage:
    """A history turn as a LangChain message (the person's command, or copyloop's answer)."""
    kind = str(turn.get("kind", ""))
    text = str(turn.get("text") or "")
    if turn.get("role") == "user":
        return HumanMessage(content=text if kind == "say" else f"/{kind} {text}".strip(), name=kind)
    reasons = [str(r) for r in turn.get("reasons") or []]
    notes = [str(n) for n in turn.get("notes") or []]
    content = text if not reasons else f"{text}\n\n" + "\n".join(f"- {r}" for r in reasons) if text else "\n".join(reasons)
    return AIMessage(content=content, name=kind, response_metadata={"version": turn.get("version"), "notes": notes})


def with_messages(update: dict[str, Any]) -> dict[str, Any]:
    """Mirror the update's history turns into ``messages``."""
    turns = update.get("history") or []
    if turns:
        update["messages"] = [as_message(t) for t in turns]
    return update


def hard_failures(result: Any) -> list[str]:
    """Messages of the hard rules the result breaks (empty = every hard rule passes)."""
    failed = [f"{c.critic}: {c.message}" for c in result.critiques if c.hard and not c.passed]
    if not failed and result.stop_reason in ("no_valid_draft", "llm_failed"):
        failed.append(f"no draft passed the hard rules ({result.stop_reason})")
    return failed


def critic_names(engine: Any) -> list[str]:
    """Names of the critics the engine runs (RefineResult lists only the open critiques)."""
    critics = getattr(engine, "critics", None)
    if critics:
        return [c.name for c in critics]
    from copyloop.agents.critics import CRITIC_NAMES

    return list(CRITIC_NAMES)


def version_from(
    result: Any, *, index: int, action: str, request: str | None, seed: int, checked: list[str] | None = None
) -> dict[str, Any]:
    """A persisted version record from a RefineResult."""
    failures = hard_failures(result)
    open_names = {c.critic for c in result.critiques}
    return {
        "index": index,
        "text": result.text,
        "channel": result.channel,
        "score": float(result.score),
        "passed": bool(result.passed),
        "hard_pass": not failures,
        "hard_failures": failures,
        "threshold": float(result.threshold),
        "stop_reason": result.stop_reason,
        "explanation": result.explanation,
        "critiques": [c.model_dump(mode="json") for c in result.critiques],
        "passed_critics": [name for name in (checked or []) if name not in open_names],
        "action": action,
        "request": request,
        "seed": seed,
        "iterations": int(result.iterations),
    }


def _refine(ctx: SessionContext, state: SessionState, channel: str, seed: int, **kw: Any) -> Any:
    return ctx.engine.refine(ProductBrief.model_validate(state["product"]), channel, seed=seed, **kw)


def _length_ok(direction: int, old: str, new: str) -> bool:
    if direction < 0:
        return len(new) < len(old)
    if direction > 0:
        return len(new) > len(old)
    return True


# --- nodes -----------------------------------------------------------------------------------


def open_session(state: SessionState, runtime: Runtime[SessionContext]) -> dict[str, Any]:
    """Write the first draft (adopted even if it breaks a rule, so the human can steer it)."""
    seed = state.get("seed", 0)
    result = _refine(runtime.context, state, state["channel"], seed)
    version = version_from(result, index=0, action="start", request=None, seed=seed, checked=critic_names(runtime.context.engine))
    return with_messages({
        "versions": [version],
        "stack": [0],
        "variants": [],
        "accepted": None,
        "requests": [],
        "history": [_turn("assistant", "draft", version["text"], version=0, action="start")],
    })


def wait_for_human(state: SessionState) -> dict[str, Any]:
    """Pause until the caller resumes with Command(resume=<command dict>)."""
    current = state["versions"][state["stack"][-1]] if state.get("stack") else None
    command = interrupt({"current": current, "channel": state.get("channel")})
    return {"pending": command}


def act(state: SessionState, runtime: Runtime[SessionContext]) -> dict[str, Any]:
    """Carry out the pending command; invalid commands were rejected by Session beforehand."""
    command = state.get("pending") or {}
    handler = _HANDLERS[command["op"]]
    update = with_messages(handler(state, runtime.context, command))
    update["pending"] = None
    return update


def _next_seed(state: SessionState) -> int:
    return state.get("seed", 0) + len(state.get("history", []))


def _do_say(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    """A human request, honoured or answered with the reason (issue #11: never silently ignored).

    The request is read as a plan edit (mention a fact, leave one out, shorter, longer, a tone,
    dictated wording) by ``copyloop.tools.requests``; after the loop ran, each part is checked on
    the new text, and the reply says what changed ("notes") and what could not be done
    ("reasons"). A request whose parts all fail keeps the current draft.
    """
    from copyloop.tools.plan import product_facts
    from copyloop.tools.requests import check_applied, parse_requests

    request = command["text"]
    channel = state["channel"]
    product = ProductBrief.model_validate(state["product"])
    user = _turn("user", "say", request)
    reasons = ctx.check_request(request, ctx.channel_spec(channel), product)
    if reasons:
        return {"history": [user, _turn("assistant", "refusal", request, reasons=reasons)]}
    facts = product_facts(product)
    parsed = parse_requests([request], facts)
    unmet = [u.reason for u in parsed.unmet]
    current = state["versions"][state["stack"][-1]]
    if unmet and not (parsed.requests.include or parsed.requests.exclude_terms or parsed.requests.length
                      or parsed.requests.tone or parsed.requests.wording):
        return {"history": [user, _turn("assistant", "refusal", request, reasons=unmet)]}
    seed = _next_seed(state)
    direction = length_direction(request) or parsed.requests.length
    result = _refine(ctx, state, channel, seed, feedback=[request], previous=current["text"])
    if not hard_failures(result) and not _length_ok(direction, current["text"], result.text):
        # The loop passed the rules but ignored "shorter"/"longer": ask once more, with a number.
        limit = len(current["text"])
        explicit = f"{request} — it must be {'under' if direction < 0 else 'over'} {limit} characters."
        retry = _refine(ctx, state, channel, seed + 1, feedback=[explicit], previous=current["text"])
        if not hard_failures(retry) and _length_ok(direction, current["text"], retry.text):
            result = retry
    failures = hard_failures(result)
    done, missing = check_applied(parsed.requests, facts, current["text"], result.text, product.title)
    already, _ = check_applied(parsed.requests, facts, current["text"], current["text"], product.title)
    if result.text == current["text"] and already and not missing and not parsed.requests.tone:
        return {"history": [user, _turn("assistant", "kept", current["text"], reasons=[f"already done: {a}" for a in already],
                                        version=current["index"])]}
    if parsed.requests.tone and result.text != current["text"]:
        done.append(f"tone: {parsed.requests.tone}")
    if failures or not _length_ok(direction, current["text"], result.text) or result.text == current["text"] or (missing and not done):
        spec = ctx.channel_spec(channel)
        from copyloop.tools.text import word_count

        floor = (f": {channel} needs at least {spec.min_words} words and the draft has {word_count(current['text'])}"
                 if direction < 0 and spec.min_words and word_count(current["text"]) < spec.min_words + 10 else "")
        why = failures or (
            [f"the revision was not {'shorter' if direction < 0 else 'longer'} than the current draft{floor}"]
            if not _length_ok(direction, current["text"], result.text)
            else [f"could not do: {m}" for m in missing] or ["no revision that honours the request changed the copy"]
        )
        return {"history": [user, _turn("assistant", "kept", current["text"], reasons=why + unmet, version=current["index"])]}
    index = len(state["versions"])
    version = version_from(result, index=index, action="say", request=request, seed=seed, checked=critic_names(ctx.engine))
    # Standing requests are re-applied on regenerate/variants/channel switch; relative length
    # requests ("shorter") only make sense against the draft they were said about.
    requests = (state.get("requests") or []) + ([request] if direction == 0 else [])
    notes = done + [f"could not do: {m}" for m in missing] + unmet
    return {
        "versions": [version],
        "stack": state["stack"] + [index],
        "requests": requests[-5:],
        "history": [user, _turn("assistant", "draft", version["text"], version=index, action="say", notes=notes)],
    }


def _do_undo(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    stack = state["stack"][:-1]
    current = state["versions"][stack[-1]]
    return {
        "stack": stack,
        "history": [_turn("user", "undo"), _turn("assistant", "draft", current["text"], version=current["index"], action="undo")],
    }


def _do_accept(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    index = state["stack"][-1]
    return {
        "accepted": index,
        "history": [_turn("user", "accept"), _turn("assistant", "accepted", state["versions"][index]["text"], version=index)],
    }


def _trace_alternative(result: Any, taken: list[str], *, index: int, seed: int, checked: list[str]) -> dict[str, Any] | None:
    """The best rule-passing candidate of a run's trace that is not already taken.

    Different seeds often converge on the same winning draft; the losing candidates the loop
    already judged (score and failed critics) are genuine alternatives, so variants use them
    rather than returning fewer than asked.
    """
    pool = [c for it in result.trace for c in it.candidates if c.hard_pass and c.text and c.text not in taken]
    if not pool:
        return None
    best = max(pool, key=lambda c: c.score)
    soft = [{"critic": name, "score": 0.0, "passed": False, "hard": False, "message": "did not pass"} for name in best.failed]
    return {
        "index": index,
        "text": best.text,
        "channel": result.channel,
        "score": float(best.score),
        "passed": bool(best.score >= result.threshold),
        "hard_pass": True,
        "hard_failures": [],
        "threshold": float(result.threshold),
        "stop_reason": result.stop_reason,
        "explanation": f"a candidate of the same run ({best.angle or 'alternative'} angle)",
        "critiques": soft,
        "passed_critics": [name for name in checked if name not in set(best.failed)],
        "action": "variant",
        "request": None,
        "seed": seed,
        "iterations": int(result.iterations),
    }


def _do_variants(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    n = int(command["n"])
    channel = state["channel"]
    current = state["versions"][state["stack"][-1]]
    seed = _next_seed(state)
    checked = critic_names(ctx.engine)
    texts = [current["text"]]
    new: list[dict[str, Any]] = []
    index = len(state["versions"])
    # A few extra attempts so n rule-passing variants come back even when some fail a hard rule.
    for attempt in range(n + 2):
        if len(new) == n:
            break
        result = _refine(ctx, state, channel, seed + attempt, feedback=state.get("requests") or None, run_texts=list(texts))
        if not hard_failures(result) and result.text not in texts:
            version = version_from(result, index=index + len(new), action="variant", request=None, seed=seed + attempt, checked=checked)
        else:
            version = _trace_alternative(result, texts, index=index + len(new), seed=seed + attempt, checked=checked)
        if version is None:
            continue
        new.append(version)
        texts.append(version["text"])
    return {
        "versions": new,
        "variants": [v["index"] for v in new],
        "history": [
            _turn("user", "variants", str(n)),
            _turn("assistant", "variants", "\n\n".join(v["text"] for v in new), versions=[v["index"] for v in new]),
        ],
    }


def _do_pick(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    index = int(command["index"])
    version = state["versions"][index]
    return {
        "stack": state["stack"] + [index],
        "channel": version["channel"],
        "history": [_turn("user", "pick", str(index)), _turn("assistant", "draft", version["text"], version=index, action="pick")],
    }


def _do_channel(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    channel = command["name"]
    spec = ctx.channel_spec(channel)
    current = state["versions"][state["stack"][-1]]
    seed = _next_seed(state)
    feedback = [f"Rewrite this copy for the {channel} channel ({spec.description})."] + (state.get("requests") or [])
    result = _refine(ctx, state, channel, seed, feedback=feedback, previous=current["text"])
    user = _turn("user", "channel", channel)
    failures = hard_failures(result)
    if failures:
        return {"history": [user, _turn("assistant", "kept", current["text"], reasons=failures, version=current["index"])]}
    index = len(state["versions"])
    version = version_from(result, index=index, action="channel", request=channel, seed=seed, checked=critic_names(ctx.engine))
    return {
        "channel": channel,
        "versions": [version],
        "stack": state["stack"] + [index],
        "history": [user, _turn("assistant", "draft", version["text"], version=index, action="channel")],
    }


def _do_regenerate(state: SessionState, ctx: SessionContext, command: dict[str, Any]) -> dict[str, Any]:
    channel = state["channel"]
    current = state["versions"][state["stack"][-1]]
    seed = _next_seed(state)
    user = _turn("user", "regenerate")
    for attempt in range(2):  # a fresh draft must differ from the current one
        result = _refine(
            ctx, state, channel, seed + attempt, feedback=state.get("requests") or None, run_texts=[current["text"]]
        )
        if not hard_failures(result) and result.text != current["text"]:
            break
    failures = hard_failures(result) or ([] if result.text != current["text"] else ["the new draft was identical to the current one"])
    if failures:
        return {"history": [user, _turn("assistant", "kept", current["text"], reasons=failures, version=current["index"])]}
    index = len(state["versions"])
    version = version_from(result, index=index, action="regenerate", request=None, seed=seed, checked=critic_names(ctx.engine))
    return {
        "versions": [version],
        "stack": state["stack"] + [index],
        "history": [user, _turn("assistant", "draft", version["text"], version=index, action="regenerate")],
    }


_HANDLERS: dict[str, Callable[[SessionState, SessionContext, dict[str, Any]], dict[str, Any]]] = {
    "say": _do_say,
    "undo": _do_undo,
    "accept": _do_accept,
    "variants": _do_variants,
    "pick": _do_pick,
    "channel": _do_channel,
    "regenerate": _do_regenerate,
}


def build_session_graph(checkpointer: Any) -> Any:
    """Compile the session graph with a checkpointer (required: interrupts need one)."""
    builder = StateGraph(SessionState, context_schema=SessionContext)
    builder.add_node("open", open_session)
    builder.add_node("human", wait_for_human)
    builder.add_node("act", act)
    builder.add_edge(START, "open")
    builder.add_edge("open", "human")
    builder.add_edge("human", "act")
    builder.add_edge("act", "human")
    return builder.compile(checkpointer=checkpointer, name="copyloop-session")


__all__ = [
    "SessionContext",
    "SessionState",
    "as_message",
    "build_session_graph",
    "hard_failures",
    "length_direction",
    "version_from",
    "with_messages",
]
