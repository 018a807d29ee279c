"""Feedback approval and feedback requests in real Chromium, checked by axe-core.

A hiring manager approves feedback with a finding shown inline; a recruiter answers a request
and the embedded worker delivers the answer. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.requests import receive
from tests.browser import page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.test_web_feedback import ANALYST, add_people, drafted

__all__ = ["page"]

ANSWER = "Your SQL exercise missed the window-function part of the task."


class Site(NamedTuple):
    url: str
    analyst: int  # the Data Analyst job's id


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[Site]:
    """Data Analyst with three drafts (one flagged) managed by henry, and one open request."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime: Runtime = open_runtime(settings)
    drafted(runtime, tmp_path, clock.now())
    add_people(runtime, clock.now())
    receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title(ANALYST).id,
        "p3@example.com",
        "Could you tell me which part of the exercise went wrong?",
        business_days=5,
        actor="t",
        now=clock.now(),
    )
    with serve(runtime) as url:
        yield Site(url, runtime.store.job_by_title(ANALYST).id)
    runtime.close()


def test_a_hiring_manager_sees_a_finding_inline_and_approves_all(page: Any, site: Site) -> None:
    sign_in(page, site.url, "henry")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback").click()
    page.get_by_role("link", name=ANALYST).click()
    flagged = page.locator("mark", has_text="planning a family")
    assert flagged.is_visible(), "the flagged words are marked where they stand"
    assert page.get_by_role("heading", name="Needs an edit or a written override (1)").is_visible()
    assert serious_violations(page) == []
    shot(page, "feedback-review")
    approve_all = page.get_by_role("button", name="Approve all 2 drafts")
    approve_all.click()  # the box is not ticked: the browser asks for it, nothing is sent
    assert "approved=" not in page.url, "the required box blocks the submit"
    page.get_by_label("Yes, approve 2 drafts").check()
    approve_all.click()
    page.wait_for_url("**approved=2**")
    status = page.get_by_role("status")
    assert "Approved 2 drafts. 1 draft was not approved" in status.inner_text()
    assert page.get_by_label("Override for Pat Doe1", exact=False).is_visible()
    shot(page, "feedback-approved")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site.url, "rita")
    page.goto(f"{site.url}/jobs/{site.analyst}/plan")
    row = page.get_by_role("row", name="of which carry approved feedback")
    assert row.get_by_role("cell").nth(1).inner_text() == "2"


def test_a_hiring_manager_edits_a_draft_and_sees_the_new_finding(page: Any, site: Site) -> None:
    sign_in(page, site.url, "henry")
    page.goto(f"{site.url}/feedback/{site.analyst}")
    card = page.get_by_role("article", name="Pat Doe0")
    card.get_by_text("Edit the wording").click()
    page.get_by_label("Feedback for Pat Doe0, one point a line").fill("You seem overqualified.")
    page.get_by_role("button", name="Save as a draft for Pat Doe0").click()
    assert "found 1 thing in the new text" in page.get_by_role("status").inner_text()
    assert card.locator("mark", has_text="overqualified").is_visible()


def test_a_recruiter_answers_a_request_and_the_worker_delivers_it(
    page: Any, site: Site, sink: MailSink
) -> None:
    sign_in(page, site.url, "rita")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    page.get_by_role("link", name="#1 from p3@example.com").click()
    assert page.get_by_text("which part of the exercise went wrong?").is_visible()
    assert serious_violations(page) == []
    shot(page, "request")
    page.get_by_label("Your answer, in English", exact=False).fill(ANSWER)
    page.get_by_role("button", name="Queue the answer").click()
    assert "The answer is queued" in page.get_by_role("status").inner_text()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(b"window-function part" in m.data for m in read_sink(sink.directory)):
            break
        time.sleep(0.2)
    answers = [m for m in read_sink(sink.directory) if b"window-function part" in m.data]
    assert [m.rcpt_tos for m in answers] == [["p3@example.com"]]


@pytest.mark.parametrize("path", ["/feedback", "/feedback/{analyst}", "/requests", "/requests/1"])
def test_the_review_pages_pass_axe_and_read_on_a_phone(page: Any, site: Site, path: str) -> None:
    path = path.format(analyst=site.analyst)
    sign_in(page, site.url, "rita")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site.url}{path}")
    assert serious_violations(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling on a phone"
    shot(page, "phone" + path.replace("/", "-"))
