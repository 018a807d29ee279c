"""Mail that comes back: inbound messages, delivery reports, and erased letters' ids.

``inbound_messages`` holds every message ``fairwell inbox fetch`` handled, once each by its
digest; ``bounces`` the delivery reports about our letters; ``erased_letters`` the hashed
Message-IDs of letters an erasure deleted. New tables only: nothing is rebuilt, so the
roster triggers of 0013 stay as they are.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("thread_references", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attachments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_inbound_messages_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feedback_requests.id"],
            name=op.f("fk_inbound_messages_request_id_feedback_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_inbound_messages_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("digest", name=op.f("uq_inbound_messages_digest")),
    )
    for column in ("application_id", "request_id", "sender"):
        op.create_index(
            op.f(f"ix_inbound_messages_{column}"), "inbound_messages", [column], unique=False
        )
    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("diagnostic", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_bounces_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounces")),
    )
    op.create_index(op.f("ix_bounces_outbox_id"), "bounces", ["outbox_id"], unique=False)
    op.create_table(
        "erased_letters",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erased_letters")),
    )


def downgrade() -> None:
    op.drop_table("erased_letters")
    op.drop_index(op.f("ix_bounces_outbox_id"), table_name="bounces")
    op.drop_table("bounces")
    for column in ("sender", "request_id", "application_id"):
        op.drop_index(op.f(f"ix_inbound_messages_{column}"), table_name="inbound_messages")
    op.drop_table("inbound_messages")
    # Letters marked bounced go back to sent: the old schema has no such state.
    op.execute("UPDATE outbox SET state = 'sent' WHERE state = 'bounced'")
