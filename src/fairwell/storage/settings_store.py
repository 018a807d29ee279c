"""Edited reason wording and letter templates over SQLAlchemy Core (the LetterSettingsStore port).

A row in ``reason_wordings`` or ``template_overrides`` wins over the built-in wording or the
packaged template. Every save and reset is audited with the code, locale or template name
only: never the text itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, Table, delete, insert, select

from fairwell.ports import LetterOverrides, OverrideRecord
from fairwell.storage.rows import audit
from fairwell.storage.tables import reason_wordings, template_overrides


class SqlLetterSettings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction; on SQLite it never waits for a writer (WAL)."""
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=False)
            with conn.begin():
                yield conn

    def overrides(self) -> LetterOverrides:
        """Every edited wording and template, read in one transaction."""
        with self._read() as conn:
            wordings = conn.execute(
                select(reason_wordings.c.code, reason_wordings.c.locale, reason_wordings.c.wording)
            ).all()
            templates = conn.execute(
                select(template_overrides.c.name, template_overrides.c.source)
            ).all()
        return LetterOverrides(
            wordings={(row.code, row.locale): row.wording for row in wordings},
            templates={row.name: row.source for row in templates},
        )

    def wording_records(self) -> list[OverrideRecord]:
        """Who edited which wording when, keyed ``<code>/<locale>``."""
        query = select(
            reason_wordings.c.code,
            reason_wordings.c.locale,
            reason_wordings.c.updated_by,
            reason_wordings.c.updated_at,
        ).order_by(reason_wordings.c.code, reason_wordings.c.locale)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [OverrideRecord(f"{r.code}/{r.locale}", r.updated_by, r.updated_at) for r in rows]

    def template_records(self) -> list[OverrideRecord]:
        """Who edited which template when, keyed by template name."""
        columns = template_overrides.c
        query = select(columns.name, columns.updated_by, columns.updated_at).order_by(columns.name)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [OverrideRecord(r.name, r.updated_by, r.updated_at) for r in rows]

    def save_wording(self, code: str, locale: str, wording: str, actor: str, now: datetime) -> None:
        keys: dict[str, object] = {"code": code, "locale": locale}
        with self.engine.begin() as conn:
            _replace(conn, reason_wordings, keys, {"wording": wording}, actor, now)
            audit(conn, actor, "reason_wording.saved", "reason_wording", None, keys, now)

    def reset_wording(self, code: str, locale: str, actor: str, now: datetime) -> bool:
        """Delete the edited wording; return False when there was none (nothing is audited)."""
        keys: dict[str, object] = {"code": code, "locale": locale}
        with self.engine.begin() as conn:
            removed = _remove(conn, reason_wordings, keys)
            if removed:
                audit(conn, actor, "reason_wording.reset", "reason_wording", None, keys, now)
        return removed

    def save_template(self, name: str, source: str, actor: str, now: datetime) -> None:
        keys: dict[str, object] = {"name": name}
        with self.engine.begin() as conn:
            _replace(conn, template_overrides, keys, {"source": source}, actor, now)
            audit(conn, actor, "template.saved", "template", None, keys, now)

    def reset_template(self, name: str, actor: str, now: datetime) -> bool:
        """Delete the edited template; return False when there was none (nothing is audited)."""
        keys: dict[str, object] = {"name": name}
        with self.engine.begin() as conn:
            removed = _remove(conn, template_overrides, keys)
            if removed:
                audit(conn, actor, "template.reset", "template", None, keys, now)
        return removed


def _where(table: Table, keys: dict[str, object]) -> list[ColumnElement[bool]]:
    return [table.c[column] == value for column, value in keys.items()]


def _replace(
    conn: Connection,
    table: Table,
    keys: dict[str, object],
    values: dict[str, str],
    actor: str,
    now: datetime,
) -> None:
    # Delete then insert in one transaction: the same statements on SQLite and PostgreSQL,
    # and the row count says nothing about whether the row existed (no upsert dialects).
    conn.execute(delete(table).where(*_where(table, keys)))
    conn.execute(insert(table).values(**keys, **values, updated_by=actor, updated_at=now))


def _remove(conn: Connection, table: Table, keys: dict[str, object]) -> bool:
    return conn.execute(delete(table).where(*_where(table, keys))).rowcount > 0
