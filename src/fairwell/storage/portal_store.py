"""The candidate portal over SQLAlchemy Core: the PortalStore port.

Every method is one transaction. Reads never write: a mail scanner that follows a link with
GET must change nothing, so only the POST handlers reach the writing methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from fairwell.domain.model import DecisionState, FeedbackState, Source
from fairwell.ports import ConsentRecord, PortalApplication
from fairwell.storage.rows import audit, decision_key
from fairwell.storage.tables import (
    applications,
    consents,
    decisions,
    feedback,
    jobs,
    outbox,
    persons,
    portal_checklists,
    portal_nonces,
)

PORTAL_ACTOR = "candidate"  # who acted, in the audit log: never a name or an address


@contextmanager
def transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    """A transaction; on SQLite a reader never waits for a writer (see storage/engine.py)."""
    with engine.connect() as conn:
        conn.execution_options(fairwell_write=write)
        with conn.begin():
            yield conn


def _application_query() -> Any:
    active = (
        select(decisions).where(decisions.c.state == DecisionState.ACTIVE.value).subquery("active")
    )
    return (
        select(
            applications.c.id,
            applications.c.ref,
            applications.c.person_id,
            applications.c.job_id,
            applications.c.source,
            persons.c.first_name,
            persons.c.last_name,
            persons.c.locale,
            persons.c.country,
            persons.c.region,
            jobs.c.title,
            active.c.id.label("decision_id"),
            outbox.c.sent_at,
            feedback.c.next_steps,
        )
        .join(persons, persons.c.id == applications.c.person_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .outerjoin(active, active.c.application_id == applications.c.id)
        .outerjoin(outbox, outbox.c.letter_key == decision_key(active.c.id))
        .outerjoin(
            feedback,
            and_(
                feedback.c.decision_id == active.c.id,
                feedback.c.state == FeedbackState.APPROVED.value,
            ),
        )
        .where(persons.c.erased_at.is_(None))
    )


def _portal_application(row: Row[Any]) -> PortalApplication:
    return PortalApplication(
        application_id=row.id,
        ref=row.ref,
        person_id=row.person_id,
        first_name=row.first_name,
        last_name=row.last_name,
        locale=row.locale,
        job_id=row.job_id,
        job_title=row.title,
        never_applied=not Source(row.source).applied_themselves,
        decision_id=row.decision_id,
        letter_sent_at=row.sent_at,
        next_steps=tuple(line for line in (row.next_steps or "").splitlines() if line.strip()),
        country=row.country,
        region=row.region,
    )


class SqlPortalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def application(self, ref: str) -> PortalApplication | None:
        """The application behind a link; None when it is unknown or its person was erased."""
        query = _application_query().where(applications.c.ref == ref)
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(query).first()
        return None if row is None else _portal_application(row)

    def applications_of(self, person_id: int) -> list[PortalApplication]:
        query = _application_query().where(applications.c.person_id == person_id)
        with transaction(self.engine, write=False) as conn:
            return [_portal_application(row) for row in conn.execute(query)]

    def use_nonce(self, nonce: str, application_id: int | None, now: datetime) -> bool:
        """Record a form's nonce as used; False when it was used before (a replay)."""
        try:
            with transaction(self.engine, write=True) as conn:
                conn.execute(
                    insert(portal_nonces).values(
                        nonce=nonce, application_id=application_id, used_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def letters_since(self, application_id: int, kind: str, since: datetime) -> int:
        """How many letters of ``kind`` were queued for the application since ``since``."""
        query = select(func.count()).where(
            outbox.c.application_id == application_id,
            outbox.c.kind == kind,
            outbox.c.created_at >= since,
        )
        with transaction(self.engine, write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def checklist(self, application_id: int) -> frozenset[int]:
        query = select(portal_checklists.c.ticked).where(
            portal_checklists.c.application_id == application_id
        )
        with transaction(self.engine, write=False) as conn:
            ticked = conn.execute(query).scalar()
        return frozenset(int(step) for step in (ticked or "").split(",") if step)

    def save_checklist(self, application_id: int, ticked: frozenset[int], now: datetime) -> None:
        value = ",".join(str(step) for step in sorted(ticked))
        where = portal_checklists.c.application_id == application_id
        with transaction(self.engine, write=True) as conn:
            conn.execute(delete(portal_checklists).where(where))
            conn.execute(
                insert(portal_checklists).values(
                    application_id=application_id, ticked=value, saved_at=now
                )
            )
            detail: dict[str, object] = {"ticked": len(ticked)}
            audit(conn, PORTAL_ACTOR, "checklist.saved", "application", application_id, detail, now)

    def consent(self, person_id: int, now: datetime) -> ConsentRecord | None:
        """The consent in force now, if any."""
        query = (
            select(consents.c.purpose, consents.c.given_at, consents.c.until)
            .where(
                consents.c.person_id == person_id,
                consents.c.withdrawn_at.is_(None),
                consents.c.until > now,
            )
            .order_by(consents.c.id.desc())
        )
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(query).first()
        return None if row is None else ConsentRecord(row.purpose, row.given_at, row.until)

    def give_consent(
        self, application: PortalApplication, purpose: str, until: datetime, now: datetime
    ) -> None:
        with transaction(self.engine, write=True) as conn:
            self._withdraw(conn, application.person_id, now)
            inserted = conn.execute(
                insert(consents).values(
                    person_id=application.person_id,
                    application_id=application.application_id,
                    purpose=purpose,
                    given_at=now,
                    until=until,
                )
            ).inserted_primary_key
            assert inserted is not None
            detail: dict[str, object] = {"until": until.date().isoformat(), "purpose": purpose}
            audit(conn, PORTAL_ACTOR, "consent.given", "consent", inserted[0], detail, now)

    def withdraw_consent(self, person_id: int, now: datetime) -> bool:
        with transaction(self.engine, write=True) as conn:
            return self._withdraw(conn, person_id, now) > 0

    @staticmethod
    def _withdraw(conn: Connection, person_id: int, now: datetime) -> int:
        ids = list(
            conn.execute(
                select(consents.c.id).where(
                    consents.c.person_id == person_id, consents.c.withdrawn_at.is_(None)
                )
            ).scalars()
        )
        if ids:
            conn.execute(update(consents).where(consents.c.id.in_(ids)).values(withdrawn_at=now))
        for consent_id in ids:
            audit(conn, PORTAL_ACTOR, "consent.withdrawn", "consent", consent_id, {}, now)
        return len(ids)
