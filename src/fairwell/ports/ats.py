"""Applicant tracking systems: pulling applications, writing decisions back and webhooks in
(integrations/<vendor>/, storage/ats_store.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from fairwell.config import Settings

if TYPE_CHECKING:
    from fairwell.domain.model import ApplicantRow, Stage
    from fairwell.ports.pipeline import ImportCounts


@dataclass(frozen=True, slots=True)
class PulledApplication:
    """One application as the ATS's API gives it, its values by profile field (``email``,
    ``first_name``, ``stage``, ``status``, ``source``, ``applied_at``…), raw: the vendor's
    own stage and source names, dates as ISO 8601 text."""

    ats_application_id: str
    ats_candidate_id: str | None
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class PulledPage:
    applications: list[PulledApplication]
    next_cursor: str | None  # None: this was the last page


class AtsConnector(Protocol):
    """One vendor's API: pull a job's applications page by page, write a decision back.

    Raises only the AtsError family (fairwell.errors). ``api_fields`` names, for each
    profile field, what the API calls it (for messages about a bad value).
    """

    vendor: str
    api_fields: Mapping[str, str]

    def job_title(self, ats_job_id: str) -> str: ...

    def page(self, ats_job_id: str, cursor: str | None) -> PulledPage: ...

    def reject(self, ats_application_id: str, reason: str, note: str) -> str:
        """Reject (Greenhouse) or archive (Lever) the application, sending the candidate
        nothing; returns what was done ("rejected", or "already rejected" when the ATS had
        it so already). Raises AtsRefused when it can never be done (deleted, hired)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Which ATS application a row of a pulled page came from."""

    ats_application_id: str
    ats_candidate_id: str | None


class PullState(StrEnum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PullCheckpoint:
    state: PullState
    cursor: str | None
    pages: int
    applications: int
    job_title: str
    last_error: str | None


class WriteBackState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    RETRY = "retry"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ClaimedWriteBack:
    id: int
    vendor: str
    ats_application_id: str
    reason_code: str
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class WriteBackOutcome:
    id: int
    state: WriteBackState
    error: str | None = None
    next_attempt_at: datetime | None = None
    release: bool = False  # given back unattempted: this claim does not count


@dataclass(frozen=True, slots=True)
class WriteBackRow:
    id: int
    vendor: str
    application_id: int
    ats_application_id: str
    reason_code: str
    state: WriteBackState
    attempts: int
    last_error: str | None
    updated_at: datetime


class EventKind(StrEnum):
    REJECTED = "rejected"
    STAGE = "stage"
    HIRED = "hired"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AtsEvent:
    """A verified webhook, reduced to what Fairwell records: no names, no addresses."""

    vendor: str
    delivery_key: str  # the vendor's id of this delivery: a replay carries the same one
    event: str  # the vendor's event name
    kind: EventKind
    ats_application_id: str | None
    ats_job_id: str | None
    stage_name: str | None = None  # a stage change: the vendor's name (or id) of the stage
    status: str | None = None  # a rejection: the reason's type or name ("They rejected us")
    reason: str | None = None  # a rejection: the vendor's reason (name or id)
    # False while the stage or reason is still an id a lookup must name (Lever's).
    resolved: bool = True


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What Fairwell knows about the event's application, read in the event's transaction."""

    application_id: int | None
    job_known: bool
    stage: Stage | None
    decided: bool  # the application has an active decision already


@dataclass(frozen=True, slots=True)
class EventChange:
    """What to do about an event: the outcome recorded with it, and the change, if any."""

    outcome: str
    detail: str = ""
    stage: Stage | None = None
    decision_code: str | None = None


# A vendor's check of its signed webhooks (integrations/<vendor>/webhooks.py): the body, the
# headers and the settings in; the event out, or WebhookRefused.
WebhookReceiver = Callable[[bytes, Mapping[str, str], Settings], AtsEvent]


class AtsStore(Protocol):
    """The database side of the integrations (storage/ats_store.py)."""

    def checkpoint(self, vendor: str, ats_job_id: str) -> PullCheckpoint | None: ...

    def begin_pull(self, vendor: str, ats_job_id: str, job_title: str, now: datetime) -> None: ...

    def import_page(
        self,
        vendor: str,
        ats_job_id: str,
        rows: Sequence[ApplicantRow],
        origins: Mapping[int, Origin],
        next_cursor: str | None,
        now: datetime,
        actor: str,
    ) -> ImportCounts:
        """Write one page's rows, link them to their origins and move the checkpoint on, all
        in one transaction; the pull is done when ``next_cursor`` is None."""
        ...

    def interrupt_pull(self, vendor: str, ats_job_id: str, error: str, now: datetime) -> None: ...

    def enqueue_writebacks(self, now: datetime) -> int: ...

    def claim_writebacks(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedWriteBack]: ...

    def record_writeback(self, outcome: WriteBackOutcome, owner: str, now: datetime) -> None: ...

    def writebacks(self, state: WriteBackState | None = None) -> list[WriteBackRow]: ...

    def apply_event(
        self, event: AtsEvent, decide: Callable[[EventFacts], EventChange], now: datetime
    ) -> EventChange | None:
        """Record the event once and apply ``decide``'s change in one transaction; None when
        the same delivery was recorded before (a replay)."""
        ...
