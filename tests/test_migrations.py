"""Migrations: they build exactly the schema tables.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import metadata


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
