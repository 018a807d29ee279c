"""Interviewed applications and when they were first told anything: the facts of deadlines."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, case, func, select

from fairwell.domain.model import CLAIMABLE_STATES, LetterKind, OutboxState, Stage
from fairwell.ports import InterviewedRecord
from fairwell.storage.tables import applications, jobs, outbox, persons

# Letters that tell an applicant whether a decision was made.
TELLING_KINDS = (LetterKind.REJECTION, LetterKind.REFERRAL_CLOSED, LetterKind.STATUS)
# A status letter in one of these states has not gone yet, but will.
_WAITING = [state.value for state in (*CLAIMABLE_STATES, OutboxState.SENDING)]
# An offer or a hire tells them; someone who withdrew is owed nothing more.
SETTLED_STAGES = (Stage.OFFER, Stage.HIRED, Stage.WITHDRAWN)


class SqlNotices:
    """The NoticeStore port over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def interviewed(self) -> list[InterviewedRecord]:
        """Every interviewed, unsettled, not erased application, with its first telling letter."""
        told = (
            select(outbox.c.application_id, func.min(outbox.c.sent_at).label("told_at"))
            .where(
                outbox.c.state == OutboxState.SENT.value,
                outbox.c.kind.in_([kind.value for kind in TELLING_KINDS]),
            )
            .group_by(outbox.c.application_id)
            .subquery("told")
        )
        query = (
            select(
                applications.c.id,
                applications.c.ref,
                jobs.c.title,
                persons.c.email,
                applications.c.stage,
                applications.c.last_interview_at,
                told.c.told_at,
            )
            .join(jobs, jobs.c.id == applications.c.job_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .outerjoin(told, told.c.application_id == applications.c.id)
            .where(
                applications.c.last_interview_at.is_not(None),
                applications.c.stage.not_in([stage.value for stage in SETTLED_STAGES]),
                persons.c.erased_at.is_(None),
            )
            .order_by(applications.c.last_interview_at, applications.c.id)
        )
        with self.engine.connect() as conn:
            return [
                InterviewedRecord(
                    application_id=row.id,
                    ref=row.ref,
                    job_title=row.title,
                    email=row.email,
                    stage=Stage(row.stage),
                    last_interview_at=row.last_interview_at,
                    told_at=row.told_at,
                )
                for row in conn.execute(query)
            ]

    def status_letters(self, application_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
        """Per application: how many status letters it has had, and whether one still waits."""
        if not application_ids:
            return {}
        waiting = func.sum(case((outbox.c.state.in_(_WAITING), 1), else_=0))
        query = (
            select(outbox.c.application_id, func.count(), waiting)
            .where(
                outbox.c.kind == LetterKind.STATUS.value,
                outbox.c.application_id.in_(application_ids),
            )
            .group_by(outbox.c.application_id)
        )
        with self.engine.connect() as conn:
            return {
                app_id: (int(count), bool(pending))
                for app_id, count, pending in conn.execute(query).tuples()
            }
