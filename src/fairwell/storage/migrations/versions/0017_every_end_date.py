"""Every application has an end date, and every letter's promise is stored.

- ``applications.stage_changed_at``: when the stage last changed, the clock of the states an
  application can end in without a decision letter (withdrawn, offer declined, hired, still
  open). Rows from before are given their ``updated_at``, the best moment known.
- ``jobs.closed_at``: when the search ended; the clock of applications no letter reached.
- ``jobs.sender_name``: the person who signs the job's letters (None: the installation's).
- ``outbox.decide_by``: the day a status letter promised a decision by, so `fairwell
  deadlines` can tell a kept promise from a broken one.

Nullable columns added in place: SQLite keeps the 0013 roster-version triggers on ``jobs``
and ``applications`` (a batch rebuild would drop them).

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("stage_changed_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE applications SET stage_changed_at = updated_at")
    op.add_column("jobs", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("jobs", sa.Column("sender_name", sa.String(length=200), nullable=True))
    op.add_column("outbox", sa.Column("decide_by", sa.Date(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would drop the triggers.
    op.execute("ALTER TABLE outbox DROP COLUMN decide_by")
    op.execute("ALTER TABLE jobs DROP COLUMN sender_name")
    op.execute("ALTER TABLE jobs DROP COLUMN closed_at")
    op.execute("ALTER TABLE applications DROP COLUMN stage_changed_at")
