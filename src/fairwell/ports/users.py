"""Accounts and which jobs a hiring manager looks after (storage/users_store.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

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

    def jobs_of(self, user_id: int) -> set[int]: ...
