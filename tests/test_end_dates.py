"""Every application has an end date (invariant 11), read from a real database.

A frozen clock imports one application in each state an application can end in (hired,
withdrawn, offer declined, an offer left open, still open, rejected elsewhere) and one of a
job that closes without a letter, on SQLite and on PostgreSQL; `retention dates` gives each
its end date and rule, and the run deletes each the day after, not a day before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.job_settings import close_job
from fairwell.services.retention import load_book, retention_schedule, run_retention
from fairwell.storage.tables import applications, persons
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

IMPORTED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MOVED = IMPORTED + timedelta(days=10)  # a second import moves one stage on
CLOSED = IMPORTED + timedelta(days=20)  # the old job closes


def rows(open_stage: str = "screen", elsewhere_name: str = "Else") -> list[dict[str, str]]:
    return [
        applicant("hire@example.com", "Hal", "Hired", stage="hired"),
        applicant("gone@example.com", "Gwen", "Gone", stage="withdrawn"),
        applicant("nope@example.com", "Nora", "Nope", stage="declined"),
        applicant("offer@example.com", "Olga", "Offer", stage="offer"),
        applicant("open@example.com", "Otto", "Open", stage=open_stage),
        applicant("else@example.com", elsewhere_name, "Where", stage="rejected"),
        applicant(
            "ont@example.com",
            "Ona",
            "Tario",
            stage="phone",
            country="CA",
            region="CA-ON",
            timezone="America/Toronto",
        ),
        applicant("closed@example.com", "Cleo", "Closed", stage="phone", job="Old Role"),
    ]


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, 2525)
    init_database(settings)
    opened = open_runtime(settings)
    opened.clock = FixedClock(IMPORTED)
    import_file(opened.store, write_csv(tmp_path / "a.csv", rows()), actor="t", now=IMPORTED)
    moved = rows(open_stage="phone", elsewhere_name="Elsa")
    import_file(opened.store, write_csv(tmp_path / "b.csv", moved), actor="t", now=MOVED)
    old_role = opened.store.job_by_title("Old Role")
    close_job(opened.store, old_role.id, True, "t", CLOSED)
    try:
        yield opened
    finally:
        opened.close()


def end_dates(runtime: Runtime) -> dict[str, tuple[str, date]]:
    """Each person's address: the rule and the end date of their one application."""
    dated, undated = retention_schedule(runtime.retention, load_book(None))
    assert undated == 0, "invariant 11: every application has an end date"
    query = select(applications.c.id, persons.c.email).join(
        persons, persons.c.id == applications.c.person_id
    )
    with runtime.engine.connect() as conn:
        emails = dict(conn.execute(query).tuples().all())
    return {
        emails[item.application_id]: (item.rule.name.lower() if item.rule else "", item.keep_until)
        for item in dated
    }


def test_each_state_has_its_end_date_from_its_own_clock(runtime: Runtime) -> None:
    assert end_dates(runtime) == {
        "hire@example.com": ("hired", date(2026, 8, 30)),  # 90 days after the import
        "gone@example.com": ("withdrawn", date(2026, 11, 30)),
        "nope@example.com": ("declined", date(2026, 11, 30)),
        "offer@example.com": ("open", date(2027, 6, 1)),
        # The second import moved the stage on: the clock restarted then.
        "open@example.com": ("open", date(2027, 6, 11)),
        # Only the name changed: the stage clock did not move.
        "else@example.com": ("rejected", date(2026, 11, 30)),
        "ont@example.com": ("open", date(2029, 6, 1)),  # CA-ON keeps three years
        "closed@example.com": ("closed", date(2026, 12, 20)),  # 182 days after the closing
    }


def test_the_run_deletes_each_the_day_after_its_end_date_and_not_before(
    runtime: Runtime,
) -> None:
    clock = runtime.clock
    assert isinstance(clock, FixedClock)
    clock.current = datetime(2026, 8, 30, 12, 0, tzinfo=UTC)
    assert run_retention(runtime, None, dry_run=False).due == []
    clock.current = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    done = run_retention(runtime, None, dry_run=False)
    assert [item.rule.name.lower() for item in done.due if item.rule] == ["hired"]
    assert done.counts["anonymised"] == 1, "GB anonymises: statistics stay, the person goes"
    clock.current = datetime(2026, 12, 21, 12, 0, tzinfo=UTC)
    later = run_retention(runtime, None, dry_run=False)
    assert sorted(item.rule.name.lower() for item in later.due if item.rule) == [
        "closed",
        "declined",
        "rejected",
        "withdrawn",
    ]
    left = set(end_dates(runtime))
    assert left == {"offer@example.com", "open@example.com", "ont@example.com"}


def test_the_cli_lists_every_end_date_and_the_run_names_the_rule(
    runtime: Runtime,
) -> None:
    env = {"FAIRWELL_DATABASE_URL": runtime.settings.database_url}
    runner = CliRunner()
    listed = runner.invoke(app, ["retention", "dates", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.stdout)
    assert document["without_end_date"] == 0 and len(document["applications"]) == 8
    assert document["by_rule"] == {
        "closed": 1,
        "declined": 1,
        "hired": 1,
        "open": 3,
        "rejected": 1,
        "withdrawn": 1,
    }
    args = ["retention", "run", "--dry-run", "--as-of", "2026-12-21", "--json"]
    due = json.loads(runner.invoke(app, args, env=env).stdout)["due"]
    assert {entry["rule"] for entry in due} == {
        "hired",
        "withdrawn",
        "declined",
        "rejected",
        "closed",
    }
    closed = next(entry for entry in due if entry["rule"] == "closed")
    assert closed["keep_until"] == "2026-12-20"
    assert closed["reason"] == "GB: job closed without a letter, 182 days after the job closed"
