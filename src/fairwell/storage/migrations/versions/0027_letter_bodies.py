"""``letter_bodies``: a letter's bytes, pointed at by its staged letter, then by its outbox row.

Until now a plan's staged letters held their bytes, and confirming the plan copied them into
``outbox_bodies`` and then deleted the staged copies: at 100,000 letters, 250 MB read,
written, and zeroed again (``secure_delete``) while the recruiter waited, about 4.7 s. Now
``staged_letters.body_id`` and ``outbox.body_id`` point at a row of ``letter_bodies``; the
release writes small outbox rows pointing at the same bodies and moves no bytes.

- ``outbox.body_id``: one letter a body (unique index). Not a foreign key: on SQLite that
  means rebuilding the outbox, and dropping the old outbox fails once bounces point at it.
  Body ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so an id
  whose body was erased points at nothing, as a missing ``outbox_bodies`` row did.
- ``staged_letters.body_id``: ON DELETE CASCADE (a staged letter without bytes is nothing).
- Existing outbox bodies keep their outbox id as their id; staged bodies are numbered after
  them. On PostgreSQL the id sequence then starts after the highest.

On SQLite the outbox gains its column in place (no rebuild, no trigger touched);
``staged_letters`` is rebuilt (it holds only open plans).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_STAGED_FK = "fk_staged_letters_body_id_letter_bodies"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "letter_bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("guard_seal", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_bodies")),
        sqlite_autoincrement=True,
    )
    # Staged bodies are numbered after every outbox body: no two share an id.
    offset = op.get_bind().execute(sa.text("SELECT coalesce(max(outbox_id), 0) FROM outbox_bodies"))
    after = int(offset.scalar_one())
    op.execute(
        "INSERT INTO letter_bodies (id, body, guard_seal) "
        "SELECT outbox_id, body, guard_seal FROM outbox_bodies"
    )
    op.execute(
        sa.text(
            "INSERT INTO letter_bodies (id, body, guard_seal) "
            "SELECT id + :after, body, guard_seal FROM staged_letters"
        ).bindparams(after=after)
    )
    _outbox_body_ids()
    _staged_body_ids(after)
    op.drop_table("outbox_bodies")
    if not _sqlite():
        op.execute(
            "SELECT setval(pg_get_serial_sequence('letter_bodies', 'id'), "
            "coalesce(max(id), 0) + 1, false) FROM letter_bodies"
        )


def _outbox_body_ids() -> None:
    op.add_column("outbox", sa.Column("body_id", sa.Integer()))
    op.execute("UPDATE outbox SET body_id = id WHERE id IN (SELECT id FROM letter_bodies)")
    op.create_index("ix_outbox_body_id", "outbox", ["body_id"], unique=True)


def _staged_body_ids(after: int) -> None:
    op.add_column("staged_letters", sa.Column("body_id", sa.Integer()))
    op.execute(sa.text("UPDATE staged_letters SET body_id = id + :after").bindparams(after=after))
    with op.batch_alter_table("staged_letters") as batch:
        batch.alter_column("body_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("body")
        batch.drop_column("guard_seal")
        batch.create_foreign_key(
            _STAGED_FK, "letter_bodies", ["body_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ix_staged_letters_body_id", "staged_letters", ["body_id"])


def downgrade() -> None:
    op.create_table(
        "kept_bodies",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("guard_seal", sa.String(32)),
    )
    op.execute(
        "INSERT INTO kept_bodies (outbox_id, body, guard_seal) SELECT outbox.id, "
        "letter_bodies.body, letter_bodies.guard_seal FROM outbox "
        "JOIN letter_bodies ON letter_bodies.id = outbox.body_id"
    )
    _staged_bodies_back()
    op.drop_index("ix_outbox_body_id", table_name="outbox")
    op.drop_column("outbox", "body_id")  # in place on SQLite 3.35+: not in a key or index
    op.create_table(
        "outbox_bodies",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("guard_seal", sa.String(32)),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_bodies_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_outbox_bodies")),
    )
    op.execute(
        "INSERT INTO outbox_bodies (outbox_id, body, guard_seal) "
        "SELECT outbox_id, body, guard_seal FROM kept_bodies"
    )
    op.drop_table("kept_bodies")
    op.drop_table("letter_bodies")


def _staged_bodies_back() -> None:
    op.add_column("staged_letters", sa.Column("body", sa.LargeBinary()))
    op.add_column("staged_letters", sa.Column("guard_seal", sa.String(32)))
    op.execute(
        "UPDATE staged_letters SET "
        "body = (SELECT body FROM letter_bodies WHERE letter_bodies.id = staged_letters.body_id), "
        "guard_seal = (SELECT guard_seal FROM letter_bodies "
        "WHERE letter_bodies.id = staged_letters.body_id)"
    )
    op.drop_index("ix_staged_letters_body_id", table_name="staged_letters")
    with op.batch_alter_table("staged_letters") as batch:
        batch.drop_constraint(_STAGED_FK, type_="foreignkey")
        batch.drop_column("body_id")
        batch.alter_column("body", existing_type=sa.LargeBinary(), nullable=False)
