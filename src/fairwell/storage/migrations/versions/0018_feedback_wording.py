"""Feedback that traces to what the hiring team wrote (issue 15).

* ``competency_wording``: per competency and language, how a gap is named, one next step and
  how a strength is named. It replaces the built-in library as the source of feedback lines.
* ``competencies.kind``: "competency" (rated in interviews) or "requirement" (checked by a
  screener); the candidate's stage decides which evidence counts.
* ``feedback.holds``: why a draft cannot be approved yet ("needs wording for Spark", a note in
  the wrong language); ``feedback.basis``: "skills" or "requirements".
* ``decisions.reason_chosen``: the recruiter chose the reason for this person by address, so
  it is kept over the basis of approved feedback.

Columns are added in place (no batch rebuild), so the 0013 triggers on jobs, persons and
applications stay.

Revision ID: 0018
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "competencies",
        sa.Column("kind", sa.String(length=16), nullable=False, server_default="competency"),
    )
    op.create_table(
        "competency_wording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("gap", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("strength", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["competencies.id"],
            name=op.f("fk_competency_wording_competency_id_competencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competency_wording")),
        sa.UniqueConstraint("competency_id", "locale", name="uq_competency_wording_locale"),
    )
    op.add_column("feedback", sa.Column("holds", sa.Text(), nullable=False, server_default=""))
    op.add_column("feedback", sa.Column("basis", sa.String(length=16), nullable=True))
    op.add_column(
        "decisions",
        sa.Column("reason_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place: no table is rebuilt.
    op.drop_column("decisions", "reason_chosen")
    op.drop_column("feedback", "basis")
    op.drop_column("feedback", "holds")
    op.drop_table("competency_wording")
    op.drop_column("competencies", "kind")
