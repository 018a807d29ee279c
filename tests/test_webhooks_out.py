"""Outgoing webhooks: signed events to a real receiver on 127.0.0.1, retried, logged.

The events are queued by the database in the transaction that sends a letter or records a
feedback request, so a crash loses none; each delivery carries the same body on every attempt,
signed with a timestamp; payloads carry ids, never names or addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.inbox import MaildirInbox
from fairwell.delivery.sink import MailSink
from fairwell.domain.model import OutboxState
from fairwell.errors import InvalidInput
from fairwell.ports.webhooks import DeliveryState
from fairwell.runtime import (
    Runtime,
    init_database,
    make_deliverer,
    open_runtime,
    wording_check,
)
from fairwell.services import inbox as inbox_service
from fairwell.services import requests as feedback_requests
from fairwell.services.planning import queue_plan
from fairwell.services.webhooks_out import DeliveryReport, deliver_due, subscribe
from fairwell.storage.webhooks_store import record_event
from fairwell.worker import tasks
from fairwell.worker.celery_app import WEBHOOKS, beat_schedule
from fairwell.worker.embedded import run_batch
from fairwell.worker.tasks import WorkerContext
from tests.conftest import FixedClock, settings_for
from tests.fake_ats import Receiver, serving
from tests.helpers import import_and_reject_all, people
from tests.inbound_mail import delivery_report, drop
from tests.test_inbox import letter_id

JOB = "Data Analyst"
SECRET = "webhook-signing-secret-0123456789abcdef"
PERSONAL = (b"@example.com", b"Pat", b"Doe")


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as running:
        yield running  # type: ignore[misc]


def subscribed(runtime: Runtime, url: str, *events: str) -> int:
    return subscribe(
        runtime.webhook_store,
        url,
        SECRET,
        list(events),
        actor="t",
        now=runtime.clock.now(),
        allow_http=True,
    )


def send_letters(runtime: Runtime, tmp_path: Path, count: int = 3) -> None:
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), runtime.clock.now())
    batch = queue_plan(runtime.store, runtime.composer, JOB, actor="t", now=runtime.clock.now())
    run_batch(make_deliverer(runtime), batch.batch_id)


def deliver(runtime: Runtime, owner: str = "w1") -> DeliveryReport:
    poster = runtime.webhook_poster()
    try:
        return deliver_due(runtime.webhook_store, poster, runtime.clock, owner)
    finally:
        poster.close()


def verified(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: recompute the signature over the timestamp and the body."""
    fields = dict(part.split("=", 1) for part in headers["Fairwell-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_each_sent_letter_is_posted_once_signed_and_without_personal_data(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed(runtime, f"{receiver.origin}/hook", "letter.sent")
    send_letters(runtime, tmp_path)
    assert deliver(runtime).delivered == 3
    assert deliver(runtime).delivered == 0, "never twice"
    assert len(receiver.posts) == 3
    events = []
    for headers, body in receiver.posts:
        assert verified(headers, body)
        assert headers["Fairwell-Event"] == "letter.sent"
        assert not [word for word in PERSONAL if word in body]
        events.append(json.loads(body))
    letter = events[0]
    assert (
        letter["type"] == "letter.sent"
        and letter["id"] == f"letter.sent:{letter['data']['letter']['id']}"
    )
    assert letter["data"]["letter"]["kind"] == "rejection"
    assert letter["data"]["job"]["title"] == JOB
    assert letter["data"]["application"]["ref"].startswith("FW-")
    assert letter["occurred_at"].endswith("Z")


def test_a_subscriber_gets_only_the_events_it_chose(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed(runtime, f"{receiver.origin}/hook", "feedback_request.created")
    send_letters(runtime, tmp_path)
    assert deliver(runtime).delivered == 0 and receiver.posts == []


def test_feedback_requests_created_and_answered_are_posted(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    send_letters(runtime, tmp_path, 1)
    subscribed(
        runtime, f"{receiver.origin}/hook", "feedback_request.created", "feedback_request.answered"
    )
    request = feedback_requests.receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title(JOB).id,
        "p0@example.com",
        "Why?",
        business_days=5,
        actor="t",
        now=runtime.clock.now(),
    )
    feedback_requests.answer(
        runtime.store,
        runtime.request_store,
        runtime.composer,
        wording_check(runtime.settings),
        request.id,
        "Your SQL exercise was strong; the role needed more Python.",
        actor="hm",
        now=runtime.clock.now(),
    )
    assert deliver(runtime).delivered == 2
    types = [json.loads(body)["type"] for _, body in receiver.posts]
    assert sorted(types) == ["feedback_request.answered", "feedback_request.created"]
    body = receiver.posts[0][1]
    assert b"Why?" not in body and b"SQL" not in body, "no question or answer text"
    assert json.loads(body)["data"]["feedback_request"]["id"] == request.id


def test_a_receiver_that_fails_is_retried_with_backoff_and_the_same_body(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    with serving(Receiver(lambda n: 500 if n <= 2 else 204)) as flaky:
        subscribed(runtime, f"{flaky.origin}/hook", "letter.sent")
        send_letters(runtime, tmp_path, 1)
        assert deliver(runtime).retried == 1
        [row] = runtime.webhook_store.deliveries(10)
        assert (row.state, row.attempts, row.last_status) == (DeliveryState.RETRY, 1, 500)
        assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
        assert deliver(runtime).retried == 0, "not before its time"
        clock.advance(minutes=1)
        deliver(runtime)
        clock.advance(minutes=5)
        assert deliver(runtime).delivered == 1
        bodies = {body for _, body in flaky.posts}  # type: ignore[attr-defined]
        assert len(flaky.posts) == 3 and len(bodies) == 1  # type: ignore[attr-defined]
    [row] = runtime.webhook_store.deliveries(10)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.DELIVERED, 3, 204)


def test_a_receiver_that_never_answers_fails_after_three_days_saying_why(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    with serving(Receiver()) as gone:
        url = f"{gone.origin}/hook"
    subscribed(runtime, url, "letter.sent")  # the port is closed now: refused
    send_letters(runtime, tmp_path, 1)
    for _ in range(30):
        deliver(runtime)
        clock.advance(hours=12)
    [row] = runtime.webhook_store.deliveries(10)
    assert row.state is DeliveryState.FAILED
    assert row.last_error is not None and row.last_error.startswith("gave up after")
    assert "ConnectError" in row.last_error


def test_a_claim_held_by_a_dead_deliverer_comes_back(
    runtime: Runtime, receiver: Receiver, tmp_path: Path, clock: FixedClock
) -> None:
    subscribed(runtime, f"{receiver.origin}/hook", "letter.sent")
    send_letters(runtime, tmp_path, 2)
    store = runtime.webhook_store
    assert (
        len(store.claim_deliveries("dead", clock.now(), clock.now() + timedelta(minutes=2), 10))
        == 2
    )
    assert deliver(runtime).delivered == 0
    clock.advance(minutes=3)
    assert deliver(runtime).delivered == 2


def test_letter_bounced_is_queued_by_the_code_that_records_the_bounce(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed(runtime, f"{receiver.origin}/hook", "letter.bounced")
    send_letters(runtime, tmp_path, 1)
    outbox_id = runtime.store.outbox_rows(None, None, 1)[0].id
    with runtime.engine.begin() as conn:
        assert record_event(conn, "letter.bounced", outbox_id, runtime.clock.now()) == 1
        assert record_event(conn, "letter.bounced", outbox_id, runtime.clock.now()) == 0
    assert deliver(runtime).delivered == 1
    assert json.loads(receiver.posts[0][1])["type"] == "letter.bounced"
    with pytest.raises(ValueError, match="unknown event"), runtime.engine.begin() as conn:
        record_event(conn, "letter.opened", outbox_id, runtime.clock.now())


def test_a_bounce_read_from_the_inbox_is_posted_as_letter_bounced(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed(runtime, f"{receiver.origin}/hook", "letter.bounced")
    send_letters(runtime, tmp_path, 2)
    report = delivery_report(
        original_id=letter_id(runtime, "p1@example.com"), address="p1@example.com"
    )
    drop(tmp_path / "Maildir", report)
    policy = inbox_service.InboxPolicy(business_days=5)
    inbox = MaildirInbox(tmp_path / "Maildir")
    assert inbox_service.fetch(inbox, runtime.inbox_store, policy, runtime.clock.now).bounces == 1

    assert deliver(runtime).delivered == 1
    [(_, body)] = [(headers, body) for headers, body in receiver.posts]
    bounced = runtime.store.outbox_rows(OutboxState.BOUNCED, None, 10)
    assert json.loads(body)["type"] == "letter.bounced"
    assert [row.recipient for row in bounced] == ["p1@example.com"]
    assert not any(marker in body for marker in PERSONAL)


def test_a_stopped_subscription_drops_what_it_was_not_sent(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    subscription = subscribed(runtime, f"{receiver.origin}/hook", "letter.sent")
    send_letters(runtime, tmp_path, 2)
    assert runtime.webhook_store.unsubscribe(subscription, "t", runtime.clock.now())
    assert deliver(runtime).delivered == 0 and receiver.posts == []
    assert {row.last_error for row in runtime.webhook_store.deliveries(10)} == {"unsubscribed"}


def test_the_database_keeps_the_event_triggers(runtime: Runtime) -> None:
    """A migration that rebuilds outbox or feedback_requests must create them again."""
    postgres = runtime.engine.dialect.name == "postgresql"
    query = (
        "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'webhook_%'"
        if postgres
        else "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'webhook_%'"
    )
    with runtime.engine.connect() as conn:
        names = sorted(row[0] for row in conn.execute(text(query)))
    assert names == ["webhook_letter_sent", "webhook_request_answered", "webhook_request_created"]


@pytest.mark.parametrize(
    ("url", "events", "secret", "complaint"),
    [
        ("ftp://x.example.org/", ["letter.sent"], SECRET, "is not an http(s) URL"),
        ("http://x.example.org/", ["letter.sent"], SECRET, "webhooks go over https"),
        ("https://u:p@x.example.org/", ["letter.sent"], SECRET, "no credentials in the URL"),
        ("https://x.example.org/", ["letter.opened"], SECRET, "unknown event(s) letter.opened"),
        ("https://x.example.org/", ["letter.sent"], "short", "at least 24 characters"),
    ],
)
def test_a_bad_subscription_is_refused(
    runtime: Runtime, url: str, events: list[str], secret: str, complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        subscribe(runtime.webhook_store, url, secret, events, actor="t", now=runtime.clock.now())


# --- the command line and beat ----------------------------------------------------------------


def test_the_cli_subscribes_without_ever_printing_the_secret(
    sqlite_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    env = {"FAIRWELL_DATABASE_URL": sqlite_url, "COLUMNS": "200"}
    runner = CliRunner()
    runner.invoke(app, ["init"], env=env)
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    added = runner.invoke(
        app,
        [
            "webhooks",
            "add",
            "--url",
            f"{receiver.origin}/hook",
            "--event",
            "letter.sent",
            "--event",
            "letter.bounced",
            "--secret-file",
            str(secret),
            "--allow-http",
        ],
        env=env,
    )
    assert added.exit_code == 0, added.stderr
    assert added.stdout.strip() == "subscription 1: letter.bounced, letter.sent"
    listed = runner.invoke(app, ["webhooks", "list", "--json"], env=env)
    assert json.loads(listed.stdout)[0]["events"] == ["letter.bounced", "letter.sent"]
    for result in (added, listed, runner.invoke(app, ["webhooks", "log", "--json"], env=env)):
        assert SECRET not in result.stdout + result.stderr
    log = runner.invoke(app, ["webhooks", "deliver", "--json"], env=env)
    assert json.loads(log.stdout) == {"delivered": 0, "retried": 0, "failed": 0}


def test_beat_delivers_webhooks_and_the_task_does_it(
    runtime: Runtime, receiver: Receiver, tmp_path: Path
) -> None:
    schedule = beat_schedule(runtime.settings)
    assert schedule["webhooks"]["task"] == WEBHOOKS
    subscribed(runtime, f"{receiver.origin}/hook", "letter.sent")
    send_letters(runtime, tmp_path, 1)
    context = WorkerContext(runtime.settings)
    assert tasks.deliver_webhooks(context) == {"delivered": 1, "retried": 0, "failed": 0}
    context.close()
