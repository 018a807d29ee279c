"""Send windows end to end: queue, the worker holds letters until their window, the real sink.

A frozen clock walks a batch from Friday evening to Monday morning, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.model import OutboxState
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.delivery import RunStats
from fairwell.services.planning import make_plan, queue_plan
from fairwell.storage.tables import applications, audit_log, outbox, persons
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import add_cli_user, applicant, import_and_reject_all, write_csv

FRIDAY_EVENING = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 18:00 London, 13:00 Toronto
MONDAY_8_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
MONDAY_9_UTC = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 09:00 in London

PEOPLE = [
    applicant("ann@example.com", "Ann", "London", country="GB", timezone="Europe/London"),
    applicant("ben@example.com", "Ben", "Berlin", country="DE", timezone="Europe/Berlin"),
    applicant("tia@example.com", "Tia", "Toronto", country="CA", timezone="America/Toronto"),
]


@pytest.fixture
def runtime(database_url: str, sink: MailSink) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, send_windows="on")
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = FixedClock(FRIDAY_EVENING)
    yield wired
    wired.close()


def deliver(runtime: Runtime, batch_id: int) -> RunStats:
    """run_batch, bounded: a batch that never stops waiting fails the test instead of hanging."""
    stop = threading.Event()
    timer = threading.Timer(30, stop.set)
    timer.start()
    try:
        return run_batch(make_deliverer(runtime), batch_id, stop=stop)
    finally:
        timer.cancel()
        assert not stop.is_set(), "run_batch kept waiting for letters scheduled later"


def received(tmp_path: Path) -> dict[str, datetime]:
    """Each address the sink got a letter for, with the letter's Date header."""
    return {
        mail.rcpt_tos[0]: parsedate_to_datetime(str(message_from_bytes(mail.data)["Date"]))
        for mail in read_sink(tmp_path / "mail")
    }


def batch_audit(runtime: Runtime, batch_id: int) -> dict[str, object]:
    query = select(audit_log.c.detail).where(
        audit_log.c.action == "batch.queued", audit_log.c.entity_id == batch_id
    )
    with runtime.engine.connect() as conn:
        return dict(json.loads(conn.execute(query).scalar_one()))


def queue(runtime: Runtime, tmp_path: Path, send_now: bool = False) -> int:
    clock = runtime.clock
    import_and_reject_all(runtime.store, tmp_path / "a.csv", PEOPLE, clock.now())
    batch = queue_plan(
        runtime.store,
        runtime.composer,
        "Data Analyst",
        actor="test",
        now=clock.now(),
        expected=3,
        send_now=send_now,
    )
    # The first letter that waits goes at Monday 08:00 UTC (a real aware datetime).
    assert batch.first_later in (None, MONDAY_8_UTC)
    assert (batch.first_later is None) == (batch.later == 0)
    return batch.batch_id


def test_letters_wait_for_each_candidates_morning_and_go_when_the_clock_gets_there(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    clock = runtime.clock
    assert isinstance(clock, FixedClock)
    batch_id = queue(runtime, tmp_path)
    assert batch_audit(runtime, batch_id) == {"letters": 3, "send_windows": "on", "later": 2}

    first = deliver(runtime, batch_id)
    assert (first.sent, set(received(tmp_path))) == (1, {"tia@example.com"})
    status = runtime.store.outbox_status(batch_id, clock.now())
    assert (status.scheduled, status.next_scheduled_at) == (2, MONDAY_8_UTC)

    clock.current = MONDAY_8_UTC - timedelta(minutes=1)
    assert deliver(runtime, batch_id).sent == 0, "nothing goes a minute early"
    clock.current = MONDAY_8_UTC
    assert deliver(runtime, batch_id).sent == 1
    assert set(received(tmp_path)) == {"tia@example.com", "ben@example.com"}
    clock.current = MONDAY_9_UTC
    assert deliver(runtime, batch_id).sent == 1
    dates = received(tmp_path)
    assert dates["ann@example.com"] == MONDAY_9_UTC, "dated when it is sent, not when decided"
    assert dates["tia@example.com"] == FRIDAY_EVENING
    assert runtime.store.outbox_status(batch_id, clock.now()).counts == {"sent": 3}


def test_the_guard_still_runs_when_a_scheduled_letter_finally_goes(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    batch_id = queue(runtime, tmp_path)
    deliver(runtime, batch_id)
    ben = select(persons.c.id).where(persons.c.email == "ben@example.com").scalar_subquery()
    with runtime.engine.begin() as conn:  # Ben is hired over the weekend
        conn.execute(
            update(applications).where(applications.c.person_id == ben).values(stage="hired")
        )
    runtime.clock.current = MONDAY_9_UTC  # type: ignore[attr-defined]
    stats = deliver(runtime, batch_id)
    assert (stats.sent, stats.held) == (1, 1)
    assert set(received(tmp_path)) == {"tia@example.com", "ann@example.com"}
    held = runtime.store.outbox_rows(OutboxState.HELD, batch_id, 10)
    assert [row.held_rule for row in held] == ["still-eligible"]


def test_send_now_skips_the_windows_for_one_batch_and_is_audited(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    batch_id = queue(runtime, tmp_path, send_now=True)
    assert deliver(runtime, batch_id).sent == 3
    assert batch_audit(runtime, batch_id) == {"letters": 3, "send_windows": "now", "later": 0}


def test_windows_off_for_the_installation_sends_at_once_and_is_audited(
    database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = settings_for(database_url, sink.port, send_windows="off")
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = FixedClock(FRIDAY_EVENING)
    try:
        batch_id = queue(runtime, tmp_path)
        assert deliver(runtime, batch_id).sent == 3
        assert batch_audit(runtime, batch_id)["send_windows"] == "off"
        with runtime.engine.connect() as conn:
            due = conn.execute(select(outbox.c.next_attempt_at)).scalars().all()
        assert set(due) == {FRIDAY_EVENING}
    finally:
        runtime.close()


def test_the_plan_says_how_many_go_now_and_when_the_others_go_and_why(
    runtime: Runtime, tmp_path: Path
) -> None:
    clock = runtime.clock
    import_and_reject_all(runtime.store, tmp_path / "a.csv", PEOPLE, clock.now())
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", clock.now())
    schedule = plan.as_json()["schedule"]
    assert schedule == {
        "send_windows": "on",
        "now": 1,
        "later": 2,
        "groups": [
            {
                "why": "after the candidate's business hours",
                "count": 2,
                "first": MONDAY_8_UTC.isoformat(),
                "last": MONDAY_9_UTC.isoformat(),
            }
        ],
    }
    page = _plan_page(plan)
    assert "When the letters go" in page and "Mon 30 Nov 2026 08:00" in page
    assert "after the candidate&#39;s business hours" in page


def _plan_page(plan: object) -> str:
    """The plan page's template as the app renders it, with the layout's globals."""
    from fairwell.web.app import _pages
    from fairwell.web.assets import find_vendor_assets

    template = _pages(find_vendor_assets(None)).env.get_template("plan.html")
    return template.render(
        plan=plan, skipped=[], job_id=1, csrf="x", threshold=30, request=None, user=None
    )


def test_fairwell_send_returns_with_letters_scheduled_for_later_and_says_so(
    tmp_path: Path, sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRWELL_SEND_WINDOWS", "on")
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    # Interviewed an hour ago (wall clock): whatever the hour, the letter must wait a day.
    just_now = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    rows = [applicant("ann@example.com", "Ann", "Lee", stage="onsite", last_interview_at=just_now)]
    rows.append(applicant("bo@example.com", "Bo", "Kim", job="Designer"))
    write_csv(tmp_path / "a.csv", rows)
    for args in (["init"], ["import", str(tmp_path / "a.csv")]):
        assert runner.invoke(app, args, env=env).exit_code == 0
    add_cli_user(env, tmp_path, "rita", "recruiter")
    for job in ("Data Analyst", "Designer"):
        reject = ["reject", "--job", job, "--all-except-hired", "--reason", "position-filled"]
        assert runner.invoke(app, [*reject, "--as", "rita"], env=env).exit_code == 0

    result = runner.invoke(app, ["send", "--job", "Data Analyst", "--yes"], env=env)
    assert result.exit_code == 0, result.stderr
    printed = " ".join(result.stdout.split())  # Rich wraps table cells
    assert "scheduled 1" in printed
    assert "too soon after the candidate's last interview" in printed
    assert "`fairwell worker` sends them" in printed
    assert read_sink(tmp_path / "mail") == []

    result = runner.invoke(app, ["send", "--job", "Designer", "--yes", "--now"], env=env)
    assert result.exit_code == 0, result.stderr
    printed = " ".join(result.stdout.split())
    assert "sent 1" in printed and "--now: send windows skipped for this batch" in printed
    assert len(read_sink(tmp_path / "mail")) == 1
