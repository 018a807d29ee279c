"""Mail that came back, in Chromium: the request's conversation, answered in place; bounces on
the outbox; the suppression list an admin keeps. Each page is checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.runtime import Runtime
from tests.browser import page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock
from tests.test_web_mail_back import asked_and_bounced

__all__ = ["page"]


@pytest.fixture
def runtime(
    sqlite_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    """p0 asked by mail; p1's letter bounced; admin ada and recruiter rita can sign in."""
    yield from asked_and_bounced(sqlite_url, sink, clock, tmp_path)


@pytest.fixture
def site(runtime: Runtime) -> Iterator[str]:
    with serve(runtime) as url:
        yield url


def test_a_recruiter_reads_the_mailed_question_and_answers_it_in_the_thread(
    page: Any, site: str, runtime: Runtime
) -> None:
    sign_in(page, site, "rita")
    page.goto(f"{site}/requests")
    page.get_by_role("link", name="p0@example.com").first.click()
    body = page.inner_text("main")
    assert "It came by mail" in body and "Which skills should I work on?" in body
    assert serious_violations(page) == []
    page.get_by_label("Your answer, in English").fill("Practise SQL window functions on real data.")
    page.get_by_role("button", name="Queue the answer").click()
    page.wait_for_url("**answered=1")
    for _ in range(50):  # the app's own delivery worker sends it
        page.reload()
        if "Our answer: sent" in page.inner_text("main"):
            break
        page.wait_for_timeout(200)
    assert "Our answer: sent" in page.inner_text("main")
    assert "Practise SQL window functions on real data." in page.inner_text("main")
    shot(page, "request-thread")


def test_bounces_show_on_the_outbox_page(page: Any, site: str) -> None:
    sign_in(page, site, "rita")
    page.goto(f"{site}/outbox")
    table = page.get_by_role("table").last.inner_text()
    assert "p1@example.com" in table and "5.1.1" in table and "permanent" in table
    assert page.get_by_role("link", name="Suppressions").count() == 0, "admins only"
    assert serious_violations(page) == []


def test_an_admin_keeps_the_suppression_list(page: Any, site: str) -> None:
    sign_in(page, site, "ada")
    page.get_by_role("link", name="Suppressions").click()
    assert "bounced (5.1.1)" in page.inner_text("main")
    assert serious_violations(page) == []
    page.get_by_label("Address").fill("p2@example.com")
    page.get_by_label("Reason (shown in the send plan)").fill("asked not to be written to")
    page.get_by_role("button", name="Suppress", exact=True).click()
    page.wait_for_url(f"{site}/suppressions")
    page.get_by_role("button", name="Remove p1@example.com").click()
    page.wait_for_url(f"{site}/suppressions")
    text = page.inner_text("main")
    assert "asked not to be written to" in text and "p1@example.com" not in text
    shot(page, "suppressions")
