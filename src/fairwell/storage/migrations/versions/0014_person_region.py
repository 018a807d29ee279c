"""Where a candidate is, to the province or state: ``persons.region`` (ISO 3166-2, "CA-ON").

Statutory rules (Ontario's 45-day notice, retention periods, public holidays) differ within a
country; the country alone made all of Canada Ontario. A nullable column added in place, so
SQLite keeps the 0013 roster-version triggers on ``persons``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("persons", sa.Column("region", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would drop the triggers.
    op.execute("ALTER TABLE persons DROP COLUMN region")
