"""The retention run's reads and writes: RetentionStore.

Reads every application of a person not yet erased, with the facts its retention depends on.
Expiring reuses the erasure (storage/erasure_store.py): one transaction, evidence in
``erasures`` and the audit log, the SQLite WAL checkpointed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import Engine, func, select

from fairwell.domain.model import LetterKind, OutboxState, Stage
from fairwell.ports import RetentionRow
from fairwell.storage.erasure_store import erase_person_in
from fairwell.storage.portal_store import transaction
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    consents,
    decisions,
    jobs,
    letter_bodies,
    outbox,
    persons,
)

ACTOR = "retention"
# The letters whose delivery starts the clock: the ones that tell the decision.
DECISION_LETTERS = (LetterKind.REJECTION.value, LetterKind.REFERRAL_CLOSED.value)
HEAD_BYTES = 8192  # the Date header is in the head; the body is not read


def _letter_dated(head: bytes | None) -> datetime | None:
    if not head:
        return None
    value = BytesHeaderParser().parsebytes(bytes(head)).get("Date")
    return parsedate_to_datetime(str(value)) if value else None


def _applications() -> Any:
    """Every application of a person not erased, with its state, its clocks and its place."""
    decided = (
        select(decisions.c.application_id, func.max(decisions.c.decided_at).label("at"))
        .group_by(decisions.c.application_id)
        .subquery("decided")
    )
    return (
        select(
            applications.c.id,
            applications.c.person_id,
            applications.c.stage,
            # Rows from before 0017 that the migration did not reach have no stage clock.
            func.coalesce(applications.c.stage_changed_at, applications.c.updated_at).label(
                "stage_changed_at"
            ),
            persons.c.country,
            persons.c.region,
            jobs.c.closed_at,
            decided.c.at.label("decided_at"),
        )
        .join(persons, persons.c.id == applications.c.person_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .outerjoin(decided, decided.c.application_id == applications.c.id)
        .where(persons.c.erased_at.is_(None))
    )


# A bounced letter left us too: its application's clock runs from then, as the letter promised.
_WENT_OUT = (OutboxState.SENT.value, OutboxState.BOUNCED.value)


def _letters() -> Any:
    """Delivered decision letters, earliest first: the first delivery starts the clock."""
    return (
        select(
            outbox.c.application_id,
            outbox.c.sent_at,
            outbox.c.keep_until,
            func.substr(letter_bodies.c.body, 1, HEAD_BYTES).label("head"),
        )
        .outerjoin(letter_bodies, letter_bodies.c.id == outbox.c.body_id)
        .where(outbox.c.kind.in_(DECISION_LETTERS), outbox.c.state.in_(_WENT_OUT))
        .order_by(outbox.c.sent_at.desc())
    )


def _consents() -> Any:
    return (
        select(consents.c.person_id, func.max(consents.c.until).label("until"))
        .where(consents.c.withdrawn_at.is_(None))
        .group_by(consents.c.person_id)
    )


class SqlRetentionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self) -> list[RetentionRow]:
        return self._rows(None)

    def application_facts(self, application_id: int) -> RetentionRow | None:
        found = self._rows(application_id)
        return found[0] if found else None

    def _rows(self, application_id: int | None) -> list[RetentionRow]:
        apps, letters = _applications(), _letters()
        if application_id is not None:
            apps = apps.where(applications.c.id == application_id)
            letters = letters.where(outbox.c.application_id == application_id)
        with transaction(self.engine, write=False) as conn:
            # Ordered latest first, so the earliest delivery is the one left in the dict.
            delivered = {row.application_id: row for row in conn.execute(letters)}
            consent = {row.person_id: row.until for row in conn.execute(_consents())}
            return [
                _row(app, delivered.get(app.id), consent.get(app.person_id))
                for app in conn.execute(apps.order_by(applications.c.id))
            ]

    def expire(self, person_id: int, anonymise: bool, now: datetime) -> dict[str, int]:
        return erase_person_in(self.engine, person_id, None, ACTOR, now, keep_records=anonymise)

    def record_run(self, detail: dict[str, object], now: datetime) -> None:
        with transaction(self.engine, write=True) as conn:
            audit(conn, ACTOR, "retention.run", "retention", None, detail, now)


def _row(app: Any, letter: Any, consent_until: datetime | None) -> RetentionRow:
    return RetentionRow(
        application_id=app.id,
        person_id=app.person_id,
        country=app.country,
        region=app.region,
        stage=Stage(app.stage),
        stage_changed_at=_aware(app.stage_changed_at),
        decided_at=_aware(app.decided_at),
        job_closed_at=app.closed_at,
        letter_dated=_letter_dated(letter.head) if letter is not None else None,
        delivered_at=letter.sent_at if letter is not None else None,
        promised_until=letter.keep_until if letter is not None else None,
        consent_until=consent_until,
    )


def _aware(moment: datetime | None) -> datetime | None:
    """A moment read through an expression (coalesce, max), which the column type does not
    convert: stored as naive UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
