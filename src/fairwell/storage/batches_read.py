"""Batches as the web pages show them: job, who, when, progress; and pausing one batch.

A batch's ``state`` is what the claiming query reads (only ``active`` batches are claimed,
storage/claims.py), so pausing one batch is one UPDATE: no letter moves, and resuming
lets the workers pick them up where they were. The guard pauses a batch the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.engine import Row

from fairwell.domain.model import BATCH_PAUSED, FINAL_STATES, PAUSED_BATCH_STATES
from fairwell.errors import InvalidInput, NotFound
from fairwell.ports import BatchSummary, OutboxRow
from fairwell.storage.rows import audit, outbox_row
from fairwell.storage.tables import batches, jobs, outbox

_FINAL = [state.value for state in FINAL_STATES]


class SqlBatches:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _query(self) -> Any:
        done = func.sum(case((outbox.c.state.in_(_FINAL), 1), else_=0))
        return (
            select(
                batches.c.id,
                batches.c.job_id,
                jobs.c.title,
                batches.c.created_by,
                batches.c.created_at,
                batches.c.state,
                func.count(outbox.c.id),
                done,
            )
            .join(jobs, jobs.c.id == batches.c.job_id)
            .outerjoin(outbox, outbox.c.batch_id == batches.c.id)
            .group_by(
                batches.c.id,
                batches.c.job_id,
                jobs.c.title,
                batches.c.created_by,
                batches.c.created_at,
                batches.c.state,
            )
        )

    def summary(self, batch_id: int) -> BatchSummary:
        with self.engine.begin() as conn:
            row = conn.execute(self._query().where(batches.c.id == batch_id)).first()
        if row is None:
            raise NotFound(f"no batch {batch_id}")
        return _summary(row)

    def unfinished(self, limit: int = 20) -> list[BatchSummary]:
        """Batches with letters still to go, newest first."""
        query = self._query().order_by(batches.c.id.desc())
        with self.engine.begin() as conn:
            found = [_summary(row) for row in conn.execute(query)]
        return [b for b in found if b.done < b.total][:limit]

    def outbox_page(
        self,
        state: str | None,
        batch_id: int | None,
        search: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[OutboxRow]]:
        """One page of the outbox, newest first, filtered by state, batch and recipient."""
        conditions = []
        if state:
            conditions.append(outbox.c.state == state)
        if batch_id is not None:
            conditions.append(outbox.c.batch_id == batch_id)
        if search:
            conditions.append(outbox.c.recipient.contains(search.lower(), autoescape=True))
        counted = select(func.count()).select_from(outbox).where(*conditions)
        query = (
            select(outbox)
            .where(*conditions)
            .order_by(outbox.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.begin() as conn:
            total = int(conn.execute(counted).scalar_one())
            rows = [outbox_row(row) for row in conn.execute(query)]
        return total, rows

    def set_paused(self, batch_id: int, paused: bool, actor: str, now: datetime) -> None:
        """Pause or resume one batch; a stopped batch is resumed by requeueing it instead."""
        wanted, was = (BATCH_PAUSED, ("active",)) if paused else ("active", PAUSED_BATCH_STATES)
        with self.engine.begin() as conn:
            state = conn.execute(select(batches.c.state).where(batches.c.id == batch_id)).scalar()
            if state is None:
                raise NotFound(f"no batch {batch_id}")
            if state == wanted:
                return
            if state not in was:
                raise InvalidInput(f"batch {batch_id} is {state}: it cannot be {wanted} now")
            conn.execute(update(batches).where(batches.c.id == batch_id).values(state=wanted))
            action = "batch.paused" if paused else "batch.resumed"
            audit(conn, actor, action, "batch", batch_id, {}, now)


def _summary(row: Row[Any]) -> BatchSummary:
    batch_id, job_id, title, who, at, state, total, done = row
    return BatchSummary(batch_id, job_id, title, who, at, state, int(total), int(done or 0))
