"""Each role's main task, start to finish, on a phone-sized screen in real Chromium.

recruiter: reject → plan → preview → send; hiring manager: approve feedback; interviewer:
fill a scorecard; admin: settings; candidate: the portal. Every page on the way is checked by
axe-core and for sideways scrolling at 390 px. Waiting is Playwright's, never a sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services.feedback import approve
from fairwell.services.importing import import_file
from fairwell.services.planning import queue_plan
from fairwell.services.portal import PortalLinks
from fairwell.services.users import add_user
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import people, write_csv
from tests.test_web_feedback import ANALYST, BACKEND, add_people, drafted

__all__ = ["page"]

KEY = "daily-use-key-" + "d" * 32
PORTAL_URL = "http://testserver/p"
PHONE = {"width": 390, "height": 844}
TESTER = "QA Tester"


class Site(NamedTuple):
    url: str
    runtime: Runtime


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[Site]:
    """Data Analyst with drafts for henry; QA Tester with 30 undecided applicants for rita;
    Backend Engineer's letter sent (its candidate has a portal link); ada administers;
    ivan interviews one analyst."""
    settings = settings_for(
        f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key=KEY, portal_url=PORTAL_URL
    )
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = clock
    now = clock.now()
    drafted(runtime, tmp_path, now)
    add_people(runtime, now)
    users = runtime.users
    add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=now)
    rows = [{**row, "job": TESTER} for row in people(30)]
    import_file(runtime.store, write_csv(tmp_path / "t.csv", rows), actor="t", now=now)
    approve(
        runtime.store,
        runtime.feedback_store,
        wording_check(settings),
        runtime.store.job_by_title(BACKEND).id,
        actor="t",
        now=now,
    )
    batch = queue_plan(runtime.store, runtime.composer, BACKEND, actor="t", now=now)
    run_batch(make_deliverer(runtime), batch.batch_id)
    ivan = users.by_username("ivan")
    assert ivan is not None
    interviews = runtime.interviews
    analyst = runtime.store.job_by_title(ANALYST)
    found = interviews.application_for(analyst.id, "p0@example.com")
    assert found is not None
    interviews.assign(found, ivan[0].id, "t", now)
    with serve(runtime) as url:
        yield Site(url, runtime)
    runtime.close()


def on_a_phone(page: Any, name: str) -> None:
    """The page reads at 390 px: no sideways scrolling, no serious axe finding."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: scrolls sideways ({width} px)"
    assert serious_violations(page) == [], name
    shot(page, f"phone-{name}")


def phone_sign_in(page: Any, site: Site, username: str, start: str = "/home") -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, site.url, username, start=start)


def test_a_recruiter_rejects_previews_and_sends_from_a_phone(
    page: Any, site: Site, sink: MailSink
) -> None:
    phone_sign_in(page, site, "rita")
    on_a_phone(page, "recruiter-home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    on_a_phone(page, "jobs")
    page.get_by_role("link", name=TESTER).click()
    for column in ("Stage", "Decision", "Letter"):
        assert page.get_by_role("columnheader", name=column).is_visible(), column
    on_a_phone(page, "pipeline")
    page.get_by_label("Select everyone on this page").check()
    assert page.locator("strong[data-selected-count]").inner_text() == "30"
    page.get_by_label("Select Pat Doe0").uncheck()
    assert page.locator("strong[data-selected-count]").inner_text() == "29"
    page.get_by_text("Reject applicants").click()
    page.get_by_label("Reason").select_option("role-closed")
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url("**/plan")
    on_a_phone(page, "plan")
    page.get_by_role("link", name="Preview the letter to Pat Doe1", exact=True).click()
    page.get_by_label("The letter's text").wait_for()
    assert "Dear Pat" in page.get_by_label("The letter's text").inner_text()
    on_a_phone(page, "preview")
    page.get_by_role("link", name="Back to the send plan").click()
    page.get_by_role("button", name="Send 29 letters").click()
    page.wait_for_url("**/batches/*")
    page.get_by_text("29 of 29").wait_for(timeout=30_000)
    assert "Done" in page.locator("#batch-state").inner_text()
    on_a_phone(page, "batch-done")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
    tester_row = page.get_by_role("row").filter(has_text=TESTER)
    assert "29" in tester_row.inner_text(), "Jobs counts the rejected"
    sent = [m for m in read_sink(sink.directory) if m.rcpt_tos[0].startswith("p")]
    assert len(sent) == 29, "everyone ticked, nobody else"


def test_a_hiring_manager_finds_the_drafts_waiting_and_approves_them_on_a_phone(
    page: Any, site: Site
) -> None:
    phone_sign_in(page, site, "henry")
    tile = page.get_by_role("region", name="Feedback to approve")
    assert tile.locator(".count").inner_text() == "3"
    on_a_phone(page, "manager-home")
    tile.get_by_role("link", name=f"{ANALYST}: 3 drafts").click()
    on_a_phone(page, "manager-feedback")
    page.get_by_label("Yes, approve 2 drafts").check()
    page.get_by_role("button", name="Approve all 2 drafts").click()
    page.wait_for_url("**approved=2**")
    assert "Approved 2 drafts" in page.get_by_role("status").first.inner_text()
    assert (
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").count() == 0
    )


def test_an_interviewer_fills_a_scorecard_on_a_phone_and_sees_only_their_pages(
    page: Any, site: Site
) -> None:
    phone_sign_in(page, site, "ivan")
    menu = page.get_by_role("navigation", name="Main")
    assert [link.inner_text() for link in menu.get_by_role("link").all()][1:] == [
        "Home",
        "My interviews",
    ], "only what an interviewer may open"
    on_a_phone(page, "interviewer-home")
    page.get_by_role("region", name="Interviews to score").get_by_role("link").last.click()
    page.get_by_label("Rating for SQL").select_option("3")
    page.get_by_label("Note for the candidate on SQL").fill("Your queries were clear and tested.")
    page.get_by_role("button", name="Save scorecard").click()
    page.wait_for_url("**saved=true")
    on_a_phone(page, "scorecard-saved")


def test_an_admin_edits_a_reason_on_a_phone(page: Any, site: Site) -> None:
    phone_sign_in(page, site, "ada", start="/settings/reasons/role-closed")
    field = page.get_by_label("English wording")
    field.fill("the role has been closed for now")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**saved=1")
    assert "Saved" in page.get_by_role("status").first.inner_text()
    on_a_phone(page, "admin-settings")
    page.goto(f"{site.url}/account")
    on_a_phone(page, "account")


def test_a_candidate_reads_their_letter_and_asks_for_more_on_a_phone(page: Any, site: Site) -> None:
    page.set_viewport_size(PHONE)
    job = site.runtime.store.job_by_title(BACKEND)
    ref = site.runtime.store.applicants(job.id)[0].application.ref
    home = f"{site.url}/p/{PortalLinks(PORTAL_URL, KEY).token(ref)}"
    page.goto(home)
    assert page.get_by_role("heading", name="Hello Bo").is_visible()
    on_a_phone(page, "portal-overview")
    page.get_by_role("link", name="Ask for more feedback").click()
    page.get_by_role("button", name="Send my question").click()
    assert "You can expect an answer by" in page.get_by_role("status").inner_text()
    page.goto(f"{home}/ask")
    assert "Your question is open" in page.get_by_role("status").inner_text()
    on_a_phone(page, "portal-ask-open")


@pytest.mark.parametrize(
    "path", ["/home", "/account", "/outbox", "/jobs/999", "/jobs/3/plan", "/api/docs"]
)
def test_the_new_pages_pass_axe_and_an_error_is_a_page(page: Any, site: Site, path: str) -> None:
    if path == "/api/docs":
        page.goto(f"{site.url}{path}")
        page.locator(".swagger-ui").first.wait_for()
        assert page.get_by_text("/api/jobs").first.is_visible(), "Swagger UI ran under the CSP"
        return
    sign_in(page, site.url, "rita", start=path)
    if path == "/jobs/999":
        assert page.get_by_role("heading", name="Not found").is_visible()
        assert page.get_by_role("link", name="Back to the jobs").is_visible()
    assert serious_violations(page) == [], path
