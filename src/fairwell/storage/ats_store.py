"""SqlAtsStore: the AtsStore port over SQLAlchemy Core (pulls, links, write-back, events in).

One method, one transaction. A pulled page, its links and the pull's checkpoint commit
together, so a pull that stops resumes at the first page not committed and nothing is
imported twice. Write-backs are claimed like the outbox: a conditional UPDATE and a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)

from fairwell.domain.model import ApplicantRow, DecisionState, OutboxState, Stage
from fairwell.ports import ImportCounts
from fairwell.ports.ats import (
    AtsEvent,
    ClaimedWriteBack,
    EventChange,
    EventFacts,
    Origin,
    PullCheckpoint,
    PullState,
    WriteBackOutcome,
    WriteBackRow,
    WriteBackState,
)
from fairwell.storage.base import dialect_insert
from fairwell.storage.importer import INSERT_CHUNK, ApplicantWriter
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    ats_events,
    ats_links,
    ats_pulls,
    ats_writebacks,
    decisions,
    jobs,
    outbox,
    persons,
)

_CLAIMABLE = (WriteBackState.PENDING.value, WriteBackState.RETRY.value)
NO_CHANGES = ImportCounts(0, 0, 0, 0, 0, ())


class SqlAtsStore:
    """Pulls, links, write-backs and received ATS events, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=False)
            with conn.begin():
                yield conn

    def _insert_ignoring(self, table: Any) -> Any:
        """An INSERT that leaves an existing row alone (a unique key already taken)."""
        return dialect_insert(self._postgres, table).on_conflict_do_nothing()

    # --- pulls --------------------------------------------------------------------------

    def checkpoint(self, vendor: str, ats_job_id: str) -> PullCheckpoint | None:
        with self._read() as conn:
            row = conn.execute(
                select(ats_pulls).where(
                    ats_pulls.c.vendor == vendor, ats_pulls.c.ats_job_id == ats_job_id
                )
            ).first()
        if row is None:
            return None
        return PullCheckpoint(
            PullState(row.state),
            row.cursor,
            row.pages,
            row.applications,
            row.job_title,
            row.last_error,
        )

    def begin_pull(self, vendor: str, ats_job_id: str, job_title: str, now: datetime) -> None:
        """Start the job's pull from its first page."""
        fresh = {
            "job_title": job_title,
            "state": PullState.RUNNING.value,
            "cursor": None,
            "pages": 0,
            "applications": 0,
            "last_error": None,
            "started_at": now,
            "updated_at": now,
        }
        with self._write() as conn:
            changed = conn.execute(
                update(ats_pulls)
                .where(ats_pulls.c.vendor == vendor, ats_pulls.c.ats_job_id == ats_job_id)
                .values(**fresh)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(ats_pulls).values(vendor=vendor, ats_job_id=ats_job_id, **fresh)
                )

    def import_page(
        self,
        vendor: str,
        ats_job_id: str,
        rows: Sequence[ApplicantRow],
        origins: Mapping[int, Origin],
        next_cursor: str | None,
        now: datetime,
        actor: str,
    ) -> ImportCounts:
        with self._write() as conn:
            counts = ApplicantWriter(conn, now, actor).write(rows) if rows else NO_CHANGES
            self._link(conn, vendor, ats_job_id, rows, origins, now)
            conn.execute(
                update(ats_pulls)
                .where(ats_pulls.c.vendor == vendor, ats_pulls.c.ats_job_id == ats_job_id)
                .values(
                    cursor=next_cursor,
                    pages=ats_pulls.c.pages + 1,
                    applications=ats_pulls.c.applications + len(rows),
                    state=(PullState.DONE if next_cursor is None else PullState.RUNNING).value,
                    last_error=None,
                    updated_at=now,
                )
            )
        return counts

    def interrupt_pull(self, vendor: str, ats_job_id: str, error: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                update(ats_pulls)
                .where(ats_pulls.c.vendor == vendor, ats_pulls.c.ats_job_id == ats_job_id)
                .values(state=PullState.INTERRUPTED.value, last_error=error, updated_at=now)
            )

    def _link(
        self,
        conn: Connection,
        vendor: str,
        ats_job_id: str,
        rows: Sequence[ApplicantRow],
        origins: Mapping[int, Origin],
        now: datetime,
    ) -> None:
        """Remember each row's ATS application. A second ATS application for the same person
        and job (a duplicate in the ATS, merged into one row) keeps the first link."""
        application_ids = _application_ids(conn, rows)
        for row in rows:
            origin = origins.get(row.row)
            if origin is None:
                continue
            application_id = application_ids[(row.job, row.email)]
            linked = conn.execute(
                select(ats_links.c.id, ats_links.c.application_id).where(
                    ats_links.c.vendor == vendor,
                    ats_links.c.ats_application_id == origin.ats_application_id,
                )
            ).first()
            if linked is not None and linked.application_id == application_id:
                continue
            if linked is not None:
                # The ATS application now maps elsewhere (its address changed): follow it,
                # unless that application is linked already.
                conn.execute(
                    update(ats_links)
                    .where(ats_links.c.id == linked.id)
                    .where(~_linked(application_id))
                    .values(application_id=application_id, updated_at=now)
                )
                continue
            conn.execute(
                self._insert_ignoring(ats_links).values(
                    vendor=vendor,
                    ats_application_id=origin.ats_application_id,
                    ats_candidate_id=origin.ats_candidate_id,
                    ats_job_id=ats_job_id,
                    application_id=application_id,
                    created_at=now,
                    updated_at=now,
                )
            )

    # --- write-back ---------------------------------------------------------------------

    def enqueue_writebacks(self, now: datetime) -> int:
        """A write-back for every sent letter that tells a decision on a pulled application,
        unless the decision has one already. Reads the links, not the whole outbox."""
        due = (
            select(
                decisions.c.id,
                ats_links.c.application_id,
                outbox.c.id,
                ats_links.c.vendor,
                ats_links.c.ats_application_id,
                decisions.c.reason_code,
                literal(WriteBackState.PENDING.value),
                literal(0),
                literal(now, ats_writebacks.c.next_attempt_at.type),
                literal(now, ats_writebacks.c.created_at.type),
                literal(now, ats_writebacks.c.updated_at.type),
            )
            .select_from(ats_links)
            .join(outbox, outbox.c.application_id == ats_links.c.application_id)
            .join(decisions, decisions.c.id == outbox.c.decision_id)
            .where(
                outbox.c.state == OutboxState.SENT.value,
                decisions.c.state == DecisionState.ACTIVE.value,
                ~exists().where(ats_writebacks.c.decision_id == decisions.c.id),
            )
        )
        statement = self._insert_ignoring(ats_writebacks).from_select(
            [
                "decision_id",
                "application_id",
                "outbox_id",
                "vendor",
                "ats_application_id",
                "reason_code",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ],
            due,
        )
        with self._write() as conn:
            # Counted from RETURNING: PostgreSQL's driver gives no rowcount for this statement.
            return len(conn.execute(statement.returning(ats_writebacks.c.id)).all())

    def claim_writebacks(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedWriteBack]:
        claimable = or_(
            and_(ats_writebacks.c.state.in_(_CLAIMABLE), ats_writebacks.c.next_attempt_at <= now),
            and_(
                ats_writebacks.c.state == WriteBackState.SENDING.value,
                ats_writebacks.c.lease_until < now,
            ),
        )
        with self._write() as conn:
            candidates = (
                conn.execute(
                    select(ats_writebacks.c.id)
                    .where(claimable)
                    .order_by(ats_writebacks.c.next_attempt_at, ats_writebacks.c.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if not candidates:
                return []
            # Another worker may have taken some since: the UPDATE decides.
            taken = (
                conn.execute(
                    update(ats_writebacks)
                    .where(ats_writebacks.c.id.in_(candidates), claimable)
                    .values(
                        state=WriteBackState.SENDING.value,
                        lease_owner=owner,
                        lease_until=lease_until,
                        attempts=ats_writebacks.c.attempts + 1,
                        updated_at=now,
                    )
                    .returning(ats_writebacks.c.id)
                )
                .scalars()
                .all()
            )
            rows = conn.execute(
                select(ats_writebacks).where(ats_writebacks.c.id.in_(taken)).order_by("id")
            ).all()
        return [
            ClaimedWriteBack(
                row.id, row.vendor, row.ats_application_id, row.reason_code, row.attempts
            )
            for row in rows
        ]

    def record_writeback(self, outcome: WriteBackOutcome, owner: str, now: datetime) -> None:
        values: dict[str, object] = {
            "state": outcome.state.value,
            "lease_owner": None,
            "lease_until": None,
            "last_error": outcome.error,
            "updated_at": now,
        }
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.release:
            values["attempts"] = ats_writebacks.c.attempts - 1
        if outcome.state is WriteBackState.DONE:
            values["done_at"] = now
        with self._write() as conn:
            found = conn.execute(
                update(ats_writebacks)
                .where(ats_writebacks.c.id == outcome.id, ats_writebacks.c.lease_owner == owner)
                .values(**values)
                .returning(ats_writebacks.c.vendor, ats_writebacks.c.application_id)
            ).first()
            if found is None:
                audit(conn, owner, "ats.writeback.lease-lost", "ats_writeback", outcome.id, {}, now)
                return
            if outcome.state in (WriteBackState.DONE, WriteBackState.FAILED):
                audit(
                    conn,
                    owner,
                    f"ats.writeback.{outcome.state.value}",
                    "application",
                    found.application_id,
                    {"vendor": found.vendor, "writeback": outcome.id},
                    now,
                )

    def writebacks(self, state: WriteBackState | None = None) -> list[WriteBackRow]:
        query = select(ats_writebacks).order_by(ats_writebacks.c.id)
        if state is not None:
            query = query.where(ats_writebacks.c.state == state.value)
        with self._read() as conn:
            return [
                WriteBackRow(
                    row.id,
                    row.vendor,
                    row.application_id,
                    row.ats_application_id,
                    row.reason_code,
                    WriteBackState(row.state),
                    row.attempts,
                    row.last_error,
                    row.updated_at,
                )
                for row in conn.execute(query)
            ]

    # --- webhooks in --------------------------------------------------------------------

    def apply_event(
        self, event: AtsEvent, decide: Callable[[EventFacts], EventChange], now: datetime
    ) -> EventChange | None:
        with self._write() as conn:
            inserted = conn.execute(
                self._insert_ignoring(ats_events)
                .values(
                    vendor=event.vendor,
                    delivery_key=event.delivery_key,
                    event=event.event,
                    ats_application_id=event.ats_application_id,
                    ats_job_id=event.ats_job_id,
                    outcome="received",
                    detail="",
                    received_at=now,
                )
                .returning(ats_events.c.id)
            ).scalar()
            if inserted is None:
                return None  # this delivery was recorded before: a replay changes nothing
            facts = _event_facts(conn, event)
            change = decide(facts)
            self._apply(conn, event, facts, change, now)
            conn.execute(
                update(ats_events)
                .where(ats_events.c.id == inserted)
                .values(
                    outcome=change.outcome,
                    detail=change.detail,
                    application_id=facts.application_id,
                )
            )
        return change

    def _apply(
        self,
        conn: Connection,
        event: AtsEvent,
        facts: EventFacts,
        change: EventChange,
        now: datetime,
    ) -> None:
        application_id = facts.application_id
        if application_id is None:
            return
        actor = f"ats:{event.vendor}"
        if change.stage is not None and change.stage is not facts.stage:
            conn.execute(
                update(applications)
                .where(applications.c.id == application_id)
                .values(stage=change.stage.value, updated_at=now)
            )
            audit(
                conn,
                actor,
                "application.updated",
                "application",
                application_id,
                {"fields": ["stage"], "stage": change.stage.value, "event": event.event},
                now,
            )
        if change.decision_code is not None and not facts.decided:
            decision_id = conn.execute(
                insert(decisions)
                .values(
                    application_id=application_id,
                    reason_code=change.decision_code,
                    note=None,
                    state=DecisionState.ACTIVE.value,
                    decided_by=actor,
                    decided_at=now,
                )
                .returning(decisions.c.id)
            ).scalar_one()
            audit(
                conn,
                actor,
                "decision.reject",
                "decision",
                decision_id,
                {"count": 1, "reason": change.decision_code, "event": event.event},
                now,
            )


def _linked(application_id: int) -> Any:
    return exists().where(ats_links.c.application_id == application_id)


def _application_ids(conn: Connection, rows: Sequence[ApplicantRow]) -> dict[tuple[str, str], int]:
    """The application of each row, by (job title, address), as the import just wrote it."""
    found: dict[tuple[str, str], int] = {}
    titles = {row.job for row in rows}
    emails = [row.email for row in rows]
    for start in range(0, len(emails), INSERT_CHUNK):
        query = (
            select(jobs.c.title, persons.c.email, applications.c.id)
            .join(jobs, jobs.c.id == applications.c.job_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .where(
                jobs.c.title.in_(titles), persons.c.email.in_(emails[start : start + INSERT_CHUNK])
            )
        )
        for title, email, application_id in conn.execute(query):
            found[(title, email)] = application_id
    return found


def _event_facts(conn: Connection, event: AtsEvent) -> EventFacts:
    link = None
    if event.ats_application_id is not None:
        link = conn.execute(
            select(ats_links.c.application_id, applications.c.stage)
            .join(applications, applications.c.id == ats_links.c.application_id)
            .where(
                ats_links.c.vendor == event.vendor,
                ats_links.c.ats_application_id == event.ats_application_id,
            )
        ).first()
    job_known = event.ats_job_id is not None and bool(
        conn.execute(
            select(
                exists().where(
                    ats_links.c.vendor == event.vendor, ats_links.c.ats_job_id == event.ats_job_id
                )
            )
        ).scalar()
    )
    if link is None:
        return EventFacts(None, job_known, None, decided=False)
    decided = conn.execute(
        select(
            exists().where(
                decisions.c.application_id == link.application_id,
                decisions.c.state == DecisionState.ACTIVE.value,
            )
        )
    ).scalar()
    return EventFacts(link.application_id, True, Stage(link.stage), decided=bool(decided))
