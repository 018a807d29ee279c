"""Stopping a batch, the canary, the demo's mail viewer and the outbox API, over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.users import add_user
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all
from tests.test_web import api_token, client, csrf_of, runtime, sign_in

__all__ = ["client", "runtime"]


def queue_everyone(client: TestClient) -> str:
    """Sign in as the recruiter and queue the fixture's 120 letters; return the CSRF token."""
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    sent = client.post("/jobs/1/send", data={"expected": "120", "typed": "120", "csrf": token})
    assert sent.headers["location"] == "/batches/1"
    return token


def test_stopping_a_batch_holds_what_has_not_gone_and_requeue_undoes_it(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    token = queue_everyone(client)
    assert client.post("/batches/1/stop", data={}).status_code == 403, "CSRF first"
    assert client.post("/batches/1/stop", data={"csrf": token}).status_code == 303
    page = client.get("/batches/1").text
    assert "Stopped: 120 letters" in page and "120 of 120" in page
    run_batch(make_deliverer(runtime), 1)
    assert read_sink(sink.directory) == [], "a stopped letter never goes"
    audit = runtime.engine
    with audit.connect() as conn:
        actions = [row.action for row in conn.exec_driver_sql("SELECT action FROM audit_log")]
    assert "batch.stopped" in actions

    client.post("/batches/1/requeue", data={"csrf": token})
    assert runtime.store.outbox_status(1).counts == {"queued": 120}
    run_batch(make_deliverer(runtime), 1)
    assert len(read_sink(sink.directory)) == 120
    assert client.post("/batches/9/stop", data={"csrf": token}).status_code == 404


def test_resuming_the_outbox_leaves_a_batch_paused_by_hand_paused(client: TestClient) -> None:
    token = queue_everyone(client)
    client.post("/batches/1/pause", data={"csrf": token})
    assert "Resume this batch" in client.get("/batches/1").text, "paused by hand"
    client.post("/outbox/pause", data={"csrf": token, "batch_id": "1"})
    client.post("/outbox/resume", data={"csrf": token, "batch_id": "1"})
    assert "Resume this batch" in client.get("/batches/1").text


def test_the_canary_goes_to_the_given_address_with_no_candidates_data(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1/plan").text)
    response = client.post(
        "/jobs/1/canary", data={"address": "recruiter@example.org", "csrf": token}
    )
    assert response.headers["location"] == "/jobs/1/plan?canary=sent"
    assert "The sample letter was sent" in client.get(response.headers["location"]).text
    (received,) = read_sink(sink.directory)
    assert received.rcpt_tos == ["recruiter@example.org"]
    text = received.data.decode()
    assert "Alex Sample" in text
    assert not re.search(r"p\d+@example\.com", text) and "Pat Doe" not in text, "no candidate"

    bad = client.post("/jobs/1/canary", data={"address": "not an address", "csrf": token})
    assert bad.status_code == 400 and "No sample letter was sent" in bad.text


def test_the_mail_viewer_shows_what_the_sink_received_only_in_the_demo(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    queue_everyone(client)
    run_batch(make_deliverer(runtime), 1)
    assert client.get("/mail").status_code == 404, "no sink folder, no mail viewer"

    demo = TestClient(
        create_app(runtime.settings, runtime, mail_viewer=sink.directory), follow_redirects=False
    )
    assert demo.get("/mail").headers["location"].startswith("/signin")
    sign_in(demo)
    mailbox = demo.get("/mail").text
    assert "120 messages" in mailbox and 'href="/mail"' in mailbox
    number = read_sink(sink.directory)[0].number
    shown = demo.get(f"/mail/{number}").text
    first = read_sink(sink.directory)[0]
    assert first.rcpt_tos[0] in shown and "Dear Pat" in shown, "headers and the text part"
    assert demo.get(f"/mail/{number}/source").content == first.data
    assert demo.get("/mail/99999").status_code == 404
    sign_in(demo, "henry")
    assert demo.get("/mail").status_code == 403, "only recruiters and admins read the mail"


def test_the_outbox_api_lists_stops_requeues_pauses_and_shows_a_letter(
    client: TestClient, runtime: Runtime
) -> None:
    queue_everyone(client)
    headers = api_token(runtime, "rita")
    listed = client.get("/api/outbox", params={"state": "queued", "limit": 5}, headers=headers)
    assert listed.json()["counts"] == {"queued": 120}
    assert [letter["id"] for letter in listed.json()["letters"]] == [1, 2, 3, 4, 5]
    assert client.get("/api/outbox", params={"state": "lost"}, headers=headers).status_code == 400
    assert "To: " in client.get("/api/outbox/1", headers=headers).text

    assert client.post("/api/batches/1/stop").status_code == 401, "writes need a bearer token"
    assert client.post("/api/batches/1/stop", headers=headers).json() == {
        "batch_id": 1,
        "held": 120,
    }
    assert client.get("/api/outbox", headers=headers).json()["stopped"] == 120
    requeued = client.post("/api/outbox/requeue", json={"ids": [1, 2]}, headers=headers)
    assert requeued.json() == {"requeued": 2}
    assert client.post("/api/outbox/pause", headers=headers).json() == {"paused": True}
    assert client.get("/api/outbox", headers=headers).json()["paused"] is True
    assert client.post("/api/outbox/resume", headers=headers).json() == {"paused": False}
    henry = api_token(runtime, "henry")
    assert client.post("/api/outbox/pause", headers=henry).status_code == 403


FRIDAY_EVENING = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 18:00 in London


@pytest.fixture
def friday(tmp_path: Path, sink: MailSink) -> Iterator[tuple[Runtime, TestClient]]:
    """Send windows on, a frozen Friday evening, four Londoners rejected, rita signed in."""
    settings = settings_for(
        f"sqlite:///{tmp_path / 'w.db'}", sink.port, secret_key="k" * 40, send_windows="on"
    )
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = FixedClock(FRIDAY_EVENING)
    rows = [
        applicant(f"p{i}@example.com", "Pat", f"Doe{i}", country="GB", timezone="Europe/London")
        for i in range(4)
    ]
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, runtime.clock.now())
    users = runtime.users
    add_user(
        users,
        "rita",
        "correct horse battery staple",
        Role.RECRUITER,
        actor="t",
        now=runtime.clock.now(),
    )
    client = TestClient(create_app(settings, runtime), follow_redirects=False)
    sign_in(client, password="correct horse battery staple")
    yield runtime, client
    runtime.close()


def test_the_batch_page_shows_letters_waiting_for_their_window(
    friday: tuple[Runtime, TestClient], sink: MailSink
) -> None:
    runtime, client = friday
    plan = client.get("/jobs/1/plan").text
    assert "Send every letter now" in plan
    client.post("/jobs/1/send", data={"expected": "4", "csrf": csrf_of(plan)})
    page = client.get("/batches/1").text
    assert "4 letters wait for the candidate's send window" in page
    assert "Mon 30 Nov 2026 09:00" in page and 'http-equiv="refresh"' not in page
    run_batch(make_deliverer(runtime), 1)
    assert read_sink(sink.directory) == [], "nothing goes on a Friday evening"


def test_send_now_from_the_plan_page_skips_the_windows_and_is_audited(
    friday: tuple[Runtime, TestClient], sink: MailSink
) -> None:
    runtime, client = friday
    token = csrf_of(client.get("/jobs/1/plan").text)
    client.post("/jobs/1/send", data={"expected": "4", "now": "true", "csrf": token})
    run_batch(make_deliverer(runtime), 1)
    assert len(read_sink(sink.directory)) == 4
    with runtime.engine.connect() as conn:
        (detail,) = conn.exec_driver_sql(
            "SELECT detail FROM audit_log WHERE action = 'batch.queued'"
        ).scalars()
    assert '"now"' in detail


def test_ticking_send_now_on_a_plan_made_for_the_windows_shows_the_plan_made_again_first(
    friday: tuple[Runtime, TestClient], sink: MailSink
) -> None:
    """The letters' dates change when they go now: the recruiter sees that plan, then sends."""
    runtime, client = friday
    page = client.get("/jobs/1/plan").text
    windows_plan = re.search(r'name="plan_id" value="(\d+)"', page)
    assert windows_plan
    form = {"expected": "4", "now": "true", "plan_id": windows_plan.group(1)}
    again = client.post("/jobs/1/send", data={**form, "csrf": csrf_of(page)})
    assert (
        again.status_code == 200
        and "The plan was made again to send every letter now" in again.text
    )
    now_plan = re.search(r'name="plan_id" value="(\d+)"', again.text)
    assert now_plan and now_plan.group(1) != windows_plan.group(1)
    assert '<input type="hidden" name="now" value="true">' in again.text
    assert runtime.store.outbox_status().counts == {}, "nothing was sent yet"
    form = {"expected": "4", "now": "true", "plan_id": now_plan.group(1)}
    sent = client.post("/jobs/1/send", data={**form, "csrf": csrf_of(again.text)})
    assert sent.status_code == 303
    run_batch(make_deliverer(runtime), 1)
    assert len(read_sink(sink.directory)) == 4
