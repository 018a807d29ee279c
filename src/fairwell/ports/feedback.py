"""Interview feedback: competencies, scorecards, drafts and their review, the wording check,
and candidates' requests for more feedback (storage/feedback_store.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from fairwell.domain.model import (
    FeedbackState,
)

if TYPE_CHECKING:
    from fairwell.domain.feedback import Competency, CompetencyKind, Rating, Wording
    from fairwell.domain.requests import RequestState


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """The feedback for one decision: paragraphs and next steps, each split by newlines."""

    state: FeedbackState
    text: str
    next_steps: str
    lint_findings: int = 0
    override_reason: str | None = None
    # Why it cannot be approved yet ("needs wording for Spark"); empty when nothing holds it.
    holds: tuple[str, ...] = ()
    basis: str | None = None  # "skills" or "requirements": what the feedback rests on

    @property
    def approved(self) -> bool:
        return self.state is FeedbackState.APPROVED

    @property
    def held(self) -> bool:
        return bool(self.holds)


class ScorecardInput(Protocol):
    """One validated scorecard row (see services/scorecard_file.py)."""

    @property
    def row(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def job(self) -> str: ...
    @property
    def interviewer(self) -> str: ...
    @property
    def competency(self) -> str: ...
    @property
    def rating(self) -> int: ...
    @property
    def internal_note(self) -> str: ...
    @property
    def note_for_candidate(self) -> str: ...


@dataclass(frozen=True, slots=True)
class WordingFinding:
    """Wording in candidate-facing text that touches a protected characteristic."""

    rule: str
    span: tuple[int, int]
    why: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class RubricRow:
    """A competency of a job, and optionally its wording in one language, checked.

    ``kind`` None keeps the stored kind (a new competency is a competency); a wording part
    left "" keeps what was stored for it. ``row`` is where it stands in its file.
    """

    row: int
    job: str
    name: str
    bar: int
    kind: CompetencyKind | None = None
    locale: str | None = None
    wording: Wording | None = None


@dataclass(frozen=True, slots=True)
class DraftText:
    """Feedback as stored: its lines, next steps, what the checks found and what holds it.

    Saving a draft of a decision that already has one replaces it (a redraft once the
    missing wording exists)."""

    text: str
    next_steps: str
    findings: int = 0
    holds: tuple[str, ...] = ()
    basis: str | None = None


class WordingCheck(Protocol):
    """The wording check of candidate-facing text in one language.

    ``required_languages``: the languages the job states a requirement for (from its
    competency names); remarks about proficiency in one of them are job-related."""

    def __call__(
        self, text: str, locale: str, required_languages: Collection[str] = ()
    ) -> list[WordingFinding]: ...


class FeedbackStore(Protocol):
    """Competencies, scorecards and feedback drafts. Every method is one transaction."""

    def add_competency(
        self,
        job_id: int,
        name: str,
        bar: int,
        actor: str,
        now: datetime,
        kind: CompetencyKind | None = None,
    ) -> None: ...

    def competencies(self, job_id: int) -> list[Competency]: ...

    def set_wording(
        self, job_id: int, name: str, locale: str, wording: Wording, actor: str, now: datetime
    ) -> None: ...

    def wordings(self, job_id: int) -> dict[str, dict[str, Wording]]: ...

    def save_rubric(self, rows: Sequence[RubricRow], actor: str, now: datetime) -> None: ...

    def save_scorecards(self, rows: Sequence[ScorecardInput], actor: str, now: datetime) -> int: ...

    def ratings(self, application_ids: Sequence[int]) -> dict[int, list[Rating]]: ...

    def review_counts(self) -> dict[int, dict[str, int]]:
        """Per job, feedback per state whose letter has not been queued yet."""
        ...

    def save_draft(
        self,
        decision_id: int,
        draft: DraftText,
        actor: str,
        now: datetime,
    ) -> None: ...

    def edit(
        self,
        decision_id: int,
        draft: DraftText,
        actor: str,
        now: datetime,
    ) -> None: ...

    def review(
        self,
        decision_ids: Sequence[int],
        state: FeedbackState,
        actor: str,
        now: datetime,
        override_reason: str | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ScorecardEntry:
    """One interviewer's rating of one competency. ``internal_note`` never reaches a letter."""

    competency: str
    bar: int
    interviewer: str
    rating: int
    internal_note: str
    note_for_candidate: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A candidate's request for more feedback (the question itself stays in the store)."""

    id: int
    decision_id: int
    application_id: int
    email: str
    job_title: str
    job_id: int
    state: RequestState
    question: str
    received_at: datetime
    due_at: datetime
    answered_at: datetime | None = None


class RequestStore(Protocol):
    def add(
        self,
        decision_id: int,
        question: str,
        received_at: datetime,
        due_at: datetime,
        actor: str,
    ) -> int: ...

    def all(self, open_only: bool) -> list[RequestRecord]: ...

    def get(self, request_id: int) -> RequestRecord: ...

    def mark_answered(self, request_id: int, answer: str, actor: str, now: datetime) -> None: ...
