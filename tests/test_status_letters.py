"""Status letters from the deadlines list: queued, delivered, held when decided, counted as told."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.deadlines import NoticeState, PromiseState
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import OutboxState
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.deadlines import NoticeRules, deadlines
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import queue_plan
from fairwell.services.retention import load_book
from fairwell.services.status_letters import plan_status_letters, queue_status_letters
from fairwell.services.users import add_user
from fairwell.storage.tables import letter_bodies, outbox
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD, page, serious_violations, serve, shot  # noqa: F401
from tests.browser import sign_in as browser_sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv
from tests.test_web import KEY, csrf_of, sign_in

# The shipped rules: Ontario (CA-ON) has the 45-day notice, alert from day 30.
RULES = NoticeRules(load_book(None), alert_days=30)
# A Wednesday: the 45-day deadline falls on Saturday 17 October 2026, 14:00 UTC.
INTERVIEW = datetime(2026, 9, 2, 14, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return INTERVIEW + timedelta(days=n)


def interviewed(email: str, first: str, last: str, **fields: str) -> dict[str, str]:
    """An interviewed applicant in Ontario, where the notice rule applies."""
    place = {"country": "CA", "region": "CA-ON", "timezone": "America/Toronto", **fields}
    return applicant(
        email, first, last, stage="onsite", last_interview_at=INTERVIEW.isoformat(), **place
    )


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    opened = open_runtime(settings)
    opened.clock = FixedClock(day(31))
    rows = [
        interviewed("wait@example.com", "Wai", "Ting"),
        interviewed("anna@example.com", "Anna", "Berg", locale="de"),
        interviewed("decided@example.com", "Dee", "Sided"),
    ]
    import_file(opened.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=day(0))
    _reject(opened, "decided@example.com")
    try:
        yield opened
    finally:
        opened.close()


def _reject(runtime: Runtime, email: str) -> None:
    reject(
        runtime.store,
        "Data Analyst",
        Selection(emails=(email,)),
        "position-filled",
        note=None,
        actor="t",
        now=runtime.clock.now(),
    )


def _notify(runtime: Runtime) -> list[int]:
    notices = runtime.notices
    plan = plan_status_letters(runtime.store, notices, notices, RULES, runtime.clock.now())
    done = queue_status_letters(
        runtime.store,
        runtime.composer,
        plan,
        expected=len(plan.ready),
        actor="t",
        now=runtime.clock.now(),
    )
    assert done.blocked == []
    return done.batch_ids


def _states(runtime: Runtime, as_of: datetime) -> dict[str, NoticeState]:
    report = deadlines(runtime.notices, RULES, as_of, everyone=True)
    return {item.record.email: item.notice.state for item in report.items if item.notice}


def _keys(runtime: Runtime) -> dict[str, tuple[str, str]]:
    query = select(outbox.c.recipient, outbox.c.letter_key, outbox.c.state)
    with runtime.engine.connect() as conn:
        return {row.recipient: (row.letter_key, row.state) for row in conn.execute(query)}


def test_a_status_letter_goes_to_the_undecided_and_counts_as_told(
    runtime: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    (batch_id,) = _notify(runtime)

    assert run_batch(make_deliverer(runtime), batch_id).sent == 2
    received = {m.rcpt_tos[0]: read_letter(m.data) for m in read_sink(tmp_path / "mail")}
    assert set(received) == {"wait@example.com", "anna@example.com"}
    english = dict(received["wait@example.com"].parts)["text/plain"]
    assert "no decision has been made" in english
    assert "by 2 November 2026" in english  # 30 days from day 31
    german = dict(received["anna@example.com"].parts)["text/plain"]
    assert "bis zum 2. November 2026" in german
    keys = _keys(runtime)
    assert keys["wait@example.com"][0].startswith("status:")
    assert keys["wait@example.com"][0].endswith(":1")
    assert _states(runtime, day(40))["wait@example.com"] is NoticeState.TOLD
    # The decided applicant's rejection letter (not queued here) will tell them: no status.
    assert _states(runtime, day(40))["decided@example.com"] is NoticeState.ALERT


def test_a_status_letter_is_held_when_a_decision_came_meanwhile(
    runtime: Runtime, tmp_path: Path
) -> None:
    (batch_id,) = _notify(runtime)
    _reject(runtime, "wait@example.com")

    stats = run_batch(make_deliverer(runtime), batch_id)

    assert (stats.sent, stats.held) == (1, 1)
    assert [m.rcpt_tos for m in read_sink(tmp_path / "mail")] == [["anna@example.com"]]
    assert _keys(runtime)["wait@example.com"][1] == OutboxState.HELD.value
    assert _states(runtime, day(40))["wait@example.com"] is NoticeState.ALERT


def test_nobody_gets_a_second_status_letter_while_one_waits(runtime: Runtime) -> None:
    _notify(runtime)
    notices = runtime.notices
    again = plan_status_letters(runtime.store, notices, notices, RULES, runtime.clock.now())

    assert again.ready == []
    assert {c.item.record.email: c.skip for c in again.skipped} == {
        "wait@example.com": "a status letter is already waiting to go",
        "anna@example.com": "a status letter is already waiting to go",
        "decided@example.com": "decided: the decision letter will tell them",
    }


def test_a_status_letter_waits_for_the_window_but_never_past_the_deadline(
    database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    settings = settings_for(database_url, sink.port, send_windows="on")
    init_database(settings)
    runtime = open_runtime(settings)
    rows = [interviewed("wait@example.com", "Wai", "Ting", timezone="UTC")]
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=day(0))
    try:
        # Friday 16 October, 07:00: the window opens at 09:00, before the Saturday deadline.
        runtime.clock = FixedClock(datetime(2026, 10, 16, 7, 0, tzinfo=UTC))
        assert _scheduled_at(runtime) == datetime(2026, 10, 16, 9, 0, tzinfo=UTC)
        # Friday 18:00: the next window is Monday, after the deadline; it goes at the deadline.
        runtime.clock = FixedClock(datetime(2026, 10, 16, 18, 0, tzinfo=UTC))
        assert _scheduled_at(runtime) == day(45)
    finally:
        runtime.close()


def _scheduled_at(runtime: Runtime) -> datetime:
    """Queue the status letter and read when the worker may claim it; then take it back."""
    _notify(runtime)
    with runtime.engine.begin() as conn:
        (at,) = conn.execute(select(outbox.c.next_attempt_at)).scalars()
        outbox_id, body_id = conn.execute(select(outbox.c.id, outbox.c.body_id)).one()
        conn.execute(outbox.delete().where(outbox.c.id == outbox_id))
        conn.execute(letter_bodies.delete().where(letter_bodies.c.id == body_id))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def test_the_cli_queues_status_letters_and_the_list_then_shows_them_told(
    tmp_path: Path, sink: MailSink
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_SMTP_SECURITY": "none",
        "FAIRWELL_FROM_ADDRESS": "careers@acme.example.com",
    }
    runner = CliRunner()
    rows = [interviewed("wait@example.com", "Wai", "Ting")]
    for args in (["init"], ["import", str(write_csv(tmp_path / "a.csv", rows))]):
        assert runner.invoke(app, args, env=env).exit_code == 0

    as_of = ["--as-of", "2026-10-05"]
    notified = runner.invoke(app, ["deadlines", "notify", "--yes", *as_of], env=env)
    assert notified.exit_code == 0, notified.stderr
    assert "queued 1 status letters" in notified.stdout
    again = runner.invoke(app, ["deadlines", "notify", "--yes", *as_of], env=env)
    assert "0 status letters to queue, 1 skipped" in again.stdout
    assert runner.invoke(app, ["outbox", "status", "--json"], env=env).exit_code == 0


def _recruiter(runtime: Runtime) -> None:
    add_user(
        runtime.users,
        "rita",
        PASSWORD,
        Role.RECRUITER,
        actor="t",
        now=runtime.clock.now(),
    )


def test_a_recruiter_queues_status_letters_from_the_deadlines_page_with_its_csrf_token(
    runtime: Runtime,
) -> None:
    _recruiter(runtime)
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    sign_in(client, "rita")
    listing = client.get("/deadlines")
    assert listing.status_code == 200 and ">Deadlines</a>" in listing.text
    assert "Send 2 status letters" in listing.text
    assert "decided: the decision letter will tell them" in listing.text

    forged = client.post("/deadlines/notify", data={"expected": "2", "csrf": "forged"})
    assert forged.status_code == 403
    assert _keys(runtime) == {}
    stale = client.post("/deadlines/notify", data={"expected": "3", "csrf": csrf_of(listing.text)})
    assert stale.status_code == 409 and "the list changed" in stale.text
    done = client.post("/deadlines/notify", data={"expected": "2", "csrf": csrf_of(listing.text)})
    assert done.status_code == 200 and "Queued 2 status letters" in done.text
    assert {key.split(":")[0] for key, _ in _keys(runtime).values()} == {"status"}
    promised = client.get("/deadlines").text.split("Decisions promised by status letters")[1]
    assert promised.count("<td>2026-11-02</td>") == 2 and promised.count("pending") == 2
    runtime.clock = FixedClock(day(70))
    broken = client.get("/deadlines").text.split("Decisions promised by status letters")[1]
    assert broken.count("broken: no decision yet") == 2


def test_the_deadlines_page_in_chromium_passes_axe_and_its_button_sends(
    runtime: Runtime,
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    _recruiter(runtime)
    with serve(runtime) as site:
        browser_sign_in(page, site)
        page.goto(f"{site}/deadlines")
        assert serious_violations(page) == []
        shot(page, "deadlines")
        page.get_by_role("button", name="Send 2 status letters").click()
        page.get_by_text("Queued 2 status letters").wait_for()
        assert serious_violations(page) == []
        deadline = time.monotonic() + 15
        while len(read_sink(tmp_path / "mail")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(read_sink(tmp_path / "mail")) == 2


def _promises(runtime: Runtime, as_of: datetime) -> dict[str, PromiseState]:
    report = deadlines(runtime.notices, RULES, as_of, everyone=True)
    return {item.record.email: item.promise.state for item in report.items if item.promise}


def test_a_status_letters_promise_is_stored_and_flagged_once_its_day_passes_undecided(
    runtime: Runtime,
) -> None:
    (batch_id,) = _notify(runtime)
    assert run_batch(make_deliverer(runtime), batch_id).sent == 2
    with runtime.engine.connect() as conn:
        stored = set(conn.execute(select(outbox.c.decide_by)).scalars())
    assert stored == {datetime(2026, 11, 2).date()}, "the day the letter names, kept with it"

    assert _promises(runtime, day(60)) == {
        "wait@example.com": PromiseState.PENDING,
        "anna@example.com": PromiseState.PENDING,
    }
    broken = deadlines(runtime.notices, RULES, datetime(2026, 11, 3, tzinfo=UTC))
    assert {item.record.email for item in broken.items if item.promise} == {
        "wait@example.com",
        "anna@example.com",
    }, "a broken promise is on the list without --all"
    assert broken.failing and broken.counts()["promise broken"] == 2


def test_a_decision_letter_delivered_by_the_day_keeps_the_promise_and_a_late_one_is_late(
    runtime: Runtime,
) -> None:
    (batch_id,) = _notify(runtime)
    run_batch(make_deliverer(runtime), batch_id)
    runtime.clock = FixedClock(day(40))
    _reject(runtime, "wait@example.com")
    decided = queue_plan(
        runtime.store, runtime.composer, "Data Analyst", actor="t", now=day(40), expected=2
    )
    assert run_batch(make_deliverer(runtime), decided.batch_id).sent == 2
    promises = _promises(runtime, datetime(2026, 11, 10, tzinfo=UTC))
    assert promises["wait@example.com"] is PromiseState.KEPT
    assert promises["anna@example.com"] is PromiseState.BROKEN


def test_the_deadlines_json_shows_each_promise_and_exits_1_once_one_is_broken(
    tmp_path: Path, sink: MailSink
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_SMTP_SECURITY": "none",
    }
    runner = CliRunner()
    rows = [interviewed("wait@example.com", "Wai", "Ting")]
    for args in (
        ["init"],
        ["import", str(write_csv(tmp_path / "a.csv", rows))],
        ["deadlines", "notify", "--yes", "--as-of", "2026-10-05", "--promise-days", "10"],
        ["worker", "--once"],
    ):
        done = runner.invoke(app, args, env=env)
        assert done.exit_code == 0, (args, done.output)
    with_promise = runner.invoke(app, ["deadlines", "--json", "--all"], env=env)
    (item,) = json.loads(with_promise.stdout)["due"]
    promised_by = item["promised_by"]
    assert item["jurisdiction"] == "CA-ON" and item["deadline_days"] == 45
    after = (datetime.fromisoformat(promised_by) + timedelta(days=1)).date().isoformat()
    broken = runner.invoke(app, ["deadlines", "--json", "--as-of", after], env=env)
    assert broken.exit_code == 1
    (flagged,) = json.loads(broken.stdout)["due"]
    assert (flagged["promised_by"], flagged["promise"]) == (promised_by, "broken")
    table = runner.invoke(app, ["deadlines", "--as-of", after], env={**env, "COLUMNS": "250"})
    assert "(BROKEN)" in table.stdout
