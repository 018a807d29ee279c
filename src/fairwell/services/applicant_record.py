"""The applicant record: who may read it, and its timeline, told from the stored facts.

A hiring manager reads only the applicants of their own jobs; an applicant they may not read
is reported exactly like one that does not exist, so an id guessed in a URL tells nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from fairwell.domain.model import DecisionState, FeedbackState, OutboxState, Source
from fairwell.domain.words import plural
from fairwell.errors import NotFound
from fairwell.ports import (
    ApplicantFacts,
    ApplicantRecords,
    AuditEntry,
    DecisionFacts,
    LetterFacts,
    RequestFacts,
    ScorecardEntry,
)

_NO_SUCH_APPLICANT = "no such applicant"
_NO_SUCH_LETTER = "no such letter"
# Letter states that end with something other than a delivery: each gets its own event.
_UNDELIVERED = frozenset(
    {OutboxState.FAILED, OutboxState.HELD, OutboxState.QUARANTINED, OutboxState.RETRY}
)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    what: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ApplicantRecord:
    facts: ApplicantFacts
    timeline: tuple[TimelineEvent, ...]


def may_read(job_id: int, visible_jobs: set[int] | None) -> bool:
    """``visible_jobs`` is None for staff, who read every job, else the reader's own jobs."""
    return visible_jobs is None or job_id in visible_jobs


def applicant_record(
    records: ApplicantRecords, application_id: int, visible_jobs: set[int] | None
) -> ApplicantRecord:
    """The record with its timeline; NotFound alike for a missing and a forbidden applicant."""
    facts = records.facts(application_id)
    if facts is None or not may_read(facts.job.id, visible_jobs):
        raise NotFound(_NO_SUCH_APPLICANT)
    return ApplicantRecord(facts, build_timeline(facts))


def letter_as_sent(
    records: ApplicantRecords, application_id: int, outbox_id: int, visible_jobs: set[int] | None
) -> bytes:
    """The stored bytes of one of the applicant's letters, exactly as they went out."""
    job_id = records.job_of(application_id)
    if job_id is None or not may_read(job_id, visible_jobs):
        raise NotFound(_NO_SUCH_LETTER)
    body = records.letter_body(application_id, outbox_id)
    if body is None:
        raise NotFound(_NO_SUCH_LETTER)
    return body


# --- the timeline ------------------------------------------------------------------------------


def build_timeline(facts: ApplicantFacts) -> tuple[TimelineEvent, ...]:
    """Every event in time order; events at the same moment keep the order of the flow."""
    events = [
        *_application_events(facts),
        *_interview_events(facts),
        *_decision_events(facts),
        *_letter_events(facts),
        *_request_events(facts),
    ]
    return tuple(sorted(events, key=lambda event: event.at))


def _application_events(facts: ApplicantFacts) -> Iterator[TimelineEvent]:
    application = facts.application
    # In an ATS export applied_at is the day the record was made, whoever made it: for a
    # referred or sourced person it dates the referral, never an application of theirs.
    entered = application.applied_at or facts.created_at
    if application.source is Source.REFERRED:
        yield TimelineEvent(entered, "Referred", f"by {application.referred_by or '?'}")
    elif application.source is Source.SOURCED:
        yield TimelineEvent(entered, "Sourced")
    elif application.applied_at is not None:
        yield TimelineEvent(application.applied_at, "Applied", facts.job.title)


def _interview_events(facts: ApplicantFacts) -> Iterator[TimelineEvent]:
    for assignment in facts.assignments:
        yield TimelineEvent(
            assignment.assigned_at,
            f"Interviewer {assignment.username} assigned",
            f"by {assignment.assigned_by}",
        )
    if facts.application.last_interview_at is not None:
        yield TimelineEvent(facts.application.last_interview_at, "Interviewed (latest interview)")
    by_interviewer = sorted(facts.scorecards, key=lambda entry: entry.interviewer)
    for interviewer, entries in groupby(by_interviewer, key=lambda entry: entry.interviewer):
        ratings = list(entries)
        first = min(entry.created_at for entry in ratings)
        yield TimelineEvent(first, f"Scorecard from {interviewer}", plural(len(ratings), "rating"))


def _decision_events(facts: ApplicantFacts) -> Iterator[TimelineEvent]:
    for decided in facts.decisions:
        decision = decided.decision
        later = " (later reinstated)" if decision.state is DecisionState.REINSTATED else ""
        yield TimelineEvent(
            decision.decided_at,
            f"Rejected: {decision.reason_code}{later}",
            f"by {decided.decided_by}",
        )
        yield from _feedback_events(decided)


def _feedback_events(decided: DecisionFacts) -> Iterator[TimelineEvent]:
    if decided.feedback is None or decided.feedback_drafted_at is None:
        return
    flagged = decided.feedback.lint_findings
    note = plural(flagged, "wording finding") if flagged else ""
    yield TimelineEvent(decided.feedback_drafted_at, "Feedback drafted", note)
    if decided.reviewed_at is None:
        return
    if decided.feedback.state is FeedbackState.APPROVED:
        what = "Feedback approved"
    else:
        what = "Feedback replaced by a plain letter"
    yield TimelineEvent(decided.reviewed_at, what, f"by {decided.reviewed_by or '?'}")


def _letter_events(facts: ApplicantFacts) -> Iterator[TimelineEvent]:
    for letter in facts.letters:
        name = f"Letter #{letter.id} ({letter.kind.replace('_', ' ')})"
        yield TimelineEvent(letter.created_at, f"{name} queued")
        if letter.sent_at is not None:
            yield TimelineEvent(letter.sent_at, f"{name} sent", f"to {letter.recipient}")
        elif letter.state in _UNDELIVERED:
            yield TimelineEvent(letter.updated_at, f"{name} {letter.state.value}", _why(letter))


def _why(letter: LetterFacts) -> str:
    parts = [
        f"rule {letter.held_rule}" if letter.held_rule else "",
        f"code {letter.last_code}" if letter.last_code else "",
        letter.last_error or "",
    ]
    return "; ".join(part for part in parts if part)


def _request_events(facts: ApplicantFacts) -> Iterator[TimelineEvent]:
    for request in facts.requests:
        due = f"due {request.due_at:%Y-%m-%d}"
        yield TimelineEvent(request.received_at, f"Feedback request #{request.id} received", due)
        if request.answered_at is not None:
            by = f"by {request.answered_by or '?'}"
            yield TimelineEvent(request.answered_at, f"Feedback request #{request.id} answered", by)


# --- the same record for the API ---------------------------------------------------------------


def record_as_json(record: ApplicantRecord) -> dict[str, object]:
    """The record as plain values (FastAPI encodes the datetimes as ISO 8601)."""
    facts = record.facts
    application, person = facts.application, facts.person
    return {
        "id": application.id,
        "ref": application.ref,
        "job": {"id": facts.job.id, "title": facts.job.title},
        "person": {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "locale": person.locale,
            "erased": person.erased,
        },
        "stage": application.stage.value,
        "source": application.source.value,
        "referred_by": application.referred_by,
        "referral_aware": application.referral_aware,
        "applied_at": application.applied_at,
        "last_interview_at": application.last_interview_at,
        "timeline": [{"at": e.at, "what": e.what, "detail": e.detail} for e in record.timeline],
        "scorecards": [_scorecard_json(entry) for entry in facts.scorecards],
        "decisions": [_decision_json(decided) for decided in facts.decisions],
        "letters": [_letter_json(application.id, letter) for letter in facts.letters],
        "requests": [_request_json(request) for request in facts.requests],
        "interviewers": [a.username for a in facts.assignments],
        "audit": [_audit_json(entry) for entry in facts.audit],
    }


def _scorecard_json(entry: ScorecardEntry) -> dict[str, object]:
    return {
        "competency": entry.competency,
        "bar": entry.bar,
        "interviewer": entry.interviewer,
        "rating": entry.rating,
        "internal_note": entry.internal_note,
        "note_for_candidate": entry.note_for_candidate,
        "at": entry.created_at,
    }


def _decision_json(decided: DecisionFacts) -> dict[str, object]:
    decision, record = decided.decision, decided.feedback
    feedback = None
    if record is not None:
        feedback = {
            "state": record.state.value,
            "text": record.text,
            "next_steps": record.next_steps,
            "lint_findings": record.lint_findings,
            "reviewed_by": decided.reviewed_by,
            "reviewed_at": decided.reviewed_at,
        }
    return {
        "id": decision.id,
        "reason_code": decision.reason_code,
        "state": decision.state.value,
        "decided_at": decision.decided_at,
        "decided_by": decided.decided_by,
        "feedback": feedback,
    }


def _letter_json(application_id: int, letter: LetterFacts) -> dict[str, object]:
    return {
        "id": letter.id,
        "kind": letter.kind,
        "state": letter.state.value,
        "recipient": letter.recipient,
        "attempts": letter.attempts,
        "queued_at": letter.created_at,
        "sent_at": letter.sent_at,
        "last_code": letter.last_code,
        "held_rule": letter.held_rule,
        "bytes_url": f"/applications/{application_id}/letters/{letter.id}/source",
    }


def _request_json(request: RequestFacts) -> dict[str, object]:
    return {
        "id": request.id,
        "state": request.state.value,
        "received_at": request.received_at,
        "due_at": request.due_at,
        "answered_at": request.answered_at,
    }


def _audit_json(entry: AuditEntry) -> dict[str, object]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "detail": json.loads(entry.detail or "{}"),
    }
