"""ASGI middleware that runs before any route: who is calling, how often, and how much they send.

``AccessMiddleware`` (outermost) refuses non-loopback peers when no key is configured (403),
refuses cross-site writes (an ``Origin`` that is not this server: 403, so a web page elsewhere
cannot drive the workbench through a logged-in browser), authenticates (see ``security``), and
rate-limits per key id with a moving window (``limits``; 429 with ``Retry-After``).
``BodyLimitMiddleware`` answers 413 as soon as a body is known to be too large: from its
``Content-Length``, or while it streams in without one.

Why middleware and not route dependencies: the static files and the OpenAPI document need the
same protection as the routes, and a body must be refused before a form parser spools it to disk.
"""

from __future__ import annotations

import json
import logging
import math
import time
from urllib.parse import urlsplit

from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copyloop.errors import InputError
from copyloop.service.security import COOKIE_NAME, KeyRing, LoginStore, bearer_token, is_loopback

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz", "/login")
UNLIMITED_PREFIXES = ("/healthz", "/static/")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


async def _send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
    return out


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


class RateLimiter:
    """A moving-window limit per caller id (``limits``, in memory)."""

    def __init__(self, spec: str) -> None:
        try:
            self.item = parse_limit(spec)
        except ValueError as exc:
            raise InputError(f"service.rate_limit {spec!r} is not a rate like '300/minute': {exc}", field="service.rate_limit") from None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, who: str) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until a slot frees)."""
        allowed = self._limiter.hit(self.item, who)
        stats = self._limiter.get_window_stats(self.item, who)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        return allowed, max(0, stats.remaining), retry


class AccessMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyRing, logins: LoginStore, limiter: RateLimiter, login_limiter: RateLimiter) -> None:
        self.app = app
        self.keys = keys
        self.logins = logins
        self.limiter = limiter
        self.login_limiter = login_limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        headers = _headers(scope)
        client = (scope.get("client") or ("", 0))[0]

        if not self.keys.enabled and not is_loopback(client):
            await _send_json(send, 403, "this server has no API key configured and only answers this machine (loopback)")
            return
        if method in UNSAFE_METHODS and not self._same_origin(headers):
            await _send_json(send, 403, "cross-site request refused (Origin does not match this server)")
            return

        who = f"addr-{client}"
        if not any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS):
            kid = self._authenticate(path, headers)
            if kid is None:
                await self._unauthorized(scope, send, path, headers)
                return
            who = kid
            scope.setdefault("state", {})["key_id"] = kid

        if not path.startswith(UNLIMITED_PREFIXES):
            limiter = self.login_limiter if path.startswith("/login") and method == "POST" else self.limiter
            allowed, remaining, retry = limiter.hit(who)
            if not allowed:
                log.info("rate limit hit by %s on %s %s", who, method, path)
                await _send_json(send, 429, f"rate limit exceeded ({limiter.item}); retry in {retry} s",
                                 {"Retry-After": str(retry), "X-RateLimit-Limit": str(limiter.item.amount),
                                  "X-RateLimit-Remaining": "0"})
                return
        await self.app(scope, receive, send)

    def _authenticate(self, path: str, headers: dict[str, str]) -> str | None:
        if not self.keys.enabled:
            return "local"
        kid = self.keys.identify(bearer_token(headers.get("authorization")))
        if kid is not None or path.startswith("/v1/") or path == "/v1":
            return kid  # the JSON API takes the header only (no cookie, so no cross-site use)
        return self.logins.lookup(_cookie(headers.get("cookie"), COOKIE_NAME))

    async def _unauthorized(self, scope: Scope, send: Send, path: str, headers: dict[str, str]) -> None:
        if path.startswith("/v1") or path == "/openapi.json":
            await _send_json(send, 401, "missing or invalid API key (send 'Authorization: Bearer <key>')",
                             {"WWW-Authenticate": "Bearer"})
            return
        if headers.get("hx-request"):
            await _send_json(send, 401, "please log in", {"HX-Redirect": "/login"})
            return
        if scope.get("method") == "GET" and "text/html" in headers.get("accept", ""):
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", b"/login"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, 401, "missing or invalid API key or login", {"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _same_origin(headers: dict[str, str]) -> bool:
        """No Origin (curl, a server) is fine; a browser's Origin must be this server's host."""
        origin = headers.get("origin")
        if origin is None:
            return True
        if origin == "null":  # sandboxed frames, file:// pages
            return False
        return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


class BodyLimitMiddleware:
    """413 for bodies over ``limit`` bytes (``upload_limit`` on the upload paths)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int, upload_paths: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.upload_limit if path in self.upload_paths else self.limit
        length = _headers(scope).get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send_json(send, 400, "invalid Content-Length header")
                return
            if declared > limit:
                await _send_json(send, 413, f"request body too large ({declared} bytes; at most {limit})")
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body too large (more than {limit} bytes)")
            return message

        await self.app(scope, counted, send)


__all__ = ["AccessMiddleware", "BodyLimitMiddleware", "PUBLIC_PATHS", "RateLimiter"]
