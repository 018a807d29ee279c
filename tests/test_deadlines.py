"""Notice deadlines (Ontario, 45 days) by where the candidate is: met, missed, the day-30 alert,
France and Canada without a region out of scope, the CLI's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink
from fairwell.domain.deadlines import NoticeRule, NoticeState, notice
from fairwell.runtime import init_database, make_deliverer, open_runtime
from fairwell.services.deadlines import NoticeRules, deadlines
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import queue_plan
from fairwell.services.retention import load_book
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

ONTARIO = {"country": "CA", "region": "CA-ON", "timezone": "America/Toronto"}

RULE = NoticeRule(days=45, alert_days=30)
RULES = NoticeRules(load_book(None), alert_days=30)
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
    settings = settings_for(database_url, sink.port)
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
                **ONTARIO,
            ),
            applicant(
                "wait@example.com",
                "Wai",
                "Ting",
                stage="onsite",
                last_interview_at=INTERVIEW.isoformat(),
                **ONTARIO,
            ),
            applicant(
                "late@example.com",
                "Lat",
                "Er",
                stage="phone",
                last_interview_at=(INTERVIEW - timedelta(days=20)).isoformat(),
                **ONTARIO,
            ),
            applicant(
                "hired@example.com",
                "Hir",
                "Ed",
                stage="hired",
                last_interview_at=INTERVIEW.isoformat(),
                **ONTARIO,
            ),
            applicant(
                "paris@example.com",
                "Par",
                "Is",
                stage="onsite",
                last_interview_at=(INTERVIEW - timedelta(days=60)).isoformat(),
                country="FR",
                timezone="Europe/Paris",
            ),
            applicant(
                "canada@example.com",
                "Can",
                "Ada",
                stage="onsite",
                last_interview_at=(INTERVIEW - timedelta(days=60)).isoformat(),
                country="CA",
                timezone="America/Vancouver",
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

        report = deadlines(runtime.notices, RULES, day(31), everyone=True)
        states = {item.record.email: item.notice.state for item in report.items if item.notice}
        assert states == {
            "told@example.com": NoticeState.TOLD,
            "wait@example.com": NoticeState.ALERT,
            "late@example.com": NoticeState.OVERDUE,
        }, "France has no notice rule, and Canada without a region is not Ontario"
        due = deadlines(runtime.notices, RULES, day(31))
        assert {item.record.email for item in due.items} == {
            "wait@example.com",
            "late@example.com",
        }
    finally:
        runtime.close()


def test_the_cli_prints_one_json_object_and_exits_1_while_anyone_is_overdue(
    tmp_path: Path, sink: MailSink
) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    rows = [
        applicant(
            "wait@example.com",
            "Wai",
            "Ting",
            stage="onsite",
            last_interview_at=INTERVIEW.isoformat(),
            **ONTARIO,
        )
    ]
    for args in (["init"], ["import", str(write_csv(tmp_path / "a.csv", rows))]):
        assert runner.invoke(app, args, env=env).exit_code == 0

    on_day_30 = runner.invoke(app, ["deadlines", "--json", "--as-of", "2026-10-01"], env=env)
    assert on_day_30.exit_code == 0, on_day_30.stderr
    report = json.loads(on_day_30.stdout)
    assert report["notice_rules"] == {"CA-ON": 45} and report["counts"]["alert"] == 1
    assert report["due"][0]["jurisdiction"] == "CA-ON" and report["due"][0]["deadline_days"] == 45
    assert report["due"][0]["state"] == "alert" and report["due"][0]["day"] == 30
    assert report["due"][0]["due_at"] == day(45).isoformat()

    overdue = runner.invoke(app, ["deadlines", "--json", "--as-of", "2026-10-17"], env=env)
    assert overdue.exit_code == 1
    assert json.loads(overdue.stdout)["counts"]["overdue"] == 1


def test_deadlines_are_off_where_no_jurisdiction_has_a_notice_rule(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[CA-ON]\nnotice_days = 0\n", encoding="utf-8")
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_RETENTION_POLICIES": str(rules),
    }
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["deadlines", "--json"], env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["notice_rules"] == {}
    refused = runner.invoke(app, ["deadlines", "notify", "--yes"], env=env)
    assert refused.exit_code == 1 and "no jurisdiction" in refused.stderr


def test_the_notice_rule_is_ontarios_alone_by_region_and_an_organisation_can_add_one(
    tmp_path: Path,
) -> None:
    shipped = NoticeRules(load_book(None), alert_days=30)
    assert shipped.rule_for("CA", "CA-ON") == NoticeRule(45, 30)
    assert shipped.rule_for("CA", "ON") == NoticeRule(45, 30), "ON beside CA is Ontario"
    assert shipped.rule_for("CA", None) is None, "Canada without a region is not Ontario"
    assert shipped.rule_for("CA", "CA-BC") is None
    assert shipped.rule_for("FR", None) is None and shipped.rule_for("FR", "CA-ON") is None
    ours = tmp_path / "rules.toml"
    ours.write_text("[CA]\nnotice_days = 20\n", encoding="utf-8")
    overridden = NoticeRules(load_book(ours), alert_days=30)
    assert overridden.rule_for("CA", "CA-BC") == NoticeRule(20, 20), "alerted by the deadline"
    assert overridden.rule_for("CA", "CA-ON") == NoticeRule(45, 30), "the region still wins"


def test_the_retired_notice_setting_stops_fairwell_with_a_clear_error(tmp_path: Path) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_NOTICE_DEADLINE_DAYS": "45",
    }
    result = CliRunner().invoke(app, ["deadlines"], env=env)
    assert result.exit_code == 3
    assert "FAIRWELL_NOTICE_DEADLINE_DAYS is no longer read" in result.stderr
    assert "notice_days" in result.stderr
