"""Status letters: an outbox letter need not tell a decision.

A status letter ("no decision has been made yet; we will tell you by ...") keeps a notice
deadline before anything is decided, so ``outbox.decision_id`` becomes nullable. Its letter
key is ``status:<application_id>:<n>``.

SQLite cannot change a column's nullability in place; the outbox table is rebuilt, with its
bodies kept aside as in 0004 (dropping the old table would cascade to ``outbox_bodies``).
Downgrading deletes the status letters: the old schema has no place for them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild_outbox(lambda batch: _nullable(batch, True))


def downgrade() -> None:
    op.execute(
        "DELETE FROM outbox_bodies WHERE outbox_id IN "
        "(SELECT id FROM outbox WHERE decision_id IS NULL)"
    )
    op.execute("DELETE FROM outbox WHERE decision_id IS NULL")
    _rebuild_outbox(lambda batch: _nullable(batch, False))


def _nullable(batch: BatchOperations, nullable: bool) -> None:
    batch.alter_column("decision_id", existing_type=sa.Integer(), nullable=nullable)


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
