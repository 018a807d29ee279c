"""What rediscovery reads: the people on file with valid consent, and their past evidence.

Only ratings, competency names and job titles are read from scorecards: internal notes and
notes for candidates never reach a ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from fairwell.domain.matching import Evidence, Requirement
from fairwell.domain.model import Job
from fairwell.errors import NotFound
from fairwell.ports.rediscovery import OnFile as OnFile
from fairwell.storage.tables import (
    applications,
    competencies,
    consents,
    jobs,
    outbox,
    persons,
    scorecards,
)


class SqlRediscovery:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def job(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            found = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if found is None:
            raise NotFound(f"no job with id {job_id}")
        return Job(found.id, found.title, found.sender_name, found.closed_at, found.auto_send_by)

    def requirements(self, job_id: int) -> list[Requirement]:
        query = (
            select(competencies.c.name, competencies.c.bar)
            .where(competencies.c.job_id == job_id)
            .order_by(competencies.c.id)
        )
        with self.engine.connect() as conn:
            return [Requirement(row.name, row.bar) for row in conn.execute(query)]

    def on_file(self, job_id: int, now: datetime) -> list[OnFile]:
        """People with consent not withdrawn nor expired, not erased, not applying to the job."""
        with self.engine.connect() as conn:
            people = conn.execute(_consented(job_id, now)).all()
            ids = [row.person_id for row in people]
            titles = _titles(conn, ids)
            evidence = _evidence(conn, ids)
        return [
            OnFile(
                row.person_id,
                row.email,
                f"{row.first_name} {row.last_name}".strip(),
                row.application_id,
                row.application_job_id,
                row.until,
                tuple(titles.get(row.person_id, ())),
                tuple(evidence.get(row.person_id, ())),
            )
            for row in people
        ]

    def invited(self, job_id: int) -> set[int]:
        """The persons a role-opened letter for this job was already queued to."""
        prefix = f"rediscovery:{job_id}:"
        query = select(outbox.c.letter_key).where(outbox.c.letter_key.startswith(prefix))
        with self.engine.connect() as conn:
            return {int(key.rsplit(":", 1)[1]) for key in conn.execute(query).scalars()}


def _consented(job_id: int, now: datetime) -> Any:
    applying = select(applications.c.person_id).where(applications.c.job_id == job_id)
    latest = (
        select(consents.c.person_id, func.max(consents.c.id).label("consent_id"))
        .where(consents.c.withdrawn_at.is_(None), consents.c.until > now)
        .group_by(consents.c.person_id)
        .subquery("latest")
    )
    return (
        select(
            persons.c.id.label("person_id"),
            persons.c.email,
            persons.c.first_name,
            persons.c.last_name,
            consents.c.application_id,
            applications.c.job_id.label("application_job_id"),
            consents.c.until,
        )
        .join(latest, latest.c.person_id == persons.c.id)
        .join(consents, consents.c.id == latest.c.consent_id)
        .join(applications, applications.c.id == consents.c.application_id)
        .where(persons.c.erased_at.is_(None), persons.c.id.not_in(applying))
        .order_by(persons.c.id)
    )


def _titles(conn: Connection, person_ids: Sequence[int]) -> dict[int, list[str]]:
    query = (
        select(applications.c.person_id, jobs.c.title)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .where(applications.c.person_id.in_(person_ids))
        .order_by(applications.c.person_id, jobs.c.title)
    )
    found: dict[int, list[str]] = {}
    for person_id, title in conn.execute(query).tuples():
        found.setdefault(person_id, []).append(title)
    return found


def _evidence(conn: Connection, person_ids: Sequence[int]) -> dict[int, list[Evidence]]:
    query = (
        select(
            applications.c.person_id,
            competencies.c.name,
            jobs.c.title,
            func.avg(scorecards.c.rating),
            func.count(scorecards.c.id),
        )
        .join(applications, applications.c.id == scorecards.c.application_id)
        .join(competencies, competencies.c.id == scorecards.c.competency_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .where(applications.c.person_id.in_(person_ids))
        .group_by(applications.c.person_id, competencies.c.name, jobs.c.title)
    )
    found: dict[int, list[Evidence]] = {}
    for person_id, name, title, average, count in conn.execute(query).tuples():
        found.setdefault(person_id, []).append(Evidence(name, title, float(average), int(count)))
    return found
