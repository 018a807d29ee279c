"""Everyone on file (the guard's roster), access and erasure requests, legal holds, and
retention (storage/roster_store.py, erasure_store.py, retention_store.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fairwell.domain.model import Stage
    from fairwell.guard.roster import CountedEntries, RosterEntry


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
