"""An index on applications (job_id, id): a job's applications read page by page in id order.

Plans and queues read a job's applications 500 at a time, each page ``job_id = ? AND id > ?
ORDER BY id``. The only index by job was (job_id, person_id), so every page read and sorted the
whole job again: a million-person job cost 2,000 reads of a million rows. With (job_id, id)
each page is a range of the index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_applications_job_id_id", "applications", ["job_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_applications_job_id_id", table_name="applications")
