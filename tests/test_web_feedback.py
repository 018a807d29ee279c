"""Feedback approval over HTTP: a hiring manager reads drafts with the wording check's findings
marked, approves all (flagged ones are held), overrides, edits and downgrades; another manager's
job stays invisible, by URL and by API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fairwell.delivery.sink import MailSink
from fairwell.domain.feedback import CompetencyKind
from fairwell.domain.users import Role
from fairwell.ports import RubricRow, WordingFinding
from fairwell.runtime import Runtime, init_database, open_runtime, wording_check
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import draft_job_feedback
from fairwell.services.importing import import_file
from fairwell.services.scorecard_file import ScorecardRow
from fairwell.services.users import add_user
from fairwell.storage.tables import audit_log, feedback
from fairwell.web.app import create_app
from fairwell.web.reviews import Piece, marked_lines
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people, write_csv, write_wording
from tests.test_web import KEY, PASSWORD, api_token, csrf_of, sign_in

ANALYST, BACKEND = "Data Analyst", "Backend Engineer"
FAMILY = "She is probably planning a family soon."
INTERVIEWED = {"stage": "onsite", "last_interview_at": "2026-11-20T10:00:00+00:00"}


def card(email: str, job: str = ANALYST, for_candidate: str = "") -> ScorecardRow:
    return ScorecardRow(
        row=2,
        email=email,
        job=job,
        interviewer="Interviewer 1",
        competency="SQL",
        rating=1,
        internal_note="INTERNAL NOTE: tense answer",
        note_for_candidate=for_candidate,
    )


def drafted(runtime: Runtime, tmp_path: Path, now: datetime) -> None:
    """Data Analyst: p0 and p2 clean drafts, p1 flagged (family), p3 no scorecard (plain).
    Backend Engineer: b0 with a clean draft."""
    rows = [
        *people(4, **INTERVIEWED),
        applicant("b0@example.com", "Bo", "Zed", job=BACKEND, **INTERVIEWED),
    ]
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now)
    reject(
        runtime.store,
        BACKEND,
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=now,
    )
    for title in (ANALYST, BACKEND):
        write_wording(runtime.feedback_store, title, now)
    cards = [
        card("p0@example.com"),
        card("p1@example.com", for_candidate=FAMILY),
        card("p2@example.com"),
        card("b0@example.com", job=BACKEND),
    ]
    runtime.feedback_store.save_scorecards(cards, "t", now)
    for title in (ANALYST, BACKEND):
        draft_job_feedback(
            runtime.store,
            runtime.feedback_store,
            wording_check(runtime.settings),
            runtime.store.job_by_title(title).id,
            actor="t",
            now=now,
        )


def add_people(runtime: Runtime, now: datetime) -> None:
    """rita (recruiter); henry manages Data Analyst, hilda Backend Engineer; ivan interviews."""
    users = runtime.users
    managers = runtime.job_managers
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=now)
    add_user(users, "ivan", PASSWORD, Role.INTERVIEWER, actor="t", now=now)
    for name, title in (("henry", ANALYST), ("hilda", BACKEND)):
        user = add_user(users, name, PASSWORD, Role.HIRING_MANAGER, actor="t", now=now)
        managers.assign(runtime.store.job_by_title(title).id, user.id, "t", now)


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    drafted(wired, tmp_path, clock.now())
    add_people(wired, clock.now())
    yield wired
    wired.close()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def job_id(runtime: Runtime, title: str) -> int:
    return runtime.store.job_by_title(title).id


def states(runtime: Runtime, title: str = ANALYST) -> dict[str, str]:
    views = runtime.store.applicants(job_id(runtime, title))
    return {v.person.email: v.feedback.state.value for v in views if v.feedback}


def signed_in_token(client: TestClient, username: str = "henry") -> str:
    sign_in(client, username)
    return csrf_of(client.get("/feedback").text)


def test_the_overview_lists_only_my_jobs_with_drafts_waiting(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "henry")
    page = client.get("/feedback")
    assert page.status_code == 200
    assert f'<a href="/feedback/{job_id(runtime, ANALYST)}">Data Analyst</a></td><td>3</td>' in (
        page.text
    )
    assert BACKEND not in page.text


def test_the_review_page_shows_each_draft_as_the_candidate_reads_it_with_findings_marked(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "henry")
    page = client.get(f"/feedback/{job_id(runtime, ANALYST)}").text
    assert page.count("<li>The SQL exercise needed joins") == 3, (
        "every draft, as the letter says it"
    )
    assert "<mark>planning a family</mark><sup>[1]</sup>" in page
    assert "Sex, pregnancy, maternity and being a parent or carer are protected" in page
    assert "Needs an edit or a written override (1)" in page
    assert "INTERNAL NOTE" not in page, "an interviewer's internal note never shows"
    assert "Pat Doe3" not in page, "no scorecard, no feedback: a plain letter"


def test_approve_all_approves_the_clean_drafts_and_holds_the_flagged_one(
    client: TestClient, runtime: Runtime
) -> None:
    token = signed_in_token(client)
    url = f"/feedback/{job_id(runtime, ANALYST)}"
    unconfirmed = client.post(f"{url}/approve", data={"csrf": token})
    assert unconfirmed.status_code == 400 and "Yes, approve 2 drafts" in unconfirmed.text
    assert states(runtime)["p0@example.com"] == "draft", "nothing approved without the tick"
    stale = client.post(f"{url}/approve", data={"csrf": token, "confirm": "3"})
    assert stale.status_code == 400 and "the drafts changed" in stale.text
    done = client.post(f"{url}/approve", data={"csrf": token, "confirm": "2"})
    assert done.headers["location"] == f"{url}?approved=2&held=1"
    page = client.get(done.headers["location"]).text
    assert "Approved 2 drafts. 1 draft was not approved" in page
    assert 'id="override-' in page, "the held draft offers the override field"
    assert states(runtime) == {
        "p0@example.com": "approved",
        "p1@example.com": "draft",
        "p2@example.com": "approved",
    }


def test_an_override_with_a_justification_approves_a_flagged_draft_and_is_audited(
    client: TestClient, runtime: Runtime
) -> None:
    token = signed_in_token(client)
    url = f"/feedback/{job_id(runtime, ANALYST)}/approve"
    form = {"csrf": token, "email": "p1@example.com"}
    held = client.post(url, data=form)
    assert held.headers["location"].endswith("approved=0&held=1")
    refused = client.post(url, data={**form, "override": "ok"})
    assert refused.status_code == 400 and "written justification" in refused.text
    reason = "The candidate raised it herself; legal agreed."
    assert client.post(url, data={**form, "override": reason}).status_code == 303
    assert states(runtime)["p1@example.com"] == "approved"
    with runtime.engine.begin() as conn:
        stored = conn.execute(select(feedback.c.override_reason, feedback.c.reviewed_by)).all()
        audited = conn.execute(
            select(audit_log.c.detail).where(
                audit_log.c.action == "feedback.approved", audit_log.c.actor == "web:henry"
            )
        ).scalars()
        details = [json.loads(detail) for detail in audited]
    assert (reason, "web:henry") in [tuple(row) for row in stored]
    assert details == [{"override": True}]
    assert "legal agreed" not in str(details), "the log holds the fact, the record the words"


def test_an_edit_shows_the_findings_of_the_new_text_at_once(
    client: TestClient, runtime: Runtime
) -> None:
    token = signed_in_token(client)
    url = f"/feedback/{job_id(runtime, ANALYST)}"
    client.post(f"{url}/approve", data={"csrf": token, "email": "p0@example.com"})
    form = {"csrf": token, "email": "p0@example.com"}
    saved = client.post(f"{url}/edit", data={**form, "text": "You seemed overqualified.\r\n"})
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "The wording check found 1 thing in the new text" in page
    assert "<mark>overqualified</mark>" in page
    assert states(runtime)["p0@example.com"] == "draft", "new words need a new approval"
    client.post(f"{url}/edit", data={**form, "text": "Your SQL joins need practice."})
    page = client.get(f"{url}?edited=1").text
    assert "<mark>overqualified</mark>" not in page
    empty = client.post(f"{url}/edit", data={**form, "text": "  "})
    assert empty.status_code == 400 and "cannot be empty" in empty.text


def test_a_downgrade_yields_a_plain_letter_in_the_plan(
    client: TestClient, runtime: Runtime
) -> None:
    recruiter = api_token(runtime, "rita")
    plan_url = f"/api/jobs/{job_id(runtime, ANALYST)}/plan"
    before = client.get(plan_url, headers=recruiter).json()
    assert before["skipped_counts"]["feedback waiting for approval"] == 3
    token = signed_in_token(client)
    url = f"/feedback/{job_id(runtime, ANALYST)}/downgrade"
    assert client.post(url, data={"csrf": token, "email": "p1@example.com"}).status_code == 303
    after = client.get(plan_url, headers=recruiter).json()
    assert (after["ready"], after["with_feedback"]) == (before["ready"] + 1, 0)
    assert after["skipped_counts"]["feedback waiting for approval"] == 2
    assert states(runtime)["p1@example.com"] == "plain"


def test_a_hiring_manager_cannot_see_or_act_on_another_managers_job(
    client: TestClient, runtime: Runtime
) -> None:
    token = signed_in_token(client, "henry")
    theirs, nowhere = job_id(runtime, BACKEND), 999
    for job in (theirs, nowhere):
        assert client.get(f"/feedback/{job}").status_code == 404
        form = {"csrf": token, "email": "b0@example.com", "text": "Changed."}
        for action in ("approve", "edit", "downgrade"):
            assert client.post(f"/feedback/{job}/{action}", data=form).status_code == 404
    same = client.get(f"/feedback/{theirs}"), client.get(f"/feedback/{nowhere}")
    assert same[0].text == same[1].text, "another's job looks exactly like no job"
    headers = api_token(runtime, "henry")
    assert client.get(f"/api/jobs/{theirs}/feedback", headers=headers).status_code == 404
    api = f"/api/jobs/{theirs}/feedback"
    assert client.post(f"{api}/approve", json={}, headers=headers).status_code == 404
    body = {"email": "b0@example.com"}
    assert client.post(f"{api}/downgrade", json=body, headers=headers).status_code == 404
    assert states(runtime, BACKEND) == {"b0@example.com": "draft"}
    hilda = api_token(runtime, "hilda")
    assert client.post(f"{api}/approve", json={}, headers=hilda).json()["approved"] == 1


def test_interviewers_get_403_on_the_feedback_pages(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, "ivan")
    assert client.get("/feedback").status_code == 403
    assert client.get(f"/feedback/{job_id(runtime, ANALYST)}").status_code == 403
    headers = api_token(runtime, "ivan")
    api = f"/api/jobs/{job_id(runtime, ANALYST)}/feedback"
    assert client.get(api, headers=headers).status_code == 403
    assert client.post(f"{api}/approve", json={}, headers=headers).status_code == 403


def test_a_post_without_the_csrf_token_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "henry")
    url = f"/feedback/{job_id(runtime, ANALYST)}"
    form = {"email": "p0@example.com", "text": "Changed."}
    for action in ("approve", "edit", "downgrade"):
        assert client.post(f"{url}/{action}", data=form).status_code == 403
        assert client.post(f"{url}/{action}", data={**form, "csrf": "forged"}).status_code == 403
    assert set(states(runtime).values()) == {"draft"}


def test_a_script_reviews_approves_edits_and_downgrades_with_a_bearer_token(
    client: TestClient, runtime: Runtime
) -> None:
    headers = api_token(runtime, "henry")
    api = f"/api/jobs/{job_id(runtime, ANALYST)}/feedback"
    items = {i["email"]: i for i in client.get(api, headers=headers).json()["items"]}
    [finding] = items["p1@example.com"]["findings"]
    assert (finding["rule"], finding["phrase"]) == ("sex-and-family", "planning a family")
    assert items["p0@example.com"]["findings"] == []

    approved = client.post(f"{api}/approve", json={}, headers=headers).json()
    assert approved == {
        "approved": 2,
        "need_override": [{"email": "p1@example.com", "rules": ["sex-and-family"]}],
        "held": [],
    }
    short = {"emails": ["p1@example.com"], "override": "fine"}
    assert client.post(f"{api}/approve", json=short, headers=headers).status_code == 400
    unknown = {"emails": ["nobody@example.com"]}
    assert client.post(f"{api}/approve", json=unknown, headers=headers).status_code == 404

    edit = {"email": "p1@example.com", "text": "We felt you were overqualified."}
    edited = client.post(f"{api}/edit", json=edit, headers=headers).json()
    assert edited["state"] == "draft"
    assert [(f["rule"], f["phrase"]) for f in edited["findings"]] == [("age", "overqualified")]
    assert client.post(f"{api}/edit", json={**edit, "text": ""}, headers=headers).status_code == 400

    downgrade = {"email": "p1@example.com"}
    assert client.post(f"{api}/downgrade", json=downgrade, headers=headers).json() == {
        "state": "plain"
    }
    assert states(runtime)["p1@example.com"] == "plain"


def test_api_writes_need_a_bearer_token_and_reads_take_the_session(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "henry")
    api = f"/api/jobs/{job_id(runtime, ANALYST)}/feedback"
    assert client.get(api).status_code == 200
    assert client.post(f"{api}/approve", json={}).status_code == 401
    assert set(states(runtime).values()) == {"draft"}
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "Approve drafts" in paths["/api/jobs/{job_id}/feedback/approve"]["post"]["description"]


def test_no_name_address_or_feedback_text_is_logged(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = signed_in_token(client)
    url = f"/feedback/{job_id(runtime, ANALYST)}"
    client.get(url)
    client.post(f"{url}/approve", data={"csrf": token})
    client.post(f"{url}/edit", data={"csrf": token, "email": "p1@example.com", "text": FAMILY})
    client.post(f"{url}/downgrade", data={"csrf": token, "email": "p2@example.com"})
    for secret in ("p1@example.com", "Pat Doe", "planning a family", "SQL exercise"):
        assert secret not in caplog.text


def test_marked_lines_split_a_finding_across_lines_and_give_an_overlap_to_the_first() -> None:
    text = "Young and\nenergetic team."
    findings = [
        WordingFinding("age", (0, 15), "why", "try"),  # "Young and\nenerg"
        WordingFinding("age", (10, 19), "why", "try"),  # "energetic", overlapping the first
    ]
    assert marked_lines(text, findings) == [
        [Piece("Young and", 1)],
        [Piece("energ", 1, closes=True), Piece("etic", 2, closes=True), Piece(" team.")],
    ]
    assert marked_lines("a\n\nb", []) == [[Piece("a")], [], [Piece("b")]]


def test_rejecting_in_the_web_says_why_scorecards_gave_no_feedback(
    client: TestClient, runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    # A new job whose team made its one criterion a requirement and had interviewers rate it.
    now = clock.now()
    rows = [
        applicant(f"w{i}@example.com", "Wim", f"Lager{i}", job="Warehouse", **INTERVIEWED)
        for i in range(2)
    ]
    import_file(runtime.store, write_csv(tmp_path / "w.csv", rows), actor="t", now=now)
    licence = RubricRow(0, "Warehouse", "Forklift licence", 3, CompetencyKind.REQUIREMENT)
    runtime.feedback_store.save_rubric([licence], "t", now)
    cards = [
        ScorecardRow(2, f"w{i}@example.com", "Warehouse", "Kim", "Forklift licence", 1, "", "")
        for i in range(2)
    ]
    runtime.feedback_store.save_scorecards(cards, "t", now)
    sign_in(client)
    warehouse = job_id(runtime, "Warehouse")
    token = csrf_of(client.get(f"/jobs/{warehouse}").text)

    done = client.post(
        f"/jobs/{warehouse}/reject", data={"reason": "skills-mismatch", "csrf": token}
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/jobs/{warehouse}/plan?requirements_only=2"
    plan = client.get(done.headers["location"]).text
    assert "2 interviewed candidate(s) rated only on requirements get no feedback" in plan
    assert "make what was rated a competency on the job&#39;s feedback wording page" in plan
    assert "Lager" not in done.headers["location"], "counts travel in the URL, never people"
