"""Who may use the web app right now: sessions, failed sign-ins and API tokens (migration 0021).

Everything here is keyed by hashes and ids: a cookie's or token's value is never stored, and
the audit log names users by id only. Every method is one transaction, so several web
processes share sessions, limits and tokens through the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import Row

from fairwell.ports.users import SessionRow, TokenRow
from fairwell.storage.rows import audit
from fairwell.storage.tables import api_tokens, signin_failures, web_sessions


class SqlWebSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, row: SessionRow, now: datetime, expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    id=row.key,
                    user_id=row.user_id,
                    session_version=row.session_version,
                    csrf=row.csrf,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def live(self, key: str, now: datetime) -> SessionRow | None:
        """The session if it has neither ended nor expired."""
        query = select(web_sessions).where(
            web_sessions.c.id == key,
            web_sessions.c.ended_at.is_(None),
            web_sessions.c.expires_at > now,
        )
        with self.engine.begin() as conn:
            found = conn.execute(query).first()
        if found is None:
            return None
        return SessionRow(found.id, found.user_id, found.session_version, found.csrf)

    def end(self, key: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id == key, web_sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )

    def end_all(self, user_id: int, now: datetime, *, actor: str, keep: str | None = None) -> int:
        """End every live session of the user (but ``keep``); return how many ended."""
        condition = [web_sessions.c.user_id == user_id, web_sessions.c.ended_at.is_(None)]
        if keep is not None:
            condition.append(web_sessions.c.id != keep)
        with self.engine.begin() as conn:
            ended = conn.execute(update(web_sessions).where(*condition).values(ended_at=now))
            audit(
                conn, actor, "user.sessions-ended", "user", user_id, {"ended": ended.rowcount}, now
            )
            # Old rows serve no one: anything ended or expired a day ago goes.
            conn.execute(
                delete(web_sessions).where(web_sessions.c.expires_at < now - timedelta(days=1))
            )
        return int(ended.rowcount)

    def count_live(self, user_id: int, now: datetime) -> int:
        query = select(func.count()).where(
            web_sessions.c.user_id == user_id,
            web_sessions.c.ended_at.is_(None),
            web_sessions.c.expires_at > now,
        )
        with self.engine.begin() as conn:
            return int(conn.execute(query).scalar_one())


class SqlSigninFailures:
    """Failures per key within a window: the sign-in and fresh-link limits of every process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counts(self, keys: tuple[str, ...], since: datetime) -> dict[str, int]:
        query = (
            select(signin_failures.c.key, func.count())
            .where(signin_failures.c.key.in_(keys), signin_failures.c.at > since)
            .group_by(signin_failures.c.key)
        )
        with self.engine.begin() as conn:
            return {key: int(count) for key, count in conn.execute(query).tuples()}

    def add(self, keys: tuple[str, ...], now: datetime, forget_before: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(signin_failures), [{"key": key, "at": now} for key in keys])
            conn.execute(delete(signin_failures).where(signin_failures.c.at < forget_before))

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(signin_failures).where(signin_failures.c.key == key))


class SqlApiTokens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self, user_id: int, name: str, secret_hash: str, read_only: bool, actor: str, now: datetime
    ) -> int:
        with self.engine.begin() as conn:
            inserted = conn.execute(
                insert(api_tokens).values(
                    user_id=user_id,
                    name=name,
                    secret_hash=secret_hash,
                    read_only=read_only,
                    created_at=now,
                )
            ).inserted_primary_key
            assert inserted is not None
            token_id = int(inserted[0])
            detail: dict[str, object] = {"token": token_id, "read_only": read_only}
            audit(conn, actor, "user.token-created", "user", user_id, detail, now)
        return token_id

    def by_hash(self, secret_hash: str, now: datetime) -> TokenRow | None:
        """A token that is not revoked; its last use becomes now."""
        query = select(api_tokens).where(
            api_tokens.c.secret_hash == secret_hash, api_tokens.c.revoked_at.is_(None)
        )
        with self.engine.begin() as conn:
            found = conn.execute(query).first()
            if found is None:
                return None
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == found.id).values(last_used_at=now)
            )
        return _token(found)

    def of_user(self, user_id: int) -> list[TokenRow]:
        query = select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
        with self.engine.begin() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke(self, user_id: int, token_id: int, actor: str, now: datetime) -> bool:
        """Revoke one of the user's tokens; False when it is not theirs or already revoked."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.id == token_id,
                    api_tokens.c.user_id == user_id,
                    api_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            ).rowcount
            if changed:
                audit(conn, actor, "user.token-revoked", "user", user_id, {"token": token_id}, now)
        return bool(changed)


def _token(row: Row[Any]) -> TokenRow:
    return TokenRow(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        read_only=bool(row.read_only),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
