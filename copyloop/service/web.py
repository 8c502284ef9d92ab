"""The web workbench at ``/``: server-rendered Jinja2 pages and fragments driven by htmx.

No JavaScript build step: the page loads htmx and its SSE extension from ``/static/vendor``
(committed files, nothing fetched from elsewhere). Every button is an ``hx-post``/``hx-get`` that
swaps a fragment rendered here; a model operation returns at once with a panel that opens a
server-sent-event stream (``/ui/runs/{id}/events``) and fills in each round as it finishes, then
the finished panel (the chat session's current draft, its scores, checks and actions).

Everything a marketer does here goes through the same Python API as the JSON routes: a chat
``Session`` per product and channel (start, say, accept, undo, variants, pick), ``check_text`` for
hand edits, ``rank`` for the λ slider, ``CatalogStore``/``BatchManager`` for catalogs and batches.
Product text is untrusted: templates autoescape everything.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, Form, Path as PathParam, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from copyloop import __version__
from copyloop.errors import CopyloopError, InputError, RuleRefusal
from copyloop.service.api import edit_session, service
from copyloop.service.batches import BATCH_ID_PATTERN
from copyloop.service.catalogs import CATALOG_ID_PATTERN
from copyloop.service.checks import check_text
from copyloop.service.errors import NotFound, error_body, validation_message
from copyloop.service.ranking import candidates_of_rounds, rank
from copyloop.service.runs import Run, RunEvent
from copyloop.service.schemas import SESSION_ID_PATTERN, ProductIn
from copyloop.service.security import COOKIE_NAME
from copyloop.service.service import Service
from copyloop.service.sessions import new_session_id, open_session, session_view

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

SessionId = PathParam(..., pattern=SESSION_ID_PATTERN)
RunId = PathParam(..., pattern=r"^[0-9a-f]{32}$")
CatalogId = PathParam(..., pattern=CATALOG_ID_PATTERN)
BatchId = PathParam(..., pattern=BATCH_ID_PATTERN)
MODEL_OPS = {"start": "first draft", "say": "revision", "variants": "variants", "regenerate": "fresh draft", "channel": "channel switch"}


def render(name: str, **ctx: Any) -> str:
    return templates.get_template(name).render(**ctx)


def fragment(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(render(name, **ctx), status_code=status)


def error_fragment(exc: Exception) -> HTMLResponse:
    """A copyloop error as a note the page swaps in (status kept: htmx is told to swap 4xx)."""
    if isinstance(exc, ValidationError):
        return fragment("_error.html", 422, message=validation_message(exc.errors()), reasons=[])
    if isinstance(exc, CopyloopError):
        status, body, headers = error_body(exc)
        response = fragment("_error.html", status, message=body["detail"], reasons=body.get("reasons", []))
        response.headers.update(headers)
        return response
    raise exc


# --- pages --------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, svc: Service = Depends(service)) -> Response:
    if not svc.keys.enabled:
        return RedirectResponse("/", status_code=303)
    return templates.TemplateResponse(request, "login.html", {"error": None, "version": __version__})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, key: str = Form("", max_length=500), svc: Service = Depends(service)) -> Response:
    if not svc.keys.enabled:
        return RedirectResponse("/", status_code=303)
    kid = svc.keys.identify(key.strip())
    if kid is None:
        return templates.TemplateResponse(request, "login.html", {"error": "That key is not valid.", "version": __version__},
                                          status_code=401)
    token = svc.logins.create(kid)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE_NAME, token, max_age=int(svc.logins.seconds), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    log.info("workbench login for %s", kid)
    return response


@router.post("/logout")
async def logout(request: Request, svc: Service = Depends(service)) -> Response:
    svc.logins.drop(request.cookies.get(COOKIE_NAME))
    response = RedirectResponse("/login" if svc.keys.enabled else "/", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    if request.headers.get("hx-request"):
        response.headers["HX-Redirect"] = "/login" if svc.keys.enabled else "/"
    return response


@router.get("/", response_class=HTMLResponse)
async def workbench(request: Request, svc: Service = Depends(service)) -> Response:
    catalogs = await run_in_threadpool(svc.catalogs.list)
    batches = await run_in_threadpool(svc.batches.list)
    sessions = await run_in_threadpool(svc.ledger.sessions, 12)
    ctx = {
        "version": __version__,
        "channels": svc.channels.specs(),
        "product": {},
        "selected": ["product_description"],
        "catalogs": catalogs,
        "batches": list(reversed(batches))[:20],
        "keys": svc.keys.enabled,
        "sessions": sessions,
        "threshold": svc.settings.refine.threshold,
    }
    return templates.TemplateResponse(request, "workbench.html", ctx)


# --- writing copy: one chat session per channel, each streamed ----------------------------------


def _product_from_form(form: Any) -> ProductIn:
    facts = [line.strip(" \t-•*") for line in str(form.get("facts", "")).splitlines()]
    data = {
        "title": str(form.get("title", "")).strip(),
        "category": str(form.get("category", "")).strip(),
        "price": str(form.get("price", "")).strip() or None,
        "brand": str(form.get("brand", "")).strip() or None,
        "brand_voice": str(form.get("brand_voice", "")).strip() or "friendly and clear",
        "audience": str(form.get("audience", "")).strip() or None,
        "description": str(form.get("description", "")).strip(),
        "facts": [f for f in facts if f],
        "id": str(form.get("product_id", "")).strip() or None,
    }
    if not data["title"]:
        raise InputError("Give the product a title (or pick one from a catalog).", field="title")
    return ProductIn.model_validate(data)


@router.post("/ui/runs", response_class=HTMLResponse)
async def start_runs(request: Request, svc: Service = Depends(service)) -> Response:
    form = await request.form()
    try:
        brief = _product_from_form(form).to_brief()
        channels = [str(c) for c in form.getlist("channels")] or ["product_description"]
        for channel in channels:
            svc.sessions.channel_spec(channel)
        seed = int(str(form.get("seed") or 0))
        if not 0 <= seed <= 2**31 - 1:
            raise ValueError(seed)
    except (CopyloopError, ValidationError) as exc:
        return error_fragment(exc)
    except ValueError:
        return error_fragment(InputError("seed must be a whole number from 0 to 2147483647", field="seed"))
    panels = []
    for channel in dict.fromkeys(channels):
        try:
            reservation = svc.worker.reserve()
        except CopyloopError as exc:
            panels.append(error_fragment(exc).body.decode())
            break
        sid = new_session_id()
        run = svc.hub.create("start", session_id=sid, channel=channel, title=brief.title)
        run.emit("queued", {"pending": svc.worker.status().pending})
        svc.submit_op(lambda b=brief, c=channel, s=sid: svc.start_session(b, c, s, seed),
                      run=run, reservation=reservation, payload=lambda _s: {})
        panels.append(render("_run_panel.html", run=run, session_id=sid, channel=channel, title=brief.title,
                             what=MODEL_OPS["start"]))
    return HTMLResponse("\n".join(panels))


def _start_session_op(svc: Service, sid: str, kind: str, fn: Any, payload: Any = None) -> HTMLResponse:
    session = open_session(svc, sid)
    reservation = svc.worker.reserve()
    run = svc.hub.create(kind, session_id=sid, channel=session.channel, title=session.product.title)
    run.emit("queued", {"pending": svc.worker.status().pending})
    svc.submit_op(lambda: fn(session), run=run, reservation=reservation, payload=payload or (lambda _r: {}))
    return fragment("_run_panel.html", run=run, session_id=sid, channel=session.channel, title=session.product.title,
                    what=MODEL_OPS[kind])


async def panel_error(svc: Service, sid: str, exc: CopyloopError) -> Response:
    """An action on a panel failed before it started (bad input, model busy): the same panel
    with the note, so the marketer's draft stays on screen (status kept; htmx swaps 4xx/503)."""
    if isinstance(exc, NotFound):
        return error_fragment(exc)
    status, body, headers = error_body(exc)
    note = {"message": body["detail"], "reasons": body.get("reasons", []), "error": True}
    try:
        html = await run_in_threadpool(session_panel, svc, sid, note)
    except CopyloopError:
        return error_fragment(exc)
    return HTMLResponse(html, status_code=status, headers=headers)


@router.post("/ui/sessions/{session_id}/say", response_class=HTMLResponse)
async def ui_say(session_id: str = SessionId, text: str = Form("", max_length=500), svc: Service = Depends(service)) -> Response:
    try:
        if not text.strip():
            raise InputError("Say what to change, e.g. 'shorter' or 'more playful'.", field="text")
        return await run_in_threadpool(_start_session_op, svc, session_id, "say", lambda s: s.say(text))
    except CopyloopError as exc:
        return await panel_error(svc, session_id, exc)


@router.post("/ui/sessions/{session_id}/variants", response_class=HTMLResponse)
async def ui_variants(session_id: str = SessionId, n: int = Form(3, ge=1, le=5), svc: Service = Depends(service)) -> Response:
    try:
        return await run_in_threadpool(_start_session_op, svc, session_id, "variants", lambda s: s.variants(n),
                                       lambda vs: {"variants": [v.index for v in vs]})
    except CopyloopError as exc:
        return await panel_error(svc, session_id, exc)


@router.post("/ui/sessions/{session_id}/regenerate", response_class=HTMLResponse)
async def ui_regenerate(session_id: str = SessionId, svc: Service = Depends(service)) -> Response:
    try:
        return await run_in_threadpool(_start_session_op, svc, session_id, "regenerate", lambda s: s.regenerate())
    except CopyloopError as exc:
        return await panel_error(svc, session_id, exc)


@router.get("/ui/runs/{run_id}/events", response_class=EventSourceResponse)
async def run_events(request: Request, run_id: str = RunId, svc: Service = Depends(service)) -> AsyncIterator[ServerSentEvent]:
    """The run's events as HTML fragments: ``status``, ``round`` (appended), ``end`` (the finished panel)."""
    run = svc.hub.get(run_id)
    if run is None:
        yield ServerSentEvent(raw_data=render("_error.html", message="This run is no longer known (the server restarted?). Reload the page.", reasons=[]), event="end")
        return
    try:
        last_seen = int(request.headers.get("last-event-id", "-1"))
    except ValueError:
        last_seen = -1
    async for event in run.follow():
        if event.seq <= last_seen:
            continue
        name, html = await _render_event(svc, run, event)
        if html is not None:
            yield ServerSentEvent(raw_data=html, event=name, id=str(event.seq))


async def _render_event(svc: Service, run: Run, event: RunEvent) -> tuple[str, str | None]:
    data = event.data
    if event.kind == "queued":
        ahead = max(0, int(data.get("pending", 1)) - 1)
        return "status", f"waiting for the model ({ahead} ahead)" if ahead else "starting…"
    if event.kind == "refine_started":
        return "status", f"drafting for {data.get('channel')} (up to {data.get('max_iterations')} rounds)"
    if event.kind == "stage":  # a node finished: say what runs now
        n = int(data.get("iteration", 0)) + 1
        node = data.get("node", "")
        if node == "decide" and data.get("decision") not in ("", "revise"):
            return "status", f"finishing ({str(data.get('decision')).replace('_', ' ')})…"
        now = {"retrieve": "drafting", "draft": "repairing and critiquing the drafts", "repair": "critiquing",
               "score": "deciding", "decide": "drafting a revision"}.get(node, node)
        return "status", f"round {n}: {now}…"
    if event.kind == "round":
        return "round", render("_round.html", round=data)
    # terminal: the finished panel (or the failure)
    sid = run.meta.get("session_id")
    note = None
    if event.kind == "error":
        note = {"message": data.get("detail", "failed"), "reasons": data.get("reasons", []), "error": True}
        if sid is None or not await run_in_threadpool(svc.sessions.exists, sid):
            return "end", render("_error.html", message=f"{run.meta.get('channel', '')}: {note['message']}", reasons=note["reasons"])
    return "end", await run_in_threadpool(session_panel, svc, sid, note)


# --- the session panel --------------------------------------------------------------------------


def session_panel(svc: Service, sid: str, note: dict[str, Any] | None = None, verdict: Any = None) -> str:
    session = open_session(svc, sid)
    view = session_view(svc, session)
    versions = session.versions()
    history = session.history()
    runs = svc.hub.for_session(sid)
    last = runs[-1] if runs else None
    variants: list[Any] = []
    if last is not None and last.kind == "variants" and (end := last.terminal()) is not None and end.kind == "done":
        variants = [versions[i] for i in end.data.get("variants", []) if i < len(versions)]
    if note is None and history and history[-1].kind in ("kept", "refusal"):
        note = {"message": "Kept the current draft: " if history[-1].kind == "kept" else "Refused: ",
                "reasons": history[-1].reasons, "error": history[-1].kind == "refusal"}
        note["message"] += "; ".join(history[-1].reasons) or "no revision passed every hard rule"
    ranked = rank(candidates_of_rounds(r for run in runs for r in run.rounds()), 0.3, view.product.category)
    return render(
        "_session_panel.html", view=view, versions=versions, history=history[-12:], note=note, verdict=verdict,
        rounds=last.rounds() if last else [], last_kind=last.kind if last else None, variants=variants,
        ranked=ranked[:8], lam=0.3,
    )


@router.get("/ui/sessions/{session_id}", response_class=HTMLResponse)
async def ui_session(session_id: str = SessionId, svc: Service = Depends(service)) -> Response:
    try:
        return HTMLResponse(await run_in_threadpool(session_panel, svc, session_id))
    except CopyloopError as exc:
        return error_fragment(exc)


async def _quick(svc: Service, sid: str, fn: Any) -> Response:
    """A session command without model work (accept, undo, pick), then the panel."""
    def work() -> str:
        note = None
        try:
            fn(open_session(svc, sid))
        except RuleRefusal as exc:
            note = {"message": "Not accepted: " + "; ".join(exc.reasons), "reasons": [], "error": True}
        except InputError as exc:
            if isinstance(exc, NotFound):
                raise
            note = {"message": str(exc), "reasons": [], "error": True}
        return session_panel(svc, sid, note)

    try:
        return HTMLResponse(await run_in_threadpool(work))
    except CopyloopError as exc:
        return error_fragment(exc)


@router.post("/ui/sessions/{session_id}/accept", response_class=HTMLResponse)
async def ui_accept(session_id: str = SessionId, svc: Service = Depends(service)) -> Response:
    return await _quick(svc, session_id, lambda s: s.accept())


@router.post("/ui/sessions/{session_id}/undo", response_class=HTMLResponse)
async def ui_undo(session_id: str = SessionId, svc: Service = Depends(service)) -> Response:
    return await _quick(svc, session_id, lambda s: s.undo())


@router.post("/ui/sessions/{session_id}/pick", response_class=HTMLResponse)
async def ui_pick(session_id: str = SessionId, index: int = Form(..., ge=0, le=10_000), svc: Service = Depends(service)) -> Response:
    return await _quick(svc, session_id, lambda s: s.pick(index))


@router.post("/ui/sessions/{session_id}/check", response_class=HTMLResponse)
async def ui_check(session_id: str = SessionId, text: str = Form("", max_length=5000), svc: Service = Depends(service)) -> Response:
    """Check a hand-edited text (or a ranked candidate) before accepting it."""
    if not text.strip():
        return error_fragment(InputError("Write or paste the text to check.", field="text"))
    try:
        session = await run_in_threadpool(open_session, svc, session_id)
        product, channel, threshold = await run_in_threadpool(lambda: (session.product, session.channel, session.current.threshold))
        verdict = await svc.model_call(check_text, svc.engine.engine, product, channel, text.strip(), threshold)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_verdict.html", verdict=verdict, session_id=session_id)


@router.post("/ui/sessions/{session_id}/edit", response_class=HTMLResponse)
async def ui_edit_accept(session_id: str = SessionId, text: str = Form("", max_length=5000), svc: Service = Depends(service)) -> Response:
    try:
        if not text.strip():
            raise InputError("Write the text to accept.", field="text")
        verdict = await edit_session(svc, session_id, text.strip(), accept=True)
    except RuleRefusal as exc:
        note = {"message": "Not accepted: " + "; ".join(exc.reasons), "reasons": [], "error": True}
        return HTMLResponse(await run_in_threadpool(session_panel, svc, session_id, note))
    except CopyloopError as exc:
        return await panel_error(svc, session_id, exc)
    note = {"message": "Your edited text is accepted.", "reasons": [], "error": False}
    return HTMLResponse(await run_in_threadpool(session_panel, svc, session_id, note, verdict))


@router.get("/ui/sessions/{session_id}/rank", response_class=HTMLResponse)
async def ui_rank(session_id: str = SessionId, lam: float = Query(0.3, ge=0.0, le=1.0), svc: Service = Depends(service)) -> Response:
    """The λ slider: every candidate this session's runs judged, re-ranked by R_λ."""
    try:
        session = await run_in_threadpool(open_session, svc, session_id)
        category = await run_in_threadpool(lambda: session.product.category)
    except CopyloopError as exc:
        return error_fragment(exc)
    runs = svc.hub.for_session(session_id)
    ranked = rank(candidates_of_rounds(r for run in runs for r in run.rounds()), lam, category)
    return fragment("_ranked.html", ranked=ranked[:8], lam=lam, session_id=session_id)


# --- catalogs and batches -----------------------------------------------------------------------


@router.post("/ui/catalogs", response_class=HTMLResponse)
async def ui_upload_catalog(file: UploadFile, svc: Service = Depends(service)) -> Response:
    try:
        info = await run_in_threadpool(svc.catalogs.add, file.filename or "catalog.csv", file.file, None)
        products = await run_in_threadpool(svc.catalogs.search, info.id, "", 30)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_catalog.html", catalog=info, products=products, channels=svc.channels.specs())


@router.get("/ui/catalogs/{catalog_id}", response_class=HTMLResponse)
async def ui_catalog(catalog_id: str = CatalogId, svc: Service = Depends(service)) -> Response:
    try:
        info = await run_in_threadpool(svc.catalogs.info, catalog_id)
        products = await run_in_threadpool(svc.catalogs.search, catalog_id, "", 30)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_catalog.html", catalog=info, products=products, channels=svc.channels.specs())


@router.get("/ui/catalogs/{catalog_id}/products", response_class=HTMLResponse)
async def ui_products(catalog_id: str = CatalogId, q: str = Query("", max_length=200), svc: Service = Depends(service)) -> Response:
    try:
        products = await run_in_threadpool(svc.catalogs.search, catalog_id, q, 30)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_picker.html", products=products, catalog_id=catalog_id)


@router.get("/ui/catalogs/{catalog_id}/products/{product_id}/form", response_class=HTMLResponse)
async def ui_product_form(catalog_id: str = CatalogId, product_id: str = PathParam(..., max_length=300),
                          svc: Service = Depends(service)) -> Response:
    try:
        product = await run_in_threadpool(svc.catalogs.product, catalog_id, product_id)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_product_form.html", product=product.model_dump(), channels=svc.channels.specs(),
                    selected=["product_description"])


@router.post("/ui/batches", response_class=HTMLResponse)
async def ui_start_batch(request: Request, svc: Service = Depends(service)) -> Response:
    form = await request.form()
    channels = [str(c) for c in form.getlist("channels")]
    try:
        limit = int(str(form.get("limit"))) if str(form.get("limit") or "").strip() else None
        status = await run_in_threadpool(svc.batches.create, str(form.get("catalog_id", "")), channels,
                                         str(form.get("output_format") or "jsonl"), 0, limit, form.get("diversity") is not None)
    except ValueError:
        return error_fragment(InputError("limit must be a whole number", field="limit"))
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_batch_row.html", batch=status)


@router.get("/ui/batches/{batch_id}", response_class=HTMLResponse)
async def ui_batch_row(batch_id: str = BatchId, svc: Service = Depends(service)) -> Response:
    try:
        status = await run_in_threadpool(svc.batches.status, batch_id)
    except CopyloopError as exc:
        return error_fragment(exc)
    return fragment("_batch_row.html", batch=status)


@router.get("/ui/batches/{batch_id}/results")
async def ui_batch_results(batch_id: str = BatchId, svc: Service = Depends(service)) -> Response:
    from copyloop.service.api_batches import batch_results

    return await batch_results(batch_id, svc)


@router.get("/ui/batches/{batch_id}/errors")
async def ui_batch_errors(batch_id: str = BatchId, svc: Service = Depends(service)) -> Response:
    from copyloop.service.api_batches import batch_errors

    return await batch_errors(batch_id, svc)


def install(app: FastAPI, svc: Service) -> None:
    """Mount the workbench routes and the packaged static files (htmx, css, figures)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


__all__ = ["install", "router", "session_panel"]
