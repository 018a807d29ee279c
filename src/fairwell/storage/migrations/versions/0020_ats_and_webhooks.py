"""Applicant tracking systems and outgoing webhooks.

``ats_links`` (where a pulled application came from), ``ats_pulls`` (where a pull resumes),
``ats_writebacks`` (decisions to write back, claimed like the outbox), ``ats_events`` (signed
webhooks received, each once), ``webhook_subscriptions`` and ``webhook_deliveries``.

Outgoing events are written by triggers, in the transaction that changes what they report: a
letter that becomes ``sent``, a feedback request recorded, a feedback request answered. No
writer can then change one of those and leave the event behind, and a crash loses none. A
letter's trigger fires only on the change to ``sent`` (its WHEN clause), so the delivery
loop's other updates (claims, retries) pay nothing. ``INSERT OR IGNORE`` / ``ON CONFLICT DO
NOTHING`` keep a trigger from ever failing the write it rides on. ``letter.bounced`` has no
table of its own yet: the code that records a bounce calls
:func:`fairwell.storage.webhooks_store.record_event` in its transaction.

A later migration that rebuilds ``outbox`` or ``feedback_requests`` on SQLite (batch mode)
drops these triggers and must create them again; tests/test_webhooks_out.py fails if they are
gone.

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-08
"""

# Every SQL string below is built from this file's own constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None

_COLUMNS = (
    "subscription_id, event, entity_id, occurred_at, state, attempts, next_attempt_at, created_at"
)


def _fan_out(event: str, entity: str, moment: str, *, postgres: bool) -> str:
    """One delivery row per active subscription to ``event``; a repeat is ignored."""
    select = (
        f"SELECT id, '{event}', {entity}, {moment}, 'pending', 0, {moment}, {moment} "
        f"FROM webhook_subscriptions WHERE active AND (',' || events || ',') LIKE '%,{event},%'"
    )
    if postgres:
        return f"INSERT INTO webhook_deliveries ({_COLUMNS}) {select} ON CONFLICT DO NOTHING"
    return f"INSERT OR IGNORE INTO webhook_deliveries ({_COLUMNS}) {select}"


# name: (event, table, timing, WHEN condition, entity id, moment)
TRIGGERS = {
    "webhook_letter_sent": (
        "letter.sent",
        "outbox",
        "AFTER UPDATE OF state",
        "NEW.state = 'sent' AND OLD.state <> 'sent'",
        "NEW.id",
        "COALESCE(NEW.sent_at, NEW.updated_at)",
    ),
    "webhook_request_created": (
        "feedback_request.created",
        "feedback_requests",
        "AFTER INSERT",
        "",
        "NEW.id",
        "NEW.received_at",
    ),
    "webhook_request_answered": (
        "feedback_request.answered",
        "feedback_requests",
        "AFTER UPDATE OF answered_at",
        "OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL",
        "NEW.id",
        "NEW.answered_at",
    ),
}


def upgrade() -> None:
    _create_tables()
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, (event, table, timing, when, entity, moment) in TRIGGERS.items():
        insert = _fan_out(event, entity, moment, postgres=postgres)
        if postgres:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {insert}; RETURN NULL; END $$"
            )
            condition = f"WHEN ({when}) " if when else ""
            op.execute(
                f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW {condition}"
                f"EXECUTE FUNCTION {name}()"
            )
        else:
            condition = f"WHEN {when} " if when else ""
            op.execute(f"CREATE TRIGGER {name} {timing} ON {table} {condition}BEGIN {insert}; END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, (_, table, *_rest) in TRIGGERS.items():
        if postgres:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    for table in (
        "webhook_deliveries",
        "webhook_subscriptions",
        "ats_events",
        "ats_writebacks",
        "ats_pulls",
        "ats_links",
    ):
        op.drop_table(table)


def _create_tables() -> None:
    moment = sa.DateTime()
    op.create_table(
        "ats_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("ats_application_id", sa.String(64), nullable=False),
        sa.Column("ats_candidate_id", sa.String(64)),
        sa.Column("ats_job_id", sa.String(64), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey(
                "applications.id",
                ondelete="CASCADE",
                name="fk_ats_links_application_id_applications",
            ),
            nullable=False,
        ),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.UniqueConstraint("application_id", name="uq_ats_links_application_id"),
        sa.UniqueConstraint("vendor", "ats_application_id", name="uq_ats_links_vendor_application"),
    )
    op.create_index("ix_ats_links_vendor_job", "ats_links", ["vendor", "ats_job_id"])
    op.create_table(
        "ats_pulls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("ats_job_id", sa.String(64), nullable=False),
        sa.Column("job_title", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cursor", sa.Text()),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("started_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.UniqueConstraint("vendor", "ats_job_id", name="uq_ats_pulls_vendor_job"),
    )
    op.create_table(
        "ats_writebacks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "decision_id",
            sa.Integer(),
            sa.ForeignKey(
                "decisions.id", ondelete="CASCADE", name="fk_ats_writebacks_decision_id_decisions"
            ),
            nullable=False,
        ),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey(
                "applications.id",
                ondelete="CASCADE",
                name="fk_ats_writebacks_application_id_applications",
            ),
            nullable=False,
        ),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("ats_application_id", sa.String(64), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", moment, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", moment),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("done_at", moment),
        sa.UniqueConstraint("decision_id", name="uq_ats_writebacks_decision_id"),
    )
    op.create_index(
        "ix_ats_writebacks_state_next_attempt", "ats_writebacks", ["state", "next_attempt_at"]
    )
    op.create_table(
        "ats_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("delivery_key", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("ats_application_id", sa.String(64)),
        sa.Column("ats_job_id", sa.String(64)),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey(
                "applications.id",
                ondelete="SET NULL",
                name="fk_ats_events_application_id_applications",
            ),
        ),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at", moment, nullable=False),
        sa.UniqueConstraint("vendor", "delivery_key", name="uq_ats_events_vendor_delivery"),
    )
    op.create_index("ix_ats_events_application_id", "ats_events", ["application_id"])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", moment, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey(
                "webhook_subscriptions.id",
                ondelete="CASCADE",
                name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ),
            nullable=False,
        ),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", moment, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", moment, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", moment),
        sa.Column("payload", sa.Text()),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("delivered_at", moment),
        sa.UniqueConstraint(
            "subscription_id", "event", "entity_id", name="uq_webhook_deliveries_one_event"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
    )
