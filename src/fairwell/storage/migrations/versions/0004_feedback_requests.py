"""Feedback requests, and letters keyed by what they are for (a decision or a request).

A decision's letter and the answers to a candidate's feedback requests all go through the
outbox, so "one letter per decision" becomes "one letter per letter key": ``decision:<id>``
or ``request:<id>``, unique.

SQLite cannot drop a constraint in place; the outbox table is rebuilt. Dropping the old table
would cascade to ``outbox_bodies`` (ON DELETE CASCADE), so the bodies are kept aside in a
temporary table and put back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_feedback_requests_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_requests")),
    )
    op.create_index(op.f("ix_feedback_requests_decision_id"), "feedback_requests", ["decision_id"])
    op.add_column("outbox", sa.Column("letter_key", sa.String(length=64), nullable=True))
    op.execute("UPDATE outbox SET letter_key = 'decision:' || CAST(decision_id AS VARCHAR)")
    _rebuild_outbox(_new_keys)


def downgrade() -> None:
    _rebuild_outbox(_old_keys)
    op.drop_column("outbox", "letter_key")
    op.drop_index(op.f("ix_feedback_requests_decision_id"), table_name="feedback_requests")
    op.drop_table("feedback_requests")


def _new_keys(batch: BatchOperations) -> None:
    batch.alter_column("letter_key", existing_type=sa.String(length=64), nullable=False)
    batch.drop_constraint("uq_outbox_decision_id", type_="unique")
    batch.create_unique_constraint("uq_outbox_letter_key", ["letter_key"])
    batch.create_index("ix_outbox_decision_id", ["decision_id"])


def _old_keys(batch: BatchOperations) -> None:
    batch.drop_index("ix_outbox_decision_id")
    batch.drop_constraint("uq_outbox_letter_key", type_="unique")
    batch.create_unique_constraint("uq_outbox_decision_id", ["decision_id"])


def _rebuild_outbox(change: Callable[[BatchOperations], None]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE kept_bodies AS SELECT outbox_id, body FROM outbox_bodies")
    with op.batch_alter_table("outbox") as batch:
        change(batch)
    if sqlite:
        op.execute(
            "INSERT INTO outbox_bodies (outbox_id, body) SELECT outbox_id, body FROM kept_bodies "
            "WHERE outbox_id NOT IN (SELECT outbox_id FROM outbox_bodies)"
        )
        op.execute("DROP TABLE kept_bodies")
