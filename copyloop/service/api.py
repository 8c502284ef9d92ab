"""The JSON API under ``/v1``: refine (plain and streamed), channels, ranking, checks, chat sessions.

Every route here needs ``Authorization: Bearer <key>`` (enforced by ``guards.AccessMiddleware``;
the ``HTTPBearer`` dependency only documents it in the OpenAPI schema). Handlers are thin: they
validate, reserve a model slot, and await the Python API on the service's threads.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent

from copyloop.chat.session import Reply, Scorecard, Turn, Version
from copyloop.graph.result import RefineResult
from copyloop.service.checks import check_text
from copyloop.service.ranking import rank
from copyloop.service.schemas import (
    SESSION_ID_PATTERN,
    ChannelRequest,
    CheckRequest,
    EditRequest,
    PickRequest,
    RankedCandidate,
    RankRequest,
    RefineRequest,
    SayRequest,
    SessionCreate,
    SessionSummary,
    SessionView,
    TextVerdict,
    VariantsRequest,
)
from copyloop.service.service import Service
from copyloop.service.sessions import new_session_id, open_session, session_view
from copyloop.service.streaming import RefineArgs, stream_refine
from copyloop.tools.channels import ChannelSpec

bearer = HTTPBearer(auto_error=False, description="an API key from COPYLOOP_API_KEYS")
router = APIRouter(prefix="/v1", dependencies=[Depends(bearer)])

SessionId = Path(..., pattern=SESSION_ID_PATTERN, description="the id POST /v1/sessions returned")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong API key"},
    413: {"description": "request body too large"},
    422: {"description": "invalid input (the message says which field and why)"},
    429: {"description": "rate limit exceeded (Retry-After says when to retry)"},
}
MODEL_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 503: {"description": "the model is busy (Retry-After)"}}


def service(request: Request) -> Service:
    return request.app.state.service


def refine_args(body: RefineRequest, svc: Service) -> RefineArgs:
    """Validate everything before any model work (so errors are a 422, never a broken stream).

    The ranges are the request model's; the product and the channel are checked here with the
    same rules ``Engine.prepare`` applies — without touching the Engine, which may be loading.
    """
    svc.channels.get(body.channel)  # UnknownChannelError lists the known channels
    return RefineArgs(
        product=body.product.to_brief(), channel=body.channel, threshold=body.threshold,
        max_iterations=body.max_iterations, candidates=body.candidates, seed=body.seed,
        feedback=list(body.feedback), previous=body.previous,
    )


# --- refine -------------------------------------------------------------------------------------


@router.get("/channels", response_model=list[ChannelSpec], responses=ERRORS)
async def channels(svc: Service = Depends(service)) -> list[ChannelSpec]:
    """Every channel copy can be written for, with its hard rules."""
    return list(svc.channels.specs())


@router.post("/refine", response_model=RefineResult, responses=MODEL_ERRORS)
async def refine(body: RefineRequest, svc: Service = Depends(service)) -> RefineResult:
    """Draft, critique, score and revise copy for one product and channel (``copyloop.refine``)."""
    args = refine_args(body, svc)
    return await svc.model_call(stream_refine, svc.engine.engine, args, None)


class _Prepared:
    def __init__(self, args: RefineArgs, reservation: Any) -> None:
        self.args = args
        self.reservation = reservation


def prepared_stream(body: RefineRequest, svc: Service = Depends(service)) -> _Prepared:
    args = refine_args(body, svc)
    return _Prepared(args, svc.worker.reserve())


@router.post(
    "/refine/stream",
    response_class=EventSourceResponse,
    responses={
        **MODEL_ERRORS,
        200: {"description": (
            "Server-sent events: `queued`, `refine_started`, `stage` {node, iteration}, one `round` per finished "
            "round (candidates with scores, explanations and every critic's verdict), then `result` (the "
            "RefineResult) or `error` {detail, status}."
        )},
    },
)
async def refine_stream(prep: _Prepared = Depends(prepared_stream), svc: Service = Depends(service)) -> AsyncIterator[ServerSentEvent]:
    """The same refinement, sending each round as it finishes (server-sent events)."""
    run = svc.hub.create("refine")
    run.emit("queued", {"pending": svc.worker.status().pending})

    future = svc.submit_op(lambda: svc.worker.call(stream_refine, svc.engine.engine, prep.args, run.observer),
                           run=run, reservation=prep.reservation)
    try:
        async for event in run.follow():
            kind = "result" if event.kind == "done" else event.kind
            yield ServerSentEvent(data=event.data, event=kind, id=str(event.seq))
    finally:
        if not run.finished:
            future.cancel()


@router.post("/rank", response_model=list[RankedCandidate], responses=ERRORS)
async def rank_candidates(body: RankRequest) -> list[RankedCandidate]:
    """Re-rank candidates (e.g. a RefineResult's trace) by R_λ, the creativity <-> conversion trade-off."""
    return rank(body.candidates, body.lam, body.category)


@router.post("/check", response_model=TextVerdict, responses=MODEL_ERRORS)
async def check(body: CheckRequest, svc: Service = Depends(service)) -> TextVerdict:
    """Score and check a text you wrote, with the same critics and scorer as the drafts."""
    brief = body.product.to_brief()
    svc.channels.get(body.channel)
    return await svc.model_call(check_text, svc.engine.engine, brief, body.channel, body.text, body.threshold)


# --- chat sessions ------------------------------------------------------------------------------


@router.post("/sessions", response_model=SessionView, status_code=201, responses=MODEL_ERRORS)
async def create_session(body: SessionCreate, svc: Service = Depends(service)) -> SessionView:
    """Start a chat session: the first draft is written now."""
    brief = body.product.to_brief()
    svc.sessions.channel_spec(body.channel)
    sid = new_session_id()
    session = await svc.op(lambda: svc.start_session(brief, body.channel, sid, body.seed), reservation=svc.worker.reserve())
    return await run_in_threadpool(session_view, svc, session)


@router.get("/sessions", response_model=list[SessionSummary], responses=ERRORS)
async def list_sessions(limit: int = Query(50, ge=1, le=500), svc: Service = Depends(service)) -> list[SessionSummary]:
    """The chat sessions started through this service, newest first."""
    return [SessionSummary(**row) for row in await run_in_threadpool(svc.ledger.sessions, limit)]


@router.get("/sessions/{session_id}", response_model=SessionView, responses={**ERRORS, 404: {"description": "no such session"}})
async def get_session(session_id: str = SessionId, svc: Service = Depends(service)) -> SessionView:
    return await run_in_threadpool(lambda: session_view(svc, open_session(svc, session_id)))


@router.post("/sessions/{session_id}/say", response_model=Reply, responses={**MODEL_ERRORS, 404: {"description": "no such session"}})
async def say(body: SayRequest, session_id: str = SessionId, svc: Service = Depends(service)) -> Reply:
    """Ask for changes in words; a request that would break a hard rule is refused (422 with reasons)."""
    session = await run_in_threadpool(open_session, svc, session_id)
    return await svc.op(lambda: session.say(body.text), reservation=svc.worker.reserve())


@router.post("/sessions/{session_id}/accept", response_model=Version, responses={**ERRORS, 404: {"description": "no such session"}})
async def accept(session_id: str = SessionId, svc: Service = Depends(service)) -> Version:
    """Accept the current draft (refused with the reasons when it breaks a hard rule)."""
    return await run_in_threadpool(lambda: open_session(svc, session_id).accept())


@router.post("/sessions/{session_id}/undo", response_model=Version, responses={**ERRORS, 404: {"description": "no such session"}})
async def undo(session_id: str = SessionId, svc: Service = Depends(service)) -> Version:
    return await run_in_threadpool(lambda: open_session(svc, session_id).undo())


@router.post("/sessions/{session_id}/variants", response_model=list[Version], responses={**MODEL_ERRORS, 404: {"description": "no such session"}})
async def variants(body: VariantsRequest, session_id: str = SessionId, svc: Service = Depends(service)) -> list[Version]:
    """Up to n alternative drafts that pass every hard rule; adopt one with /pick."""
    session = await run_in_threadpool(open_session, svc, session_id)
    return await svc.op(lambda: session.variants(body.n), reservation=svc.worker.reserve())


@router.post("/sessions/{session_id}/pick", response_model=Version, responses={**ERRORS, 404: {"description": "no such session"}})
async def pick(body: PickRequest, session_id: str = SessionId, svc: Service = Depends(service)) -> Version:
    return await run_in_threadpool(lambda: open_session(svc, session_id).pick(body.index))


@router.post("/sessions/{session_id}/regenerate", response_model=Reply, responses={**MODEL_ERRORS, 404: {"description": "no such session"}})
async def regenerate(session_id: str = SessionId, svc: Service = Depends(service)) -> Reply:
    session = await run_in_threadpool(open_session, svc, session_id)
    return await svc.op(session.regenerate, reservation=svc.worker.reserve())


@router.post("/sessions/{session_id}/channel", response_model=Reply, responses={**MODEL_ERRORS, 404: {"description": "no such session"}})
async def switch_channel(body: ChannelRequest, session_id: str = SessionId, svc: Service = Depends(service)) -> Reply:
    """Rewrite the current copy for another channel."""
    session = await run_in_threadpool(open_session, svc, session_id)
    svc.sessions.channel_spec(body.channel)
    return await svc.op(lambda: session.switch_channel(body.channel), reservation=svc.worker.reserve())


@router.get("/sessions/{session_id}/history", response_model=list[Turn], responses={**ERRORS, 404: {"description": "no such session"}})
async def history(session_id: str = SessionId, svc: Service = Depends(service)) -> list[Turn]:
    return await run_in_threadpool(lambda: open_session(svc, session_id).history())


@router.get("/sessions/{session_id}/score", response_model=Scorecard, responses={**ERRORS, 404: {"description": "no such session"}})
async def score(session_id: str = SessionId, svc: Service = Depends(service)) -> Scorecard:
    return await run_in_threadpool(lambda: open_session(svc, session_id).score())


@router.post("/sessions/{session_id}/edit", response_model=TextVerdict, responses={**MODEL_ERRORS, 404: {"description": "no such session"}})
async def edit(body: EditRequest, session_id: str = SessionId, svc: Service = Depends(service)) -> TextVerdict:
    """Check a hand-edited text; with ``accept`` it becomes the session's copy if every hard rule passes."""
    return await edit_session(svc, session_id, body.text, body.accept)


async def edit_session(svc: Service, session_id: str, text: str, accept: bool) -> TextVerdict:
    from copyloop.errors import RuleRefusal

    session = await run_in_threadpool(open_session, svc, session_id)
    product, channel = await run_in_threadpool(lambda: (session.product, session.channel))
    threshold = session.current.threshold
    verdict = await svc.model_call(check_text, svc.engine.engine, product, channel, text, threshold)
    if accept:
        if not verdict.hard_pass:
            raise RuleRefusal("accept edited text", verdict.hard_failures)
        verdict.accepted = True
        svc.ledger.add_edit(session_id, verdict.model_dump(mode="json"))
    return verdict


__all__ = ["edit_session", "refine_args", "router", "service"]
