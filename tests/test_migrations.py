"""Migrations: they build exactly the schema tables.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from fairwell.runtime import init_database, open_runtime
from fairwell.services.scheduling import Override
from fairwell.services.sending import confirm, make_plan
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import metadata
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all


def test_the_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second run changes nothing
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


ONE_QUEUED_LETTER_AT_0001 = [
    "INSERT INTO jobs (id, title, created_at) VALUES (1, 'J', :day)",
    "INSERT INTO persons (id, email, first_name, last_name, locale, created_at, updated_at) "
    "VALUES (1, 'a@example.com', 'A', 'B', 'en', :day, :day)",
    "INSERT INTO applications (id, ref, job_id, person_id, stage, source, created_at, "
    "updated_at) VALUES (1, 'FW-1', 1, 1, 'screen', 'applied', :day, :day)",
    "INSERT INTO decisions (id, application_id, reason_code, state, decided_by, decided_at) "
    "VALUES (1, 1, 'role-closed', 'active', 't', :day)",
    "INSERT INTO batches (id, job_id, state, created_by, created_at) "
    "VALUES (1, 1, 'active', 't', :day)",
    "INSERT INTO outbox (id, batch_id, decision_id, application_id, kind, locale, sender, "
    "recipient, message_id, body, planned_stage, state, attempts, next_attempt_at, "
    "possible_duplicates, created_at, updated_at) VALUES (1, 1, 1, 1, 'rejection', 'en', "
    "'s@example.com', 'a@example.com', '<m@x>', :body, 'screen', 'queued', 0, :day, 0, :day, "
    ":day)",
]


def test_0002_moves_queued_letter_bytes_to_their_own_table_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = migrate.alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        for statement in ONE_QUEUED_LETTER_AT_0001:
            conn.execute(text(statement), {"day": datetime(2026, 11, 26), "body": b"the letter"})
        conn.commit()

        command.upgrade(config, "head")
        conn.commit()
        moved = conn.execute(
            text("SELECT body FROM letter_bodies JOIN outbox ON outbox.body_id = letter_bodies.id")
        ).scalar()
        assert bytes(moved) == b"the letter", "0004's rebuild of the outbox kept the bodies"
        key = conn.execute(text("SELECT letter_key FROM outbox WHERE id = 1")).scalar()
        assert key == "decision:1"

        command.downgrade(config, "0001")
        conn.commit()
        back = conn.execute(text("SELECT body FROM outbox WHERE id = 1")).scalar()
        assert bytes(back) == b"the letter"
    engine.dispose()


def _bodies_by_key(conn: Connection, table: str) -> dict[str, bytes]:
    """Each letter's bytes by its letter_key, from the outbox or a plan's staged letters."""
    query = (
        f"SELECT {table}.letter_key, letter_bodies.body FROM {table} "  # noqa: S608 (fixed names)
        f"JOIN letter_bodies ON letter_bodies.id = {table}.body_id"
    )
    return {key: bytes(body) for key, body in conn.execute(text(query))}


def test_0027_keeps_every_letters_bytes_queued_or_staged_down_and_up_again(
    database_url: str, tmp_path: Path
) -> None:
    # Five letters queued, then a sixth person's letter staged in a plan of its own.
    settings = settings_for(database_url, 25)
    init_database(settings)
    runtime = open_runtime(settings)
    now = FixedClock().now()
    people = [applicant(f"p{i}@example.com", f"Pat{i}", "Lee") for i in range(6)]
    import_and_reject_all(runtime.store, tmp_path / "five.csv", people[:5], now)
    job_id = runtime.store.job_by_title("Data Analyst").id
    first = make_plan(runtime.store, runtime.composer, job_id, now)
    confirm(runtime.store, first.plan_id, 5, actor="t", now=now, windows=Override.NOW)
    import_and_reject_all(runtime.store, tmp_path / "six.csv", people, now)
    make_plan(runtime.store, runtime.composer, job_id, now)
    with runtime.engine.connect() as conn:
        queued, staged = _bodies_by_key(conn, "outbox"), _bodies_by_key(conn, "staged_letters")
    assert len(queued) == 5 and len(staged) == 1

    config = migrate.alembic_config()
    with runtime.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0026")
        conn.commit()
        down_queued = "SELECT letter_key, body FROM outbox JOIN outbox_bodies ON outbox_id = id"
        assert {k: bytes(b) for k, b in conn.execute(text(down_queued))} == queued
        down_staged = "SELECT letter_key, body FROM staged_letters"
        assert {k: bytes(b) for k, b in conn.execute(text(down_staged))} == staged
        command.upgrade(config, "head")
        conn.commit()
        assert _bodies_by_key(conn, "outbox") == queued
        assert _bodies_by_key(conn, "staged_letters") == staged
        # New bodies take ids after the ones the migration numbered (PostgreSQL's sequence).
        conn.execute(text("INSERT INTO letter_bodies (body) VALUES (:b)"), {"b": b"new"})
        conn.commit()
    runtime.close()


def _plan_triggers(conn: Connection) -> dict[str, str]:
    """Each plan-change trigger's definition as the database holds it (on PostgreSQL with
    its function's)."""
    if conn.dialect.name == "postgresql":
        query = (
            "SELECT t.tgname, pg_get_triggerdef(t.oid) || ' ' || pg_get_functiondef(t.tgfoid) "
            "FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgname LIKE 'plan\\_%'"
        )
    else:
        query = (
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND name LIKE 'plan\\_%' ESCAPE '\\'"
        )
    return dict(conn.execute(text(query)).tuples().all())


OPEN_PLAN_TRIGGERS = {
    f"plan_{table}_{event}"
    for table in ("decision", "feedback")
    for event in ("insert", "update", "delete")
}
ANY_PLAN_OPEN = (
    "EXISTS (SELECT 1 FROM plans WHERE state = 'composing') "
    "OR EXISTS (SELECT 1 FROM plans WHERE state = 'staged')"
)


def test_0029_gives_sqlites_decision_and_feedback_triggers_a_when_down_and_up_again(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    config = migrate.alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0028")
        conn.commit()
        made_by_0022 = _plan_triggers(conn)
        command.upgrade(config, "0029")
        conn.commit()
        with_when = _plan_triggers(conn)
        command.downgrade(config, "0028")
        conn.commit()
        assert _plan_triggers(conn) == made_by_0022
        command.upgrade(config, "0029")
        conn.commit()
        assert _plan_triggers(conn) == with_when
        plan = ""
        if conn.dialect.name == "sqlite":
            asked = f"EXPLAIN QUERY PLAN SELECT 1 WHERE {ANY_PLAN_OPEN}"
            plan = " ".join(str(row[-1]) for row in conn.execute(text(asked)))
    engine.dispose()
    assert len(made_by_0022) == 18 and set(with_when) == set(made_by_0022)
    changed = {name for name in made_by_0022 if with_when[name] != made_by_0022[name]}
    if database_url.startswith("postgresql"):
        assert changed == set(), "PostgreSQL's statement triggers stay as 0022 made them"
        return
    assert changed == OPEN_PLAN_TRIGGERS
    for name in changed:
        event, body = made_by_0022[name].split(" BEGIN ", 1)
        assert with_when[name] == f"{event} WHEN {ANY_PLAN_OPEN} BEGIN {body}", (
            "0022's body, as it was"
        )
    # Asked for every row written: each state is one seek of the index, never a scan of plans.
    assert plan.count("USING COVERING INDEX ix_plans_state (state=?)") == 2, plan
