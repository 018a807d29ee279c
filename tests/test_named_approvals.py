"""Named approvals: CLI commands that decide on behalf of a person take --as USERNAME (or
FAIRWELL_USER); the user must exist and hold a role the web app lets do it, and the audit log
names them. Without a name nothing is decided. On SQLite and PostgreSQL.

Personas: Ada the admin, Rita the recruiter, Hank who manages the Data Analyst job, Hope a
hiring manager of no job, Ivan the interviewer, and Dora, whose account is disabled.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import audit_log
from tests.helpers import add_cli_user, applicant, write_csv

JOB = "Data Analyst"
PEOPLE = (
    ("ada", "admin"),
    ("rita", "recruiter"),
    ("hank", "hiring_manager"),
    ("hope", "hiring_manager"),
    ("ivan", "interviewer"),
    ("dora", "recruiter"),
)


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def env(database_url: str, tmp_path: Path, sink: MailSink) -> dict[str, str]:
    """Two applicants at onsite with a scorecard each (so rejecting them drafts feedback)."""
    environment = {
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
    }
    assert run(environment, "init")[0] == 0
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", stage="onsite") for i in range(2)]
    assert run(environment, "import", str(write_csv(tmp_path / "a.csv", rows)))[0] == 0
    wording = ("--lang", "en", "--gap", SQL_GAP, "--next-step", SQL_NEXT, "--strength", SQL_GOOD)
    add = ("competency", "add", "--job", JOB, "--name", "SQL", "--bar", "3")
    assert run(environment, *add, *wording)[0] == 0
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "email,job,interviewer,competency,rating,internal_note,note_for_candidate\n"
        "p0@example.com,Data Analyst,Ivan,SQL,2,,\np1@example.com,Data Analyst,Ivan,SQL,2,,\n",
        encoding="utf-8",
    )
    assert run(environment, "import-scorecards", str(cards))[0] == 0
    for username, role in PEOPLE:
        add_cli_user(environment, tmp_path, username, role)
    assert run(environment, "users", "assign", "--username", "hank", "--job", JOB)[0] == 0
    assert run(environment, "users", "disable", "dora")[0] == 0
    return environment


# The job's own wording for SQL: without it a below-bar draft is held and cannot be approved.
SQL_GAP = "Your queries left out the joins the exercise needed."
SQL_NEXT = "Practise queries that join three tables and group the result."
SQL_GOOD = "Your queries were easy to read."


def actors(env: dict[str, str], action: str) -> list[str]:
    engine = make_engine(env["FAIRWELL_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            query = select(audit_log.c.actor).where(audit_log.c.action == action)
            return list(conn.execute(query.order_by(audit_log.c.id)).scalars())
    finally:
        engine.dispose()


def reject_all(env: dict[str, str], *who: str) -> tuple[int, str, str]:
    return run(env, "reject", "--job", JOB, "--all-except-hired", "--reason", "role-closed", *who)


def drafts(env: dict[str, str]) -> list[str]:
    review = json.loads(run(env, "feedback", "review", "--job", JOB, "--json")[1])
    return [item["state"] for item in review]


# --- nobody decides anonymously -------------------------------------------------------------


def test_a_decision_without_a_name_is_refused_in_one_line_saying_how_to_name_yourself(
    env: dict[str, str],
) -> None:
    code, out, err = reject_all(env)
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert "--as USERNAME or FAIRWELL_USER" in err
    assert actors(env, "decision.reject") == [], "nothing was decided"


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("nobody", "no user named 'nobody'"),
        ("ivan", "ivan is an interviewer, who may not reject applicants"),
        ("hank", "hank is a hiring manager, who may not reject applicants"),
        ("dora", "user 'dora' is disabled"),
    ],
)
def test_only_an_existing_enabled_recruiter_or_admin_may_reject(
    env: dict[str, str], who: str, why: str
) -> None:
    code, _, err = reject_all(env, "--as", who)
    assert code == 1 and why in err
    assert actors(env, "decision.reject") == []


def test_the_audit_log_names_the_user_who_rejected_and_whose_rejection_drafted_feedback(
    env: dict[str, str],
) -> None:
    code, out, _ = reject_all(env, "--as", "rita")
    assert code == 0, out
    assert set(actors(env, "decision.reject")) == {"cli:rita"}
    assert set(actors(env, "feedback.drafted")) == {"cli:rita"}


def test_fairwell_user_names_the_user_and_as_wins_over_it(env: dict[str, str]) -> None:
    assert reject_all({**env, "FAIRWELL_USER": "ada"})[0] == 0
    assert set(actors(env, "decision.reject")) == {"cli:ada"}
    code, _, err = run(
        {**env, "FAIRWELL_USER": "ada"}, "feedback", "approve", "--job", JOB, "--as", "ivan"
    )
    assert code == 1 and "ivan is an interviewer" in err


# --- feedback -------------------------------------------------------------------------------


def test_an_interviewer_cannot_approve_edit_or_downgrade_feedback(env: dict[str, str]) -> None:
    reject_all(env, "--as", "rita")
    for command in (
        ("approve",),
        ("edit", "--email", "p0@example.com", "--text", "Practise joins."),
        ("downgrade", "--email", "p0@example.com"),
    ):
        code, _, err = run(env, "feedback", *command, "--job", JOB, "--as", "ivan")
        assert code == 1, command
        assert "ivan is an interviewer, who may not approve, edit or downgrade feedback" in err
    assert drafts(env) == ["draft", "draft"], "nothing changed"


def test_a_hiring_manager_approves_only_the_jobs_they_look_after(env: dict[str, str]) -> None:
    reject_all(env, "--as", "rita")
    code, _, err = run(env, "feedback", "approve", "--job", JOB, "--as", "hope")
    assert code == 1 and "hope does not look after this job" in err
    assert drafts(env) == ["draft", "draft"]

    assert run(env, "feedback", "approve", "--job", JOB, "--as", "hank")[0] == 0
    assert drafts(env) == ["approved", "approved"]
    assert actors(env, "feedback.approved") == ["cli:hank", "cli:hank"]


def test_edits_downgrades_and_overrides_are_audited_under_the_users_name(
    env: dict[str, str],
) -> None:
    reject_all(env, "--as", "rita")
    edit = ("edit", "--job", JOB, "--email", "p0@example.com", "--text", "Practise joins.")
    assert run(env, "feedback", *edit, "--as", "hank")[0] == 0
    downgrade = ("downgrade", "--job", JOB, "--email", "p1@example.com")
    assert run(env, "feedback", *downgrade, "--as", "ada")[0] == 0
    assert actors(env, "feedback.edited") == ["cli:hank"]
    assert actors(env, "feedback.plain") == ["cli:ada"]
    assert "cli:root" not in actors(env, "feedback.plain") + actors(env, "feedback.edited")


# --- answers, invitations, erasure and holds -----------------------------------------------


def test_a_feedback_answer_needs_a_reviewer_of_the_job(env: dict[str, str]) -> None:
    reject_all(env, "--as", "rita")
    run(env, "feedback", "downgrade", "--job", JOB, "--email", "p0@example.com", "--as", "rita")
    assert run(env, "send", "--job", JOB, "--yes")[0] == 0
    run(env, "requests", "add", "--job", JOB, "--email", "p0@example.com", "--question", "Why?")
    answer = ("requests", "answer", "1", "--text", "The role needed more SQL practice.")

    for who, why in (("ivan", "an interviewer"), ("hope", "does not look after this job")):
        code, _, err = run(env, *answer, "--as", who)
        assert code == 1 and why in err
    assert run(env, *answer)[0] == 1, "no name, no answer"
    code, out, _ = run(env, *answer, "--as", "hank")
    assert code == 0, out
    assert actors(env, "request.answered") == ["cli:hank"]


def test_only_an_admin_erases_or_records_a_legal_hold(env: dict[str, str]) -> None:
    hold = ("holds", "add", "--email", "p0@example.com", "--reason", "pending claim 42")
    code, _, err = run(env, *hold, "--as", "rita")
    assert code == 1 and "rita is a recruiter, who may not erase people" in err
    assert run(env, *hold, "--as", "ada")[0] == 0
    assert run(env, "holds", "release", "1")[0] == 1, "no name, no release"
    assert run(env, "holds", "release", "1", "--as", "ada")[0] == 0
    assert run(env, "erase", "--email", "p1@example.com", "--yes", "--as", "hank")[0] == 1
    assert run(env, "erase", "--email", "p1@example.com", "--yes", "--as", "ada")[0] == 0
    assert actors(env, "hold.added") == actors(env, "hold.released") == ["cli:ada"]


def test_writing_to_people_on_file_needs_a_recruiter(env: dict[str, str]) -> None:
    code, _, err = run(
        env, "rediscover", "--job", JOB, "--invite", "p0@example.com", "--yes", "--as", "ivan"
    )
    assert code == 1 and "ivan is an interviewer, who may not write to people on file" in err
