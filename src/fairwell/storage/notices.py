"""Interviewed applications and when they were first told anything: the facts of deadlines."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from fairwell.domain.model import LetterKind, OutboxState, Stage
from fairwell.ports import InterviewedRecord
from fairwell.storage.tables import applications, jobs, outbox, persons

# Letters that tell an applicant whether a decision was made.
TELLING_KINDS = (LetterKind.REJECTION, LetterKind.REFERRAL_CLOSED, LetterKind.STATUS)
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
