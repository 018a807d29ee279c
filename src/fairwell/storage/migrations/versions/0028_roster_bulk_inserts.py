"""A bulk writer notes the people it adds to the roster itself: ``roster_bulk_writes``.

Migration 0015's triggers bump ``roster_clock`` and upsert into ``roster_changes`` for every
person and application inserted: on SQLite once a row, about half the cost of writing the
people and applications of a big import. While a transaction holds a row in
``roster_bulk_writes`` the two INSERT triggers (a person added, an application added) do
nothing, and that transaction notes the people it added itself, set-based: after each chunk
it writes, it bumps the clock once and notes the chunk's people at that version
(storage/importer.py, ``RosterNotes``), as PostgreSQL's statement triggers note a statement.

Nothing else changes. The row is inserted and deleted in the writer's own transaction, so no
other transaction ever sees it (SQLite serialises writers; PostgreSQL's snapshots hide
uncommitted rows): every other writer, a hand-run INSERT included, still fires the triggers.
A failed import rolls the row back with everything else. The UPDATE and DELETE triggers are
not touched: a renamed, erased or removed person is noted by the triggers, as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

NO_BULK_WRITE = "NOT EXISTS (SELECT 1 FROM roster_bulk_writes)"
# The INSERT triggers a bulk writer stands in for, by name: SQLite's, then PostgreSQL's.
SQLITE_ADDED = ("roster_person_added", "roster_application_added")
POSTGRES_ADDED = ("roster_persons_added", "roster_applications_added")


def upgrade() -> None:
    op.create_table(
        "roster_bulk_writes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_bulk_writes")),
    )
    roster = _revision_0015()
    if _postgres():
        for name in POSTGRES_ADDED:
            note = roster.PG_NOTE.format(people=roster.POSTGRES_CHANGED[name])
            _replace_function(name, f"IF {NO_BULK_WRITE} THEN {note}; END IF")
    else:
        for name in SQLITE_ADDED:
            event, body = roster.SQLITE_TRIGGERS[name].split(" BEGIN ", 1)
            op.execute(f"DROP TRIGGER {name}")
            op.execute(f"CREATE TRIGGER {name} {event} WHEN {NO_BULK_WRITE} BEGIN {body}")


def downgrade() -> None:
    roster = _revision_0015()
    if _postgres():
        for name in POSTGRES_ADDED:
            _replace_function(name, roster.PG_NOTE.format(people=roster.POSTGRES_CHANGED[name]))
    else:
        for name in SQLITE_ADDED:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(f"CREATE TRIGGER {name} {roster.SQLITE_TRIGGERS[name]}")
    op.drop_table("roster_bulk_writes")


def _replace_function(name: str, body: str) -> None:
    """The trigger function's new body; its trigger stays as 0015 made it."""
    op.execute(
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body}; RETURN NULL; END $$"
    )


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _revision_0015() -> ModuleType:
    """0015's own definitions of the roster's triggers, to change or restore them exactly."""
    path = Path(__file__).with_name("0015_organisation_roster.py")
    spec = importlib.util.spec_from_file_location("fairwell_migration_0015", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
