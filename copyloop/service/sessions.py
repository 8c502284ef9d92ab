"""Chat sessions as the service serves them: ``copyloop.chat.session`` with service ids and views.

Session ids of the service are 32 hex digits (``uuid4().hex``); other faces' sessions (Slack
threads) are not reachable through it. A ``Session`` object is built directly rather than with
``SessionStore.resume``: resume re-arms a thread without its lock, which would break a turn that
another request is running; every command re-arms under the session's lock anyway.
"""

from __future__ import annotations

import uuid
from typing import Any

from copyloop.chat.session import Session
from copyloop.service.errors import NotFound
from copyloop.service.schemas import SessionView, TextVerdict


def new_session_id() -> str:
    return uuid.uuid4().hex


def open_session(svc: Any, session_id: str) -> Session:
    if not svc.sessions.exists(session_id):
        raise NotFound(f"no session {session_id!r}", field="session_id")
    return Session(svc.sessions, session_id)


def session_view(svc: Any, session: Session) -> SessionView:
    history = session.history()
    edit = svc.ledger.last_edit(session.thread_id)
    accepted_at = max((t.at for t in history if t.kind == "accepted"), default=0.0)
    return SessionView(
        session_id=session.thread_id,
        channel=session.channel,
        product=session.product,
        current=session.current.model_dump(mode="json"),
        accepted=a.model_dump(mode="json") if (a := session.accepted) is not None else None,
        accepted_edit=TextVerdict.model_validate(edit) if edit and edit.get("accepted") and edit.get("at", 0.0) > accepted_at else None,
        versions=len(session.versions()),
    )


__all__ = ["new_session_id", "open_session", "session_view"]
