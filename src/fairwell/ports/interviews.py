"""Interview assignments: who rates whom (storage/interviews_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.model import Job, Person, Stage
    from fairwell.ports.feedback import ScorecardEntry


@dataclass(frozen=True, slots=True)
class AssignedInterview:
    """An application an interviewer is assigned to, and how much of it they have rated."""

    application_id: int
    full_name: str
    job_id: int
    job_title: str
    stage: Stage
    rated: int
    competencies: int

    @property
    def done(self) -> bool:
        return self.competencies > 0 and self.rated >= self.competencies


@dataclass(frozen=True, slots=True)
class InterviewSubject:
    """The candidate of one assignment, as the interviewer's scorecard form needs them."""

    application_id: int
    person: Person
    job: Job
    stage: Stage


class InterviewStore(Protocol):
    """Interview assignments (storage/interviews_store.py). Every method is one transaction."""

    def application_for(self, job_id: int, email: str) -> int | None: ...

    def assign(self, application_id: int, user_id: int, actor: str, now: datetime) -> bool: ...

    def assigned_to(self, user_id: int, interviewer: str) -> list[AssignedInterview]: ...

    def subject(self, application_id: int, user_id: int) -> InterviewSubject | None: ...

    def scorecards_by(self, application_id: int, interviewer: str) -> list[ScorecardEntry]: ...

    def audit_entry(
        self, application_id: int, user_id: int, ratings: int, actor: str, now: datetime
    ) -> None: ...
