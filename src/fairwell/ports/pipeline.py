"""The pipeline: jobs, applicants and decisions, and the records the pages and plans read.

Plain frozen dataclasses, so services and the web/CLI never see SQLAlchemy rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.duplicates import Merge, MergeChoice
    from fairwell.domain.eligibility import History
    from fairwell.domain.model import (
        ApplicantRow,
        Application,
        Decision,
        Job,
        OutboxState,
        Person,
        Stage,
    )
    from fairwell.domain.requests import RequestState
    from fairwell.ports.audit import AuditEntry
    from fairwell.ports.feedback import FeedbackRecord, ScorecardEntry


@dataclass(frozen=True, slots=True)
class ImportCounts:
    people_created: int = 0
    applications_created: int = 0
    applications_updated: int = 0
    unchanged: int = 0
    jobs_created: int = 0
    new_jobs: tuple[str, ...] = ()  # titles of the jobs this import opened


@dataclass(frozen=True, slots=True)
class StoredMerge:
    """How an import made one application of several rows, as the plan lists it later.

    ``email`` is for the screen (the recruiter may see it there); never log it.
    """

    application_id: int
    email: str
    source_file: str
    rows: tuple[int, ...]
    choices: tuple[MergeChoice, ...]
    imported_at: datetime
    actor: str

    def as_json(self) -> dict[str, object]:
        return {
            "application_id": self.application_id,
            "email": self.email,
            "file": self.source_file,
            "rows": list(self.rows),
            "decided": [choice_json(choice) for choice in self.choices],
            "imported_at": self.imported_at.isoformat(),
        }


def choice_json(choice: MergeChoice) -> dict[str, object]:
    """A merge decision as plain JSON: field, value kept (None: personal data), row, rule."""
    return {
        "field": choice.field,
        "kept": choice.kept,
        "from_row": choice.from_row,
        "rule": choice.rule,
        "others": [{"row": row, "value": value} for row, value in choice.others],
        "text": choice.describe(),
    }


@dataclass(frozen=True, slots=True)
class Rejectable:
    """An application nothing stops a rejection of: not erased, at an open stage, with no
    active decision. What a bulk rejection needs of it, without the whole view."""

    id: int
    email: str
    stage: Stage


@dataclass(frozen=True, slots=True)
class JobSummary:
    job: Job
    stages: dict[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class ApplicantFilter:
    """Which of a job's applicants a pipeline shows: one stage, and/or a name or address.

    The stage is the one the pipeline shows: "rejected" for everyone with an active
    decision (whatever stage they reached), the application's own stage for everyone else.
    ``unsent``: only the decided whose letter is not queued yet (the send plan's people).
    ``order`` sorts by name, email, stage, decision or letter (the default: as imported).
    """

    stage: str | None = None
    search: str | None = None
    unsent: bool = False
    order: str = "id"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ApplicantPage:
    total: int
    views: list[ApplicantView]


@dataclass(frozen=True, slots=True)
class ApplicantView:
    application: Application
    person: Person
    history: History
    decision: Decision | None = None
    letter_state: OutboxState | None = None
    feedback: FeedbackRecord | None = None
    suppression: str | None = None  # why the address is suppressed, when it is


@dataclass(frozen=True, slots=True)
class InterviewedRecord:
    """An interviewed application and when a letter first told them anything (None: never)."""

    application_id: int
    ref: str
    job_title: str
    job_id: int
    email: str
    stage: Stage
    last_interview_at: datetime
    told_at: datetime | None
    country: str | None = None  # with region, where the candidate is: whose rule applies
    region: str | None = None
    # The latest status letter's "a decision by" (sent or on its way), and when the decision
    # letter (rejection or referral closed) first reached them.
    promised_by: date | None = None
    decided_told_at: datetime | None = None


class NoticeStore(Protocol):
    """What notice deadlines read (storage/notices.py)."""

    def interviewed(self) -> list[InterviewedRecord]: ...


class StatusLetterStore(Protocol):
    """The status letters each application has had (storage/notices.py)."""

    def status_letters(self, application_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
        """Per application id: how many status letters it has, and whether one still waits."""
        ...


class Notices(NoticeStore, StatusLetterStore, Protocol):
    """Both reads of storage/notices.py: who was interviewed, and their status letters."""


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """A decision of the application (active or reinstated) and the feedback it carries."""

    decision: Decision
    decided_by: str
    feedback: FeedbackRecord | None = None
    feedback_drafted_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """One outbox row of the application; its bytes stay in the store until asked for."""

    id: int
    decision_id: int
    letter_key: str
    kind: str
    recipient: str
    state: OutboxState
    attempts: int
    last_code: int | None
    last_error: str | None
    held_rule: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """A feedback request about one of the application's decisions (the question stays out)."""

    id: int
    decision_id: int
    state: RequestState
    received_at: datetime
    due_at: datetime
    answered_by: str | None
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class AssignmentFacts:
    user_id: int
    username: str
    assigned_by: str
    assigned_at: datetime


@dataclass(frozen=True, slots=True)
class ApplicantFacts:
    """Everything the store knows about one application, each part in time order."""

    application: Application
    person: Person
    job: Job
    created_at: datetime
    decisions: tuple[DecisionFacts, ...] = ()
    scorecards: tuple[ScorecardEntry, ...] = ()
    letters: tuple[LetterFacts, ...] = ()
    requests: tuple[RequestFacts, ...] = ()
    assignments: tuple[AssignmentFacts, ...] = ()
    audit: tuple[AuditEntry, ...] = ()


class ApplicantRecords(Protocol):
    """Reads the whole record of one application (storage/applicant_store.py)."""

    def facts(self, application_id: int) -> ApplicantFacts | None: ...

    def job_of(self, application_id: int) -> int | None: ...

    def letter_body(self, application_id: int, outbox_id: int) -> bytes | None: ...


class PipelineStore(Protocol):
    """Jobs, applicants and decisions: what an import writes, the pipeline shows and a
    rejection decides (storage/pipeline_store.py). Every method is one transaction."""

    def upsert_applicants(
        self,
        rows: Iterable[ApplicantRow],
        now: datetime,
        actor: str,
        merges: Sequence[Merge] = (),
        source_file: str = "",
        job_titles: Collection[str] | None = None,
    ) -> ImportCounts:
        """Write the rows (read a chunk at a time, all in one transaction: an exception from
        the iterator leaves nothing written); ``merges`` (from the file named ``source_file``)
        are kept for the plan, replacing any earlier merge of the applications this import
        touches. ``job_titles``, the titles the rows name, creates new jobs in one go, in
        order of title, before the first row is written."""
        ...

    def import_merges(self, job_id: int, limit: int | None = None) -> list[StoredMerge]:
        """The job's applications that an import made of several rows (at most ``limit``),
        by file and first row."""
        ...

    def import_merge_count(self, job_id: int) -> int: ...

    def jobs(self) -> list[JobSummary]: ...

    def job_by_title(self, title: str) -> Job: ...

    def job_by_id(self, job_id: int) -> Job: ...

    def set_job_sender(self, job_id: int, name: str | None, actor: str, now: datetime) -> None: ...

    def set_job_closed(self, job_id: int, closed: bool, actor: str, now: datetime) -> bool: ...

    def set_job_auto_send(self, job_id: int, by: str | None, actor: str, now: datetime) -> None: ...

    def auto_send_jobs(self) -> list[Job]: ...

    def applicants(self, job_id: int) -> list[ApplicantView]: ...

    def applicant_page(
        self, job_id: int, shown: ApplicantFilter, offset: int, limit: int
    ) -> ApplicantPage: ...

    def applicant_emails(self, job_id: int, shown: ApplicantFilter) -> list[str]: ...

    def streamed_applicants(self, job_id: int) -> Iterator[ApplicantView]: ...

    def maybe_skipped(self, job_id: int) -> Iterator[ApplicantView]:
        """The job's applicants a plan may give no letter (a superset of those it skips)."""
        ...

    def rejectable(self, job_id: int) -> Iterator[Rejectable]:
        """The job's applications nothing stops a rejection of, in id order."""
        ...

    def not_rejectable(self, job_id: int) -> Iterator[ApplicantView]:
        """The job's other applicants (erased, at a closed stage or decided), in id order."""
        ...

    def may_need_draft(self, job_id: int) -> Iterator[ApplicantView]:
        """Decided applicants with no letter yet who have scorecards or feedback, in id order:
        a superset of those a feedback draft is made for (services/feedback.py)."""
        ...

    def plain_without_scorecards(self, job_id: int) -> int:
        """Decided applicants who applied themselves, with no letter, no feedback and no
        scorecard: each needs no draft and gets a plain letter."""
        ...

    def record_decisions(
        self,
        application_ids: Sequence[int],
        reason_code: str,
        note: str | None,
        actor: str,
        now: datetime,
        reason_chosen: bool = False,
    ) -> int: ...

    def pending_letters(
        self, job_id: int, after: int = 0, until: int | None = None
    ) -> Iterator[ApplicantView]: ...

    def pending_letters_among(
        self, job_id: int, application_ids: Sequence[int]
    ) -> Iterator[ApplicantView]: ...

    def application_count(self, job_id: int) -> int: ...

    def application_chunks(self, job_id: int, size: int) -> list[tuple[int, int]]:
        """The job's applications in id order, in runs of ``size``, each as (after, until]."""
        ...
