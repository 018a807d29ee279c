"""Accounts, which jobs a hiring manager looks after, and how people stay signed in: web
sessions, API tokens and failed sign-ins (storage/users_store.py, storage/web_access.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.users import Role, User


class UserStore(Protocol):
    """Persistence of accounts (storage/users_store.py). Every method is one transaction."""

    def add(
        self, username: str, password_hash: str, role: Role, actor: str, now: datetime
    ) -> User: ...

    def by_username(self, username: str) -> tuple[User, str] | None: ...

    def by_id(self, user_id: int) -> User | None: ...

    def all(self) -> list[User]: ...

    def set_hash(self, user_id: int, new_hash: str) -> None: ...

    def change_password(self, user_id: int, new_hash: str, actor: str, now: datetime) -> None: ...

    def disable(self, username: str, actor: str, now: datetime) -> None: ...


class JobManagers(Protocol):
    """Which jobs a hiring manager looks after (storage/users_store.py)."""

    def assign(self, job_id: int, user_id: int, actor: str, now: datetime) -> None: ...

    def jobs_of(self, user_id: int) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A browser session as stored: the SHA-256 of its cookie (``key``), never the cookie."""

    key: str
    user_id: int
    session_version: int
    csrf: str


@dataclass(frozen=True, slots=True)
class TokenRow:
    """An API token as stored (its secret's hash stays in the store)."""

    id: int
    user_id: int
    name: str
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class WebSessionStore(Protocol):
    """Browser sessions (storage/web_access.py): the database is the only truth."""

    def add(self, row: SessionRow, now: datetime, expires_at: datetime) -> None: ...

    def live(self, key: str, now: datetime) -> SessionRow | None: ...

    def end(self, key: str, now: datetime) -> None: ...

    def end_all(
        self, user_id: int, now: datetime, *, actor: str, keep: str | None = None
    ) -> int: ...

    def count_live(self, user_id: int, now: datetime) -> int: ...


class ApiTokenStore(Protocol):
    """Named bearer tokens (storage/web_access.py), found by the hash of their secret."""

    def add(
        self,
        user_id: int,
        name: str,
        secret_hash: str,
        read_only: bool,
        actor: str,
        now: datetime,
    ) -> int: ...

    def by_hash(self, secret_hash: str, now: datetime) -> TokenRow | None: ...

    def of_user(self, user_id: int) -> list[TokenRow]: ...

    def revoke(self, user_id: int, token_id: int, actor: str, now: datetime) -> bool: ...


class SigninFailureStore(Protocol):
    """Failed sign-ins per key (a username or a client address), shared by every process."""

    def counts(self, keys: tuple[str, ...], since: datetime) -> dict[str, int]: ...

    def add(self, keys: tuple[str, ...], now: datetime, forget_before: datetime) -> None: ...

    def clear(self, key: str) -> None: ...
