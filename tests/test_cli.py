"""The CLI contract that scripts rely on: names, options, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.cli.sending import SKIPPED_SHOWN
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import feedback_requests
from tests.helpers import add_cli_user, applicant, write_csv

COMMANDS = [
    ["init"],
    ["import"],
    ["jobs"],
    ["applicants"],
    ["reasons"],
    ["reject"],
    ["plan"],
    ["preview"],
    ["send"],
    ["outbox", "status"],
    ["outbox", "pause"],
    ["outbox", "resume"],
    ["outbox", "requeue"],
    ["outbox", "show"],
    ["worker"],
    ["mailsink"],
    ["demo"],
    ["templates", "check"],
    ["lint"],
    ["feedback", "draft"],
    ["feedback", "review"],
    ["feedback", "approve"],
    ["feedback", "edit"],
    ["feedback", "downgrade"],
    ["competency", "add"],
    ["competency", "list"],
    ["competency", "import"],
    ["import-scorecards"],
    ["scorecard", "add"],
    ["requests"],
    ["requests", "add"],
    ["requests", "answer"],
    ["requests", "remind"],
    ["users", "add"],
    ["users", "list"],
    ["users", "disable"],
    ["users", "assign"],
    ["users", "token"],
    ["users", "interview"],
    ["serve"],
    ["outbox", "stop"],
    ["deadlines"],
    ["inbox", "fetch"],
    ["inbox", "unmatched"],
    ["suppressions"],
    ["suppressions", "add"],
    ["suppressions", "remove"],
    ["ats", "pull"],
    ["ats", "sync"],
    ["ats", "status"],
    ["webhooks", "add"],
    ["webhooks", "list"],
    ["webhooks", "remove"],
    ["webhooks", "deliver"],
    ["webhooks", "log"],
]


@pytest.fixture
def env(tmp_path: Path, sink: MailSink) -> dict[str, str]:
    return {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
    }


def reject_in(env: dict[str, str], *selection: str, reason: str) -> None:
    code, out, _ = run(env, "reject", "--job", "Data Analyst", *selection, "--reason", reason)
    assert code == 0, out


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def imported(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """35 applicants and a hired person; commands that decide act as rita (FAIRWELL_USER)."""
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", stage="phone") for i in range(35)]
    rows.append(applicant("hired@example.com", "Hana", "Hired", stage="hired"))
    assert run(env, "init")[0] == 0
    code, out, _ = run(env, "import", str(write_csv(tmp_path / "a.csv", rows)))
    assert code == 0, out
    add_cli_user(env, tmp_path, "rita", "recruiter")
    return {**env, "FAIRWELL_USER": "rita"}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_a_bad_import_exits_1_names_row_and_field_and_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = [applicant("ok@example.com", "Ok", "Row"), applicant("not-an-address", "Bad", "Row")]
    run(env, "init")
    code, _, err = run(env, "import", str(write_csv(tmp_path / "bad.csv", rows)))
    assert code == 1
    assert "bad.csv" in err and "row 3" in err and "email" in err
    assert json.loads(run(env, "jobs", "--json")[1]) == []


def test_jobs_and_applicants_print_json_lists(imported: dict[str, str]) -> None:
    jobs = json.loads(run(imported, "jobs", "--json")[1])
    assert jobs == [
        {
            "id": 1,
            "title": "Data Analyst",
            "applicants": 36,
            "stages": {"phone": 35, "hired": 1},
            "closed_at": None,
            "sender_name": None,
        }
    ]
    people = json.loads(run(imported, "applicants", "--job", "Data Analyst", "--json")[1])
    assert len(people) == 36 and {"email", "stage", "letter"} <= set(people[0])


def test_an_unknown_job_is_an_error_on_one_line(imported: dict[str, str]) -> None:
    code, out, err = run(imported, "applicants", "--job", "Astronaut", "--json")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Astronaut" in err


def test_rejecting_a_job_again_counts_the_skipped_and_names_only_the_first_few(
    imported: dict[str, str],
) -> None:
    reject = ("reject", "--job", "Data Analyst", "--all-except-hired", "--reason", "role-closed")
    assert run(imported, *reject)[0] == 0
    code, out, _ = run(imported, *reject)
    assert code == 0 and "rejected 0, skipped 36" in out
    assert "already decided" in out and "hired" in out
    named = [line for line in out.splitlines() if "@example.com" in line]
    assert len(named) == SKIPPED_SHOWN, "20 people by name, not all 36"
    assert "and 16 more; `fairwell applicants --job" in out


def test_reject_plan_preview_send_and_status(imported: dict[str, str], sink: MailSink) -> None:
    code, out, _ = run(
        imported,
        "reject",
        "--job",
        "Data Analyst",
        "--all-except-hired",
        "--reason",
        "skills-mismatch",
    )
    assert code == 0 and "rejected 35, skipped 1" in out
    plan = json.loads(run(imported, "plan", "--job", "Data Analyst", "--json")[1])
    assert plan["letters"] == {"rejection": 35}
    assert plan["skipped_counts"] == {"hired": 1}
    code, letter, _ = run(imported, "preview", "--job", "Data Analyst", "--email", "p3@example.com")
    assert code == 0 and "To: Pat Doe3 <p3@example.com>" in letter

    code, _, _ = run(imported, "send", "--job", "Data Analyst", stdin="34\n")
    assert code == 1
    assert read_sink(sink.directory) == []

    code, out, _ = run(imported, "send", "--job", "Data Analyst", stdin="35\n")
    assert code == 0, out
    assert len(read_sink(sink.directory)) == 35
    status = json.loads(run(imported, "outbox", "status", "--json")[1])
    assert status["counts"] == {"sent": 35} and status["paused"] is False


def test_pause_stops_the_worker_and_resume_lets_it_go_on(
    imported: dict[str, str], sink: MailSink
) -> None:
    reject_in(imported, "--stage", "phone", reason="position-filled")
    assert run(imported, "outbox", "pause")[0] == 0
    code, _, err = run(imported, "send", "--job", "Data Analyst", "--yes")
    assert code == 1 and "paused" in err
    assert read_sink(sink.directory) == []
    assert run(imported, "outbox", "resume")[0] == 0
    assert run(imported, "worker", "--once")[0] == 0
    assert len(read_sink(sink.directory)) == 35


def test_stop_holds_a_queued_batch_and_requeue_sends_it_after_all(
    imported: dict[str, str], sink: MailSink
) -> None:
    reject_in(imported, "--stage", "phone", reason="position-filled")
    assert run(imported, "send", "--job", "Data Analyst", "--yes", "--no-wait")[0] == 0
    code, out, _ = run(imported, "outbox", "stop", "--batch", "1", "--json")
    assert code == 0 and json.loads(out) == {"batch_id": 1, "held": 35}
    assert run(imported, "worker", "--once")[0] == 0
    assert read_sink(sink.directory) == []
    assert run(imported, "outbox", "stop", "--batch", "7")[0] == 1, "no such batch"
    assert run(imported, "outbox", "requeue")[0] == 0
    assert run(imported, "worker", "--once")[0] == 0
    assert len(read_sink(sink.directory)) == 35


def test_a_configuration_error_exits_3(env: dict[str, str]) -> None:
    code, _, err = run({**env, "FAIRWELL_SMTP_SECURITY": "carrier-pigeon"}, "jobs")
    assert code == 3 and "smtp_security" in err


def test_the_installed_command_prints_one_line_on_stderr(env: dict[str, str]) -> None:
    fairwell = Path(sys.executable).with_name("fairwell")
    result = subprocess.run(
        [str(fairwell), "applicants", "--job", "Nobody", "--json"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("fairwell:")


def test_a_canary_goes_first_to_the_internal_address_with_no_candidate_data(
    imported: dict[str, str], sink: MailSink
) -> None:
    run(
        imported, "reject", "--job", "Data Analyst", "--all-except-hired", "--reason", "role-closed"
    )
    code, _, _ = run(
        imported, "send", "--job", "Data Analyst", "--canary", "qa@acme.example.com", stdin="n\n"
    )
    assert code == 1, "an unconfirmed canary stops the send"
    received = read_sink(sink.directory)
    assert [m.rcpt_tos for m in received] == [["qa@acme.example.com"]]
    assert b"Pat" not in received[0].data and b"Doe" not in received[0].data
    assert b"Dear Alex," in received[0].data

    code, _, _ = run(
        imported,
        "send",
        "--job",
        "Data Analyst",
        "--canary",
        "qa@acme.example.com",
        stdin="y\n35\n",
    )
    assert code == 0
    assert len(read_sink(sink.directory)) == 2 + 35


def test_preview_after_sending_shows_the_bytes_that_went_out(
    imported: dict[str, str], sink: MailSink
) -> None:
    reject_in(imported, "--email", "p7@example.com", reason="experience-required")
    assert run(imported, "send", "--job", "Data Analyst", "--yes")[0] == 0
    _, shown, _ = run(imported, "preview", "--job", "Data Analyst", "--email", "P7@example.com")
    sent = read_sink(sink.directory)[0].data.decode().replace("\r\n", "\n")
    assert shown == sent


def test_the_mailsink_command_stores_what_it_receives(tmp_path: Path) -> None:
    import signal
    import smtplib

    from tests.smtp_server import unused_port

    port = unused_port()
    fairwell = Path(sys.executable).with_name("fairwell")
    sink = subprocess.Popen(
        [str(fairwell), "mailsink", "--port", str(port), "--dir", str(tmp_path / "box")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stderr is not None
        assert f"127.0.0.1:{port}" in sink.stderr.readline()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(10) == 0
    stored = read_sink(tmp_path / "box")
    assert [(m.mail_from, m.rcpt_tos) for m in stored] == [("a@example.com", ["b@example.com"])]


def test_send_can_use_several_processes(imported: dict[str, str], sink: MailSink) -> None:
    reject_in(imported, "--all-except-hired", reason="position-filled")
    code, out, _ = run(imported, "send", "--job", "Data Analyst", "--yes", "--processes", "2")
    assert code == 0, out
    assert sorted(m.rcpt_tos[0] for m in read_sink(sink.directory)) == sorted(
        f"p{i}@example.com" for i in range(35)
    )


def test_outbox_show_prints_a_stored_letter_and_refuses_an_unknown_id(
    imported: dict[str, str], sink: MailSink
) -> None:
    reject_in(imported, "--email", "p1@example.com", reason="role-closed")
    run(imported, "send", "--job", "Data Analyst", "--yes", "--no-wait")
    code, shown, _ = run(imported, "outbox", "show", "1")
    assert code == 0 and "To: Pat Doe1 <p1@example.com>" in shown
    code, _, err = run(imported, "outbox", "show", "99")
    assert code == 1 and "99" in err


def test_lint_reads_lines_prints_json_and_exits_1_on_a_finding(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("Your SQL was strong.\nWe worried she is planning a family.\n", "utf-8")
    result = CliRunner().invoke(app, ["lint", str(texts), "--lang", "en", "--json"])
    assert result.exit_code == 1
    lines = json.loads(result.stdout)
    assert [line["line"] for line in lines] == [1, 2]
    assert lines[0]["findings"] == []
    assert {f["rule"] for f in lines[1]["findings"]} == {"sex-and-family"}


@pytest.mark.parametrize("args", [[], ["-"]], ids=["no-file", "dash"])
def test_lint_reads_standard_input_and_exits_0_when_clean(args: list[str]) -> None:
    result = CliRunner().invoke(
        app, ["lint", *args, "--lang", "de"], input="Ihre SQL-Kenntnisse waren sehr gut.\n"
    )
    assert result.exit_code == 0 and result.stdout == ""


def test_lint_refuses_unreadable_input_with_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"caf\xe9\n")
    result = CliRunner().invoke(app, ["lint", str(broken)])
    assert result.exit_code == 2 and "broken.txt" in result.stderr


def test_feedback_from_scorecards_through_the_cli(
    env: dict[str, str], tmp_path: Path, sink: MailSink
) -> None:
    rows = [
        applicant(
            "ann@example.com",
            "Ann",
            "Lee",
            stage="onsite",
            last_interview_at="2026-11-20T10:00:00Z",
        )
    ]
    run(env, "init")
    run(env, "import", str(write_csv(tmp_path / "a.csv", rows)))
    assert (
        run(env, "competency", "add", "--job", "Data Analyst", "--name", "SQL", "--bar", "3")[0]
        == 0
    )
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "email,job,interviewer,competency,rating,internal_note,note_for_candidate\n"
        "ann@example.com,Data Analyst,Interviewer 1,SQL,1,weak,Practise window functions.\n",
        encoding="utf-8",
    )
    assert run(env, "import-scorecards", str(cards))[0] == 0
    add_cli_user(env, tmp_path, "rita", "recruiter")
    add_cli_user(env, tmp_path, "hank", "hiring_manager")
    code, out, _ = run(
        env,
        *("reject", "--job", "Data Analyst", "--all-except-hired", "--reason", "skills-mismatch"),
        *("--as", "rita"),
    )
    assert code == 0 and "feedback drafted for 1" in out
    review = json.loads(run(env, "feedback", "review", "--job", "Data Analyst", "--json")[1])
    assert review[0]["state"] == "draft" and "Practise window functions." in review[0]["text"]
    assert "weak" not in review[0]["text"]
    assert json.loads(run(env, "plan", "--job", "Data Analyst", "--json")[1])["ready"] == 0
    code, _, err = run(env, "feedback", "approve", "--job", "Data Analyst", "--as", "hank")
    assert code == 1 and "hank does not look after this job" in err, "not assigned to hank"
    assert run(env, "feedback", "approve", "--job", "Data Analyst", "--as", "rita")[0] == 0
    plan = json.loads(run(env, "plan", "--job", "Data Analyst", "--json")[1])
    assert (plan["ready"], plan["with_feedback"]) == (1, 1)
    assert run(env, "send", "--job", "Data Analyst", "--yes")[0] == 0
    assert b"Practise window functions." in read_sink(sink.directory)[0].data


def test_a_scorecard_file_with_a_bad_rating_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "init")
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "email,job,interviewer,competency,rating\nann@example.com,Data Analyst,I1,SQL,7\n",
        encoding="utf-8",
    )
    code, _, err = run(env, "import-scorecards", str(cards))
    assert code == 1 and "row 2" in err and "rating" in err


def test_requests_are_recorded_listed_and_answered_from_the_cli(
    imported: dict[str, str], sink: MailSink
) -> None:
    reject_in(imported, "--email", "p1@example.com", reason="role-closed")
    run(imported, "send", "--job", "Data Analyst", "--yes")
    code, out, _ = run(
        imported,
        "requests",
        "add",
        "--job",
        "Data Analyst",
        "--email",
        "p1@example.com",
        "--question",
        "Why?",
    )
    assert code == 0 and "request 1 recorded" in out
    listed = json.loads(run(imported, "requests", "--json")[1])
    assert [(r["id"], r["email"], r["overdue"]) for r in listed] == [(1, "p1@example.com", False)]
    code, out, _ = run(
        imported,
        "requests",
        "answer",
        "1",
        "--text",
        "The role needed more hands-on SQL than your exercise showed.",
    )
    assert code == 0, out
    assert json.loads(run(imported, "requests", "--json")[1]) == []
    assert b"hands-on SQL" in read_sink(sink.directory)[-1].data


def test_requests_remind_exits_1_when_a_request_is_due_soon(imported: dict[str, str]) -> None:
    reject_in(imported, "--email", "p2@example.com", reason="role-closed")
    assert run(imported, "requests", "remind")[0] == 0
    run(imported, "requests", "add", "--job", "Data Analyst", "--email", "p2@example.com")
    assert run(imported, "requests", "remind")[0] == 0, "due in five working days: not yet"

    engine = make_engine(imported["FAIRWELL_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(update(feedback_requests).values(due_at=datetime(2020, 1, 1, tzinfo=UTC)))
    engine.dispose()
    code, out, _ = run(imported, "requests", "remind", "--json")
    assert code == 1 and json.loads(out)[0]["overdue"] is True


def test_scorecard_add_records_one_rating_checked_like_a_file_row(
    imported: dict[str, str],
) -> None:
    run(imported, "competency", "add", "--job", "Data Analyst", "--name", "SQL", "--bar", "3")
    base = [
        "scorecard",
        "add",
        "--job",
        "Data Analyst",
        "--email",
        "p0@example.com",
        "--interviewer",
        "Interviewer 1",
        "--competency",
        "SQL",
    ]
    assert run(imported, *base, "--rating", "3")[0] == 0
    code, _, err = run(imported, *base, "--rating", "5")
    assert code == 1 and "rating" in err
    code, _, err = run(imported, *base, "--rating", "2", "--note-for-candidate", "a\nb")
    assert code == 1 and "note_for_candidate" in err
