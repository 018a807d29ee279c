"""Keep each letter's bytes apart from its outbox row, and index abandoned leases.

Every state change of a letter rewrote the database page that held its whole text; with the
bytes in their own table a claim or a delivery result writes a small row. The lease index lets
a claim find letters of a dead worker without scanning the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_bodies",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_bodies_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_outbox_bodies")),
    )
    op.execute(
        "INSERT INTO outbox_bodies (outbox_id, body) SELECT id, body FROM outbox "
        "WHERE body IS NOT NULL"
    )
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: copying would drop the
    # old outbox table, and ON DELETE CASCADE would empty outbox_bodies with it.
    op.drop_column("outbox", "body")
    op.create_index("ix_outbox_state_lease_until", "outbox", ["state", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_lease_until", table_name="outbox")
    op.add_column("outbox", sa.Column("body", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE outbox SET body = "
        "(SELECT body FROM outbox_bodies WHERE outbox_bodies.outbox_id = outbox.id)"
    )
    op.drop_table("outbox_bodies")
