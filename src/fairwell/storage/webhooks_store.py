"""SqlWebhookStore: outgoing webhooks, their subscriptions and deliveries, over SQLAlchemy.

Deliveries are written in the transaction of what they report: by the 0020 triggers for
``letter.sent`` and feedback requests, and by :func:`record_event` for events whose code calls
it (``letter.bounced``). They are claimed like the outbox: a conditional UPDATE and a lease.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, literal, or_, select, update

from fairwell.ports.webhooks import (
    EVENTS,
    ClaimedDelivery,
    DeliveryOutcome,
    DeliveryRow,
    DeliveryState,
    Subscription,
)
from fairwell.storage.base import dialect_insert
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    ats_links,
    decisions,
    feedback_requests,
    jobs,
    outbox,
    webhook_deliveries,
    webhook_subscriptions,
)

__all__ = ["SqlWebhookStore", "record_event"]

_CLAIMABLE = (DeliveryState.PENDING.value, DeliveryState.RETRY.value)


def record_event(conn: Connection, event: str, entity_id: int, at: datetime) -> int:
    """Queue ``event`` about ``entity_id`` (an outbox id for ``letter.*``, a feedback request id
    for ``feedback_request.*``) for every subscriber, in the caller's transaction.

    The hook for events no trigger sees: the code that records a bounce calls
    ``record_event(conn, "letter.bounced", outbox_id, now)`` as it marks the letter. Recording
    the same event twice queues it once. Returns how many deliveries were queued.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    subscribed = select(
        webhook_subscriptions.c.id,
        literal(event),
        literal(entity_id),
        literal(at, webhook_deliveries.c.occurred_at.type),
        literal(DeliveryState.PENDING.value),
        literal(0),
        literal(at, webhook_deliveries.c.next_attempt_at.type),
        literal(at, webhook_deliveries.c.created_at.type),
    ).where(
        webhook_subscriptions.c.active,
        (literal(",") + webhook_subscriptions.c.events + literal(",")).contains(f",{event},"),
    )
    statement = (
        dialect_insert(conn.dialect.name == "postgresql", webhook_deliveries)
        .from_select(
            [
                "subscription_id",
                "event",
                "entity_id",
                "occurred_at",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            subscribed,
        )
        .on_conflict_do_nothing()
    )
    return len(conn.execute(statement.returning(webhook_deliveries.c.id)).all())


class SqlWebhookStore:
    """The WebhookStore port over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=False)
            with conn.begin():
                yield conn

    # --- subscriptions ------------------------------------------------------------------

    def subscribe(
        self, url: str, secret: str, events: Sequence[str], actor: str, now: datetime
    ) -> int:
        with self._write() as conn:
            subscription_id = conn.execute(
                insert(webhook_subscriptions)
                .values(
                    url=url,
                    secret=secret,
                    events=",".join(events),
                    active=True,
                    created_by=actor,
                    created_at=now,
                )
                .returning(webhook_subscriptions.c.id)
            ).scalar_one()
            # The URL may name a customer's system; the audit keeps the id and events only.
            detail: dict[str, object] = {"events": list(events)}
            audit(conn, actor, "webhook.subscribed", "webhook", subscription_id, detail, now)
        return int(subscription_id)

    def unsubscribe(self, subscription_id: int, actor: str, now: datetime) -> bool:
        """Stop sending to a subscription; deliveries not yet made are dropped with it."""
        with self._write() as conn:
            changed = conn.execute(
                update(webhook_subscriptions)
                .where(
                    webhook_subscriptions.c.id == subscription_id, webhook_subscriptions.c.active
                )
                .values(active=False)
            ).rowcount
            if changed:
                conn.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.subscription_id == subscription_id,
                        webhook_deliveries.c.state.in_(_CLAIMABLE),
                    )
                    .values(state=DeliveryState.FAILED.value, last_error="unsubscribed")
                )
                audit(conn, actor, "webhook.unsubscribed", "webhook", subscription_id, {}, now)
        return bool(changed)

    def subscriptions(self) -> list[Subscription]:
        with self._read() as conn:
            rows = conn.execute(
                select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
            ).all()
        return [
            Subscription(
                row.id,
                row.url,
                tuple(event for event in row.events.split(",") if event),
                bool(row.active),
                row.created_by,
                row.created_at,
            )
            for row in rows
        ]

    # --- deliveries ---------------------------------------------------------------------

    def claim_deliveries(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        claimable = or_(
            and_(
                webhook_deliveries.c.state.in_(_CLAIMABLE),
                webhook_deliveries.c.next_attempt_at <= now,
            ),
            and_(
                webhook_deliveries.c.state == DeliveryState.SENDING.value,
                webhook_deliveries.c.lease_until < now,
            ),
        )
        with self._write() as conn:
            candidates = (
                conn.execute(
                    select(webhook_deliveries.c.id)
                    .where(claimable)
                    .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if not candidates:
                return []
            taken = (
                conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_(candidates), claimable)
                    .values(
                        state=DeliveryState.SENDING.value,
                        lease_owner=owner,
                        lease_until=lease_until,
                        attempts=webhook_deliveries.c.attempts + 1,
                    )
                    .returning(webhook_deliveries.c.id)
                )
                .scalars()
                .all()
            )
            rows = conn.execute(
                select(
                    webhook_deliveries, webhook_subscriptions.c.url, webhook_subscriptions.c.secret
                )
                .join(
                    webhook_subscriptions,
                    webhook_subscriptions.c.id == webhook_deliveries.c.subscription_id,
                )
                .where(webhook_deliveries.c.id.in_(taken))
                .order_by(webhook_deliveries.c.id)
            ).all()
        return [
            ClaimedDelivery(
                row.id,
                row.subscription_id,
                row.url,
                row.secret,
                row.event,
                row.entity_id,
                row.occurred_at,
                row.payload,
                row.attempts,
                row.created_at,
            )
            for row in rows
        ]

    def record_delivery(self, outcome: DeliveryOutcome, owner: str, now: datetime) -> None:
        values: dict[str, object] = {
            "state": outcome.state.value,
            "payload": outcome.payload,
            "lease_owner": None,
            "lease_until": None,
            "last_status": outcome.status,
            "last_error": outcome.error,
        }
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.state is DeliveryState.DELIVERED:
            values["delivered_at"] = now
        with self._write() as conn:
            conn.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id == outcome.id,
                    webhook_deliveries.c.lease_owner == owner,
                )
                .values(**values)
            )

    def deliveries(self, limit: int, state: DeliveryState | None = None) -> list[DeliveryRow]:
        query = (
            select(webhook_deliveries, webhook_subscriptions.c.url)
            .join(
                webhook_subscriptions,
                webhook_subscriptions.c.id == webhook_deliveries.c.subscription_id,
            )
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(webhook_deliveries.c.state == state.value)
        with self._read() as conn:
            return [
                DeliveryRow(
                    row.id,
                    row.subscription_id,
                    row.url,
                    row.event,
                    row.entity_id,
                    DeliveryState(row.state),
                    row.attempts,
                    row.last_status,
                    row.last_error,
                    row.occurred_at,
                    row.next_attempt_at,
                    row.delivered_at,
                )
                for row in conn.execute(query)
            ]

    # --- what an event says -------------------------------------------------------------

    def event_data(self, event: str, entity_id: int) -> dict[str, object]:
        """The ids and facts an event's payload carries; never names, addresses or text.

        What was erased since the event happened is simply absent.
        """
        with self._read() as conn:
            if event.startswith("letter."):
                return _letter_data(conn, entity_id)
            return _request_data(conn, entity_id)


def _application(conn: Connection, application_id: int) -> dict[str, object]:
    row = conn.execute(
        select(
            applications.c.id,
            applications.c.ref,
            applications.c.stage,
            jobs.c.id.label("job_id"),
            jobs.c.title,
            ats_links.c.vendor,
            ats_links.c.ats_application_id,
        )
        .join(jobs, jobs.c.id == applications.c.job_id)
        .outerjoin(ats_links, ats_links.c.application_id == applications.c.id)
        .where(applications.c.id == application_id)
    ).first()
    if row is None:
        return {}
    data: dict[str, object] = {
        "application": {"id": row.id, "ref": row.ref, "stage": row.stage},
        "job": {"id": row.job_id, "title": row.title},
    }
    if row.vendor is not None:
        data["ats"] = {"vendor": row.vendor, "application_id": row.ats_application_id}
    return data


def _letter_data(conn: Connection, outbox_id: int) -> dict[str, object]:
    row = conn.execute(
        select(
            outbox.c.id,
            outbox.c.kind,
            outbox.c.state,
            outbox.c.decision_id,
            outbox.c.application_id,
            outbox.c.sent_at,
            outbox.c.locale,
        ).where(outbox.c.id == outbox_id)
    ).first()
    if row is None:
        return {"letter": {"id": outbox_id}}
    letter: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "locale": row.locale,
        "decision_id": row.decision_id,
        "sent_at": _iso(row.sent_at),
    }
    return {"letter": letter, **_application(conn, row.application_id)}


def _request_data(conn: Connection, request_id: int) -> dict[str, object]:
    row = conn.execute(
        select(
            feedback_requests.c.id,
            feedback_requests.c.state,
            feedback_requests.c.decision_id,
            feedback_requests.c.received_at,
            feedback_requests.c.due_at,
            feedback_requests.c.answered_at,
            decisions.c.application_id,
        )
        .join(decisions, decisions.c.id == feedback_requests.c.decision_id)
        .where(feedback_requests.c.id == request_id)
    ).first()
    if row is None:
        return {"feedback_request": {"id": request_id}}
    request = {
        "id": row.id,
        "state": row.state,
        "decision_id": row.decision_id,
        "received_at": _iso(row.received_at),
        "due_at": _iso(row.due_at),
        "answered_at": _iso(row.answered_at),
    }
    return {"feedback_request": request, **_application(conn, row.application_id)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
