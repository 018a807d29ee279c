"""Local user accounts over SQLAlchemy Core: the UserStore port (see services/users.py).

The audit log records that an account was added or disabled, with its id and role; never the
username (an employee identifier) and never the hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from fairwell.domain.users import Role, User
from fairwell.errors import InvalidInput, NotFound
from fairwell.storage.rows import audit
from fairwell.storage.tables import job_managers, users

_USER_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.role,
    users.c.disabled,
    users.c.session_version,
)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        disabled=bool(row.disabled),
        session_version=row.session_version,
    )


class SqlUserStore:
    """Every method is one transaction, like SqlStore's.

    Usernames are compared exactly: callers pass them normalised (domain.users.check_username).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, username: str, password_hash: str, role: Role, actor: str, now: datetime) -> User:
        """Create an enabled account; raise InvalidInput when the username is taken."""
        taken = InvalidInput(f"a user named {username!r} already exists")
        try:
            with self.engine.begin() as conn:
                if self._id_of(conn, username) is not None:
                    raise taken
                inserted = conn.execute(
                    insert(users).values(
                        username=username,
                        password_hash=password_hash,
                        role=role.value,
                        disabled=False,
                        session_version=1,
                        created_at=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                user_id = int(inserted[0])
                audit(conn, actor, "user.added", "user", user_id, {"role": role.value}, now)
        except IntegrityError:
            # Another process added the same name in between. The driver's message carries
            # the statement's parameters, the hash among them: it is not passed on.
            raise taken from None
        return User(user_id, username, role, disabled=False, session_version=1)

    def by_username(self, username: str) -> tuple[User, str] | None:
        """Return the account and its password hash, or None."""
        query = select(*_USER_COLUMNS, users.c.password_hash).where(users.c.username == username)
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
        return None if row is None else (_user(row), row.password_hash)

    def by_id(self, user_id: int) -> User | None:
        query = select(*_USER_COLUMNS).where(users.c.id == user_id)
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        """Every account, by username."""
        query = select(*_USER_COLUMNS).order_by(users.c.username)
        with self.engine.begin() as conn:
            return [_user(row) for row in conn.execute(query)]

    def set_hash(self, user_id: int, new_hash: str) -> None:
        """Replace the hash of the same password (a rehash with newer parameters).

        Not audited: the password, the role and the sessions stay as they were.
        """
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=new_hash)
            )
            if changed.rowcount != 1:
                raise NotFound(f"no user with id {user_id}")

    def change_password(self, user_id: int, new_hash: str, actor: str, now: datetime) -> None:
        """A new password: its hash replaces the old one, audited (never the hash)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=new_hash)
            )
            if changed.rowcount != 1:
                raise NotFound(f"no user with id {user_id}")
            audit(conn, actor, "user.password-changed", "user", user_id, {}, now)

    def disable(self, username: str, actor: str, now: datetime) -> None:
        """Refuse the account's sign-ins and end every session of it (session_version + 1).

        Disabling a disabled account ends its sessions again and is audited again.
        Raise NotFound for an unknown username.
        """
        with self.engine.begin() as conn:
            row = conn.execute(
                select(users.c.id, users.c.role).where(users.c.username == username)
            ).first()
            if row is None:
                raise NotFound(f"no user named {username!r}; `fairwell users list` lists them")
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(disabled=True, session_version=users.c.session_version + 1)
            )
            audit(conn, actor, "user.disabled", "user", row.id, {"role": row.role}, now)

    @staticmethod
    def _id_of(conn: Connection, username: str) -> int | None:
        found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        return None if found is None else int(found)


class SqlJobManagers:
    """Which hiring managers look after which jobs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def assign(self, job_id: int, user_id: int, actor: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(job_managers.c.job_id).where(
                    job_managers.c.job_id == job_id, job_managers.c.user_id == user_id
                )
            ).first()
            if exists is None:
                conn.execute(insert(job_managers).values(job_id=job_id, user_id=user_id))
                audit(conn, actor, "job.manager-assigned", "job", job_id, {"user_id": user_id}, now)

    def jobs_of(self, user_id: int) -> set[int]:
        query = select(job_managers.c.job_id).where(job_managers.c.user_id == user_id)
        with self.engine.begin() as conn:
            return set(conn.execute(query).scalars())
