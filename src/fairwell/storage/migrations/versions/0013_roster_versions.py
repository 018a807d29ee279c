"""A job's roster version is a counter the database keeps: ``jobs.roster_version``.

A worker keeps each job's roster (everyone the send-time guard must find in a letter) and asks
before every claim whether it changed. It asked by counting the job's applications and taking
the newest ``persons.updated_at`` over them: a read of the whole job per claim, which at a
million applicants and 100 letters a claim was most of the delivery time.

Triggers now bump the counter whenever the roster can change: an application of the job is
added, removed or given another reference (or moved to another job or person), or a person on
it changes name or address. They are triggers, not code in the store, so no writer (an import,
an erasure, a hand-run UPDATE) can change a roster and leave a worker guarding with the old one.

PostgreSQL fires them once per statement, over the statement's rows (transition tables), so
importing a million applicants bumps each job once per INSERT, not once per row. SQLite only
has row triggers. A person's change finds their jobs through a new index on
``applications.person_id`` (the unique (job_id, person_id) index cannot serve it), so renaming
one person does not read every application.

Any later migration that rebuilds ``jobs``, ``persons`` or ``applications`` on SQLite (batch
mode: copy, drop, rename) drops these triggers and must create them again;
tests/test_big_jobs.py fails if they are gone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

# Every SQL string below is built from this file's own constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BUMP = "UPDATE jobs SET roster_version = roster_version + 1 WHERE id"
NAME_CHANGED = (
    "OLD.email IS NOT NEW.email OR OLD.first_name IS NOT NEW.first_name "
    "OR OLD.last_name IS NOT NEW.last_name"
)
APPLICATION_MOVED = (
    "OLD.ref IS NOT NEW.ref OR OLD.job_id IS NOT NEW.job_id OR OLD.person_id IS NOT NEW.person_id"
)

SQLITE_TRIGGERS = {
    "roster_application_added": (f"AFTER INSERT ON applications BEGIN {BUMP} = NEW.job_id; END"),
    "roster_application_removed": (f"AFTER DELETE ON applications BEGIN {BUMP} = OLD.job_id; END"),
    "roster_application_changed": (
        f"AFTER UPDATE ON applications WHEN {APPLICATION_MOVED} "
        f"BEGIN {BUMP} IN (OLD.job_id, NEW.job_id); END"
    ),
    "roster_person_changed": (
        f"AFTER UPDATE ON persons WHEN {NAME_CHANGED} "
        f"BEGIN {BUMP} IN (SELECT job_id FROM applications WHERE person_id = NEW.id); END"
    ),
}

# PostgreSQL: one function per kind of change, each reading the statement's transition tables.
PG_MOVED = "o.ref IS DISTINCT FROM n.ref OR o.job_id <> n.job_id OR o.person_id <> n.person_id"
PG_RENAMED = (
    "o.email IS DISTINCT FROM n.email OR o.first_name IS DISTINCT FROM n.first_name "
    "OR o.last_name IS DISTINCT FROM n.last_name"
)
BOTH_ROWS = "FROM old_rows o JOIN new_rows n ON n.id = o.id"
POSTGRES_FUNCTIONS = {
    "roster_applications_added": f"{BUMP} IN (SELECT job_id FROM new_rows)",
    "roster_applications_removed": f"{BUMP} IN (SELECT job_id FROM old_rows)",
    "roster_applications_changed": (
        f"{BUMP} IN (SELECT o.job_id {BOTH_ROWS} WHERE {PG_MOVED} "
        f"UNION SELECT n.job_id {BOTH_ROWS} WHERE {PG_MOVED})"
    ),
    "roster_persons_changed": (
        f"{BUMP} IN (SELECT a.job_id FROM applications a JOIN new_rows n ON n.id = a.person_id "
        f"JOIN old_rows o ON o.id = n.id WHERE {PG_RENAMED})"
    ),
}
POSTGRES_TRIGGERS = {
    "roster_applications_added": "AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows",
    "roster_applications_removed": (
        "AFTER DELETE ON applications REFERENCING OLD TABLE AS old_rows"
    ),
    "roster_applications_changed": (
        "AFTER UPDATE ON applications REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "roster_persons_changed": (
        "AFTER UPDATE ON persons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
}


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("roster_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_applications_person_id", "applications", ["person_id"])
    if op.get_bind().dialect.name == "postgresql":
        for name, body in POSTGRES_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} {POSTGRES_TRIGGERS[name]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for name, definition in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in _postgres_trigger_tables():
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_applications_person_id", table_name="applications")
    # SQLite 3.35+ drops a column in place: jobs is not rebuilt (see 0011).
    op.drop_column("jobs", "roster_version")


def _postgres_trigger_tables() -> list[tuple[str, str]]:
    return [
        (name, "persons" if "persons" in name else "applications") for name in POSTGRES_TRIGGERS
    ]
