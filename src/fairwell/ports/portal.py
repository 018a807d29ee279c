"""The candidate portal's reads and writes (storage/portal_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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
    last_name: str = ""  # a German page greets as the letter does: "Guten Tag Greta Weiss"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    purpose: str
    given_at: datetime
    until: datetime


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


RENEWAL_KEY = "consent-renewal:"  # the outbox letter_key: one renewal letter per consent


def renewal_key(consent_id: int) -> str:
    return f"{RENEWAL_KEY}{consent_id}"


@dataclass(frozen=True, slots=True)
class Expiring:
    """A consent to keep someone on file that ends soon."""

    consent_id: int
    person_id: int
    application_id: int
    job_id: int
    job_title: str
    until: datetime


class RenewalStore(Protocol):
    """What consent renewal reads (storage/renewal_store.py)."""

    def due(self, now: datetime, ends_by: datetime) -> list[Expiring]:
        """Consents in force that end by ``ends_by``, of people not erased, not yet asked."""
        ...
