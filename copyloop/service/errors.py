"""copyloop's errors as HTTP answers: the one place the service translates them.

- ``RequestValidationError`` (pydantic at the edge): 422 with pydantic's own messages, plus a
  one-line ``message`` naming the first bad field.
- ``RuleRefusal`` (a request that would break a hard rule): 422 with the reasons.
- ``UnknownChannelError``, ``InputError``: 422 with the message and the field (404 for a session,
  batch, catalog or experiment that does not exist: ``NotFound``).
- ``ServiceBusy``: 503 with ``Retry-After``.
- ``DependencyError``, ``ModelPathError``, ``ModelLoadError``: 503 (the server is misconfigured;
  the message says what to install or which file is missing).
- Anything else is a bug: 500 with a neutral message, logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from copyloop.errors import CopyloopError, DependencyError, InputError, ModelLoadError, ModelPathError, RuleRefusal
from copyloop.service.model_worker import ServiceBusy

log = logging.getLogger(__name__)


class NotFound(InputError):
    """A session, batch, catalog, run or experiment id that does not exist (HTTP 404)."""


def _loc(error: dict[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",)) or "request"


def validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    msg = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    return f"{_loc(first)}: {msg}{more}"


def error_body(exc: CopyloopError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) for one of copyloop's errors."""
    headers: dict[str, str] = {}
    body: dict[str, Any] = {"detail": str(exc), "type": type(exc).__name__}
    if isinstance(exc, ServiceBusy):
        headers["Retry-After"] = str(exc.retry_after)
        return 503, body, headers
    if isinstance(exc, RuleRefusal):
        body["reasons"] = list(exc.reasons)
        return 422, body, headers
    if isinstance(exc, NotFound):
        return 404, body, headers
    if isinstance(exc, InputError):
        if exc.field:
            body["field"] = exc.field
        if exc.line is not None:
            body["line"] = exc.line
        return 422, body, headers
    if isinstance(exc, (DependencyError, ModelPathError, ModelLoadError)):
        return 503, body, headers
    log.error("unexpected copyloop error: %s", exc)
    return 500, {"detail": "internal error", "type": type(exc).__name__}, headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})
        for e in errors:  # product text is untrusted and can be long: do not echo it back whole
            if isinstance(e.get("input"), str) and len(e["input"]) > 200:
                e["input"] = e["input"][:200] + "…"
        return JSONResponse({"detail": errors, "message": validation_message(errors)}, status_code=422)

    @app.exception_handler(CopyloopError)
    async def _copyloop(request: Request, exc: CopyloopError) -> JSONResponse:
        status, body, headers = error_body(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)


__all__ = ["NotFound", "error_body", "install_error_handlers", "validation_message"]
