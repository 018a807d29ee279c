"""``guard_seal`` on ``outbox_bodies`` and ``staged_letters``: the guard's seal on the body.

When the whole privacy guard passed a letter's final bytes with a roster of a known version,
the letter carries a digest of everything those rules read (guard/seal.py). At send time a
letter whose seal still matches has only its send-time facts checked again; any other letter
(no seal, other bytes, another roster version, another guard) is guarded in full. The seal
lives beside the body it attests, so erasing the body erases it.

Columns are added in place (no batch rebuild): no trigger is touched.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_bodies", sa.Column("guard_seal", sa.String(32), nullable=True))
    op.add_column("staged_letters", sa.Column("guard_seal", sa.String(32), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place: no table is rebuilt.
    op.drop_column("staged_letters", "guard_seal")
    op.drop_column("outbox_bodies", "guard_seal")
