"""Outgoing webhooks: tell subscribed systems what happened, signed, retried, logged.

Every delivery is a POST of one JSON event::

    {"id": "letter.sent:42", "type": "letter.sent", "occurred_at": "2026-12-08T10:00:00Z",
     "data": {"letter": {...}, "application": {...}, "job": {...}}}

with ``Fairwell-Signature: t=<unix time>,v1=<hex>``, the HMAC-SHA256 under the subscription's
secret of ``<unix time>.<body>``: a receiver checks the signature and that the time is recent,
so a captured request cannot be replayed later. ``id`` is the same for every attempt and
every subscriber: a receiver that sees it twice has seen it once. A 2xx answer delivers; any
other answer, a timeout or a refused connection is retried after 1 min, 5 min, 30 min, 2 h,
6 h, then every 12 h until the delivery is three days old, when it fails (and says why).
Payloads carry ids and facts, never names, addresses or letter text.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from fairwell.domain.http_bodies import digest, short
from fairwell.errors import InvalidInput, PostFailed
from fairwell.ports import Clock
from fairwell.ports.webhooks import (
    EVENTS,
    ClaimedDelivery,
    DeliveryOutcome,
    DeliveryState,
    Poster,
    WebhookStore,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Fairwell-Signature"
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
GIVE_UP_AFTER = timedelta(days=3)
MIN_SECRET_CHARS = 24


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta = timedelta(minutes=2)
    batch: int = 50


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def counts(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retried": self.retried, "failed": self.failed}


# --- subscribing ------------------------------------------------------------------------------


def subscribe(
    store: WebhookStore,
    url: str,
    secret: str,
    events: Sequence[str],
    *,
    actor: str,
    now: datetime,
    allow_http: bool = False,
) -> int:
    """Subscribe ``url`` to ``events``; InvalidInput for a bad URL, event or weak secret."""
    _check_url(url, allow_http)
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise InvalidInput(
            f"unknown event(s) {', '.join(unknown) or '(none given)'}; events: {', '.join(EVENTS)}"
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise InvalidInput(
            f"the secret must be at least {MIN_SECRET_CHARS} characters "
            "(e.g. from `openssl rand -hex 32`)"
        )
    return store.subscribe(url, secret, sorted(set(events)), actor, now)


def new_secret() -> str:
    return secrets.token_hex(32)


def _check_url(url: str, allow_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidInput(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not allow_http:
        raise InvalidInput("webhooks go over https; --allow-http for a receiver on your network")
    if parts.username or parts.password:
        raise InvalidInput("put no credentials in the URL; the signature authenticates us")


# --- delivering -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Fairwell-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={digest(secret, str(timestamp).encode() + b'.' + body)}"


def deliver_due(
    store: WebhookStore,
    poster: Poster,
    clock: Clock,
    owner: str,
    policy: DeliveryPolicy | None = None,
) -> DeliveryReport:
    """Claim and post every delivery that is due; return the counts."""
    policy = policy or DeliveryPolicy()
    report = DeliveryReport()
    while True:
        now = clock.now()
        claimed = store.claim_deliveries(owner, now, now + policy.lease, policy.batch)
        if not claimed:
            return report
        for delivery in claimed:
            outcome = _deliver(store, poster, clock, delivery)
            store.record_delivery(outcome, owner, clock.now())
            _count(report, outcome)


def _deliver(
    store: WebhookStore, poster: Poster, clock: Clock, delivery: ClaimedDelivery
) -> DeliveryOutcome:
    payload = delivery.payload or _payload(store, delivery)
    body = payload.encode("utf-8")
    now = clock.now()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(delivery.secret, int(now.timestamp()), body),
        "Fairwell-Event": delivery.event,
        "Fairwell-Delivery": str(delivery.id),
    }
    try:
        status = poster.post(delivery.url, body, headers)
    except PostFailed as failure:
        return _again(delivery, payload, now, None, failure.reason)
    if 200 <= status < 300:
        return DeliveryOutcome(delivery.id, DeliveryState.DELIVERED, payload, status=status)
    return _again(delivery, payload, now, status, f"answered {status}")


def _payload(store: WebhookStore, delivery: ClaimedDelivery) -> str:
    """The event as JSON, built once: every retry sends these same bytes."""
    event = {
        "id": f"{delivery.event}:{delivery.entity_id}",
        "type": delivery.event,
        "occurred_at": delivery.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": store.event_data(delivery.event, delivery.entity_id),
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":"))


def _again(
    delivery: ClaimedDelivery, payload: str, now: datetime, status: int | None, error: str
) -> DeliveryOutcome:
    delay = RETRY_DELAYS[min(delivery.attempts, len(RETRY_DELAYS)) - 1]
    if now + delay > delivery.created_at + GIVE_UP_AFTER:
        log.warning("webhook delivery %s failed for good: %s", delivery.id, error)
        return DeliveryOutcome(
            delivery.id,
            DeliveryState.FAILED,
            payload,
            status=status,
            error=f"gave up after {delivery.attempts} attempts: {short(error)}",
        )
    return DeliveryOutcome(
        delivery.id,
        DeliveryState.RETRY,
        payload,
        status=status,
        error=short(error),
        next_attempt_at=now + delay,
    )


def _count(report: DeliveryReport, outcome: DeliveryOutcome) -> None:
    if outcome.state is DeliveryState.DELIVERED:
        report.delivered += 1
    elif outcome.state is DeliveryState.FAILED:
        report.failed += 1
    else:
        report.retried += 1
