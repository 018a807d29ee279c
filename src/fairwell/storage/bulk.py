"""Many rows into one table, straight to the driver: an import's people and applications, a
rejection's decisions, a plan's staged letters and their bodies.

SQLAlchemy's executemany builds a parameter dict for every row and binds every value anew;
for a 100,000-letter plan that was about a third of storing it. Here the statement is
compiled once per table, columns and dialect, each column's bind processor (SQLAlchemy's
own, so values are stored exactly as an ORM insert stores them) runs once per distinct
value, and tuples go to the driver's executemany.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect

from fairwell.storage.base import INSERT_CHUNK

# A bound value's processed form, kept per writer: a big write repeats its moments, dates and
# flags. Bounded, so a million distinct interview times do not stay in memory.
_DISTINCT_VALUES = 4096


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The bound parameters' names in the statement's order (None: positional, see order).
    names: tuple[str, ...] | None
    # Picks the statement's order out of the caller's columns.
    order: Callable[[Sequence[Any]], Any]
    # (where in the caller's columns, the column type's bind processor).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


@cache
def _compiled(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Compiled:
    """The INSERT for these columns, compiled once a process for each dialect."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    names = list(compiled.positiontup or ()) if compiled.positional else list(columns)
    assert sorted(names) == sorted(columns), "one bound parameter per column"
    processors = []
    for at, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((at, process))
    return _Compiled(
        sql=compiled.string,
        names=None if compiled.positional else tuple(names),
        order=itemgetter(*(columns.index(name) for name in names)),
        processors=tuple(processors),
    )


class BulkInsert:
    """One INSERT of many rows of ``columns``, each value bound exactly as SQLAlchemy binds it
    (its column type's own processor for this dialect), but each distinct value once."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self.conn = conn
        self._statement = _compiled(table, tuple(columns), conn.dialect)
        self._binds = [
            (at, lru_cache(maxsize=_DISTINCT_VALUES)(process))
            for at, process in self._statement.processors
        ]

    def __call__(self, rows: Iterable[Sequence[Any]]) -> None:
        """Insert the rows (values in the order of ``columns``), INSERT_CHUNK at a time."""
        bound = map(self._bound, rows)
        while chunk := list(itertools.islice(bound, INSERT_CHUNK)):
            self.conn.exec_driver_sql(self._statement.sql, chunk)

    def _bound(self, row: Sequence[Any]) -> Any:
        ordered = _ordered(self._statement, self._binds, row)
        if self._statement.names is None:
            return ordered
        return dict(zip(self._statement.names, ordered, strict=True))


def _ordered(
    statement: _Compiled, binds: Iterable[tuple[int, Callable[[Any], Any]]], row: Sequence[Any]
) -> tuple[Any, ...]:
    """The row's values bound by ``binds`` (column types' processors), in the statement's
    order."""
    values = list(row)
    for at, process in binds:
        values[at] = process(values[at])
    ordered = statement.order(values)
    return ordered if isinstance(ordered, tuple) else (ordered,)


def insert_returning_ids(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert the rows (values in the order of ``columns``); their new ids, in their order.

    On SQLite one row at a time, each id read from the connection (``lastrowid``), which is
    exact and needs no RETURNING; a row's values are bound by their column types' processors
    but not cached (a letter's bytes are distinct and large). Elsewhere SQLAlchemy's own
    batched INSERT ... RETURNING, sorted back into the rows' order.
    """
    if conn.dialect.name != "sqlite":
        made = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        named = [dict(zip(columns, row, strict=True)) for row in rows]
        return list(conn.execute(made, named).scalars())
    statement = _compiled(table, tuple(columns), conn.dialect)
    assert statement.names is None, "SQLite's driver binds by position"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    ids: list[int] = []
    try:
        for row in rows:
            cursor.execute(statement.sql, _ordered(statement, statement.processors, row))
            ids.append(int(cursor.lastrowid))
    finally:
        cursor.close()
    return ids
