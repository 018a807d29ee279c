"""The applicant page, letters exactly as sent, and interviewers' scorecards, over HTTP.

Personas: Rita the recruiter sees everyone; Henry manages the Data Analyst job and Mona the
Designer job, and neither sees the other's applicants; Ivan and Iris interview, and each sees
only the candidates assigned to them and only their own ratings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fairwell.cli import app as cli_app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import approve, draft_job_feedback
from fairwell.services.importing import import_file
from fairwell.services.interviews import assign_interviewer
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.scorecard_file import scorecard_from_options
from fairwell.services.users import add_user
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv, write_wording
from tests.test_web import KEY, PASSWORD, api_token, csrf_of, sign_in

ANALYST, DESIGNER = "Data Analyst", "Designer"
IRIS_NOTE = "Iris-only: hesitated on window functions"
INTERVIEWED = {"stage": "onsite", "last_interview_at": "2026-10-20"}


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    wired = open_runtime(settings)
    rows = [
        *(applicant(f"p{i}@example.com", "Pat", f"Doe{i}", **INTERVIEWED) for i in range(3)),
        applicant("hana@example.com", "Hana", "Hired", stage="hired"),
        applicant("dora@example.com", "Dora", "Design", job=DESIGNER),
    ]
    import_file(wired.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=clock.now())
    write_wording(wired.feedback_store, ANALYST, clock.now())
    for job, name in ((ANALYST, "Communication"), (DESIGNER, "Craft")):
        wired.feedback_store.add_competency(
            wired.store.job_by_title(job).id, name, 3, "t", clock.now()
        )
    _add_people(wired, clock)
    _iris_rates_pat0(wired, clock)
    yield wired
    wired.close()


def _add_people(runtime: Runtime, clock: FixedClock) -> None:
    users = runtime.users
    for name, role in (
        ("rita", Role.RECRUITER),
        ("henry", Role.HIRING_MANAGER),
        ("mona", Role.HIRING_MANAGER),
        ("ivan", Role.INTERVIEWER),
        ("iris", Role.INTERVIEWER),
    ):
        add_user(users, name, PASSWORD, role, actor="t", now=clock.now())
    managers = runtime.job_managers
    for name, job in (("henry", ANALYST), ("mona", DESIGNER)):
        found = users.by_username(name)
        assert found is not None
        managers.assign(runtime.store.job_by_title(job).id, found[0].id, "t", clock.now())
    for name, email in (("ivan", "p0@example.com"), ("ivan", "p1@example.com")):
        assign(runtime, clock, name, email)
    assign(runtime, clock, "iris", "p0@example.com")


def assign(runtime: Runtime, clock: FixedClock, username: str, email: str) -> bool:
    return assign_interviewer(
        runtime.users,
        runtime.interviews,
        runtime.pipeline,
        username,
        runtime.pipeline.job_by_title(ANALYST).id,
        email,
        actor="t",
        now=clock.now(),
    )


def _iris_rates_pat0(runtime: Runtime, clock: FixedClock) -> None:
    ratings = [
        ("SQL", "2", IRIS_NOTE, "Practise window functions."),
        ("Communication", "4", "", ""),
    ]
    rows = [
        scorecard_from_options(
            {
                "email": "p0@example.com",
                "job": ANALYST,
                "interviewer": "iris",
                "competency": competency,
                "rating": rating,
                "internal_note": internal,
                "note_for_candidate": for_candidate,
            }
        )
        for competency, rating, internal, for_candidate in ratings
    ]
    runtime.feedback_store.save_scorecards(rows, "t", clock.now())


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def application_id(runtime: Runtime, email: str, job: str = ANALYST) -> int:
    found = runtime.interviews.application_for(runtime.store.job_by_title(job).id, email)
    assert found is not None
    return found


def reject_and_send(runtime: Runtime) -> int:
    """Reject the analysts but the hired, draft and approve feedback, send: the batch id.

    On the runtime's own clock: the delivery worker sends what is due by that clock.
    """
    now, check = runtime.clock.now(), wording_check(runtime.settings)
    reject(
        runtime.store,
        ANALYST,
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=now,
    )
    draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(ANALYST).id,
        actor="t",
        now=now,
    )
    approve(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(ANALYST).id,
        actor="henry",
        now=now,
    )
    plan = make_plan(runtime.store, runtime.composer, ANALYST, now)
    batch = queue_plan(
        runtime.store, runtime.composer, ANALYST, actor="t", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)
    return batch.batch_id


# --- the applicant page -------------------------------------------------------------------------


def test_the_applicant_page_tells_the_whole_story(client: TestClient, runtime: Runtime) -> None:
    reject_and_send(runtime)
    sign_in(client)
    page = client.get(f"/applications/{application_id(runtime, 'p0@example.com')}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "Pat Doe0",
        "onsite",
        "Interviewer ivan assigned",
        "Scorecard from iris",
        "Rejected: position-filled",
        "Feedback approved",
        "(rejection) sent",
    ):
        assert expected in text, expected
    assert (
        text.index("Applied")
        < text.index("Rejected: position-filled")
        < text.index("(rejection) sent")
    )
    assert IRIS_NOTE in text and "Internal note, never shown to the candidate" in text
    assert "Practise window functions." in text
    # The audit trail reads as sentences, not action codes and JSON.
    for said in ("Interviewer assigned", "Feedback drafted", "Feedback approved", "Letter sent"):
        assert f"<td>{said}</td>" in text, said
    assert "{&#34;" not in text and '{"' not in text, "no raw JSON in the audit trail"


def test_a_letter_opens_byte_for_byte_as_the_relay_received_it(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    reject_and_send(runtime)
    sign_in(client)
    record = client.get(f"/api/applications/{application_id(runtime, 'p1@example.com')}").json()
    (letter,) = record["letters"]
    assert letter["state"] == "sent" and letter["recipient"] == "p1@example.com"
    shown = client.get(letter["bytes_url"])
    assert shown.headers["content-type"].startswith("text/plain")
    (received,) = [m for m in read_sink(sink.directory) if m.rcpt_tos == ["p1@example.com"]]
    assert shown.content == received.data
    other = application_id(runtime, "p2@example.com")
    assert client.get(f"/applications/{other}/letters/{letter['id']}").status_code == 404, (
        "a letter opens only under its own applicant"
    )


def test_the_pipeline_links_each_name_to_the_applicant_page(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client)
    pipeline = client.get(f"/jobs/{runtime.store.job_by_title(ANALYST).id}").text
    target = application_id(runtime, "p2@example.com")
    assert f'<a href="/applications/{target}">Pat Doe2</a>' in pipeline


def test_a_hiring_manager_cannot_open_another_managers_applicant(
    client: TestClient, runtime: Runtime
) -> None:
    reject_and_send(runtime)
    analyst = application_id(runtime, "p0@example.com")
    designer = application_id(runtime, "dora@example.com", DESIGNER)
    sign_in(client, "mona")
    missing = client.get("/applications/99999")
    forbidden = client.get(f"/applications/{analyst}")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.text == missing.text, "another's applicant looks like no applicant at all"
    assert client.get(f"/applications/{analyst}/letters/1").status_code == 404
    assert client.get(f"/applications/{designer}").status_code == 200
    mona = api_token(runtime, "mona")
    by_api = client.get(f"/api/applications/{analyst}", headers=mona)
    assert by_api.status_code == 404
    assert by_api.json() == client.get("/api/applications/99999", headers=mona).json()
    henry = api_token(runtime, "henry")
    assert client.get(f"/api/applications/{analyst}", headers=henry).json()["stage"] == "onsite"


# --- interviewers -------------------------------------------------------------------------------


def test_an_interviewer_lands_on_my_interviews_and_others_on_the_jobs(client: TestClient) -> None:
    form = client.get("/signin")
    signed = client.post(
        "/signin", data={"username": "ivan", "password": PASSWORD, "csrf": csrf_of(form.text)}
    )
    assert signed.headers["location"] == "/home"
    assert client.get("/").headers["location"] == "/home"
    assert "Interviews to score" in client.get("/home").text
    other = TestClient(client.app, follow_redirects=False)
    assert other.get("/").headers["location"] == "/signin"
    sign_in(other, "rita")
    assert other.get("/").headers["location"] == "/home"


def test_an_interviewer_sees_only_their_assignments_and_their_own_ratings(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "ivan")
    listed = client.get("/interviews").text
    assert "Pat Doe0" in listed and "Pat Doe1" in listed and "Pat Doe2" not in listed
    assert "0 of 2 rated" in listed
    pat0 = application_id(runtime, "p0@example.com")
    sheet = client.get(f"/interviews/{pat0}").text
    assert "Rating for SQL" in sheet
    assert IRIS_NOTE not in sheet and "Practise window functions." not in sheet
    unassigned = client.get(f"/interviews/{application_id(runtime, 'p2@example.com')}")
    assert unassigned.status_code == client.get("/interviews/99999").status_code == 404
    assert [item["name"] for item in client.get("/api/interviews").json()] == [
        "Pat Doe0",
        "Pat Doe1",
    ]


def test_an_interviewer_cannot_open_jobs_pipelines_the_outbox_or_applicants(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "ivan")
    pat0 = application_id(runtime, "p0@example.com")
    for path in ("/jobs", "/jobs/1", "/outbox", f"/applications/{pat0}", "/api/jobs"):
        assert client.get(path).status_code in (403, 404), path
    assert client.get(f"/api/applications/{pat0}").status_code in (403, 404)


def _scorecard(token: str, sql: str, sql_note: str = "", internal: str = "") -> dict[str, object]:
    return {
        "csrf": token,
        "competency": ["Communication", "SQL"],
        "rating": ["", sql],
        "internal_note": ["", internal],
        "note_for_candidate": ["", sql_note],
    }


def test_a_scorecard_post_without_the_csrf_token_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "ivan")
    pat0 = application_id(runtime, "p0@example.com")
    assert client.post(f"/interviews/{pat0}", data=_scorecard("", "3")).status_code == 403
    assert client.post(f"/interviews/{pat0}", data=_scorecard("forged", "3")).status_code == 403
    assert "0 of 2 rated" in client.get("/interviews").text, "nothing was saved"


def test_a_saved_scorecard_shows_the_wording_finding_on_the_note_for_the_candidate(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "ivan")
    pat0 = application_id(runtime, "p0@example.com")
    token = csrf_of(client.get(f"/interviews/{pat0}").text)
    flagged = "We wanted someone younger and more energetic."
    saved = client.post(f"/interviews/{pat0}", data=_scorecard(token, "3", flagged, "solid joins"))
    assert saved.status_code == 303
    sheet = client.get(saved.headers["location"]).text
    assert "Your scorecard is saved." in sheet
    assert "The wording check flags this note for the candidate" in sheet
    assert "Age is protected" in sheet
    assert "1 of 2 rated" in client.get("/interviews").text
    ratings = runtime.feedback_store.ratings([pat0])[pat0]
    assert {(r.interviewer, r.competency, r.score) for r in ratings} == {
        ("iris", "SQL", 2),
        ("iris", "Communication", 4),
        ("ivan", "SQL", 3),
    }, "Ivan's rating is saved beside Iris's, which stays as it was"


def test_a_bad_scorecard_is_refused_whole_and_says_why(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "ivan")
    pat0 = application_id(runtime, "p0@example.com")
    token = csrf_of(client.get(f"/interviews/{pat0}").text)
    form = _scorecard(token, "5", internal="kept when refused")
    form["rating"] = ["", "5"]
    form["note_for_candidate"] = ["a note without a rating", ""]
    refused = client.post(f"/interviews/{pat0}", data=form)
    assert refused.status_code == 400
    assert "Nothing was saved" in refused.text
    assert "outside the rating scale of 1 to 4" in refused.text
    assert "choose a rating, or clear the notes" in refused.text
    assert "kept when refused" in refused.text, "what was typed is not lost"
    assert all(r.interviewer == "iris" for r in runtime.feedback_store.ratings([pat0])[pat0])


def test_the_scorecard_api_takes_a_bearer_token_and_returns_the_findings(
    client: TestClient, runtime: Runtime
) -> None:
    pat1 = application_id(runtime, "p1@example.com")
    body = {"ratings": [{"competency": "SQL", "rating": 2, "note_for_candidate": "Too old."}]}
    sign_in(client, "ivan")
    assert client.post(f"/api/interviews/{pat1}/scorecard", json=body).status_code == 401
    ivan = api_token(runtime, "ivan")
    saved = client.post(f"/api/interviews/{pat1}/scorecard", json=body, headers=ivan)
    assert saved.status_code == 200
    (rating,) = saved.json()["ratings"]
    assert rating["rating"] == 2 and rating["findings"][0]["rule"] == "age"
    pat2 = application_id(runtime, "p2@example.com")
    assert (
        client.post(f"/api/interviews/{pat2}/scorecard", json=body, headers=ivan).status_code == 404
    )
    rita = api_token(runtime, "rita")
    assert (
        client.post(f"/api/interviews/{pat1}/scorecard", json=body, headers=rita).status_code == 403
    )
    refused = client.post(
        f"/api/interviews/{pat1}/scorecard",
        json={"ratings": [{"competency": "Juggling", "rating": 3}]},
        headers=ivan,
    )
    assert refused.status_code == 400 and "Juggling" in refused.json()["detail"]


def test_entering_a_scorecard_is_in_the_applicants_audit_trail(
    client: TestClient, runtime: Runtime
) -> None:
    pat1 = application_id(runtime, "p1@example.com")
    ivan = api_token(runtime, "ivan")
    body = {"ratings": [{"competency": "SQL", "rating": 3, "internal_note": "PRIVATE"}]}
    client.post(f"/api/interviews/{pat1}/scorecard", json=body, headers=ivan)
    record = client.get(f"/api/applications/{pat1}", headers=api_token(runtime, "rita")).json()
    entered = [a for a in record["audit"] if a["action"] == "scorecard.entered"]
    assert entered and entered[0]["actor"] == "web:ivan" and entered[0]["detail"]["ratings"] == 1
    assert "PRIVATE" not in json.dumps(record["audit"]), "the audit log holds ids and counts only"
    assert [s["interviewer"] for s in record["scorecards"]].count("ivan") == 1


# --- the assign command -------------------------------------------------------------------------


def test_the_interview_command_assigns_an_interviewer(tmp_path: Path, sink: MailSink) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    rows = [applicant("p0@example.com", "Pat", "Doe0", **INTERVIEWED)]
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli_app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    assert run("init")[0] == 0
    assert run("import", str(write_csv(tmp_path / "a.csv", rows)))[0] == 0
    for name, role in (("ivan", "interviewer"), ("rita", "recruiter")):
        add = run(
            "users", "add", "--username", name, "--role", role, "--password-file", str(password)
        )
        assert add[0] == 0, add
    code, out, _ = run("users", "interview", "Ivan", "--job", ANALYST, "--email", "P0@example.com")
    assert code == 0 and "ivan now interviews" in out
    assert (
        "already interviews"
        in run("users", "interview", "ivan", "--job", ANALYST, "--email", "p0@example.com")[1]
    )
    code, _, err = run("users", "interview", "rita", "--job", ANALYST, "--email", "p0@example.com")
    assert code == 1 and "not an interviewer" in err
    code, _, err = run("users", "interview", "ivan", "--job", ANALYST, "--email", "x@example.com")
    assert code == 1 and "no application" in err and "x@example.com" not in err
    settings = settings_for(env["FAIRWELL_DATABASE_URL"], sink.port)
    wired = open_runtime(settings)
    try:
        ivan = wired.users.by_username("ivan")
        assert ivan is not None
        listed = wired.interviews.assigned_to(ivan[0].id, "ivan")
        assert [item.full_name for item in listed] == ["Pat Doe0"]
    finally:
        wired.close()
