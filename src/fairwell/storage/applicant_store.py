"""The whole record of one application, read for the applicant page: the ApplicantRecords port.

One read transaction gathers the application, its decisions and feedback, scorecards,
letters, feedback requests, interview assignments and every audit entry about them, so the
page never shows a letter from one moment next to a decision from another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.engine import Row

from fairwell.domain.model import Decision, DecisionState, Job, OutboxState
from fairwell.domain.requests import RequestState
from fairwell.ports import (
    ApplicantFacts,
    AssignmentFacts,
    AuditEntry,
    DecisionFacts,
    LetterFacts,
    RequestFacts,
    ScorecardEntry,
)
from fairwell.storage.rows import (
    APPLICATION_COLUMNS,
    PERSON_COLUMNS,
    application_from,
    feedback_from,
    person_from,
)
from fairwell.storage.tables import (
    applications,
    audit_log,
    competencies,
    decisions,
    feedback,
    feedback_requests,
    interview_assignments,
    jobs,
    letter_bodies,
    outbox,
    persons,
    scorecards,
    users,
)


class SqlApplicantRecords:
    """Reads only; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def facts(self, application_id: int) -> ApplicantFacts | None:
        """Everything about the application, or None when there is no such application."""
        with self.engine.begin() as conn:
            row = conn.execute(_application_query(application_id)).first()
            if row is None:
                return None
            decided = _decisions(conn, application_id)
            letters = _letters(conn, application_id)
            asked = _requests(conn, [d.decision.id for d in decided])
            entries = _audit(conn, application_id, decided, letters, asked)
            return ApplicantFacts(
                application=application_from(row._mapping),
                person=person_from(row._mapping),
                job=Job(row.job_id, row.title),
                created_at=row.created_at,
                decisions=tuple(decided),
                scorecards=tuple(_scorecards(conn, application_id)),
                letters=tuple(letters),
                requests=tuple(asked),
                assignments=tuple(_assignments(conn, application_id)),
                audit=tuple(entries),
            )

    def job_of(self, application_id: int) -> int | None:
        query = select(applications.c.job_id).where(applications.c.id == application_id)
        with self.engine.begin() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def letter_body(self, application_id: int, outbox_id: int) -> bytes | None:
        """The stored bytes of a letter, only when it belongs to this application."""
        query = (
            select(letter_bodies.c.body)
            .join(outbox, outbox.c.body_id == letter_bodies.c.id)
            .where(outbox.c.id == outbox_id, outbox.c.application_id == application_id)
        )
        with self.engine.begin() as conn:
            body = conn.execute(query).scalar()
        return None if body is None else bytes(body)


def _application_query(application_id: int) -> Any:
    return (
        select(*APPLICATION_COLUMNS, applications.c.created_at, *PERSON_COLUMNS, jobs.c.title)
        .join(persons, persons.c.id == applications.c.person_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .where(applications.c.id == application_id)
    )


def _decisions(conn: Connection, application_id: int) -> list[DecisionFacts]:
    query = (
        select(
            decisions.c.id.label("decision_id"),
            decisions.c.application_id,
            decisions.c.reason_code,
            decisions.c.note,
            decisions.c.decided_at,
            decisions.c.decided_by,
            decisions.c.state.label("decision_state"),
            decisions.c.reason_chosen,
            feedback.c.state.label("feedback_state"),
            feedback.c.text.label("feedback_text"),
            feedback.c.next_steps,
            feedback.c.lint_findings,
            feedback.c.override_reason,
            feedback.c.holds.label("feedback_holds"),
            feedback.c.basis.label("feedback_basis"),
            feedback.c.created_at.label("feedback_created_at"),
            feedback.c.reviewed_by,
            feedback.c.reviewed_at,
        )
        .outerjoin(feedback, feedback.c.decision_id == decisions.c.id)
        .where(decisions.c.application_id == application_id)
        .order_by(decisions.c.decided_at, decisions.c.id)
    )
    return [_decision(row) for row in conn.execute(query)]


def _decision(row: Row[Any]) -> DecisionFacts:
    return DecisionFacts(
        decision=Decision(
            id=row.decision_id,
            application_id=row.application_id,
            reason_code=row.reason_code,
            note=row.note,
            decided_at=row.decided_at,
            state=DecisionState(row.decision_state),
            reason_chosen=bool(row.reason_chosen),
        ),
        decided_by=row.decided_by,
        feedback=feedback_from(row._mapping),
        feedback_drafted_at=row.feedback_created_at,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
    )


def _scorecards(conn: Connection, application_id: int) -> list[ScorecardEntry]:
    query = (
        select(
            competencies.c.name.label("competency"),
            competencies.c.bar,
            scorecards.c.interviewer,
            scorecards.c.rating,
            scorecards.c.internal_note,
            scorecards.c.note_for_candidate,
            scorecards.c.created_at,
        )
        .join(competencies, competencies.c.id == scorecards.c.competency_id)
        .where(scorecards.c.application_id == application_id)
        .order_by(scorecards.c.created_at, scorecards.c.interviewer, competencies.c.name)
    )
    return [ScorecardEntry(**row._mapping) for row in conn.execute(query)]


def _letters(conn: Connection, application_id: int) -> list[LetterFacts]:
    query = (
        select(outbox)
        .where(outbox.c.application_id == application_id)
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    return [
        LetterFacts(
            id=row.id,
            decision_id=row.decision_id,
            letter_key=row.letter_key,
            kind=row.kind,
            recipient=row.recipient,
            state=OutboxState(row.state),
            attempts=row.attempts,
            last_code=row.last_code,
            last_error=row.last_error,
            held_rule=row.held_rule,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sent_at=row.sent_at,
        )
        for row in conn.execute(query)
    ]


def _requests(conn: Connection, decision_ids: Sequence[int]) -> list[RequestFacts]:
    query = (
        select(
            feedback_requests.c.id,
            feedback_requests.c.decision_id,
            feedback_requests.c.state,
            feedback_requests.c.received_at,
            feedback_requests.c.due_at,
            feedback_requests.c.answered_by,
            feedback_requests.c.answered_at,
        )
        .where(feedback_requests.c.decision_id.in_(decision_ids))
        .order_by(feedback_requests.c.received_at, feedback_requests.c.id)
    )
    return [
        RequestFacts(
            id=row.id,
            decision_id=row.decision_id,
            state=RequestState(row.state),
            received_at=row.received_at,
            due_at=row.due_at,
            answered_by=row.answered_by,
            answered_at=row.answered_at,
        )
        for row in conn.execute(query)
    ]


def _assignments(conn: Connection, application_id: int) -> list[AssignmentFacts]:
    query = (
        select(
            interview_assignments.c.user_id,
            users.c.username,
            interview_assignments.c.assigned_by,
            interview_assignments.c.assigned_at,
        )
        .join(users, users.c.id == interview_assignments.c.user_id)
        .where(interview_assignments.c.application_id == application_id)
        .order_by(interview_assignments.c.assigned_at, users.c.username)
    )
    return [AssignmentFacts(**row._mapping) for row in conn.execute(query)]


def _audit(
    conn: Connection,
    application_id: int,
    decided: Sequence[DecisionFacts],
    letters: Sequence[LetterFacts],
    asked: Sequence[RequestFacts],
) -> list[AuditEntry]:
    """Every entry about the application itself, its decisions, its letters or its requests.

    Bulk entries (a whole rejection, a batch, a requeue) name no single application and are
    not shown here; the entry of each letter and decision they touched is.
    """
    about = {
        "application": [application_id],
        "decision": [d.decision.id for d in decided],
        "outbox": [letter.id for letter in letters],
        "request": [request.id for request in asked],
    }
    matches = [
        and_(audit_log.c.entity == entity, audit_log.c.entity_id.in_(ids))
        for entity, ids in about.items()
        if ids
    ]
    query = (
        select(
            audit_log.c.id,
            audit_log.c.at,
            audit_log.c.actor,
            audit_log.c.action,
            audit_log.c.entity,
            audit_log.c.entity_id,
            audit_log.c.detail,
        )
        .where(or_(*matches))
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    return [AuditEntry(**row._mapping) for row in conn.execute(query)]
