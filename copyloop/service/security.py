"""Who may call the service: API keys, workbench logins, and where the server may listen.

Keys come only from ``Settings.api_keys`` (``COPYLOOP_API_KEYS``, comma-separated, a SecretStr).
A key is never logged, stored or echoed: requests are attributed to a *key id*, the first 12 hex
digits of the key's SHA-256, which is what rate limiting and logs use.

- The JSON API (``/v1``) takes ``Authorization: Bearer <key>``; a missing or wrong key is 401.
- The workbench (``/``, ``/ui``, ``/static``) is opened in a browser, which cannot add a header
  to a page load or an EventSource: the marketer types a key once on ``/login`` and gets an
  HttpOnly, SameSite=Strict cookie holding a random login token (never the key), valid for
  ``service.login_hours`` and forgotten when the server restarts. A Bearer header works there too.
- ``/healthz`` and ``/login`` are the only routes without a key.
- With no key configured there is nothing to check, so the server must stay private: ``serve``
  refuses to listen on anything but loopback, and every request from a non-loopback peer is
  refused (403) in case the app is mounted some other way.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass

from copyloop.errors import InputError

LOOPBACK_NAMES = ("localhost",)
COOKIE_NAME = "copyloop_login"


def key_id(key: str) -> str:
    """A loggable stand-in for a key."""
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost' (what may listen or connect without a key)."""
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: list[str]) -> None:
    """Refuse to listen beyond this machine when no API key is configured."""
    if not keys and not is_loopback(host):
        raise InputError(
            f"refusing to listen on {host!r} without an API key: anyone who can reach it could use the model. "
            "Set COPYLOOP_API_KEYS (comma-separated keys) or listen on 127.0.0.1, ::1 or localhost",
            field="host",
        )


class KeyRing:
    """The configured keys, compared in constant time."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode("utf-8") for k in keys]
        self.ids = {k: key_id(k) for k in keys}

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, presented: str | None) -> str | None:
        """The key id of ``presented``, or None when it is not a configured key."""
        if not presented:
            return None
        raw = presented.encode("utf-8", "surrogatepass")
        found = None
        for key in self._keys:  # no early exit: every key is compared
            if hmac.compare_digest(raw, key):
                found = key
        return key_id(found.decode("utf-8")) if found is not None else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass
class Login:
    key_id: str
    expires: float


class LoginStore:
    """Workbench logins: random token -> key id, in memory, with an expiry."""

    def __init__(self, hours: float) -> None:
        self.seconds = hours * 3600.0
        self._logins: dict[str, Login] = {}
        self._lock = threading.Lock()

    def create(self, kid: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._logins = {t: login for t, login in self._logins.items() if login.expires > now}
            self._logins[token] = Login(kid, now + self.seconds)
        return token

    def lookup(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            login = self._logins.get(token)
            if login is None:
                return None
            if login.expires <= time.time():
                del self._logins[token]
                return None
            return login.key_id

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._logins.pop(token, None)


__all__ = ["COOKIE_NAME", "KeyRing", "LoginStore", "bearer_token", "check_bind", "is_loopback", "key_id"]
