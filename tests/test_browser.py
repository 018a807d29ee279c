"""The recruiter's pages in real Chromium (Debian's, driven by Playwright), checked by axe-core.

Screenshots of the main pages are saved to test-artifacts/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.users import add_user
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, people, write_csv

__all__ = ["page"]


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[str]:
    """One job of 61 applicants, one recruiter, and the embedded SMTP sink."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime: Runtime = open_runtime(settings)
    rows = [*people(60), applicant("hana@example.com", "Hana", "Hired", stage="hired")]
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=clock.now())
    add_user(
        runtime.users,
        "rita",
        PASSWORD,
        Role.RECRUITER,
        actor="t",
        now=clock.now(),
    )
    with serve(runtime) as url:
        yield url
    runtime.close()


def test_a_recruiter_signs_in_opens_a_job_and_filters_its_pipeline(page: Any, site: str) -> None:
    sign_in(page, site)
    assert page.get_by_role("link", name="Data Analyst").is_visible()
    shot(page, "jobs")
    page.get_by_role("link", name="Data Analyst").click()
    assert page.get_by_text("61 applicants, page 1 of 2").is_visible()
    page.get_by_label("Stage", exact=True).select_option("hired")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_text("1 applicant match").is_visible()
    assert page.get_by_role("cell", name="Hana Hired", exact=True).is_visible()
    shot(page, "pipeline")


def test_a_wrong_password_shows_an_error_and_stays_signed_out(page: Any, site: str) -> None:
    page.goto(f"{site}/signin")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    page.goto(f"{site}/jobs")
    assert "/signin" in page.url


def test_a_recruiter_rejects_confirms_and_watches_the_letters_go(
    page: Any, site: str, sink: MailSink
) -> None:
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    page.get_by_text("Reject applicants").click()
    page.get_by_label("everyone but the hired").check()
    page.get_by_label("Reason").select_option("position-filled")
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url(f"{site}/jobs/1/plan")
    assert page.get_by_role("button", name="Send 60 letters").is_visible()
    assert serious_violations(page) == []
    shot(page, "plan")
    page.get_by_label("Type 60 to confirm").fill("60")
    page.get_by_role("button", name="Send 60 letters").click()
    page.wait_for_url(f"{site}/batches/1")
    page.get_by_text("60 of 60").wait_for(timeout=30_000)
    assert page.locator("#percent").inner_text() == "100%"
    assert serious_violations(page) == []
    shot(page, "batch")
    assert len(read_sink(sink.directory)) == 60


def test_a_mistyped_count_shows_the_plan_again_with_what_was_typed(
    page: Any, site: str, sink: MailSink
) -> None:
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    page.get_by_text("Reject applicants").click()
    page.get_by_label("everyone but the hired").check()
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url(f"{site}/jobs/1/plan")
    page.get_by_label("Type 60 to confirm").fill("6")
    page.get_by_role("button", name="Send 60 letters").click()
    assert "type 60" in page.inner_text("main"), "what went wrong, in the page"
    typed = page.get_by_label("Type 60 to confirm")
    assert typed.input_value() == "6" and typed.get_attribute("aria-invalid") == "true"
    assert page.get_by_role("button", name="Send 60 letters").is_visible(), "the form is kept"
    assert serious_violations(page) == []
    shot(page, "plan-mistyped-count")
    assert read_sink(sink.directory) == [], "nothing went"


@pytest.mark.parametrize("path", ["/signin", "/jobs", "/jobs/1", "/outbox"])
def test_the_main_pages_have_no_serious_accessibility_violations(
    page: Any, site: str, path: str
) -> None:
    if path != "/signin":
        sign_in(page, site)
    page.goto(f"{site}{path}")
    assert serious_violations(page) == []


def test_the_pages_read_on_a_phone(page: Any, site: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling on a phone"
    shot(page, "pipeline-phone")
