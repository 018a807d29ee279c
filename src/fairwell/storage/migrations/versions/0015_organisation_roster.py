"""One roster for the organisation, kept up to date person by person: ``roster_changes``.

The privacy guard now looks for everyone on file, of every job, not only the letter's own job.
A process keeps that roster (a million people is tens of MiB and seconds to build) and must
learn, before every claim, whether it changed and what changed, without reading everyone.

* ``roster_clock`` is one row: the organisation's roster version, a counter.
* ``roster_changes`` has one row per person whose identifiers ever changed: the clock's value
  at their latest change. A process that built its roster at version V reads the people
  changed since (``version > V``) and applies them, nothing more.

Triggers write both, so no writer (an import, an erasure, a hand-run UPDATE) can change who
is on file and leave a process guarding with the old roster: a person added, deleted, erased,
given another address or name; an application added, deleted, or given another reference or
person. A stage, a locale or a job title is not on the roster and changes nothing.

Bumping the clock row locks it until the transaction commits, so writers that change the
roster commit in the order of their versions: a reader that has seen version V has seen
every change up to V (on PostgreSQL too, where versions would otherwise be handed out before
the commits that make them visible). On SQLite the triggers fire per row (writers are
serialised anyway); on PostgreSQL once per statement, over its transition tables.

This replaces 0013's per-job counters (``jobs.roster_version`` and its triggers): no roster is
per job any more. ``ix_applications_person_id`` (0013) stays: the triggers and the roster's
reads find a person's applications through it.

Any later migration that rebuilds ``persons`` or ``applications`` on SQLite (batch mode: copy,
drop, rename) drops these triggers and must create them again; tests/test_big_jobs.py fails
if they are gone.

Revision ID: 0015
Revises: 0018
Create Date: 2026-12-05
"""

# Every SQL string below is built from this file's own constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0018"
branch_labels = None
depends_on = None

BUMP = "UPDATE roster_clock SET version = version + 1"
NOTE = (
    "INSERT INTO roster_changes (person_id, version) "
    "SELECT person_id, (SELECT version FROM roster_clock) FROM ({people}) WHERE true "
    "ON CONFLICT (person_id) DO UPDATE SET version = excluded.version"
)
PERSON_CHANGED = (
    "OLD.email IS NOT NEW.email OR OLD.first_name IS NOT NEW.first_name "
    "OR OLD.last_name IS NOT NEW.last_name OR OLD.erased_at IS NOT NEW.erased_at "
    "OR OLD.id IS NOT NEW.id"
)
APPLICATION_CHANGED = "OLD.ref IS NOT NEW.ref OR OLD.person_id IS NOT NEW.person_id"


def _sqlite(event: str, people: str, when: str = "") -> str:
    condition = f" WHEN {when}" if when else ""
    note = NOTE.format(people=people)
    return f"{event}{condition} BEGIN {BUMP}; {note}; END"


SQLITE_TRIGGERS = {
    "roster_person_added": _sqlite("AFTER INSERT ON persons", "SELECT NEW.id AS person_id"),
    "roster_person_changed": _sqlite(
        "AFTER UPDATE ON persons",
        "SELECT OLD.id AS person_id UNION SELECT NEW.id",
        PERSON_CHANGED,
    ),
    "roster_person_removed": _sqlite("AFTER DELETE ON persons", "SELECT OLD.id AS person_id"),
    "roster_application_added": _sqlite(
        "AFTER INSERT ON applications", "SELECT NEW.person_id AS person_id"
    ),
    "roster_application_changed": _sqlite(
        "AFTER UPDATE ON applications",
        "SELECT OLD.person_id AS person_id UNION SELECT NEW.person_id",
        APPLICATION_CHANGED,
    ),
    "roster_application_removed": _sqlite(
        "AFTER DELETE ON applications", "SELECT OLD.person_id AS person_id"
    ),
}

# PostgreSQL: one function per kind of change; each finds the people the statement changed
# and, only when there are some, bumps the clock once and notes them all at that version.
PG_PERSON_CHANGED = (
    "o.email IS DISTINCT FROM n.email OR o.first_name IS DISTINCT FROM n.first_name "
    "OR o.last_name IS DISTINCT FROM n.last_name OR o.erased_at IS DISTINCT FROM n.erased_at"
)
PG_APPLICATION_CHANGED = "o.ref IS DISTINCT FROM n.ref OR o.person_id <> n.person_id"
BOTH_ROWS = "FROM old_rows o JOIN new_rows n ON n.id = o.id"
PG_NOTE = (
    "WITH changed AS ({people}), "
    "clock AS (UPDATE roster_clock SET version = version + 1 "
    "WHERE EXISTS (SELECT 1 FROM changed) RETURNING version) "
    "INSERT INTO roster_changes (person_id, version) "
    "SELECT changed.person_id, clock.version FROM changed CROSS JOIN clock "
    "ON CONFLICT (person_id) DO UPDATE SET version = EXCLUDED.version"
)
POSTGRES_CHANGED = {
    "roster_persons_added": "SELECT id AS person_id FROM new_rows",
    "roster_persons_changed": (
        f"SELECT n.id AS person_id {BOTH_ROWS} WHERE {PG_PERSON_CHANGED} "
        # A changed id (never done, but possible by hand) is a person gone and one added.
        "UNION (SELECT id FROM new_rows EXCEPT SELECT id FROM old_rows) "
        "UNION (SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows)"
    ),
    "roster_persons_removed": "SELECT id AS person_id FROM old_rows",
    "roster_applications_added": "SELECT DISTINCT person_id FROM new_rows",
    "roster_applications_changed": (
        f"SELECT o.person_id {BOTH_ROWS} WHERE {PG_APPLICATION_CHANGED} "
        f"UNION SELECT n.person_id {BOTH_ROWS} WHERE {PG_APPLICATION_CHANGED}"
    ),
    "roster_applications_removed": "SELECT DISTINCT person_id FROM old_rows",
}
POSTGRES_TRIGGERS = {
    "roster_persons_added": "AFTER INSERT ON persons REFERENCING NEW TABLE AS new_rows",
    "roster_persons_changed": (
        "AFTER UPDATE ON persons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "roster_persons_removed": "AFTER DELETE ON persons REFERENCING OLD TABLE AS old_rows",
    "roster_applications_added": "AFTER INSERT ON applications REFERENCING NEW TABLE AS new_rows",
    "roster_applications_changed": (
        "AFTER UPDATE ON applications REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "roster_applications_removed": (
        "AFTER DELETE ON applications REFERENCING OLD TABLE AS old_rows"
    ),
}


def upgrade() -> None:
    _drop_job_counters()
    op.create_table(
        "roster_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_clock")),
    )
    op.execute("INSERT INTO roster_clock (id, version) VALUES (1, 0)")
    op.create_table(
        "roster_changes",
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_roster_changes")),
    )
    op.create_index("ix_roster_changes_version", "roster_changes", ["version"])
    if _postgres():
        for name, people in POSTGRES_CHANGED.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {PG_NOTE.format(people=people)}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} {POSTGRES_TRIGGERS[name]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for name, definition in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    if _postgres():
        for name, definition in POSTGRES_TRIGGERS.items():
            table = definition.split(" ON ")[1].split(" ")[0]
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_roster_changes_version", table_name="roster_changes")
    op.drop_table("roster_changes")
    op.drop_table("roster_clock")
    _restore_job_counters()


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _revision_0013() -> ModuleType:
    """0013's own definitions of the per-job counters, to drop or restore them exactly."""
    path = Path(__file__).with_name("0013_roster_versions.py")
    spec = importlib.util.spec_from_file_location("fairwell_migration_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drop_job_counters() -> None:
    old = _revision_0013()
    if _postgres():
        for name, table in old._postgres_trigger_tables():
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in old.SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    # SQLite 3.35+ drops a column in place (jobs is not rebuilt), once no trigger names it.
    op.drop_column("jobs", "roster_version")


def _restore_job_counters() -> None:
    old = _revision_0013()
    op.add_column(
        "jobs",
        sa.Column("roster_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    if _postgres():
        for name, body in old.POSTGRES_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} {old.POSTGRES_TRIGGERS[name]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for name, definition in old.SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")
