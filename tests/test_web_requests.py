"""Feedback requests over HTTP: recorded by a recruiter, listed with due dates, answered by the
job's hiring manager as a letter the real worker delivers; another manager's requests stay
invisible, by URL and by API."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.model import OutboxState
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.decisions import Selection, reject
from fairwell.services.planning import queue_plan
from fairwell.storage.tables import feedback_requests
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people
from tests.test_web import KEY, api_token, csrf_of, sign_in
from tests.test_web_feedback import ANALYST, BACKEND, add_people

ANSWER = "Your SQL exercise missed the window-function part."


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> Iterator[Runtime]:
    """Data Analyst: p0, p1 rejected and written to; Backend Engineer: b0 likewise."""
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    rows = [*people(2), applicant("b0@example.com", "Bo", "Zed", job=BACKEND)]
    now = clock.now()
    import_and_reject_all(wired.store, tmp_path / "a.csv", rows, now)
    reject(
        wired.store,
        BACKEND,
        Selection(all_except_hired=True),
        "role-closed",
        note=None,
        actor="t",
        now=now,
    )
    for title in (ANALYST, BACKEND):
        batch = queue_plan(wired.store, wired.composer, title, actor="t", now=now)
        run_batch(make_deliverer(wired), batch.batch_id)
    add_people(wired, now)
    yield wired
    wired.close()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def job_id(runtime: Runtime, title: str) -> int:
    return runtime.store.job_by_title(title).id


def record(client: TestClient, runtime: Runtime, email: str, title: str = ANALYST) -> int:
    """Record a request through the API as the recruiter; return its id."""
    body = {"job_id": job_id(runtime, title), "email": email, "question": "Why not me?"}
    response = client.post("/api/requests", json=body, headers=api_token(runtime, "rita"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def token_of(client: TestClient, username: str) -> str:
    sign_in(client, username)
    return csrf_of(client.get("/requests").text)


def deliver_queued(runtime: Runtime) -> None:
    """What the delivery worker does: send every queued letter."""
    for batch_id in {
        row.batch_id for row in runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)
    }:
        run_batch(make_deliverer(runtime), batch_id)


def test_a_recruiter_records_a_request_that_arrived_by_email(
    client: TestClient, runtime: Runtime
) -> None:
    token = token_of(client, "rita")
    form = {
        "csrf": token,
        "job_id": str(job_id(runtime, ANALYST)),
        "email": "P0@Example.com",
        "question": "Which part of the SQL exercise went wrong?",
    }
    recorded = client.post("/requests", data=form)
    assert recorded.status_code == 303
    page = client.get(recorded.headers["location"]).text
    assert "Which part of the SQL exercise went wrong?" in page
    assert "Open, due 2026-12-03 10:00 UTC" in page, "five working days from Thursday"
    assert "#1 from p0@example.com" in client.get("/requests").text
    unknown = client.post("/requests", data={**form, "email": "nobody@example.com"})
    assert unknown.status_code == 404 and "Not recorded" in unknown.text
    assert "Which part of the SQL exercise" in unknown.text, "the typed question is kept"


def test_requests_are_listed_open_first_with_overdue_ones_marked_in_words(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    first = record(client, runtime, "p0@example.com")
    clock.advance(days=1)
    second = record(client, runtime, "p1@example.com")
    token = token_of(client, "henry")
    client.post(f"/requests/{first}/answer", data={"csrf": token, "text": ANSWER})
    clock.advance(days=8)  # the second was due five working days after Friday: Friday next
    page = client.get("/requests").text
    open_part, answered_part = page.split("<h2>Answered (1)</h2>")
    assert f"#{second} from p1@example.com" in open_part
    assert f"#{first} from p0@example.com" in answered_part
    assert "Overdue" in open_part and "Overdue" not in answered_part
    listed = client.get("/api/requests").json()
    assert [(r["id"], r["state"], r["overdue"]) for r in listed] == [
        (second, "open", True),
        (first, "answered", False),
    ]


def test_the_request_page_shows_the_question_the_decision_and_the_letter_as_sent(
    client: TestClient, runtime: Runtime
) -> None:
    request_id = record(client, runtime, "p0@example.com")
    sign_in(client, "henry")
    page = client.get(f"/requests/{request_id}").text
    assert "Why not me?" in page
    assert "Pat Doe0 (p0@example.com), reads English" in page
    assert "The position was filled by another candidate." in page
    assert "We have decided not to move forward with your application" in page
    assert '<label for="text">' in page and '<label for="override">' in page


def test_an_answer_is_queued_and_the_real_worker_delivers_it_once(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    request_id = record(client, runtime, "p0@example.com")
    token = token_of(client, "henry")
    answered = client.post(f"/requests/{request_id}/answer", data={"csrf": token, "text": ANSWER})
    assert answered.headers["location"] == f"/requests/{request_id}?answered=1"
    assert "The answer is queued" in client.get(answered.headers["location"]).text
    assert runtime.store.outbox_status().counts.get("queued") == 1
    deliver_queued(runtime)
    to_p0 = [m for m in read_sink(sink.directory) if m.rcpt_tos == ["p0@example.com"]]
    assert len(to_p0) == 2, "the rejection, then the answer"
    assert b"window-function part" in to_p0[1].data
    again = client.post(f"/requests/{request_id}/answer", data={"csrf": token, "text": "Again."})
    assert again.status_code == 409
    deliver_queued(runtime)
    assert len([m for m in read_sink(sink.directory) if m.rcpt_tos == ["p0@example.com"]]) == 2


def test_two_answers_at_the_same_moment_make_one_letter_and_the_second_gets_409(
    client: TestClient, runtime: Runtime
) -> None:
    """The race: the second answer read the request while it was still open."""
    request_id = record(client, runtime, "p0@example.com")
    headers = api_token(runtime, "henry")
    api = f"/api/requests/{request_id}/answer"
    assert client.post(api, json={"text": ANSWER}, headers=headers).status_code == 200
    with runtime.engine.begin() as conn:  # as the second request saw it
        conn.execute(
            update(feedback_requests)
            .where(feedback_requests.c.id == request_id)
            .values(state="open", answer=None)
        )
    second = client.post(api, json={"text": "A second answer."}, headers=headers)
    assert second.status_code == 409, second.text
    assert "already answered" in second.json()["detail"]
    token = token_of(client, "henry")
    page = client.post(f"/requests/{request_id}/answer", data={"csrf": token, "text": "Third."})
    assert page.status_code == 409
    assert runtime.store.outbox_status().counts.get("queued") == 1, "one answer letter"


def test_a_flagged_answer_comes_back_marked_and_an_override_sends_it(
    client: TestClient, runtime: Runtime
) -> None:
    request_id = record(client, runtime, "p0@example.com")
    token = token_of(client, "henry")
    flagged = {"csrf": token, "text": "We felt you were overqualified for the role."}
    refused = client.post(f"/requests/{request_id}/answer", data=flagged)
    assert refused.status_code == 400
    assert "<mark>overqualified</mark><sup>[1]</sup>" in refused.text
    assert ">We felt you were overqualified for the role.</textarea>" in refused.text
    override = "Reviewed with legal: it refers to the salary band of the role."
    sent = client.post(f"/requests/{request_id}/answer", data={**flagged, "override": override})
    assert sent.status_code == 303


def test_a_hiring_manager_cannot_see_or_answer_another_managers_requests(
    client: TestClient, runtime: Runtime
) -> None:
    mine = record(client, runtime, "p0@example.com")
    theirs = record(client, runtime, "b0@example.com", BACKEND)
    token = token_of(client, "henry")
    listed = client.get("/requests").text
    assert f"#{mine} from" in listed and "b0@example.com" not in listed
    for request_id in (theirs, 999):
        assert client.get(f"/requests/{request_id}").status_code == 404
        form = {"csrf": token, "text": ANSWER}
        assert client.post(f"/requests/{request_id}/answer", data=form).status_code == 404
    assert client.get(f"/requests/{theirs}").text == client.get("/requests/999").text
    headers = api_token(runtime, "henry")
    assert [r["id"] for r in client.get("/api/requests", headers=headers).json()] == [mine]
    api = f"/api/requests/{theirs}/answer"
    assert client.post(api, json={"text": ANSWER}, headers=headers).status_code == 404
    body = {"job_id": job_id(runtime, ANALYST), "email": "p1@example.com"}
    assert client.post("/api/requests", json=body, headers=headers).status_code == 403
    form = {"csrf": token, "job_id": str(job_id(runtime, ANALYST)), "email": "p1@example.com"}
    assert client.post("/requests", data=form).status_code == 403, "recording is for recruiters"
    assert client.post(api, json={"text": ANSWER}, headers=api_token(runtime, "hilda")).is_success


def test_interviewers_get_403_on_the_request_pages(client: TestClient, runtime: Runtime) -> None:
    request_id = record(client, runtime, "p0@example.com")
    sign_in(client, "ivan")
    assert client.get("/requests").status_code == 403
    assert client.get(f"/requests/{request_id}").status_code == 403
    headers = api_token(runtime, "ivan")
    assert client.get("/api/requests", headers=headers).status_code == 403
    api = f"/api/requests/{request_id}/answer"
    assert client.post(api, json={"text": ANSWER}, headers=headers).status_code == 403


def test_a_post_without_the_csrf_token_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    request_id = record(client, runtime, "p0@example.com")
    sign_in(client, "rita")
    assert client.post(f"/requests/{request_id}/answer", data={"text": ANSWER}).status_code == 403
    form = {"job_id": str(job_id(runtime, ANALYST)), "email": "p1@example.com"}
    assert client.post("/requests", data=form).status_code == 403
    assert [r["state"] for r in client.get("/api/requests").json()] == ["open"]


def test_a_script_records_lists_and_answers_with_a_bearer_token(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    request_id = record(client, runtime, "p1@example.com")
    headers = api_token(runtime, "henry")
    [listed] = client.get("/api/requests", headers=headers).json()
    assert (listed["email"], listed["due_at"]) == ("p1@example.com", "2026-12-03T10:00:00+00:00")
    api = f"/api/requests/{request_id}/answer"
    flagged = client.post(api, json={"text": "You seemed overqualified."}, headers=headers)
    assert flagged.status_code == 400
    assert flagged.json()["detail"]["findings"][0]["phrase"] == "overqualified"
    assert client.post(api, json={"text": ANSWER}).status_code == 401, "no cookie writes"
    answered = client.post(api, json={"text": ANSWER}, headers=headers)
    assert answered.status_code == 200 and answered.json()["findings"] == []
    run_batch(make_deliverer(runtime), answered.json()["batch_id"])
    assert any(b"window-function" in m.data for m in read_sink(sink.directory))
    assert client.post(api, json={"text": ANSWER}, headers=headers).status_code == 409
    recruiter = api_token(runtime, "rita")
    nobody = {"job_id": job_id(runtime, ANALYST), "email": "nobody@example.com"}
    assert client.post("/api/requests", json=nobody, headers=recruiter).status_code == 404
    nojob = {"job_id": 999, "email": "p0@example.com"}
    assert client.post("/api/requests", json=nojob, headers=recruiter).status_code == 404


def test_no_address_question_or_answer_is_logged(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request_id = record(client, runtime, "p0@example.com")
    token = token_of(client, "henry")
    client.get(f"/requests/{request_id}")
    client.post(f"/requests/{request_id}/answer", data={"csrf": token, "text": ANSWER})
    deliver_queued(runtime)
    # The SMTP sink standing in for the relay logs envelopes ("mail.log"); it is not ours.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.")]
    assert ours, "the app and its HTTP client did log"
    assert not re.search(r"p0@example\.com|Why not me|window-function|Pat Doe", "\n".join(ours))
