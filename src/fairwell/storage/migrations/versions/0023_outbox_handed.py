"""``outbox.handed``: the letter was (or was about to be) handed to the relay under its claim.

A worker marks a window of letters at a time, before their data goes, in the transaction of
its claim or of its previous results; a new claim clears the mark. When a worker dies, only the
letters it had marked come back as possible duplicates, not its whole claim.

The column is added in place (no batch rebuild), so the 0013 triggers stay.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox", sa.Column("handed", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place: no table is rebuilt.
    op.drop_column("outbox", "handed")
