"""A job's auto-send rule: who turned it on (None: every plan waits for a person to confirm).

``jobs.auto_send_by`` names the Fairwell user who turned the rule on; the worker plans and
releases the job's letters itself only while it is set (services/auto_send.py). A nullable
column added in place, like 0017's: SQLite keeps the triggers on ``jobs``.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("auto_send_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would drop the triggers.
    op.execute("ALTER TABLE jobs DROP COLUMN auto_send_by")
