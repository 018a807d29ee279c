"""The applicant page and the interviewer's scorecard in real Chromium, checked by axe-core.

Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.users import add_user
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

__all__ = ["page"]

JOB = "Data Analyst"


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[str]:
    """Three interviewed analysts, rejected and written to; Rita recruits, Ivan interviews two."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime: Runtime = open_runtime(settings)
    interviewed = {"stage": "onsite", "last_interview_at": "2026-10-20"}
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", **interviewed) for i in range(3)]
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=clock.now())
    job = runtime.store.job_by_title(JOB)
    for name in ("Communication", "SQL"):
        runtime.feedback_store.add_competency(job.id, name, 3, "t", clock.now())
    users = runtime.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
    ivan = add_user(users, "ivan", PASSWORD, Role.INTERVIEWER, actor="t", now=clock.now())
    interviews = runtime.interviews
    for email in ("p0@example.com", "p1@example.com"):
        found = interviews.application_for(job.id, email)
        assert found is not None
        interviews.assign(found, ivan.id, "t", clock.now())
    _reject_and_send(runtime)
    with serve(runtime) as url:
        yield url
    runtime.close()


def _reject_and_send(runtime: Runtime) -> None:
    now = runtime.clock.now()
    reject(
        runtime.store,
        JOB,
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=now,
    )
    plan = make_plan(runtime.store, runtime.composer, JOB, now)
    batch = queue_plan(
        runtime.store, runtime.composer, JOB, actor="t", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)


def sign_in_as_interviewer(page: Any, site: str) -> None:
    sign_in(page, site, "ivan", start="/interviews")
    page.wait_for_url(f"{site}/interviews")


def test_a_recruiter_opens_an_applicant_from_the_pipeline_and_reads_the_letter_sent(
    page: Any, site: str
) -> None:
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    page.get_by_role("link", name="Pat Doe0", exact=True).click()
    page.wait_for_url(f"{site}/applications/*")
    assert page.get_by_role("heading", name="Pat Doe0", level=1).is_visible()
    assert page.get_by_text("Rejected: position-filled").first.is_visible()
    assert page.get_by_role("cell", name="sent", exact=True).is_visible()
    shot(page, "applicant")
    page.get_by_role("link", name="Letter #1").click()
    page.wait_for_url(f"{site}/applications/*/letters/1")
    assert page.get_by_text("Pat Doe0 <p0@example.com>").first.is_visible()
    assert "=\n" not in page.get_by_label("The letter's text").inner_text(), "no soft breaks"
    assert serious_violations(page) == []
    page.get_by_text("As an email program shows it").click()
    frame = page.frame_locator('iframe[title="The letter\'s HTML part"]')
    frame.locator("p").first.wait_for()
    source = page.get_by_role("link", name="View source").get_attribute("href")
    raw = page.request.get(f"{site}{source}")
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert "To: Pat Doe0 <p0@example.com>" in raw.text() and "Message-ID:" in raw.text()
    shot(page, "applicant-letter")


def test_an_interviewer_lands_on_my_interviews_and_fills_a_scorecard_by_keyboard(
    page: Any, site: str
) -> None:
    sign_in_as_interviewer(page, site)
    assert page.get_by_role("heading", name="My interviews").is_visible()
    assert page.get_by_role("link", name="Pat Doe2").count() == 0
    shot(page, "interviews")
    page.get_by_role("link", name="Pat Doe0", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/interviews/*")
    shot(page, "scorecard")
    page.get_by_label("Rating for Communication").focus()
    for _ in range(3):  # from "not rated" down to 3
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("Structured answers; checked assumptions aloud.")
    page.keyboard.press("Tab")
    page.keyboard.type("You explained your analysis clearly and checked your assumptions.")
    page.keyboard.press("Enter")  # submits the form from its text field
    page.wait_for_url("**saved=true")
    assert "Your scorecard is saved." in page.get_by_role("status").inner_text()
    assert page.get_by_label("Rating for Communication").input_value() == "3"
    assert (
        page.get_by_label("Internal note on Communication")
        .input_value()
        .startswith("Structured answers")
    )
    shot(page, "scorecard-saved")
    page.goto(f"{site}/interviews")
    assert page.get_by_role("cell", name="1 of 2 rated").is_visible()


def test_the_wording_check_shows_beside_the_note_it_flags(page: Any, site: str) -> None:
    sign_in_as_interviewer(page, site)
    page.get_by_role("link", name="Pat Doe1", exact=True).click()
    page.get_by_label("Rating for SQL").select_option("2")
    page.get_by_label("Note for the candidate on SQL").fill("We hoped for someone younger.")
    page.get_by_role("button", name="Save scorecard").click()
    page.wait_for_url("**saved=true")
    assert page.get_by_text("The wording check flags this note for the candidate").is_visible()
    assert serious_violations(page) == []
    shot(page, "scorecard-flagged")


@pytest.mark.parametrize(
    "who, path", [("rita", "/applications/1"), ("ivan", "/interviews"), ("ivan", "/interviews/1")]
)
def test_the_applicant_and_interview_pages_pass_axe_and_read_on_a_phone(
    page: Any, site: str, who: str, path: str
) -> None:
    sign_in(page, site, who, start=path)
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path}: no sideways scrolling on a phone"
    shot(page, f"phone-{path.strip('/').replace('/', '-')}")
