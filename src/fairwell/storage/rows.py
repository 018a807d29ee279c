"""Reading rows into domain records, the shared applicant query, and audit entries."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, String, cast, insert, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.sql.expression import BindParameter

from fairwell.domain.eligibility import History
from fairwell.domain.model import (
    Application,
    Decision,
    DecisionState,
    FeedbackState,
    OutboxState,
    Person,
    Source,
    Stage,
)
from fairwell.ports import ApplicantView, FeedbackRecord, NewLetter, OutboxRow
from fairwell.storage.bulk import insert_returning_ids
from fairwell.storage.tables import (
    applications,
    audit_log,
    batches,
    decisions,
    feedback,
    letter_bodies,
    outbox,
    persons,
    suppressions,
)

# What person_from and application_from read: every query that builds them selects these.
PERSON_COLUMNS = (
    persons.c.email,
    persons.c.first_name,
    persons.c.last_name,
    persons.c.locale,
    persons.c.erased_at,
    persons.c.country,
    persons.c.timezone,
    persons.c.region,
)
APPLICATION_COLUMNS = (
    applications.c.id.label("application_id"),
    applications.c.ref,
    applications.c.job_id,
    applications.c.person_id,
    applications.c.stage,
    applications.c.source,
    applications.c.referred_by,
    applications.c.referral_aware,
    applications.c.applied_at,
    applications.c.last_interview_at,
)


# Columns are read by name from a mapping: a row's ``_mapping``, or the dict applicant_view
# makes (a Row's attribute lookup costs about 0.8 us a column; a plan reads 33 columns of a
# million rows).
class Columns(Protocol):
    def __getitem__(self, name: str, /) -> Any: ...


def person_from(row: Columns) -> Person:
    return Person(
        id=row["person_id"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        locale=row["locale"],
        erased=row["erased_at"] is not None,
        country=row["country"],
        timezone=row["timezone"],
        region=row["region"],
    )


def application_from(row: Columns) -> Application:
    return Application(
        id=row["application_id"],
        ref=row["ref"],
        job_id=row["job_id"],
        person_id=row["person_id"],
        stage=Stage(row["stage"]),
        source=Source(row["source"]),
        referred_by=row["referred_by"],
        referral_aware=row["referral_aware"],
        applied_at=row["applied_at"],
        last_interview_at=row["last_interview_at"],
    )


def decision_from(row: Columns) -> Decision | None:
    if row["decision_id"] is None:
        return None
    return Decision(
        id=row["decision_id"],
        application_id=row["application_id"],
        reason_code=row["reason_code"],
        note=row["note"],
        decided_at=row["decided_at"],
        state=DecisionState(row["decision_state"]),
        reason_chosen=bool(row["reason_chosen"]),
    )


def decision_key(decision_id: Any) -> Any:
    """The letter key of a decision's letter, as a SQL expression ("decision:<id>")."""
    return literal("decision:") + cast(decision_id, String)


def applicant_query(job_id: int | BindParameter[int]) -> Any:
    active = (
        select(decisions).where(decisions.c.state == DecisionState.ACTIVE.value).subquery("active")
    )
    return (
        select(
            *APPLICATION_COLUMNS,
            *PERSON_COLUMNS,
            active.c.id.label("decision_id"),
            active.c.reason_code,
            active.c.note,
            active.c.decided_at,
            active.c.state.label("decision_state"),
            active.c.reason_chosen,
            outbox.c.state.label("letter_state"),
            suppressions.c.reason.label("suppressed"),
            feedback.c.state.label("feedback_state"),
            feedback.c.text.label("feedback_text"),
            feedback.c.next_steps,
            feedback.c.lint_findings,
            feedback.c.override_reason,
            feedback.c.holds.label("feedback_holds"),
            feedback.c.basis.label("feedback_basis"),
        )
        .join(persons, persons.c.id == applications.c.person_id)
        .outerjoin(active, active.c.application_id == applications.c.id)
        .outerjoin(outbox, outbox.c.letter_key == decision_key(active.c.id))
        .outerjoin(suppressions, suppressions.c.email == persons.c.email)
        .outerjoin(feedback, feedback.c.decision_id == active.c.id)
        .where(applications.c.job_id == job_id)
        .order_by(applications.c.id)
    )


@functools.cache
def _view_columns() -> tuple[str, ...]:
    """The names of applicant_query's columns, in the order its rows hold them."""
    return tuple(column.name for column in applicant_query(0).selected_columns)


def applicant_view(row: Row[Any]) -> ApplicantView:
    """The view of a row of :func:`applicant_query` (any of its filtered forms)."""
    # Named by zipping with the query's own column names: a dict lookup each, not a Row's.
    return view_from(dict(zip(_view_columns(), row, strict=True)))


def view_from(row: Columns) -> ApplicantView:
    """The view of the columns of :func:`applicant_query`, by name."""
    letter_state = OutboxState(row["letter_state"]) if row["letter_state"] else None
    suppressed = row["suppressed"]
    history = History(
        erased=row["erased_at"] is not None,
        suppressed=suppressed is not None,
        has_active_decision=row["decision_id"] is not None,
        letter_sent=letter_state is OutboxState.SENT,
    )
    return ApplicantView(
        application=application_from(row),
        person=person_from(row),
        history=history,
        decision=decision_from(row),
        letter_state=letter_state,
        feedback=feedback_from(row),
        suppression=suppressed,
    )


def feedback_from(row: Columns) -> FeedbackRecord | None:
    if row["feedback_state"] is None:
        return None
    return FeedbackRecord(
        state=FeedbackState(row["feedback_state"]),
        text=row["feedback_text"],
        next_steps=row["next_steps"],
        lint_findings=row["lint_findings"],
        override_reason=row["override_reason"],
        holds=tuple(line for line in (row["feedback_holds"] or "").splitlines() if line),
        basis=row["feedback_basis"],
    )


def audit(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, object],
    now: datetime,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


def outbox_row(row: Row[Any]) -> OutboxRow:
    """A letter of the outbox as the outbox pages and `fairwell outbox` list it."""
    return OutboxRow(
        id=row.id,
        batch_id=row.batch_id,
        application_id=row.application_id,
        kind=row.kind,
        recipient=row.recipient,
        state=OutboxState(row.state),
        attempts=row.attempts,
        last_code=row.last_code,
        last_error=row.last_error,
        held_rule=row.held_rule,
        possible_duplicates=row.possible_duplicates,
        sent_at=row.sent_at,
    )


def insert_bodies(conn: Connection, letters: Sequence[NewLetter]) -> list[int]:
    """Store the letters' bytes and seals (letter_bodies); their ids, in the letters' order,
    for the staged or outbox rows that point at them."""
    rows = [(letter.body, letter.guard_seal) for letter in letters]
    return insert_returning_ids(conn, letter_bodies, ("body", "guard_seal"), rows)


def insert_batch(
    conn: Connection, job_id: int, actor: str, now: datetime, rate_per_second: int | None
) -> int:
    """A new active batch of the job; its letters follow in the same transaction."""
    key = conn.execute(
        insert(batches).values(
            job_id=job_id,
            state="active",
            created_by=actor,
            created_at=now,
            rate_per_second=rate_per_second,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])
