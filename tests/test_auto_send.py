"""A job's auto-send rule (issue 19): decisions from an ATS or an import never send anything by
themselves; the letters wait for a plan and its confirmation, or for a rule a named recruiter
turned on for that one job. With the rule on, the worker plans and releases the letters in
that person's name, on the path a confirmed plan takes, and leaves for a person any plan with
something to look at. Through the CLI as a user runs it, on SQLite and PostgreSQL, with the
letters delivered to a real SMTP server.
"""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import init_database, open_runtime
from fairwell.services.users import add_user
from fairwell.web.app import create_app
from tests.browser import PASSWORD
from tests.conftest import settings_for
from tests.helpers import add_cli_user, applicant, write_csv
from tests.test_named_approvals import actors, run
from tests.test_web import KEY, csrf_of, sign_in

JOB = "Data Analyst"
PEOPLE = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", stage="screen") for i in range(3)]


@pytest.fixture
def env(database_url: str, tmp_path: Path, sink: MailSink) -> dict[str, str]:
    environment = {
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_SEND_WINDOWS": "off",
    }
    assert run(environment, "init")[0] == 0
    assert run(environment, "import", str(write_csv(tmp_path / "a.csv", PEOPLE)))[0] == 0
    for username, role in (("rita", "recruiter"), ("ivan", "interviewer")):
        add_cli_user(environment, tmp_path, username, role)
    return environment


def reject_everyone(env: dict[str, str]) -> None:
    reject = ("reject", "--job", JOB, "--all-except-hired", "--reason", "role-closed")
    code, _, err = run(env, *reject, "--as", "rita")
    assert code == 0, err


def run_rule(env: dict[str, str]) -> dict[str, object]:
    code, out, err = run(env, "job", "run-auto-send", "--json")
    assert code == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def test_off_by_default_a_decision_waits_for_a_person(env: dict[str, str], sink: MailSink) -> None:
    reject_everyone(env)

    assert run_rule(env) == {"released": [], "queued": 0, "waiting": [], "held": []}
    assert run(env, "worker", "--once")[0] == 0
    assert list(read_sink(sink.directory)) == []
    assert "is off" in run(env, "job", "auto-send", "--job", JOB)[1]


def test_turning_it_on_needs_a_named_user_allowed_to(env: dict[str, str]) -> None:
    turn_on = ("job", "auto-send", "--job", JOB, "--on")

    code, _, err = run(env, *turn_on)
    assert code != 0 and "--as USERNAME" in err
    code, _, err = run(env, *turn_on, "--as", "ivan")
    assert code != 0 and "ivan is an interviewer, who may not" in err
    code, _, err = run(env, *turn_on, "--as", "nobody")
    assert code != 0 and "no user named 'nobody'" in err
    assert actors(env, "job.auto_send_on") == []

    code, out, _ = run(env, *turn_on, "--as", "rita")
    assert code == 0 and "is on, in rita's name" in out
    assert actors(env, "job.auto_send_on") == ["user:rita"]


def test_with_the_rule_on_new_decisions_go_as_a_confirmed_plan_would(
    env: dict[str, str], sink: MailSink
) -> None:
    assert run(env, "job", "auto-send", "--job", JOB, "--on", "--as", "rita")[0] == 0
    reject_everyone(env)

    result = run_rule(env)
    assert result["queued"] == 3 and result["waiting"] == []
    assert actors(env, "batch.queued") == ["auto-send:rita"]
    assert run(env, "worker", "--once")[0] == 0

    received = list(read_sink(sink.directory))
    assert sorted(m.rcpt_tos[0] for m in received) == [p["email"] for p in PEOPLE]
    for message in received:
        parsed = message_from_bytes(message.data, policy=default)
        assert parsed["To"].addresses[0].addr_spec == message.rcpt_tos[0]
        assert parsed["Cc"] is None and parsed["Bcc"] is None
    assert run_rule(env)["queued"] == 0, "nobody is written to twice"


def test_turned_off_or_closed_the_job_waits_for_a_person_again(env: dict[str, str]) -> None:
    assert run(env, "job", "auto-send", "--job", JOB, "--on", "--as", "rita")[0] == 0
    assert run(env, "job", "auto-send", "--job", JOB, "--off", "--as", "rita")[0] == 0
    reject_everyone(env)
    assert run_rule(env)["queued"] == 0
    assert actors(env, "job.auto_send_off") == ["user:rita"]

    assert run(env, "job", "auto-send", "--job", JOB, "--on", "--as", "rita")[0] == 0
    assert run(env, "job", "close", "--job", JOB)[0] == 0
    assert run_rule(env)["queued"] == 0


def test_a_letter_whose_feedback_waits_for_approval_waits_and_the_others_go(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Sent now, that letter would go without the feedback a person still has to approve."""
    add = ("competency", "add", "--job", JOB, "--name", "SQL", "--bar", "3", "--lang", "en")
    wording = (
        ("--gap", "Your queries left out the joins the exercise needed."),
        ("--next-step", "Practise queries that join three tables and group the result."),
        ("--strength", "Your queries were easy to read."),
    )
    assert run(env, *add, *[part for pair in wording for part in pair])[0] == 0
    cards = tmp_path / "cards.csv"
    cards.write_text(
        "email,job,interviewer,competency,rating,internal_note,note_for_candidate\n"
        "p0@example.com,Data Analyst,Ivan,SQL,2,,\n",
        encoding="utf-8",
    )
    interviewed = [{**PEOPLE[0], "stage": "onsite"}, *PEOPLE[1:]]
    assert run(env, "import", str(write_csv(tmp_path / "b.csv", interviewed)))[0] == 0
    assert run(env, "import-scorecards", str(cards))[0] == 0
    assert run(env, "job", "auto-send", "--job", JOB, "--on", "--as", "rita")[0] == 0
    reject_everyone(env)

    result = run_rule(env)
    assert result["queued"] == 2, "the others go, as they would for a person confirming"
    assert result["held"] == [{"job_id": 1, "why": "1 feedback waiting for approval"}]
    assert run_rule(env)["queued"] == 0

    code, _, err = run(env, "feedback", "approve", "--job", JOB, "--as", "rita")
    assert code == 0, err
    assert run_rule(env)["queued"] == 1, "approved, the held letter goes with its feedback"


def test_a_plan_with_a_letter_the_guard_blocked_is_not_released_at_all(
    env: dict[str, str], sink: MailSink
) -> None:
    """A letter naming someone else means the job's data is wrong: a person looks first."""
    assert run(env, "job", "sender", "--job", JOB, "--name", "Pat Doe1")[0] == 0
    assert run(env, "job", "auto-send", "--job", JOB, "--on", "--as", "rita")[0] == 0
    reject_everyone(env)

    result = run_rule(env)

    assert result["queued"] == 0 and result["released"] == []
    assert result["waiting"] == [{"job_id": 1, "why": "2 blocked by the privacy guard"}]
    assert run(env, "worker", "--once")[0] == 0
    assert list(read_sink(sink.directory)) == []


def test_a_recruiter_turns_it_on_and_off_on_the_job_page_in_their_own_name(
    database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = settings_for(database_url, sink.port).model_copy(update={"secret_key": KEY})
    init_database(settings)
    runtime = open_runtime(settings)
    try:
        add_user(
            runtime.users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=runtime.clock.now()
        )
        code, _, err = run(
            {"FAIRWELL_DATABASE_URL": database_url},
            "import",
            str(write_csv(tmp_path / "a.csv", PEOPLE)),
        )
        assert code == 0, err
        client = TestClient(create_app(settings, runtime), follow_redirects=False)
        sign_in(client, "rita")
        page = client.get("/jobs/1")
        assert 'name="auto_send"' in page.text and "Auto-send" in page.text
        token = csrf_of(page.text)
        saved = client.post("/jobs/1/settings", data={"auto_send": "on", "csrf": token})
        assert saved.status_code == 303
        assert runtime.pipeline.job_by_id(1).auto_send_by == "rita"
        assert "On, in rita" in client.get("/jobs/1").text
        assert actors({"FAIRWELL_DATABASE_URL": database_url}, "job.auto_send_on") == ["user:rita"]
        client.post("/jobs/1/settings", data={"csrf": token})
        assert runtime.pipeline.job_by_id(1).auto_send_by is None
    finally:
        runtime.close()
