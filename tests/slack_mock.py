"""Test doubles at Slack's edges: a local mock of the Web API and signed request builders.

The mock is a plain ``http.server`` on 127.0.0.1 (random port) that the *real* ``slack_sdk``
``WebClient`` talks to (``base_url=mock.api_url``); it records every call so tests assert on what
the bot actually sent. Requests to the bot are signed exactly as Slack signs them (v0 HMAC-SHA256
over ``v0:<timestamp>:<body>``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

BOT_USER = "UBOT"
TEAM = "T0001"


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    authorized: bool
    at: float = field(default_factory=time.perf_counter)
    response: dict[str, Any] = field(default_factory=dict)


class MockSlackApi:
    """Records Web API calls; answers like Slack (``ok: true``, a fresh ``ts`` per message)."""

    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode tests)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                    if isinstance(args.get("blocks"), str):
                        args["blocks"] = json.loads(args["blocks"])
                method = self.path.rsplit("/", 1)[-1]
                body = mock._answer(method, args, bool(self.headers.get("Authorization")))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    def _answer(self, method: str, args: dict[str, Any], authorized: bool) -> dict[str, Any]:
        with self._cond:
            if method == "auth.test":
                body = {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": TEAM, "user": "copyloop"}
            elif method in ("chat.postMessage", "chat.update"):
                ts = args.get("ts") or f"{1700000000 + next(self._ts)}.000100"
                body = {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
            elif method == "chat.postEphemeral":
                body = {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
            elif method == "apps.connections.open" and self.socket_url:
                body = {"ok": True, "url": self.socket_url}
            else:
                body = {"ok": True}
            self.calls.append(ApiCall(method, args, authorized, response=body))
            self._cond.notify_all()
            return body

    # queries --------------------------------------------------------------------------------
    def of(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self) -> list[ApiCall]:
        """Posts and updates, in order (what a person in the channel would see change)."""
        with self._lock:
            return [c for c in self.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")]

    def wait_for(self, predicate: Callable[[list[ApiCall]], Any], timeout: float = 30.0) -> Any:
        """Block until ``predicate(calls)`` is truthy; return its value (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self.calls))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting; calls so far: {[c.method for c in self.calls]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def block_text(call: ApiCall) -> str:
    """All text in a message's blocks (plus its fallback text)."""
    parts = [str(call.args.get("text", ""))]
    for block in call.args.get("blocks") or []:
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"].get("text", ""))
        for el in block.get("elements", []) or []:
            if isinstance(el, dict):
                parts.append(str(el.get("text", "") if not isinstance(el.get("text"), dict) else el["text"].get("text", "")))
    return "\n".join(parts)


def draft_text(call: ApiCall) -> str:
    """The copy itself: the first section block of a draft message, Slack escaping undone."""
    import html

    for block in call.args.get("blocks") or []:
        if block.get("type") == "section":
            return html.unescape(block["text"]["text"])
    return ""


def buttons(call: ApiCall) -> dict[str, str]:
    """action_id -> value of every button in a message."""
    out: dict[str, str] = {}
    for block in call.args.get("blocks") or []:
        if block.get("type") == "actions":
            for el in block["elements"]:
                out[el["action_id"]] = el.get("value", "")
    return out


# signed requests ------------------------------------------------------------------------------


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Response:
    status: int
    body: str
    seconds: float


def post(url: str, body: str, content_type: str, headers: dict[str, str]) -> Response:
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": content_type, **headers})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Response(resp.status, resp.read().decode(), time.perf_counter() - started)
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read().decode(), time.perf_counter() - started)


class SlackClientSim:
    """Sends what Slack sends: slash commands, events, block actions — signed with ``secret``."""

    def __init__(self, events_url: str, secret: str) -> None:
        self.url = events_url
        self.secret = secret

    def command(self, text: str, *, channel: str = "C1", user: str = "U1", command: str = "/copy", **sig: Any) -> Response:
        body = urllib.parse.urlencode(
            {
                "command": command,
                "text": text,
                "channel_id": channel,
                "user_id": user,
                "team_id": TEAM,
                "response_url": "http://127.0.0.1:9/unused",
                "trigger_id": "1.2.3",
            }
        )
        return self._send(body, "application/x-www-form-urlencoded", **sig)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None, **sig: Any) -> Response:
        payload = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return self._send(json.dumps(payload), "application/json", extra=extra, **sig)

    def thread_reply(self, text: str, thread_ts: str, *, channel: str = "C1", user: str = "U1", **kw: Any) -> Response:
        ts = f"{time.time():.6f}"
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "thread_ts": thread_ts, "team": TEAM}
        return self.event(event, **kw)

    def mention(self, text: str, *, channel: str = "C1", user: str = "U1", thread_ts: str | None = None, **kw: Any) -> Response:
        ts = f"{time.time():.6f}"
        event = {"type": "app_mention", "channel": channel, "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "team": TEAM}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kw)

    def click(self, action_id: str, value: str, *, message_ts: str, channel: str = "C1", user: str = "U1") -> Response:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user},
            "api_app_id": "A1",
            "trigger_id": "1.2.3",
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "message": {"ts": message_ts, "text": "draft"},
            "actions": [{"action_id": action_id, "block_id": "copy_actions", "value": value, "type": "button"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._send(body, "application/x-www-form-urlencoded")

    def _send(self, body: str, content_type: str, *, extra: dict[str, str] | None = None,
              secret: str | None = None, timestamp: int | None = None) -> Response:
        headers = sign(secret if secret is not None else self.secret, body, timestamp)
        headers.update(extra or {})
        return post(self.url, body, content_type, headers)


class RunningBot:
    """A CopyBot served over real HTTP on 127.0.0.1 (random port), as ``copyloop slack serve`` does."""

    def __init__(self, settings: Any, engine: Any) -> None:
        from copyloop.slack.app import EVENTS_PATH, build_bot, make_http_server

        self.bot = build_bot(settings, engine=engine)
        self.server = make_http_server(self.bot.app, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.events_url = f"http://127.0.0.1:{self.server.server_port}{EVENTS_PATH}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.bot.drain(timeout=60)
        self.bot.close()
