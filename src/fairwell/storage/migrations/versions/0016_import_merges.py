"""How an import merged duplicate rows: ``import_merges``, one row per merged application.

An import no longer refuses a file whose rows for one application disagree; it merges them
by rule (domain/duplicates.py) and says what it decided. The plan, a later command, lists
those merges, so they are kept: the file, its row numbers and each decision (field, value
kept when it is not personal data, its row, the rule). A new table: nothing is rebuilt, so
the 0013 triggers on jobs, persons and applications stay.

Revision ID: 0016
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_merges",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("row_numbers", sa.Text(), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_import_merges_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_import_merges")),
    )


def downgrade() -> None:
    op.drop_table("import_merges")
