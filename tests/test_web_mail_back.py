"""Mail that came back, in the web app: a request's thread (their mail, our answer), bounces
on the outbox and applicant pages, and the suppression list, for admins only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fairwell.delivery.inbox import MaildirInbox
from fairwell.delivery.sink import MailSink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime
from fairwell.services import inbox as inbox_service
from fairwell.services.suppressions import suppressions
from fairwell.services.users import add_user
from fairwell.web.app import create_app
from tests.conftest import FixedClock
from tests.inbound_mail import delivery_report, drop, reply
from tests.test_inbox import letter_id, written_to
from tests.test_web import KEY, PASSWORD, csrf_of, sign_in
from tests.test_web_requests import deliver_queued


@pytest.fixture
def runtime(
    sqlite_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    yield from asked_and_bounced(sqlite_url, sink, clock, tmp_path)


def asked_and_bounced(
    sqlite_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    """p0 asked by mail; p1's letter bounced; admin ada and recruiter rita can sign in."""
    for wired in written_to(sqlite_url, sink, clock, tmp_path):
        wired.settings = wired.settings.model_copy(update={"secret_key": KEY})
        users = wired.users
        add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
        add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
        maildir = tmp_path / "Maildir"
        drop(
            maildir,
            reply(
                sender="p0@example.com",
                in_reply_to=letter_id(wired, "p0@example.com"),
                text="Which skills should I work on?",
            ),
            delivery_report(
                original_id=letter_id(wired, "p1@example.com"), address="p1@example.com"
            ),
        )
        policy = inbox_service.InboxPolicy(business_days=5)
        inbox_service.fetch(MaildirInbox(maildir), wired.inbox_store, policy, wired.clock.now)
        yield wired


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def application_of(runtime: Runtime, email: str) -> int:
    job = runtime.store.job_by_title("Data Analyst")
    return next(
        v.application.id for v in runtime.store.applicants(job.id) if v.person.email == email
    )


def test_the_request_page_shows_their_mail_and_then_our_answer(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "rita")
    [request] = runtime.request_store.all(open_only=True)
    page = client.get(f"/requests/{request.id}").text
    assert "It came by mail" in page
    assert "Which skills should I work on?" in page
    # The letter we sent is on the page as ours; their mail shows without its quote of it.
    assert "wrote:" not in page and "&gt; Thank you for applying" not in page
    form = {"text": "Practise SQL window functions.", "csrf": csrf_of(page)}
    assert client.post(f"/requests/{request.id}/answer", data=form).status_code == 303
    deliver_queued(runtime)
    page = client.get(f"/requests/{request.id}").text
    assert "Our answer" in page and "sent on" in page
    assert "Practise SQL window functions." in page


def test_bounces_are_on_the_outbox_and_the_applicant_page(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "rita")
    outbox = client.get("/outbox").text
    assert "Bounces" in outbox and "p1@example.com" in outbox and "5.1.1" in outbox
    assert "permanent" in outbox
    assert "bounced" in client.get("/outbox?state=bounced").text
    applicant = client.get(f"/applications/{application_of(runtime, 'p1@example.com')}").text
    assert "permanent: address suppressed" in applicant and "5.1.1" in applicant
    other = client.get(f"/applications/{application_of(runtime, 'p2@example.com')}").text
    assert "permanent: address suppressed" not in other


def test_admins_see_and_change_the_suppression_list_and_nobody_else(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client, "rita")
    assert client.get("/suppressions").status_code == 403
    client.cookies.clear()
    sign_in(client, "ada")
    page = client.get("/suppressions")
    assert page.status_code == 200
    assert "p1@example.com" in page.text and "bounced (5.1.1)" in page.text
    token = csrf_of(page.text)
    added = client.post(
        "/suppressions",
        data={"email": "P2@example.com", "reason": "asked not to be written to", "csrf": token},
    )
    assert added.status_code == 303
    removed = client.post("/suppressions/remove", data={"email": "p1@example.com", "csrf": token})
    assert removed.status_code == 303
    store = runtime.suppressions
    assert [(s.email, s.reason) for s in suppressions(store)] == [
        ("p2@example.com", "asked not to be written to")
    ]
    refused = client.post("/suppressions", data={"email": "p3@example.com", "csrf": "forged"})
    assert refused.status_code in (400, 403)
    bad = client.post("/suppressions", data={"email": "not an address", "csrf": token})
    assert bad.status_code == 400 and "Not changed" in bad.text
