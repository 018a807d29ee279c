"""The demo's way through: a sample letter first, send, stop, and the mail viewer, in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.outbox import pause
from fairwell.services.users import add_user
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import people, write_csv

__all__ = ["page"]


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[Runtime]:
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    wired = open_runtime(settings)
    import_file(wired.store, write_csv(tmp_path / "a.csv", people(12)), actor="t", now=clock.now())
    users = wired.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
    yield wired
    wired.close()


@pytest.fixture
def site(runtime: Runtime, sink: MailSink) -> Iterator[str]:
    with serve(runtime, mail_viewer=sink.directory) as url:
        yield url


def reject_everyone(page: Any, site: str) -> None:
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    page.get_by_text("Reject applicants").click()
    page.get_by_label("everyone but the hired").check()
    page.get_by_label("Reason").select_option("role-closed")
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url(f"{site}/jobs/1/plan")


def test_a_sample_letter_then_the_batch_then_the_letter_in_the_mail_viewer(
    page: Any, site: str, sink: MailSink
) -> None:
    reject_everyone(page, site)
    page.get_by_role("link", name="Preview the letter to Pat Doe3").click()
    assert page.get_by_text("Pat Doe3 <p3@example.com>").is_visible(), "as it will go out"
    assert serious_violations(page) == []
    page.get_by_role("link", name="Back to the send plan").click()
    page.get_by_label("Your address").fill("rita@example.org")
    page.get_by_role("button", name="Send the sample letter").click()
    page.get_by_text("The sample letter was sent").wait_for()
    page.get_by_role("button", name="Send 12 letters").click()
    page.get_by_text("12 of 12").wait_for(timeout=30_000)

    page.get_by_role("link", name="Mail").click()
    assert page.get_by_text("13 messages").is_visible(), "12 letters and the sample"
    assert serious_violations(page) == []
    shot(page, "mail")
    page.get_by_label("Recipient").fill("p3@example.com")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("status").inner_text() == "1 message."
    page.get_by_role("row").filter(has_text="p3@example.com").get_by_role("link").click()
    assert page.get_by_text("Dear Pat").is_visible()
    assert serious_violations(page) == []
    shot(page, "mail-letter")
    sample = [m for m in read_sink(sink.directory) if m.rcpt_tos == ["rita@example.org"]]
    assert len(sample) == 1 and b"Alex Sample" in sample[0].data


def test_a_recruiter_stops_a_paused_batch_and_nothing_more_goes(
    page: Any, site: str, runtime: Runtime, sink: MailSink, clock: FixedClock
) -> None:
    reject_everyone(page, site)
    # Paused first, so the worker in the server cannot finish before the click.
    pause(runtime.store, actor="t", now=clock.now())
    page.get_by_role("button", name="Send 12 letters").click()
    page.wait_for_url(f"{site}/batches/1")
    page.get_by_role("button", name="Stop this batch").click()
    page.get_by_text("Stopped: 12 letters").wait_for()
    assert page.locator("#percent").inner_text() == "100%"
    shot(page, "batch-stopped")
    page.get_by_role("button", name="Resume the outbox").click()
    page.get_by_role("button", name="Send the stopped letters after all").wait_for()
    assert read_sink(sink.directory) == []
