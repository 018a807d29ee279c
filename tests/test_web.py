"""The web app over HTTP (FastAPI's TestClient): sign-in, sessions, CSRF, roles, pages, API."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.errors import ConfigurationError
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.users import add_user, disable_user
from fairwell.storage.tables import outbox
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people, write_csv

KEY = "web-session-key-" + "x" * 32
PASSWORD = "correct horse battery staple"


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    wired = open_runtime(settings)
    rows = [*people(120), applicant("hana@example.com", "Hana", "Hired", stage="hired")]
    import_and_reject_all(wired.store, tmp_path / "a.csv", rows, clock.now())
    users = wired.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
    add_user(users, "henry", PASSWORD, Role.HIRING_MANAGER, actor="t", now=clock.now())
    yield wired
    wired.close()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str = "rita", password: str = PASSWORD) -> int:
    form = client.get("/signin")
    response = client.post(
        "/signin", data={"username": username, "password": password, "csrf": csrf_of(form.text)}
    )
    return response.status_code


def test_a_recruiter_signs_in_and_sees_the_jobs(client: TestClient) -> None:
    assert client.get("/jobs").headers["location"] == "/signin?next=%2Fjobs"
    assert sign_in(client) == 303
    page = client.get("/jobs")
    assert page.status_code == 200 and "Data Analyst" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_pipeline_is_paginated_filtered_and_searchable(client: TestClient) -> None:
    sign_in(client)
    first = client.get("/jobs/1")
    assert "121 applicants, page 1 of 3" in first.text
    assert client.get("/jobs/1?stage=hired").text.count('<td class="name">') == 1
    assert "Pat Doe77" in client.get("/jobs/1?q=doe77").text
    assert client.get("/jobs/99").status_code == 404


def test_a_wrong_password_is_refused_and_sign_in_is_rate_limited(client: TestClient) -> None:
    assert sign_in(client, password="wrong password!!") == 401
    for _ in range(4):
        sign_in(client, password="wrong password!!")
    assert sign_in(client) == 429, "even the right password waits after five failures"


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/signin")
    assert (
        client.post("/signin", data={"username": "rita", "password": PASSWORD}).status_code == 403
    )
    sign_in(client)
    assert client.post("/signout", data={}).status_code == 403
    assert client.get("/jobs").status_code == 200, "still signed in"


def test_signing_out_ends_the_session(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs").text)
    assert client.post("/signout", data={"csrf": token}).status_code == 303
    assert client.get("/jobs").status_code == 303


def test_a_disabled_user_is_signed_out_at_the_next_request(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    sign_in(client)
    disable_user(runtime.users, "rita", actor="admin", now=clock.now())
    assert client.get("/jobs").headers["location"].startswith("/signin")
    assert client.get("/api/jobs").status_code == 401


def test_a_hiring_manager_sees_only_the_jobs_assigned_to_them(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    sign_in(client, "henry")
    assert "Data Analyst" not in client.get("/jobs").text
    assert client.get("/jobs/1").status_code == 404, "another's job looks like no job at all"
    assert client.get("/api/jobs").json() == []
    henry = runtime.users.by_username("henry")
    assert henry is not None
    runtime.job_managers.assign(1, henry[0].id, "admin", clock.now())
    assert "Data Analyst" in client.get("/jobs").text
    assert client.get("/jobs/1").status_code == 200
    assert [job["id"] for job in client.get("/api/jobs").json()] == [1]


def test_a_hiring_manager_cannot_reject_send_or_open_the_outbox(client: TestClient) -> None:
    sign_in(client, "henry")
    token = csrf_of(client.get("/jobs").text)
    assert (
        client.post("/jobs/1/reject", data={"reason": "role-closed", "csrf": token}).status_code
        == 403
    )
    assert client.get("/jobs/1/plan").status_code == 403
    assert client.get("/outbox").status_code == 403


def test_the_api_lists_jobs_and_documents_itself(client: TestClient) -> None:
    assert client.get("/api/jobs").status_code == 401
    sign_in(client)
    assert client.get("/api/jobs").json()[0]["title"] == "Data Analyst"
    assert "/api/jobs" in client.get("/api/openapi.json").json()["paths"]


def test_passwords_are_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client)
    sign_in(client, password="another secret guess")
    assert PASSWORD not in caplog.text and "another secret guess" not in caplog.text


def test_the_app_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'k.db'}", 2525)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(settings)


def test_bulk_reject_plan_confirm_send_and_progress(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    response = client.post("/jobs/1/reject", data={"reason": "role-closed", "csrf": token})
    assert response.headers["location"] == "/jobs/1/plan"
    plan = client.get("/jobs/1/plan").text
    assert "Send 120 letters" in plan and "hired" in plan and "Type 120 to confirm" in plan
    preview = client.get("/jobs/1/preview", params={"email": "p3@example.com"})
    assert "<dt>To</dt><dd>Pat Doe3 &lt;p3@example.com&gt;</dd>" in preview.text
    source = client.get("/jobs/1/preview/source", params={"email": "p3@example.com"})
    assert b"\r\nTo: Pat Doe3 <p3@example.com>\r\n" in source.content

    refused = client.post("/jobs/1/send", data={"expected": "120", "typed": "12", "csrf": token})
    assert refused.status_code == 400
    sent = client.post("/jobs/1/send", data={"expected": "120", "typed": "120", "csrf": token})
    batch_url = sent.headers["location"]
    assert batch_url == "/batches/1"
    assert "0 of 120" in client.get(batch_url).text

    assert client.post("/outbox/pause", data={"batch_id": "1", "csrf": token}).status_code == 303
    assert "The whole outbox is paused" in client.get(batch_url).text
    client.post("/outbox/resume", data={"batch_id": "1", "csrf": token})
    run_batch(make_deliverer(runtime), 1)
    assert "120 of 120" in client.get(batch_url).text
    assert len(read_sink(sink.directory)) == 120


def test_sending_needs_the_csrf_token_and_the_plan_the_recruiter_saw(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    assert client.post("/jobs/1/reject", data={"reason": "role-closed"}).status_code == 403
    client.post("/jobs/1/reject", data={"reason": "role-closed", "stage": "screen", "csrf": token})
    assert client.post("/jobs/1/send", data={"expected": "5", "csrf": token}).status_code == 409


def test_the_outbox_page_lists_letters_by_state_opens_one_and_requeues_it(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    client.post("/jobs/1/reject", data={"reason": "role-closed", "stage": "screen", "csrf": token})
    client.post("/jobs/1/send", data={"expected": "120", "typed": "120", "csrf": token})
    with runtime.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == 7).values(state="quarantined"))
    page = client.get("/outbox?state=quarantined").text
    assert "#7" in page and "Requeue #7" in page
    assert "Pat Doe6 &lt;p6@example.com&gt;" in client.get("/outbox/7").text
    assert b"To: Pat Doe6 <p6@example.com>" in client.get("/outbox/7/source").content
    assert client.get("/outbox/999").status_code == 404
    client.post("/outbox/requeue", data={"outbox_id": "7", "csrf": token})
    assert runtime.store.outbox_status().counts == {"queued": 120}


def api_token(runtime: Runtime, username: str, *, read_only: bool = False) -> dict[str, str]:
    found = runtime.users.by_username(username)
    assert found is not None
    token = runtime.sessions.create_token(
        found[0].id, "tests", read_only, actor="t", now=runtime.clock.now()
    )
    return {"Authorization": f"Bearer {token}"}


def test_a_script_rejects_reads_the_plan_and_sends_with_a_bearer_token(
    client: TestClient, runtime: Runtime
) -> None:
    headers = api_token(runtime, "rita")
    rejected = client.post("/api/jobs/1/reject", json={"reason": "role-closed"}, headers=headers)
    # The fixture already rejected everyone: nobody twice, and each one says why.
    assert rejected.json()["rejected"] == 0
    assert {s["reason"] for s in rejected.json()["skipped"]} == {
        "already decided, letter pending",
        "hired",
    }
    plan = client.get("/api/jobs/1/plan", headers=headers).json()
    assert plan["ready"] == 120 and plan["skipped_counts"] == {"hired": 1}
    assert (
        client.post("/api/jobs/1/send", json={"expected": 99}, headers=headers).status_code == 409
    )
    sent = client.post("/api/jobs/1/send", json={"expected": 120}, headers=headers).json()
    counts = client.get(f"/api/batches/{sent['batch_id']}", headers=headers).json()["counts"]
    assert counts == {"queued": 120}


def test_api_writes_need_a_bearer_token_not_a_cookie(client: TestClient, runtime: Runtime) -> None:
    sign_in(client)
    assert client.get("/api/jobs").status_code == 200, "reads may use the session cookie"
    assert client.post("/api/jobs/1/reject", json={"reason": "role-closed"}).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (
        client.post("/api/jobs/1/reject", json={"reason": "role-closed"}, headers=bad).status_code
        == 401
    )


def test_a_disabled_users_token_stops_working_and_a_manager_cannot_write(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    henry = api_token(runtime, "henry")
    assert (
        client.post("/api/jobs/1/reject", json={"reason": "role-closed"}, headers=henry).status_code
        == 403
    )
    rita = api_token(runtime, "rita")
    disable_user(runtime.users, "rita", actor="admin", now=clock.now())
    assert client.get("/api/jobs", headers=rita).status_code == 401


def test_ticked_people_or_everyone_matching_the_filter_are_rejected(
    client: TestClient, runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    fresh = runtime.store.job_by_title("Data Analyst")
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    # The fixture rejected everyone already; a second job shows the choices from scratch.
    rows = [applicant(f"m{i}@example.com", "Mia", f"Lane{i}", job="Tester") for i in range(60)]
    rows += [applicant("hold@example.com", "Müller", "Ärger", job="Tester")]
    import_file(runtime.store, write_csv(tmp_path / "t.csv", rows), actor="t", now=clock.now())
    tester = runtime.store.job_by_title("Tester")
    assert tester.id != fresh.id
    page = client.get(f"/jobs/{tester.id}?q=MÜLLER").text
    assert "1 applicant match" in page and "everyone matching this filter (1" in page

    def decided() -> int:
        return sum(v.decision is not None for v in runtime.store.applicants(tester.id))

    url = f"/jobs/{tester.id}/reject"
    nothing = client.post(url, data={"reason": "role-closed", "who": "ticked", "csrf": token})
    assert nothing.status_code == 400 and decided() == 0
    ticked = {"email": ["m1@example.com", "m2@example.com"], "who": "ticked"}
    client.post(url, data={"reason": "role-closed", "csrf": token, **ticked})
    assert decided() == 2
    matching = {"who": "matching", "q": "lane5"}  # Lane5 and Lane50..59: 11 people
    client.post(url, data={"reason": "role-closed", "csrf": token, **matching})
    assert decided() == 13
    assert "everyone matching this filter" not in client.get(f"/jobs/{tester.id}").text
