"""Notice deadlines (Ontario-style, 45 days): met, missed, the day-30 alert, the CLI's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink
from fairwell.domain.deadlines import NoticeRule, NoticeState, notice
from fairwell.runtime import init_database, make_deliverer, open_runtime
from fairwell.services.deadlines import deadlines
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import queue_plan
from fairwell.storage.notices import SqlNotices
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

RULE = NoticeRule(days=45, alert_days=30)
INTERVIEW = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return INTERVIEW + timedelta(days=n)


def test_a_letter_delivered_on_day_44_meets_the_deadline() -> None:
    assert notice(INTERVIEW, day(44), day(60), RULE).state is NoticeState.TOLD


def test_a_letter_delivered_on_day_46_misses_it() -> None:
    assert notice(INTERVIEW, day(46), day(60), RULE).state is NoticeState.TOLD_LATE


def test_nobody_told_is_waiting_then_alerted_on_day_30_then_overdue_after_day_45() -> None:
    states = [notice(INTERVIEW, None, day(n), RULE).state for n in (29, 30, 45, 46)]
    assert states == [
        NoticeState.WAITING,
        NoticeState.ALERT,
        NoticeState.ALERT,
        NoticeState.OVERDUE,
    ]


def test_a_letter_not_yet_delivered_as_of_the_date_asked_does_not_count() -> None:
    assert notice(INTERVIEW, day(40), day(35), RULE).state is NoticeState.ALERT


def test_deadlines_over_real_letters_delivered_to_the_sink(
    database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = settings_for(database_url, sink.port, notice_deadline_days=45)
    init_database(settings)
    runtime = open_runtime(settings)
    clock = FixedClock(day(20))
    runtime.clock = clock
    try:
        rows = [
            applicant(
                "told@example.com",
                "Tod",
                "Told",
                stage="onsite",
                last_interview_at=INTERVIEW.isoformat(),
            ),
            applicant(
                "wait@example.com",
                "Wai",
                "Ting",
                stage="onsite",
                last_interview_at=INTERVIEW.isoformat(),
            ),
            applicant(
                "late@example.com",
                "Lat",
                "Er",
                stage="phone",
                last_interview_at=(INTERVIEW - timedelta(days=20)).isoformat(),
            ),
            applicant(
                "hired@example.com",
                "Hir",
                "Ed",
                stage="hired",
                last_interview_at=INTERVIEW.isoformat(),
            ),
        ]
        import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=day(0))
        reject(
            runtime.store,
            "Data Analyst",
            Selection(emails=("told@example.com",)),
            "position-filled",
            note=None,
            actor="t",
            now=clock.now(),
        )
        batch = queue_plan(
            runtime.store, runtime.composer, "Data Analyst", actor="t", now=clock.now(), expected=1
        )
        assert run_batch(make_deliverer(runtime), batch.batch_id).sent == 1

        report = deadlines(SqlNotices(runtime.store.engine), RULE, day(31), everyone=True)
        states = {item.record.email: item.notice.state for item in report.items}
        assert states == {
            "told@example.com": NoticeState.TOLD,
            "wait@example.com": NoticeState.ALERT,
            "late@example.com": NoticeState.OVERDUE,
        }
        due = deadlines(SqlNotices(runtime.store.engine), RULE, day(31))
        assert {item.record.email for item in due.items} == {
            "wait@example.com",
            "late@example.com",
        }
    finally:
        runtime.close()


def test_the_cli_prints_one_json_object_and_exits_1_while_anyone_is_overdue(
    tmp_path: Path, sink: MailSink
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_NOTICE_DEADLINE_DAYS": "45",
    }
    runner = CliRunner()
    rows = [
        applicant(
            "wait@example.com",
            "Wai",
            "Ting",
            stage="onsite",
            last_interview_at=INTERVIEW.isoformat(),
        )
    ]
    for args in (["init"], ["import", str(write_csv(tmp_path / "a.csv", rows))]):
        assert runner.invoke(app, args, env=env).exit_code == 0

    on_day_30 = runner.invoke(app, ["deadlines", "--json", "--as-of", "2026-10-01"], env=env)
    assert on_day_30.exit_code == 0, on_day_30.stderr
    report = json.loads(on_day_30.stdout)
    assert report["deadline_days"] == 45 and report["counts"]["alert"] == 1
    assert report["due"][0]["state"] == "alert" and report["due"][0]["day"] == 30
    assert report["due"][0]["due_at"] == day(45).isoformat()

    overdue = runner.invoke(app, ["deadlines", "--json", "--as-of", "2026-10-17"], env=env)
    assert overdue.exit_code == 1
    assert json.loads(overdue.stdout)["counts"]["overdue"] == 1


def test_deadlines_are_off_unless_an_employer_is_in_scope(tmp_path: Path) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["deadlines", "--json"], env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["deadline_days"] is None
