"""What every store of store.py's seams shares: an engine, and transactions named for what
they do (see storage/engine.py on what ``write``, ``durable`` and ``bulk`` change on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.dialects import postgresql, sqlite

# Rows per INSERT and ids per IN list: well under SQLite's and PostgreSQL's bound-parameter limits.
INSERT_CHUNK = 500


def dialect_insert(postgres: bool, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own INSERT, which has ON CONFLICT. The dialect is imported when asked, not
    at start: a process on SQLite then never loads PostgreSQL's (about 20 ms of the start of
    every delivering process, which reserves send slots with it)."""
    if postgres:
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


class SqlBase:
    """One SQLAlchemy engine (SQLite or PostgreSQL); one method of a store, one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _transaction(
        self, write: bool, durable: bool = True, bulk: bool = False
    ) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(
                fairwell_write=write, fairwell_durable=durable, fairwell_bulk=bulk
            )
            with conn.begin():
                yield conn

    def _read(self) -> AbstractContextManager[Connection]:
        """A read transaction; on SQLite it never waits for a writer (WAL)."""
        return self._transaction(write=False)

    def _write(self) -> AbstractContextManager[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (IMMEDIATE)."""
        return self._transaction(write=True)

    def _bulk_write(self) -> AbstractContextManager[Connection]:
        """A write transaction of very many one-row statements (an import); on SQLite it has
        a bigger page cache and its statement journal in memory (storage/engine.py)."""
        return self._transaction(write=True, bulk=True)

    def _bookkeeping(self) -> AbstractContextManager[Connection]:
        """A write transaction for delivery bookkeeping; see storage/engine.py on durability."""
        return self._transaction(write=True, durable=False)
