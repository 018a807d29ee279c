"""A decision letter's promise is stored: ``outbox.keep_until``.

"We will keep your application until 26 May 2027" was worked out again at every retention run
from the letter's Date and the policy in force then, so shortening a policy after letters went
out would have deleted before the day they name. The day is now stored when the letter is
written. Letters queued before this migration keep no stored day; the run still works theirs
out from their Date header.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("keep_until", sa.Date(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place, so the outbox is not rebuilt (which would cascade
    # to its bodies, see 0010).
    op.drop_column("outbox", "keep_until")
