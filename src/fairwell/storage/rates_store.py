"""Send slots shared by every worker: one row per rate in the ``controls`` table.

Each row holds the earliest time (seconds since the epoch) the next letter under that rate
may start. Reserving a slot reads the rows, takes the latest of them and now, and moves each
row one interval past it, in one write transaction: BEGIN IMMEDIATE on SQLite, row locks on
PostgreSQL. So any number of worker processes, on any number of machines, keep one rate
between them. The rows are bookkeeping: written without waiting for the disk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select, update

from fairwell.storage.base import dialect_insert
from fairwell.storage.tables import controls

BACKOFF = "rate:backoff-until"
# Why the last back-off began: the relay's failure, as the worker that met it described it.
BACKOFF_WHY = "rate:backoff-why"
WHY_LENGTH = 200  # controls.value's width


class SqlSendSlots:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _bookkeeping(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=True, fairwell_durable=False)
            with conn.begin():
                yield conn

    def reserve(self, intervals: Sequence[tuple[str, float]], now: float) -> float:
        """Reserve the next slot under every (rate name, seconds between letters); return when
        it starts. A relay's slow-down (see ``back_off``) delays every slot."""
        names = [name for name, _ in intervals]
        with self._bookkeeping() as conn:
            current = self._locked(conn, sorted({*names, BACKOFF}))
            start = max([now, *current.values()])
            for name, interval in intervals:
                conn.execute(
                    update(controls)
                    .where(controls.c.name == name)
                    .values(value=repr(start + interval))
                )
        return start

    def back_off(self, until: float, why: str = "") -> None:
        """No slot starts before ``until`` (a relay said 421 or 454, or cannot be reached);
        ``why`` says which, for `fairwell send` to show."""
        with self._bookkeeping() as conn:
            current = self._locked(conn, [BACKOFF])[BACKOFF]
            conn.execute(
                update(controls)
                .where(controls.c.name == BACKOFF)
                .values(value=repr(max(current, until)))
            )
            if why:
                why = why[:WHY_LENGTH]
                conn.execute(
                    dialect_insert(self._postgres, controls)
                    .values(name=BACKOFF_WHY, value=why)
                    .on_conflict_do_update(index_elements=["name"], set_={"value": why})
                )

    def backoff_until(self) -> float:
        value = self._value(BACKOFF)
        return float(value) if value is not None else 0.0

    def backoff_reason(self) -> str:
        """The relay's failure that began the last back-off ("" when none was given)."""
        return self._value(BACKOFF_WHY) or ""

    def _value(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(controls.c.value).where(controls.c.name == name))
            return value.scalar()

    def _locked(self, conn: Connection, names: list[str]) -> dict[str, float]:
        """The rows' values, created at 0 when missing, locked until the transaction ends.

        ``names`` come sorted, and PostgreSQL locks them in that order, so two workers taking
        overlapping sets of rates never wait for each other in a circle.
        """
        conn.execute(
            dialect_insert(self._postgres, controls)
            .values([{"name": name, "value": "0"} for name in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )
        query = (
            select(controls.c.name, controls.c.value)
            .where(controls.c.name.in_(names))
            .order_by(controls.c.name)
        )
        if self._postgres:
            query = query.with_for_update()
        return {name: float(value) for name, value in conn.execute(query).tuples()}
