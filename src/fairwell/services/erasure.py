"""Delete my data: erasure requests, what blocks them, and the erasure itself.

An erasure is refused while a legal hold is in force (an admin recorded it, with the reason)
or while an access request is still open: the person gets their copy before it is gone.
Requests are due one month after they arrive. The store deletes everything in one
transaction, keeps an evidence record without personal data and, on SQLite, checkpoints the
WAL so no copy of the erased bytes is left in either file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fairwell.domain.addresses import normalise_address
from fairwell.errors import ErasureBlocked as ErasureBlocked
from fairwell.errors import InvalidInput, NotFound
from fairwell.ports import PrivacyStore
from fairwell.services.consent import add_months

ACCESS, ERASURE = "access", "erasure"
DUE_MONTHS = 1  # GDPR art. 12(3): without undue delay, at the latest within one month


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    erased: bool
    request_id: int
    due_at: datetime
    blocked_by: str | None  # why it waits, for the admin; None once erased


def blocked_by(privacy: PrivacyStore, person_id: int) -> str | None:
    """Why this person cannot be erased now, in one line; None when nothing blocks it."""
    holds = privacy.holds(person_id)
    if holds:
        reasons = "; ".join(hold.reason for hold in holds)
        return f"legal hold #{holds[0].id}: {reasons}"
    if privacy.open_requests(person_id, ACCESS):
        return "an access request is pending; answer it first (fairwell export)"
    return None


def record_request(
    privacy: PrivacyStore, kind: str, person_id: int, channel: str, now: datetime
) -> int:
    if kind not in (ACCESS, ERASURE):
        raise InvalidInput(f"unknown kind of request {kind!r}; use access or erasure")
    return privacy.add_request(kind, person_id, channel, now, add_months(now, DUE_MONTHS))


def request_erasure(
    privacy: PrivacyStore, person_id: int, channel: str, actor: str, now: datetime
) -> ErasureOutcome:
    """Record an erasure request and carry it out at once unless something blocks it."""
    request_id = record_request(privacy, ERASURE, person_id, channel, now)
    due = add_months(now, DUE_MONTHS)
    reason = blocked_by(privacy, person_id)
    if reason is not None:
        return ErasureOutcome(False, request_id, due, reason)
    privacy.erase(person_id, request_id, actor, now)
    return ErasureOutcome(True, request_id, due, None)


def erase_person(
    privacy: PrivacyStore, person_id: int, actor: str, now: datetime
) -> dict[str, int]:
    """Erase now (an admin's decision); ErasureBlocked when a hold or access request waits."""
    reason = blocked_by(privacy, person_id)
    if reason is not None:
        raise ErasureBlocked(f"not erased: {reason}")
    open_requests = privacy.open_requests(person_id, ERASURE)
    request_id = open_requests[0].id if open_requests else None
    return privacy.erase(person_id, request_id, actor, now)


def person_by_email(privacy: PrivacyStore, email: str) -> int:
    person_id = privacy.person_id(normalise_address(email))
    if person_id is None:
        raise NotFound("no person with that address (or already erased)")
    return person_id
