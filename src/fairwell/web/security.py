"""Sessions, CSRF tokens and sign-in rate limiting for the web app.

A session is a signed, timed cookie holding the user's id, the user's session version and a
CSRF token. Disabling a user bumps the version, so every session of that user ends at the
next request. Every form carries the CSRF token; a POST without the session's token is
refused. Sign-in attempts are limited per client address and per username.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "fw_session"
SIGNIN_CSRF_COOKIE = "fw_signin_csrf"
SESSION_SALT = "fairwell.web.session"
SESSION_MAX_AGE = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    version: int
    csrf: str


API_SALT = "fairwell.web.api"  # salt of the API bearer tokens
API_TOKEN_MAX_AGE = 90 * 24 * 3600


class Sessions:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)
        self._tokens = URLSafeTimedSerializer(secret_key, salt=API_SALT)

    def api_token(self, user_id: int, version: int) -> str:
        """A bearer token for scripts; disabling the user (a new version) revokes it."""
        return self._tokens.dumps({"u": user_id, "v": version})

    def read_api_token(self, token: str | None) -> Session | None:
        if not token:
            return None
        try:
            data = self._tokens.loads(token, max_age=API_TOKEN_MAX_AGE)
            return Session(int(data["u"]), int(data["v"]), csrf="")
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def issue(self, user_id: int, version: int) -> tuple[str, Session]:
        session = Session(user_id, version, secrets.token_urlsafe(32))
        cookie = self._serializer.dumps({"u": user_id, "v": version, "c": session.csrf})
        return cookie, session

    def read(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
            return Session(int(data["u"]), int(data["v"]), str(data["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an absent token never matches."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


class SigninLimiter:
    """At most ``limit`` failed sign-ins per key (client address, username) per ``window``."""

    def __init__(self, limit: int = 5, window_seconds: float = 900.0) -> None:
        self.limit, self.window = limit, window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
