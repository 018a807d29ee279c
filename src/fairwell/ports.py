"""The seams between the use cases and the outside world (typing.Protocol).

Services depend on these, never on SQLAlchemy, smtplib or the wall clock directly, so the
same delivery code runs under the embedded worker, a Celery worker and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from fairwell.domain.duplicates import Merge, MergeChoice
from fairwell.domain.eligibility import History
from fairwell.domain.feedback import Competency, CompetencyKind, Rating, Wording
from fairwell.domain.model import (
    ApplicantRow,
    Application,
    Decision,
    FeedbackState,
    Job,
    OutboxState,
    Person,
    Stage,
)
from fairwell.domain.requests import RequestState
from fairwell.domain.users import Role, User
from fairwell.errors import DeliveryError as DeliveryError
from fairwell.errors import InboxUnavailable as InboxUnavailable
from fairwell.errors import PermanentDeliveryError as PermanentDeliveryError
from fairwell.errors import TransientDeliveryError as TransientDeliveryError
from fairwell.guard.privacy import SendTimeFacts
from fairwell.guard.roster import CountedEntries, RosterEntry


class Transport(Protocol):
    """Sends one message to one recipient. Raises only DeliveryError subclasses."""

    def send(self, sender: str, recipient: str, message: bytes) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class StreamingTransport(Transport, Protocol):
    """A transport that can overlap letters: each letter's outcome may come back with a later
    call. ``submit``, ``collect`` and ``flush`` return (key, None) for a letter the relay
    took, and (key, error) with a DeliveryError otherwise; every submitted key comes back
    exactly once, at the latest from ``flush``, which must be called before ``send`` or
    ``close``. ``collect`` only reads: outcomes recorded before the next ``submit`` keep the
    letters sent but not recorded to one at a time."""

    def submit(
        self, key: int, sender: str, recipient: str, message: bytes
    ) -> list[tuple[int, DeliveryError | None]]: ...

    def collect(self) -> list[tuple[int, DeliveryError | None]]: ...

    def flush(self) -> list[tuple[int, DeliveryError | None]]: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware (UTC)."""
        ...


class RenderedText(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def html(self) -> str: ...


class TemplateSource(Protocol):
    """Renders a letter kind in a locale from a context of plain values."""

    def render(self, kind: str, locale: str, context: dict[str, object]) -> RenderedText: ...


# --- Records exchanged with the store -------------------------------------------------------
# Plain frozen dataclasses, so services and the web/CLI never see SQLAlchemy rows.


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
class NewLetter:
    decision_id: int | None  # None for a status letter: nothing has been decided yet
    application_id: int
    kind: str
    locale: str
    sender: str
    recipient: str
    message_id: str
    body: bytes
    planned_stage: Stage
    letter_key: str | None = None  # "decision:<decision_id>" when None
    not_before: datetime | None = None  # its send window (services/scheduling.py); None: now
    keep_until: date | None = None  # the day the letter promises to keep the application until
    decide_by: date | None = None  # a status letter's promise: a decision by this day


@dataclass(frozen=True, slots=True)
class ClaimedLetter:
    id: int
    batch_id: int
    job_id: int
    application_id: int
    person_id: int
    sender: str
    recipient: str
    locale: str
    body: bytes
    planned_stage: Stage
    attempts: int
    created_at: datetime
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed letter; the store writes it and its audit entry."""

    outbox_id: int
    state: OutboxState
    next_attempt_at: datetime | None = None
    code: int | None = None
    error: str | None = None
    held_rule: str | None = None
    possible_duplicate: bool = False
    suppress_recipient: bool = False
    pause_batch: bool = False
    release: bool = False


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    batch_id: int
    application_id: int
    kind: str
    recipient: str
    state: OutboxState
    attempts: int
    last_code: int | None
    last_error: str | None
    held_rule: str | None
    possible_duplicates: int
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    paused: bool
    counts: dict[str, int] = field(default_factory=dict)
    possible_duplicates: int = 0
    paused_batches: tuple[int, ...] = ()
    # Letters held because a sender stopped their batch (see Store.stop_batch).
    stopped: int = 0
    # Queued letters waiting for their send window (counted when a time is given), and when
    # the first of them goes.
    scheduled: int = 0
    next_scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """A batch as the web shows it: its job, who queued it and when, and how far it is."""

    id: int
    job_id: int
    job_title: str
    created_by: str
    created_at: datetime
    state: str  # active, paused (by a person or the guard), stopped
    total: int
    done: int  # sent, failed, held or quarantined


class BatchControls(Protocol):
    """Reading batches and pausing one (storage/batches_read.py)."""

    def summary(self, batch_id: int) -> BatchSummary: ...

    def unfinished(self, limit: int = 20) -> list[BatchSummary]: ...

    def set_paused(self, batch_id: int, paused: bool, actor: str, now: datetime) -> None: ...


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
class RequestRecord:
    """A candidate's request for more feedback (the question itself stays in the store)."""

    id: int
    decision_id: int
    application_id: int
    email: str
    job_title: str
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


@dataclass(frozen=True, slots=True)
class InterviewedRecord:
    """An interviewed application and when a letter first told them anything (None: never)."""

    application_id: int
    ref: str
    job_title: str
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


class UserStore(Protocol):
    """Persistence of accounts (storage/users_store.py). Every method is one transaction."""

    def add(
        self, username: str, password_hash: str, role: Role, actor: str, now: datetime
    ) -> User: ...

    def by_username(self, username: str) -> tuple[User, str] | None: ...

    def by_id(self, user_id: int) -> User | None: ...

    def all(self) -> list[User]: ...

    def set_hash(self, user_id: int, new_hash: str) -> None: ...

    def change_password(self, user_id: int, new_hash: str, actor: str, now: datetime) -> None: ...

    def disable(self, username: str, actor: str, now: datetime) -> None: ...


class JobManagers(Protocol):
    """Which jobs a hiring manager looks after (storage/users_store.py)."""

    def jobs_of(self, user_id: int) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class RosterChanges:
    """Who changed on the roster after a version: each person id to their identifiers now
    (None: no longer on file), and the version the roster is at once they are applied."""

    version: int
    people: Mapping[int, RosterEntry | None]


class RosterStore(Protocol):
    """The organisation's roster: everyone on file, and who changed since a version."""

    def roster(self) -> CountedEntries:
        """Everyone on file (erased people aside), counted, then streamed in person-id order."""
        ...

    def roster_version(self) -> int: ...

    def roster_changes(self, since: int, limit: int) -> RosterChanges | None:
        """The people changed after ``since``; None when more than ``limit`` did."""
        ...


class Store(RosterStore, Protocol):
    """Persistence for the use cases. Every method is one transaction."""

    def upsert_applicants(
        self,
        rows: Sequence[ApplicantRow],
        now: datetime,
        actor: str,
        merges: Sequence[Merge] = (),
        source_file: str = "",
    ) -> ImportCounts:
        """Write the rows; ``merges`` (from the file named ``source_file``) are kept for the
        plan, replacing any earlier merge of the applications this import touches."""
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

    def applicants(self, job_id: int) -> list[ApplicantView]: ...

    def applicant_page(
        self, job_id: int, shown: ApplicantFilter, offset: int, limit: int
    ) -> ApplicantPage: ...

    def applicant_emails(self, job_id: int, shown: ApplicantFilter) -> list[str]: ...

    def streamed_applicants(self, job_id: int) -> Iterator[ApplicantView]: ...

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

    def application_ids(self, job_id: int) -> list[int]: ...

    def create_batch(
        self,
        job_id: int,
        letters: Iterable[NewLetter],
        actor: str,
        now: datetime,
        rate_per_second: int | None,
        detail: Callable[[], Mapping[str, object]] | None = None,
    ) -> tuple[int, int]: ...

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedLetter]: ...

    def send_time_facts(
        self, letters: Sequence[ClaimedLetter], now: datetime | None = None
    ) -> dict[int, SendTimeFacts]: ...

    def record_outcomes(self, outcomes: Sequence[Outcome], owner: str, now: datetime) -> None: ...

    def outbox_status(
        self, batch_id: int | None = None, now: datetime | None = None
    ) -> OutboxStatus: ...

    def outbox_rows(
        self, state: OutboxState | None, batch_id: int | None, limit: int
    ) -> list[OutboxRow]: ...

    def outbox_body(self, outbox_id: int) -> bytes: ...

    def letter_body_for(self, decision_id: int) -> bytes | None: ...

    def set_paused(self, paused: bool, actor: str, now: datetime) -> None: ...

    def stop_batch(self, batch_id: int, actor: str, now: datetime) -> int: ...

    def requeue(
        self, states: Sequence[OutboxState], ids: Sequence[int], actor: str, now: datetime
    ) -> int: ...

    def audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: dict[str, object],
        now: datetime,
    ) -> None: ...


# --- Edited letter wording (the settings pages) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterOverrides:
    """Wording and templates edited in the settings pages, as one snapshot.

    ``wordings`` maps (reason code, locale) to the candidate-facing sentence; ``templates``
    maps a template name (``letters/en/rejection.txt.j2``) to its source.
    """

    wordings: Mapping[tuple[str, str], str] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """Who last edited one override and when (the text itself stays in the store)."""

    key: str
    updated_by: str
    updated_at: datetime


class TemplateOverrides(Protocol):
    """Template sources that win over the files; the same mapping object until one changes."""

    def template_sources(self) -> Mapping[str, str]: ...


class ReasonWordings(Protocol):
    """The candidate-facing wording of a reason code in a locale, edited or built in."""

    def wording(self, code: str, locale: str) -> str: ...


class LetterSettingsStore(Protocol):
    """Persistence of edited wording and templates. Every write is one audited transaction."""

    def overrides(self) -> LetterOverrides: ...

    def wording_records(self) -> list[OverrideRecord]: ...

    def template_records(self) -> list[OverrideRecord]: ...

    def save_wording(
        self, code: str, locale: str, wording: str, actor: str, now: datetime
    ) -> None: ...

    def reset_wording(self, code: str, locale: str, actor: str, now: datetime) -> bool: ...

    def save_template(self, name: str, source: str, actor: str, now: datetime) -> None: ...

    def reset_template(self, name: str, actor: str, now: datetime) -> bool: ...


# --- The applicant record and interview assignments (web/applicants.py) ---------------------


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
class AuditEntry:
    """One audit log row; ``detail`` is the stored JSON of ids, counts and codes."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    detail: str


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


# --- The candidate portal and data-protection requests (issue 5) --------------------------


@dataclass(frozen=True, slots=True)
class PortalApplication:
    """What the portal knows of the application a link was made for, and nothing more."""

    application_id: int
    ref: str
    person_id: int
    first_name: str
    locale: str
    job_id: int
    job_title: str
    never_applied: bool
    decision_id: int | None
    letter_sent_at: datetime | None
    next_steps: tuple[str, ...]  # from approved feedback only, as the letter lists them
    country: str | None = None  # where the candidate is: whose holidays a due date skips
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    purpose: str
    given_at: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class PrivacyRequestRecord:
    id: int
    kind: str  # "access" or "erasure"
    person_id: int | None  # None once the person was erased
    email: str | None
    channel: str  # "portal", "cli" or "admin"
    state: str  # "open" or "done"
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class HoldRecord:
    id: int
    person_id: int
    email: str
    reason: str
    created_by: str
    created_at: datetime


class PortalStore(Protocol):
    """The portal's reads and writes; every method is one transaction."""

    def application(self, ref: str) -> PortalApplication | None: ...

    def applications_of(self, person_id: int) -> list[PortalApplication]: ...

    def use_nonce(self, nonce: str, application_id: int | None, now: datetime) -> bool: ...

    def letters_since(self, application_id: int, kind: str, since: datetime) -> int: ...

    def checklist(self, application_id: int) -> frozenset[int]: ...

    def save_checklist(
        self, application_id: int, ticked: frozenset[int], now: datetime
    ) -> None: ...

    def consent(self, person_id: int, now: datetime) -> ConsentRecord | None: ...

    def give_consent(
        self, application: PortalApplication, purpose: str, until: datetime, now: datetime
    ) -> None: ...

    def withdraw_consent(self, person_id: int, now: datetime) -> bool: ...


class PrivacyStore(Protocol):
    """Access and erasure requests, legal holds, the export's reads and the erasure itself."""

    def person_id(self, email: str) -> int | None: ...

    def add_request(
        self, kind: str, person_id: int, channel: str, now: datetime, due: datetime
    ) -> int: ...

    def complete_requests(self, person_id: int, kind: str, now: datetime) -> int: ...

    def open_requests(self, person_id: int, kind: str) -> list[PrivacyRequestRecord]: ...

    def requests(self) -> list[PrivacyRequestRecord]: ...

    def holds(self, person_id: int | None = None) -> list[HoldRecord]: ...

    def add_hold(self, person_id: int, reason: str, actor: str, now: datetime) -> int: ...

    def release_hold(self, hold_id: int, actor: str, now: datetime) -> None: ...

    def export_rows(self, person_id: int) -> dict[str, object]: ...

    def erase(
        self, person_id: int, request_id: int | None, actor: str, now: datetime
    ) -> dict[str, int]: ...


class SendSlots(Protocol):
    """Send slots shared by every worker (storage/rates_store.py); times in epoch seconds."""

    def reserve(self, intervals: Sequence[tuple[str, float]], now: float) -> float: ...

    def back_off(self, until: float) -> None: ...

    def backoff_until(self) -> float: ...


class StatusLetterStore(Protocol):
    """The status letters each application has had (storage/notices.py)."""

    def status_letters(self, application_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
        """Per application id: how many status letters it has, and whether one still waits."""
        ...


# --- Retention (issue 6) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """One application the retention run weighs: facts only, no names or addresses."""

    application_id: int
    person_id: int
    country: str | None
    letter_dated: datetime | None  # the Date header of the letter that told the decision
    delivered_at: datetime | None  # its outbox.sent_at; None while not delivered
    promised_until: date | None  # the day that letter promised, stored when it was written
    consent_until: datetime | None  # the person's talent-pool consent in force, if any
    region: str | None = None  # ISO 3166-2, with ``country`` the jurisdiction
    stage: Stage | None = None
    stage_changed_at: datetime | None = None
    decided_at: datetime | None = None  # the latest decision, if any
    job_closed_at: datetime | None = None


class RetentionStore(Protocol):
    """The retention run's reads and the expiry itself (storage/retention_store.py)."""

    def rows(self) -> list[RetentionRow]: ...

    def application_facts(self, application_id: int) -> RetentionRow | None: ...

    def expire(self, person_id: int, anonymise: bool, now: datetime) -> dict[str, int]: ...

    def record_run(self, detail: dict[str, object], now: datetime) -> None: ...


# --- Semantic similarity (issue 6) ----------------------------------------------------------


class SimilarityModel(Protocol):
    """A sentence-embedding model (services/semantic.py): texts in, one vector per text out.

    Vectors of texts alike in meaning point the same way; compare them with
    :func:`fairwell.domain.matching.similarity`.
    """

    @property
    def name(self) -> str:
        """The model's name, as the recruiter reads it."""
        ...

    def encode(self, texts: Sequence[str]) -> list[list[float]]: ...


# --- Mail that comes back: replies, bounces, suppressions (issue 18) -----------------------


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message waiting in the inbox: its key there and its exact bytes."""

    key: str
    raw: bytes


class Inbox(Protocol):
    """Where replies and bounces arrive (delivery/inbox.py: a Maildir or an IMAP folder).

    A message stays new until :meth:`handled` (kept, marked as read) or :meth:`delete` is
    called for it, so a crash or a broken connection loses nothing. Raises InboxUnavailable.
    """

    def new_messages(self) -> Iterator[ReceivedMail]: ...

    def handled(self, key: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LetterOnFile:
    """One letter we sent, as a reply or a bounce finds it by its Message-ID."""

    outbox_id: int
    application_id: int
    recipient: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ApplicationOnFile:
    application_id: int
    email: str


@dataclass(frozen=True, slots=True)
class InboundReply:
    """What is kept of a reply: the candidate's words and what threads our answer, no more."""

    digest: str
    sender: str | None
    subject: str
    message_id: str | None
    references: tuple[str, ...]
    text: str
    attachments: int


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """A matched reply: the request it opened or joined; ``unmatched`` says why it could not
    become one (it is then listed with the unmatched mail)."""

    request_id: int | None
    created: bool
    unmatched: str | None = None


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """A stored inbound message (a reply, or mail nobody could match)."""

    id: int
    kind: str
    received_at: datetime
    sender: str | None
    subject: str
    text: str
    attachments: int
    note: str | None
    application_id: int | None
    request_id: int | None


@dataclass(frozen=True, slots=True)
class BounceRecord:
    """A delivery report about one of our letters: permanent ones suppress the address."""

    id: int
    outbox_id: int
    application_id: int
    recipient: str
    status: str
    permanent: bool
    diagnostic: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class MailThread:
    """The candidate's message an answer goes back to: "Re: " its subject, in its thread."""

    subject: str
    message_id: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """One letter's state and its stored bytes (e.g. the answer to a feedback request)."""

    outbox_id: int
    state: OutboxState
    sent_at: datetime | None
    body: bytes


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    email: str
    reason: str
    since: datetime


class InboxStore(Protocol):
    """Inbound mail and bounces (storage/inbox_store.py). Every write is one transaction."""

    def seen(self, digest: str) -> bool: ...

    def erased_letter(self, message_ids: Sequence[str]) -> bool: ...

    def letters(self, message_ids: Sequence[str]) -> list[LetterOnFile]: ...

    def applications_by_ref(self, refs: Sequence[str]) -> list[ApplicationOnFile]: ...

    def applications_written_to(self, email: str) -> list[ApplicationOnFile]: ...

    def record_reply(
        self,
        reply: InboundReply,
        application_id: int,
        outbox_id: int | None,
        now: datetime,
        due_at: datetime,
        actor: str,
    ) -> ReplyOutcome: ...

    def record_unmatched(self, reply: InboundReply, note: str, now: datetime) -> int: ...

    def record_ignored(self, digest: str, kind: str, now: datetime) -> None: ...

    def record_bounce(
        self,
        digest: str,
        letter: LetterOnFile,
        failure: tuple[str, bool, str],
        now: datetime,
        actor: str,
    ) -> None:
        """``failure``: (status code, permanent, diagnostic with addresses blanked)."""
        ...

    def unmatched(self, limit: int) -> list[InboundRecord]: ...

    def thread(self, request_id: int) -> list[InboundRecord]: ...

    def mail_thread(self, request_id: int) -> MailThread | None: ...

    def answer_letter(self, request_id: int) -> StoredLetter | None: ...

    def bounces(
        self, application_id: int | None = None, limit: int = 500
    ) -> list[BounceRecord]: ...


class SuppressionStore(Protocol):
    """Addresses never written to again (storage/inbox_store.py)."""

    def suppressions(self) -> list[SuppressionRecord]: ...

    def suppress(self, email: str, reason: str, actor: str, now: datetime) -> bool: ...

    def unsuppress(self, email: str, actor: str, now: datetime) -> bool: ...
