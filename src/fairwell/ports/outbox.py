"""The outbox: batches of letters, claims, outcomes and controls (storage/outbox_store.py),
the shared send slots and the status letters each application has had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.model import OutboxState, Stage

if TYPE_CHECKING:
    from fairwell.guard.privacy import SendTimeFacts


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
    guard_seal: str | None = None  # the guard's seal on the body (guard/seal.py), if sealed


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
    guard_seal: str | None = None  # the guard's seal on the body when it was composed


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
    # Letters held because a sender stopped their batch (see Batches.stop_batch).
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

    def outbox_page(
        self,
        state: str | None,
        batch_id: int | None,
        search: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[OutboxRow]]:
        """One page of the outbox, newest first, filtered by state, batch and recipient."""
        ...


class SendSlots(Protocol):
    """Send slots shared by every worker (storage/rates_store.py); times in epoch seconds."""

    def reserve(self, intervals: Sequence[tuple[str, float]], now: float) -> float: ...

    def back_off(self, until: float, why: str = "") -> None: ...

    def backoff_until(self) -> float: ...

    def backoff_reason(self) -> str: ...


class Batches(Protocol):
    """Writing a batch of letters, all or none, and stopping one."""

    def create_batch(
        self,
        job_id: int,
        letters: Iterable[NewLetter],
        actor: str,
        now: datetime,
        rate_per_second: int | None,
        detail: Callable[[], Mapping[str, object]] | None = None,
    ) -> tuple[int, int]: ...

    def stop_batch(self, batch_id: int, actor: str, now: datetime) -> int: ...


class Claims(Protocol):
    """What a worker does with letters: claim them, re-read their facts, record outcomes."""

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int, handing: int = 0
    ) -> list[ClaimedLetter]:
        """Claim up to ``limit`` letters, in id order; mark the first ``handing`` handed."""
        ...

    def send_time_facts(
        self, letters: Sequence[ClaimedLetter], now: datetime | None = None
    ) -> dict[int, SendTimeFacts]: ...

    def mark_handed(self, owner: str, ids: tuple[int, int]) -> None:
        """Record, durably, that the claimed letters with ids ``ids[0]`` to ``ids[1]`` are
        about to go to the relay."""
        ...

    def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        owner: str,
        now: datetime,
        handing: tuple[int, int] | None = None,
    ) -> None:
        """Write outcomes; in the same transaction, mark ``handing`` as handed."""
        ...


class OutboxControls(Protocol):
    """Pausing and resuming the whole outbox, putting held letters back in the queue."""

    def set_paused(self, paused: bool, actor: str, now: datetime) -> None: ...

    def requeue(
        self, states: Sequence[OutboxState], ids: Sequence[int], actor: str, now: datetime
    ) -> int: ...


class OutboxReads(Protocol):
    """The outbox as people read it: counts per state, rows, a letter's stored bytes."""

    def outbox_status(
        self, batch_id: int | None = None, now: datetime | None = None
    ) -> OutboxStatus: ...

    def outbox_rows(
        self, state: OutboxState | None, batch_id: int | None, limit: int
    ) -> list[OutboxRow]: ...

    def outbox_body(self, outbox_id: int) -> bytes: ...

    def letter_body_for(self, decision_id: int) -> bytes | None: ...


class OutboxStore(Batches, Claims, OutboxControls, OutboxReads, Protocol):
    """The durable outbox: batches, claims, outcomes and controls (storage/outbox_store.py).
    Every method is one transaction."""
