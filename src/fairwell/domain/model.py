"""The nouns of hiring that Fairwell writes about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    """Where an application stands in the hiring pipeline."""

    APPLIED = "applied"
    SCREEN = "screen"
    PHONE = "phone"
    ONSITE = "onsite"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # The candidate turned our offer down: like withdrawn, they are owed no rejection; their
    # data has its own retention period (docs/retention.md).
    DECLINED = "declined"


INTERVIEW_STAGES = frozenset({Stage.PHONE, Stage.ONSITE})


class Source(StrEnum):
    """How the record entered the pipeline.

    ``applied``: the person applied, whether or not someone also referred them. ``referred``
    and ``sourced``: someone else put them in. Only the source says who applied: ATS exports
    fill ``applied_at`` for every record (it is the day the record was created).
    """

    APPLIED = "applied"
    REFERRED = "referred"
    SOURCED = "sourced"

    @property
    def applied_themselves(self) -> bool:
        """True only for ``applied``: a referred or sourced person never applied."""
        return self is Source.APPLIED


class LetterKind(StrEnum):
    """The letters Fairwell writes. Each kind has its own templates per locale."""

    REJECTION = "rejection"
    REFERRAL_CLOSED = "referral_closed"
    FEEDBACK_ANSWER = "feedback_answer"
    # "No decision yet; we will tell you by ...": keeps a notice deadline (services/deadlines.py).
    STATUS = "status"
    # A fresh portal link, asked for from the portal's expired-link page (web/portal.py).
    PORTAL_LINK = "portal_link"
    # "A role that may fit you has opened": only to people on file with consent (rediscovery).
    ROLE_OPENED = "role_opened"
    # "We keep your data until ...; keep it longer or delete it now": before a consent ends.
    CONSENT_RENEWAL = "consent_renewal"


class DecisionState(StrEnum):
    ACTIVE = "active"
    REINSTATED = "reinstated"


class FeedbackState(StrEnum):
    """Feedback a candidate may read goes out only once a hiring manager approved it."""

    DRAFT = "draft"
    APPROVED = "approved"
    PLAIN = "plain"


class OutboxState(StrEnum):
    """Life of one letter in the outbox; see docs/operations.md for the diagram."""

    QUEUED = "queued"
    SENDING = "sending"
    RETRY = "retry"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"
    QUARANTINED = "quarantined"
    # Accepted by the relay, then reported undeliverable for good by a delivery report.
    BOUNCED = "bounced"


# The held_rule of letters a recruiter stopped: held like the guard's, and requeueable.
STOPPED_RULE = "stopped-by-sender"

# A batch a person paused on its page stays paused until a person resumes it; one the
# send-time guard paused (a letter failed its check) is resumed with the whole outbox, once
# the cause is fixed. Both are paused: no letter of theirs is claimed.
BATCH_PAUSED = "paused"
BATCH_GUARD_PAUSED = "guard_paused"
PAUSED_BATCH_STATES = (BATCH_PAUSED, BATCH_GUARD_PAUSED)

CLAIMABLE_STATES = frozenset({OutboxState.QUEUED, OutboxState.RETRY})
FINAL_STATES = frozenset(
    {
        OutboxState.SENT,
        OutboxState.FAILED,
        OutboxState.HELD,
        OutboxState.QUARANTINED,
        OutboxState.BOUNCED,
    }
)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    title: str
    # Who signs the job's letters ("Dana Smith, Hiring Manager"); None: the installation's
    # FAIRWELL_SENDER_NAME, else the organisation.
    sender_name: str | None = None
    closed_at: datetime | None = None  # the search ended; retention clocks start here
    # Who turned on the job's auto-send rule (services/auto_send.py); None: off, every plan
    # waits for a person to confirm it.
    auto_send_by: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    email: str
    first_name: str
    last_name: str
    locale: str
    erased: bool = False
    country: str | None = None
    timezone: str | None = None
    # ISO 3166-2 subdivision ("CA-ON", "US-CA"): statutory rules can differ by province or state.
    region: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    ref: str
    job_id: int
    person_id: int
    stage: Stage
    source: Source
    referred_by: str | None = None
    referral_aware: bool | None = None
    applied_at: datetime | None = None
    last_interview_at: datetime | None = None

    @property
    def never_applied(self) -> bool:
        """Someone else put this person in (referred or sourced), whatever ``applied_at`` says.

        They get the referral-closed letter and never words that say they applied.
        """
        return not self.source.applied_themselves


@dataclass(frozen=True, slots=True)
class Decision:
    id: int
    application_id: int
    reason_code: str
    note: str | None
    decided_at: datetime
    state: DecisionState = DecisionState.ACTIVE
    # The recruiter chose this reason for this person (not for a stage or for everyone).
    reason_chosen: bool = False


@dataclass(frozen=True, slots=True)
class ApplicantRow:
    """One application as the file states it, every value checked and normalised.

    ``row`` is the row a person counts in the file: in a CSV the header is row 1 and the first
    applicant row 2 (blank rows count, as in a spreadsheet); in JSON the position in the list,
    from 1. Datetimes are always timezone-aware UTC.
    """

    row: int
    email: str
    first_name: str
    last_name: str
    job: str
    stage: Stage
    source: Source
    referred_by: str | None
    referral_aware: bool | None
    locale: str
    country: str | None
    timezone: str | None
    applied_at: datetime | None
    last_interview_at: datetime | None
    region: str | None = None  # ISO 3166-2, within ``country`` ("CA-ON")
