"""Rediscovery: the people on file with valid consent, and their past evidence
(storage/rediscovery_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.matching import Evidence, Requirement
    from fairwell.domain.model import Job


@dataclass(frozen=True, slots=True)
class OnFile:
    """A person with valid talent-pool consent; ``application_id`` is the consented one."""

    person_id: int
    email: str
    name: str
    application_id: int
    application_job_id: int
    consent_until: datetime
    titles: tuple[str, ...]
    evidence: tuple[Evidence, ...]


class RediscoveryStore(Protocol):
    """What a ranking reads: ratings, competency names and job titles, never a note."""

    def job(self, job_id: int) -> Job: ...

    def requirements(self, job_id: int) -> list[Requirement]: ...

    def on_file(self, job_id: int, now: datetime) -> list[OnFile]:
        """People with consent not withdrawn nor expired, not erased, not applying to the job."""
        ...

    def invited(self, job_id: int) -> set[int]:
        """The persons a role-opened letter for this job was already queued to."""
        ...
