"""Suppressed addresses: never written to again, whatever letter is planned for them.

An address is suppressed by a permanent bounce (services/inbox.py), by a relay that refused
it (services/delivery.py), or by hand (`fairwell suppressions add`). The plan lists each
person whose address is suppressed as skipped, with the reason; at send time the guard's
``still-eligible`` rule holds any letter to a suppressed address that was queued before.
"""

from __future__ import annotations

from datetime import datetime

from fairwell.domain.addresses import normalise_address
from fairwell.errors import InvalidInput
from fairwell.ports import SuppressionRecord, SuppressionStore

MAX_REASON = 200
MANUAL_REASON = "suppressed by hand"


def suppressions(store: SuppressionStore) -> list[SuppressionRecord]:
    """Every suppressed address with its reason and since when, oldest first."""
    return store.suppressions()


def suppress(
    store: SuppressionStore, email: str, reason: str | None, *, actor: str, now: datetime
) -> bool:
    """Suppress an address; False when it already was (its first reason stays)."""
    text = " ".join((reason or "").split())
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters")
    return store.suppress(normalise_address(email), text or MANUAL_REASON, actor, now)


def unsuppress(store: SuppressionStore, email: str, *, actor: str, now: datetime) -> bool:
    """Write to the address again; False when it was not suppressed."""
    return store.unsuppress(normalise_address(email), actor, now)
