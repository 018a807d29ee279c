"""Who is signed in: web sessions, API tokens and the limits on failed sign-ins.

A session lives on the server (the WebSessionStore): the cookie holds only a random token,
the store its SHA-256, the user, the user's session version and the CSRF token. Signing out,
changing the password and "sign out everywhere" end sessions there, so a saved cookie stops
working at once; disabling a user bumps the version and ends them too.

An API token is a named bearer token (the ApiTokenStore), revocable on its own and optionally
read-only; it stops working when its user is disabled.

Failed sign-ins are counted in the database per normalised username and per client address,
so every web process shares them; a successful sign-in clears only its own username's count.
The web app (web/security.py) and the CLI (`fairwell users token`) share these.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fairwell.domain.users import check_username
from fairwell.errors import InvalidInput
from fairwell.ports.users import (
    ApiTokenStore,
    SessionRow,
    SigninFailureStore,
    TokenRow,
    WebSessionStore,
)

SESSION_MAX_AGE = 8 * 3600
TOKEN_PREFIX = "fw_"  # noqa: S105 - a prefix that marks our tokens, not a secret
TOKEN_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser (``key`` is its row) or an API token (``key`` is empty)."""

    user_id: int
    version: int | None
    csrf: str
    key: str = ""
    read_only: bool = False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Sessions:
    """Issue, read and end sessions and API tokens; the database is the only truth."""

    def __init__(self, sessions: WebSessionStore, tokens: ApiTokenStore) -> None:
        self._sessions = sessions
        self._tokens = tokens

    # browser sessions

    def issue(self, user_id: int, version: int, now: datetime) -> tuple[str, Session]:
        cookie = secrets.token_urlsafe(32)
        row = SessionRow(_digest(cookie), user_id, version, secrets.token_urlsafe(32))
        self._sessions.add(row, now, now + timedelta(seconds=SESSION_MAX_AGE))
        return cookie, Session(user_id, version, row.csrf, row.key)

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        if not cookie or len(cookie) > 200:
            return None
        row = self._sessions.live(_digest(cookie), now)
        if row is None:
            return None
        return Session(row.user_id, row.session_version, row.csrf, row.key)

    def end(self, session: Session, now: datetime) -> None:
        if session.key:
            self._sessions.end(session.key, now)

    def end_all(
        self, user_id: int, now: datetime, *, actor: str, keep: Session | None = None
    ) -> int:
        """End every session of the user (all but ``keep``'s); return how many ended."""
        return self._sessions.end_all(user_id, now, actor=actor, keep=keep.key if keep else None)

    def live_count(self, user_id: int, now: datetime) -> int:
        return self._sessions.count_live(user_id, now)

    # API tokens

    def create_token(
        self, user_id: int, name: str, read_only: bool, *, actor: str, now: datetime
    ) -> str:
        """A new bearer token, shown to its owner once: ``fw_<random>``."""
        label = " ".join(name.split())[:TOKEN_NAME_MAX]
        if not label:
            raise InvalidInput("give the token a name, e.g. what script uses it")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._tokens.add(user_id, label, _digest(token), read_only, actor, now)
        return token

    def read_api_token(self, token: str | None, now: datetime) -> Session | None:
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self._tokens.by_hash(_digest(token), now)
        if row is None:
            return None
        return Session(row.user_id, None, csrf="", read_only=row.read_only)

    def tokens_of(self, user_id: int) -> list[TokenRow]:
        return self._tokens.of_user(user_id)

    def revoke_token(self, user_id: int, token_id: int, *, actor: str, now: datetime) -> bool:
        return self._tokens.revoke(user_id, token_id, actor, now)


def username_key(raw: str) -> str:
    """The limiter's key for a typed username: the account it would sign in to.

    " admin", "ADMIN " and "Admin" are one account and one count. A name that cannot be a
    username still gets a stable key (stripped, case-folded), so guessing at it is counted.
    """
    try:
        return "user:" + check_username(raw)
    except InvalidInput:
        return "user:" + raw.strip().casefold()[:150]


class SigninLimiter:
    """At most ``limit`` failures per key (username, client address) per ``window``.

    Kept in the database: every web process and every restart sees the same counts.
    """

    def __init__(
        self,
        failures: SigninFailureStore,
        limit: int = 5,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self.limit, self.window = limit, window
        self._failures = failures

    def blocked(self, now: datetime, *keys: str) -> bool:
        counts = self._failures.counts(keys, now - self.window)
        return any(counts.get(key, 0) >= self.limit for key in keys)

    def failed(self, now: datetime, *keys: str) -> None:
        # Rows older than a day serve no limit of ours; each failure sweeps them.
        self._failures.add(keys, now, now - max(self.window, timedelta(days=1)))

    def succeeded(self, user_key: str) -> None:
        """A right password clears its own username's count, never an address's: one
        account's success must not reset the count of someone guessing at another."""
        self._failures.clear(user_key)
