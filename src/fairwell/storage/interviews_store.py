"""Interview assignments over SQLAlchemy Core: the InterviewStore port.

An interviewer sees the applications assigned to them and nothing else; every query here
is scoped to one interviewer. The audit log records assignments with ids only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select

from fairwell.domain.model import Job, Stage
from fairwell.ports import AssignedInterview, InterviewSubject, ScorecardEntry
from fairwell.storage.rows import PERSON_COLUMNS, audit, person_from
from fairwell.storage.tables import (
    applications,
    competencies,
    interview_assignments,
    jobs,
    persons,
    scorecards,
)


class SqlInterviews:
    """Every method is one transaction, like SqlStore's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def application_for(self, job_id: int, email: str) -> int | None:
        """The id of the person's application for the job; ``email`` comes normalised."""
        query = (
            select(applications.c.id)
            .join(persons, persons.c.id == applications.c.person_id)
            .where(applications.c.job_id == job_id, persons.c.email == email)
        )
        with self.engine.begin() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def assign(self, application_id: int, user_id: int, actor: str, now: datetime) -> bool:
        """Assign the interviewer; return False when they were assigned already."""
        key = {"application_id": application_id, "user_id": user_id}
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(interview_assignments.c.user_id).where(
                    *(interview_assignments.c[name] == value for name, value in key.items())
                )
            ).first()
            if exists is not None:
                return False
            conn.execute(
                insert(interview_assignments).values(**key, assigned_by=actor, assigned_at=now)
            )
            detail: dict[str, object] = {"user_id": user_id}
            audit(conn, actor, "interview.assigned", "application", application_id, detail, now)
        return True

    def assigned_to(self, user_id: int, interviewer: str) -> list[AssignedInterview]:
        """The interviewer's assignments, newest first, with how many competencies they rated."""
        query = (
            select(
                applications.c.id,
                persons.c.first_name,
                persons.c.last_name,
                jobs.c.id.label("job_id"),
                jobs.c.title,
                applications.c.stage,
            )
            .join(applications, applications.c.id == interview_assignments.c.application_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .join(jobs, jobs.c.id == applications.c.job_id)
            .where(interview_assignments.c.user_id == user_id)
            .order_by(interview_assignments.c.assigned_at.desc(), applications.c.id)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            rated = _rated(conn, [row.id for row in rows], interviewer)
            needed = _competency_counts(conn, {row.job_id for row in rows})
        return [
            AssignedInterview(
                application_id=row.id,
                full_name=f"{row.first_name} {row.last_name}".strip(),
                job_id=row.job_id,
                job_title=row.title,
                stage=Stage(row.stage),
                rated=rated.get(row.id, 0),
                competencies=needed.get(row.job_id, 0),
            )
            for row in rows
        ]

    def subject(self, application_id: int, user_id: int) -> InterviewSubject | None:
        """The candidate of the application, only when it is assigned to this interviewer."""
        query = (
            select(
                applications.c.id.label("application_id"),
                applications.c.person_id,
                applications.c.stage,
                *PERSON_COLUMNS,
                jobs.c.id.label("job_id"),
                jobs.c.title,
            )
            .join(applications, applications.c.id == interview_assignments.c.application_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .join(jobs, jobs.c.id == applications.c.job_id)
            .where(
                interview_assignments.c.application_id == application_id,
                interview_assignments.c.user_id == user_id,
            )
        )
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return InterviewSubject(
            row.application_id,
            person_from(row._mapping),
            Job(row.job_id, row.title),
            Stage(row.stage),
        )

    def scorecards_by(self, application_id: int, interviewer: str) -> list[ScorecardEntry]:
        """This interviewer's ratings of the application; never anyone else's."""
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
            .where(
                scorecards.c.application_id == application_id,
                scorecards.c.interviewer == interviewer,
            )
            .order_by(competencies.c.name)
        )
        with self.engine.begin() as conn:
            return [ScorecardEntry(**row._mapping) for row in conn.execute(query)]

    def audit_entry(
        self, application_id: int, user_id: int, ratings: int, actor: str, now: datetime
    ) -> None:
        """Record that an interviewer entered ratings for this application (ids and a count)."""
        detail: dict[str, object] = {"user_id": user_id, "ratings": ratings}
        with self.engine.begin() as conn:
            audit(conn, actor, "scorecard.entered", "application", application_id, detail, now)


def _rated(conn: Connection, application_ids: Sequence[int], interviewer: str) -> dict[int, int]:
    query = (
        select(scorecards.c.application_id, func.count(func.distinct(scorecards.c.competency_id)))
        .where(
            scorecards.c.application_id.in_(application_ids),
            scorecards.c.interviewer == interviewer,
        )
        .group_by(scorecards.c.application_id)
    )
    return {app_id: int(count) for app_id, count in conn.execute(query).tuples()}


def _competency_counts(conn: Connection, job_ids: set[int]) -> dict[int, int]:
    query = (
        select(competencies.c.job_id, func.count())
        .where(competencies.c.job_id.in_(job_ids))
        .group_by(competencies.c.job_id)
    )
    return {job_id: int(count) for job_id, count in conn.execute(query).tuples()}
