"""Outgoing webhooks: subscriptions, deliveries and the HTTP poster (integrations/http.py,
storage/webhooks_store.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from fairwell.errors import PostFailed as PostFailed


class Poster(Protocol):
    """Posts one outgoing webhook; returns the HTTP status or raises PostFailed."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...

    def close(self) -> None: ...


# Every event an organisation can subscribe a URL to.
EVENTS = ("letter.sent", "letter.bounced", "feedback_request.created", "feedback_request.answered")


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    RETRY = "retry"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    subscription_id: int
    url: str
    secret: str
    event: str
    entity_id: int
    occurred_at: datetime
    payload: str | None  # fixed at the first attempt
    attempts: int  # including this one
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    id: int
    state: DeliveryState
    payload: str
    status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    subscription_id: int
    url: str
    event: str
    entity_id: int
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    occurred_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


class WebhookStore(Protocol):
    """Outgoing webhooks: subscriptions and their deliveries (storage/webhooks_store.py)."""

    def subscribe(
        self, url: str, secret: str, events: Sequence[str], actor: str, now: datetime
    ) -> int: ...

    def unsubscribe(self, subscription_id: int, actor: str, now: datetime) -> bool: ...

    def subscriptions(self) -> list[Subscription]: ...

    def claim_deliveries(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]: ...

    def event_data(self, event: str, entity_id: int) -> dict[str, object]: ...

    def record_delivery(self, outcome: DeliveryOutcome, owner: str, now: datetime) -> None: ...

    def deliveries(self, limit: int, state: DeliveryState | None = None) -> list[DeliveryRow]: ...
