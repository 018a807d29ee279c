"""Staged plans (storage/plans_store.py): a job's letters composed once, kept until confirmed.

A plan is composed, guarded and stored as ``staged`` letters, each exactly the outbox row and
bytes it becomes. Confirming releases them to the outbox in one transaction, composing
nothing. Database triggers note what changed since a plan was composed (``plan_changes``), so
a stale plan is refused and a new one recomposes only what changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fairwell.ports.outbox import NewLetter

READY, BLOCKED = "ready", "blocked"


@dataclass(frozen=True, slots=True)
class StagedLetter:
    """One composed letter of a plan: its outbox row, and what the plan's summary counts."""

    letter: NewLetter
    status: str  # READY or BLOCKED
    later_reason: str | None = None  # why it waits for a later send window; None: at once
    findings: tuple[tuple[str, str, str], ...] = ()  # (rule, description, detail)
    reason_code: str | None = None
    with_feedback: bool = False
    feedback_waiting: bool = False
    approved_despite_findings: bool = False
    contradicts: bool = False


@dataclass(frozen=True, slots=True)
class PlanRecord:
    id: int
    job_id: int
    state: str  # composing, staged, released or superseded
    made_at: datetime  # when its oldest letter was composed
    made_by: str
    send_now: bool
    fingerprint: str
    change_mark: int
    batch_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlanChanges:
    """What changed for a job since a plan's mark: per application, and for the whole job
    (or every job); ``reasons`` counts each reason (applications, or changes)."""

    applications: frozenset[int] = frozenset()
    whole_job: bool = False
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True, slots=True)
class StagedGroup:
    """Staged letters of one kind, status and send-window group, counted."""

    kind: str
    status: str
    later_reason: str | None
    letters: int
    first: datetime | None
    last: datetime | None
    with_feedback: int
    feedback_waiting: int
    approved_despite_findings: int


@dataclass(frozen=True, slots=True)
class StagedNote:
    """A staged letter the plan names: blocked (with findings) or its reason contradicting."""

    recipient: str
    kind: str
    reason_code: str | None
    findings: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StagedSummary:
    groups: list[StagedGroup]
    blocked: list[StagedNote]
    contradicts: list[StagedNote]


@dataclass(frozen=True, slots=True)
class Release:
    """What confirming a plan did: a batch, or why nothing was released."""

    batch_id: int | None = None
    queued: int = 0
    later: int = 0
    first_later: datetime | None = None
    # Why not: the plan's changes, "too old", "superseded", "released", or a count mismatch.
    changes: PlanChanges | None = None
    refused: str | None = None
    ready: int = 0
    blocked: int = 0  # letters the guard blocked: never released


class PlanStore(Protocol):
    def open_plan(self, job_id: int) -> PlanRecord | None:
        """The job's staged plan, if it has one."""
        ...

    def plan_record(self, plan_id: int) -> PlanRecord:
        """The plan; NotFound when there is none."""
        ...

    def begin_plan(
        self, job_id: int, actor: str, now: datetime, send_now: bool, fingerprint: str
    ) -> PlanRecord:
        """A new plan, composing, marked at the latest change (committed at once, so the
        triggers note every change made while it composes)."""
        ...

    def plan_changes(self, job_id: int, mark: int) -> PlanChanges:
        """What changed for the job (or every job) after ``mark``."""
        ...

    def stage(
        self,
        plan: PlanRecord,
        letters: Iterable[StagedLetter],
        keep_from: PlanRecord | None = None,
        recompose: Collection[int] = (),
    ) -> int:
        """Store the plan's letters and make it the job's staged plan, in one transaction;
        other open plans of the job are superseded. With ``keep_from``, that plan's letters
        are kept but for the applications in ``recompose``. Returns letters written."""
        ...

    def stage_share(self, plan_id: int, letters: Iterable[StagedLetter]) -> int:
        """Store some of a composing plan's letters in a transaction of their own (a worker
        process's share; ``stage`` then makes the plan the job's staged plan). PlanChanged
        when the plan is no longer composing: another plan replaced it, or it was given up.
        Returns letters written. Compose them first: the write is held while they are read."""
        ...

    def abandon_plan(self, plan_id: int) -> None:
        """A plan whose composing failed: superseded, its letters gone."""
        ...

    def staged_summary(self, plan_id: int) -> StagedSummary: ...

    def staged_body(self, plan_id: int, decision_id: int) -> bytes | None:
        """The stored bytes of the plan's ready letter for a decision (None: not ready)."""
        ...

    def release(
        self,
        plan_id: int,
        expected: int,
        actor: str,
        now: datetime,
        oldest: datetime,
        rate_per_second: int | None,
        send_windows: str,
    ) -> Release:
        """In one transaction: refuse a plan that is not staged, has changes after its mark,
        was composed before ``oldest`` or has other than ``expected`` ready letters; else
        copy its ready letters to the outbox as one batch (audited) and mark it released."""
        ...
