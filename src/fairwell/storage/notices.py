"""Interviewed applications and when they were first told anything: the facts of deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, case, func, select

from fairwell.domain.model import CLAIMABLE_STATES, LetterKind, OutboxState, Stage
from fairwell.ports import InterviewedRecord
from fairwell.storage.tables import applications, jobs, outbox, persons

# Letters that tell an applicant whether a decision was made.
TELLING_KINDS = (LetterKind.REJECTION, LetterKind.REFERRAL_CLOSED, LetterKind.STATUS)
# Letters that tell the decision itself: they keep a status letter's promise.
DECISION_KINDS = (LetterKind.REJECTION, LetterKind.REFERRAL_CLOSED)
# A status letter in one of these states has not gone yet, but will.
_WAITING = [state.value for state in (*CLAIMABLE_STATES, OutboxState.SENDING)]
# An offer or a hire tells them; someone who withdrew or declined is owed nothing more.
SETTLED_STAGES = (Stage.OFFER, Stage.HIRED, Stage.WITHDRAWN, Stage.DECLINED)


class SqlNotices:
    """The NoticeStore port over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def interviewed(self) -> list[InterviewedRecord]:
        """Every interviewed, unsettled, not erased application: where the candidate is, the
        first telling letter, the first decision letter and the latest status promise."""
        told = _first_sent(TELLING_KINDS, "told")
        decided = _first_sent(DECISION_KINDS, "decided")
        promised = (
            select(outbox.c.application_id, func.max(outbox.c.decide_by).label("promised_by"))
            .where(
                outbox.c.kind == LetterKind.STATUS.value,
                outbox.c.state.in_([OutboxState.SENT.value, *_WAITING]),
            )
            .group_by(outbox.c.application_id)
            .subquery("promised")
        )
        query = (
            select(
                applications.c.id,
                applications.c.ref,
                jobs.c.title,
                applications.c.job_id,
                persons.c.email,
                persons.c.country,
                persons.c.region,
                applications.c.stage,
                applications.c.last_interview_at,
                told.c.at.label("told_at"),
                decided.c.at.label("decided_told_at"),
                promised.c.promised_by,
            )
            .join(jobs, jobs.c.id == applications.c.job_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .outerjoin(told, told.c.application_id == applications.c.id)
            .outerjoin(decided, decided.c.application_id == applications.c.id)
            .outerjoin(promised, promised.c.application_id == applications.c.id)
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
                    job_id=row.job_id,
                    email=row.email,
                    stage=Stage(row.stage),
                    last_interview_at=row.last_interview_at,
                    told_at=row.told_at,
                    country=row.country,
                    region=row.region,
                    promised_by=row.promised_by,
                    decided_told_at=row.decided_told_at,
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


def _first_sent(kinds: Sequence[LetterKind], name: str) -> Any:
    """Per application, when the first delivered letter of these kinds reached them."""
    return (
        select(outbox.c.application_id, func.min(outbox.c.sent_at).label("at"))
        .where(
            outbox.c.state == OutboxState.SENT.value,
            outbox.c.kind.in_([kind.value for kind in kinds]),
        )
        .group_by(outbox.c.application_id)
        .subquery(name)
    )
