"""Issue 17's items that were tested over HTTP only, now in real Chromium (docs/web-checklist.md).

Every page visited is checked by ``checked``: axe-core finds nothing serious, the response
carries the strict Content-Security-Policy, the console logs no policy violation or script
error, every stylesheet, script and icon comes from the app, and no "(s)" plural shows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.services.decisions import Selection, reject
from fairwell.services.outbox import pause
from fairwell.services.planning import queue_plan
from fairwell.services.portal import PortalLinks
from fairwell.services.requests import receive
from tests.browser import PASSWORD, page, serious_violations, shot, sign_in
from tests.test_browser_daily_use import KEY, PHONE, PORTAL_URL, TESTER, Site, site
from tests.test_web_feedback import ANALYST, BACKEND

__all__ = ["page", "site"]

WRONG = "not the password, no"
# A page that answers with an error status is logged by Chromium as a failed load: expected
# on the error pages this file opens on purpose, so only that one line is let through.
FAILED_LOAD = "Failed to load resource: the server responded with a status of"


class Watch:
    """What the browser reported while the test ran: console errors and page documents."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.headers: dict[str, str] = {}
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(FAILED_LOAD):
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.request.resource_type == "document" and response.frame.parent_frame is None:
            self.headers = response.headers


def checked(page: Any, watch: Watch, name: str) -> None:
    """The page passes axe-core, carries the strict policy and loads only the app's files."""
    assert serious_violations(page) == [], name
    policy = watch.headers.get("content-security-policy", "")
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy, name
    assert watch.errors == [], f"{name}: {watch.errors}"
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin, page.url
    assets = page.evaluate(
        "[...document.querySelectorAll('link[href], script[src]')]"
        ".map(e => e.href || e.src).filter(u => !u.startsWith('data:'))"
    )
    assert all(url.startswith(origin.group(0)) for url in assets), f"{name}: {assets}"
    assert "(s)" not in page.inner_text("body"), f"{name}: a '(s)' plural"
    shot(page, f"issue17-{name}")


def job_id(site: Site, title: str) -> int:
    return site.runtime.store.job_by_title(title).id


# --- every error a browser can reach is a page that keeps what was typed ------------------------


def test_a_refused_reject_keeps_the_form_and_errors_are_pages_with_the_way_back(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    tester = job_id(site, TESTER)
    sign_in(page, site.url, "rita", start=f"/jobs/{tester}")
    page.get_by_text("Reject applicants").click()
    reasons = page.get_by_label("Reason").locator("option").all()
    chosen = reasons[-1].get_attribute("value")
    page.get_by_label("Reason").select_option(chosen)
    page.get_by_role("button", name="Reject and see the send plan").click()
    assert "tick at least one person" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Reason").input_value() == chosen, "the reason chosen is kept"
    assert page.get_by_role("button", name="Reject and see the send plan").is_visible()
    checked(page, watch, "error-reject-nobody")

    page.goto(f"{site.url}/jobs/{tester}?page=abc")
    assert page.get_by_role("heading", name="That cannot be done as asked").is_visible()
    assert "page must be a whole number" in page.inner_text("main")
    checked(page, watch, "error-page-abc")
    page.get_by_role("link", name="Open the page without these values").click()
    assert page.get_by_role("heading", name=TESTER).is_visible()

    page.goto(f"{site.url}/jobs/{tester}/preview?email=nobody@example.com")
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible(), "in the app's layout"
    checked(page, watch, "error-preview-unknown")
    page.goto(f"{site.url}/no/such/page")
    page.get_by_role("link", name="Back to the start page").click()
    page.wait_for_url(lambda url: "/no/such" not in url)


def test_a_hiring_manager_opening_the_plan_reads_whose_page_it_is(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "henry", start=f"/jobs/{job_id(site, ANALYST)}/plan")
    assert page.get_by_role("heading", name="This page is not for your role").is_visible()
    assert "for recruiters and admins only" in page.inner_text("main")
    checked(page, watch, "error-403-plan")
    page.get_by_role("link", name="Back to the job").click()
    assert page.get_by_role("heading", name=ANALYST).is_visible()


def test_a_stale_send_shows_the_new_plan_in_the_page(page: Any, site: Site) -> None:
    watch = Watch(page)
    tester = job_id(site, TESTER)
    sign_in(page, site.url, "rita", start=f"/jobs/{tester}")
    for who in ("Pat Doe0", "Pat Doe1"):
        page.get_by_label(f"Select {who}", exact=True).check()
    page.get_by_text("Reject applicants").click()
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url("**/plan")
    now = site.runtime.clock.now()
    selection = Selection(emails=("p2@example.com",))
    reject(site.runtime.store, TESTER, selection, "role-closed", note=None, actor="t", now=now)
    page.get_by_role("button", name="Send 2 letters").click()
    assert "the plan changed since you loaded it" in page.inner_text("main")
    assert page.get_by_role("button", name="Send 3 letters").is_visible(), "the new plan"
    checked(page, watch, "error-stale-send")


def test_letters_held_for_feedback_link_to_the_feedback_page(page: Any, site: Site) -> None:
    watch = Watch(page)
    analyst = job_id(site, ANALYST)
    sign_in(page, site.url, "rita", start=f"/jobs/{analyst}/plan")
    held = page.locator(f'main a[href="/feedback/{analyst}"]')
    assert held.count() >= 1, "a held letter names where its feedback waits"
    checked(page, watch, "plan-held")
    held.first.click()
    page.wait_for_url(f"**/feedback/{analyst}")
    assert page.get_by_role("button", name="Approve all 2 drafts").is_visible()
    checked(page, watch, "feedback-from-plan")


# --- letters as the candidate reads them, from every place staff see one -----------------------


def read_as_the_candidate(page: Any, site: Site, watch: Watch, name: str) -> None:
    """The text part unwrapped, the HTML part in a sandboxed frame, the bytes behind a link."""
    text = page.get_by_label("The letter's text").inner_text()
    assert "=\n" not in text and "Content-Transfer-Encoding" not in text, name
    page.get_by_text("As an email program shows it").click()
    frame = page.locator('iframe[title="The letter\'s HTML part"]')
    assert frame.get_attribute("sandbox") == "", f"{name}: the frame may run nothing"
    page.frame_locator('iframe[title="The letter\'s HTML part"]').locator("p").first.wait_for()
    checked(page, watch, name)
    source = page.get_by_role("link", name="View source").get_attribute("href")
    raw = page.request.get(f"{site.url}{source}")
    assert raw.headers["x-content-type-options"] == "nosniff", name
    assert "Message-ID:" in raw.text() and "Content-Type: multipart" in raw.text(), name


def test_letters_read_as_the_candidate_will_in_preview_outbox_and_request(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    backend = job_id(site, BACKEND)
    now = site.runtime.clock.now()
    store = site.runtime.store
    requests = site.runtime.request_store
    receive(store, requests, backend, "b0@example.com", "Why?", business_days=5, actor="t", now=now)
    sign_in(page, site.url, "rita", start=f"/jobs/{job_id(site, ANALYST)}")
    page.get_by_role("link", name="Preview the letter to Pat Doe3", exact=True).click()
    read_as_the_candidate(page, site, watch, "letter-preview-from-pipeline")

    page.goto(f"{site.url}/outbox?q=b0%40example.com")
    page.get_by_role("row").filter(has_text="b0@example.com").get_by_role("link").first.click()
    read_as_the_candidate(page, site, watch, "letter-outbox")

    page.goto(f"{site.url}/requests")
    page.get_by_role("link", name="from b0@example.com").first.click()
    read_as_the_candidate(page, site, watch, "letter-request")


def test_the_batch_page_says_which_job_who_when_and_that_it_is_done(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start="/batches/1")
    facts = page.locator("dl.facts").inner_text()
    assert BACKEND in facts and "Queued by" in facts and "UTC" in facts
    assert "Done" in page.locator("#batch-state").inner_text()
    checked(page, watch, "batch-done")
    page.get_by_role("link", name="Every letter of this batch").click()
    assert page.get_by_label("Batch").input_value() == "1", "the outbox filtered to the batch"
    checked(page, watch, "outbox-batch")


def test_one_batch_is_paused_and_resumed_from_its_page(
    page: Any, site: Site, sink: MailSink
) -> None:
    """The whole outbox is paused first so the worker cannot finish before the clicks; the
    letter goes once both the batch and the outbox are resumed. (Resuming the outbox also
    resumes a batch paused by hand: a known defect, see tests/test_web_outbox.py.)"""
    watch = Watch(page)
    store, now = site.runtime.store, site.runtime.clock.now()
    pause(store, actor="t", now=now)
    selection = Selection(emails=("p5@example.com",))
    reject(store, TESTER, selection, "role-closed", note=None, actor="t", now=now)
    batch = queue_plan(store, site.runtime.composer, TESTER, actor="t", now=now)
    sign_in(page, site.url, "rita", start=f"/batches/{batch.batch_id}")
    page.get_by_role("button", name="Pause this batch").click()
    page.get_by_role("button", name="Resume this batch").wait_for()
    assert "Paused" in page.locator("#batch-state").inner_text()
    checked(page, watch, "batch-paused")
    page.get_by_role("button", name="Resume this batch").click()
    page.get_by_role("button", name="Pause this batch").wait_for()
    assert not any(m.rcpt_tos == ["p5@example.com"] for m in read_sink(sink.directory))
    page.get_by_role("button", name="Resume the outbox").click()
    page.get_by_text("1 of 1").wait_for(timeout=30_000)
    assert [m.rcpt_tos for m in read_sink(sink.directory) if "p5@" in m.rcpt_tos[0]] == [
        ["p5@example.com"]
    ]


def test_the_audit_trail_reads_as_sentences_not_json(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start=f"/jobs/{job_id(site, BACKEND)}")
    page.get_by_role("link", name="Bo Zed", exact=True).click()
    trail = page.get_by_role("region", name="Audit trail").inner_text()
    assert trail and "{" not in trail and '":' not in trail
    checked(page, watch, "applicant-audit")


# --- each role lands on what waits for it ------------------------------------------------------


@pytest.mark.parametrize("who", ["rita", "ada"])
def test_each_role_lands_on_a_home_page_with_counts_and_links(
    page: Any, site: Site, who: str
) -> None:
    watch = Watch(page)
    sign_in(page, site.url, who, start="/")
    page.wait_for_url("**/home")
    tiles = page.locator("section.tile")
    assert tiles.count() >= 1
    for section in tiles.all():
        assert re.fullmatch(r"\d+", section.locator(".count").inner_text()), who
        assert section.get_by_role("heading").get_by_role("link").count() == 1, who
    checked(page, watch, f"home-{who}")


# --- the look: primary and destructive actions differ; the favicon is the app's --------------


def test_primary_secondary_and_destructive_buttons_differ_and_the_favicon_loads(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start="/account")

    def colour(name: str) -> str:
        button = page.get_by_role("button", name=name, exact=True)
        return str(button.evaluate("b => getComputedStyle(b).backgroundColor"))

    primary, secondary = colour("Change my password"), colour("Create a token")
    destructive = colour("Sign out everywhere")
    assert len({primary, secondary, destructive}) == 3, (primary, secondary, destructive)
    red, green, blue = (int(n) for n in re.findall(r"\d+", destructive)[:3])
    assert red > green and red > blue, f"destructive looks like danger: {destructive}"
    icon = page.locator("link[rel~=icon]").get_attribute("href")
    assert icon and page.request.get(f"{site.url}{icon}").ok
    assert page.request.get(f"{site.url}/favicon.ico").ok
    checked(page, watch, "account-buttons")


# --- the pipeline on a phone: sort, page, select, empty state ---------------------------------


def no_sideways_scrolling(page: Any, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: scrolls sideways ({width} px)"


def first_name(page: Any) -> str:
    return str(page.locator("#pipeline-table tbody td.name").first.inner_text())


def test_the_pipeline_sorts_pages_and_selects_in_bulk_at_390_px(page: Any, site: Site) -> None:
    watch = Watch(page)
    page.set_viewport_size(PHONE)
    sign_in(page, site.url, "rita", start=f"/jobs/{job_id(site, TESTER)}")
    page.get_by_label("Per page").select_option("25")
    page.get_by_role("button", name="Filter").click()
    assert "30 applicants, page 1 of 2" in page.get_by_role("status").first.inner_text()
    name_header = page.get_by_role("columnheader", name="Name")
    name_header.get_by_role("link").click()
    assert name_header.get_attribute("aria-sort") == "ascending"
    assert first_name(page) == "Pat Doe0"
    name_header.get_by_role("link").click()
    assert name_header.get_attribute("aria-sort") == "descending"
    assert first_name(page) == "Pat Doe9"
    no_sideways_scrolling(page, "sorted")
    checked(page, watch, "phone-pipeline-sorted")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    assert "page 2 of 2" in page.get_by_role("status").first.inner_text()
    assert page.locator("#pipeline-table tbody tr").count() == 5
    assert name_header.get_attribute("aria-sort") == "descending", "the sort is kept"
    page.get_by_label("Select everyone on this page").check()
    assert page.locator("strong[data-selected-count]").inner_text() == "5"
    no_sideways_scrolling(page, "page 2")
    page.get_by_role("searchbox", name="Search").fill("nobody-by-this-name")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_text("Nobody matches this filter.").is_visible()
    no_sideways_scrolling(page, "empty")
    checked(page, watch, "phone-pipeline-empty")
    page.get_by_role("button", name="Show everyone").click()
    assert "30 applicants" in page.get_by_role("status").first.inner_text()


def test_the_stage_filter_finds_the_rejected(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start=f"/jobs/{job_id(site, ANALYST)}")
    page.get_by_label("Stage", exact=True).select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    assert "4 applicants match" in page.get_by_role("status").first.inner_text()
    checked(page, watch, "pipeline-rejected")


# --- sessions end on the server -------------------------------------------------------------------


def test_a_saved_cookie_stops_working_after_sign_out(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita")
    saved = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin**")
    checked(page, watch, "signed-out")
    replay = page.context.browser.new_context()
    try:
        replay.add_cookies(saved)
        other = replay.new_page()
        other.goto(f"{site.url}/jobs")
        assert "/signin" in other.url, "the saved cookie no longer signs anyone in"
    finally:
        replay.close()


def test_sign_out_everywhere_ends_the_other_browser_too(page: Any, site: Site) -> None:
    watch = Watch(page)
    other_context = page.context.browser.new_context()
    try:
        other = other_context.new_page()
        sign_in(other, site.url, "rita")
        sign_in(page, site.url, "rita", start="/account")
        assert "2 sessions of this account are signed in now" in page.inner_text("main")
        page.get_by_role("button", name="Sign out everywhere").click()
        page.wait_for_url("**/signin**")
        checked(page, watch, "signed-out-everywhere")
        other.goto(f"{site.url}/jobs")
        assert "/signin" in other.url
    finally:
        other_context.close()


def test_a_password_change_signs_out_the_other_browser_and_keeps_this_one(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    other_context = page.context.browser.new_context()
    try:
        other = other_context.new_page()
        sign_in(other, site.url, "rita")
        sign_in(page, site.url, "rita", start="/account")
        page.get_by_label("Current password").fill(PASSWORD)
        for field in ("New password", "New password again"):
            page.get_by_label(field, exact=True).fill("quiet lanterns drift over seven harbours")
        page.get_by_role("button", name="Change my password").click()
        assert "1 session of this account is signed in now" in page.inner_text("main")
        checked(page, watch, "account-password-changed")
        other.goto(f"{site.url}/jobs")
        assert "/signin" in other.url, "the other browser is signed out"
        page.goto(f"{site.url}/jobs")
        assert "/signin" not in page.url, "this one stays signed in"
    finally:
        other_context.close()


# --- sign-in limits count every spelling of the account ----------------------------------------


def test_sign_in_limits_count_every_spelling_and_another_account_clears_nothing(
    page: Any, site: Site
) -> None:
    """Four failures under four spellings of ada; rita signs in meanwhile from another
    browser (which clears her own count only); a fifth spelling, and ada is held even with
    the right password. (The client address is counted too: over HTTP, tests/test_web_daily_use
    shows the account alone is limited.)"""
    watch = Watch(page)

    def attempt(username: str, password: str = WRONG) -> str:
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        return str(page.get_by_role("alert").inner_text())

    page.goto(f"{site.url}/signin")
    for spelling in (" ADA", "ADA ", "Ada", " ada "):
        assert "do not match" in attempt(spelling), spelling
    other = page.context.browser.new_context()
    try:
        sign_in(other.new_page(), site.url, "rita")
    finally:
        other.close()
    assert "do not match" in attempt("aDa")
    assert "Too many attempts" in attempt("ada", PASSWORD)
    assert page.get_by_label("Username").input_value() == "ada", "what was typed is kept"
    checked(page, watch, "signin-limited")


# --- templates render under limits ---------------------------------------------------------------

LOOPS = "{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}"


def test_a_runaway_template_is_refused_with_a_clear_message_in_the_page(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "ada", start="/settings/templates/en-rejection")
    source = page.get_by_label("Template source")
    runaway = source.input_value().replace("Kind regards,", LOOPS + "\n\nKind regards,")
    source.fill(runaway)
    page.locator("#findings").get_by_text("loops more than", exact=False).wait_for()
    page.get_by_role("button", name="Save").click()
    assert "loops more than" in page.inner_text("main")
    assert page.get_by_label("Template source").input_value() == runaway, "the source is kept"
    assert site.runtime.letter_settings.overrides().templates == {}, "nothing was saved"
    checked(page, watch, "template-runaway")
    builtin = runaway.replace(LOOPS + "\n\n", "")
    for bad, said in (
        (builtin.replace("Kind regards,", "{{ range(10**9)|length }}"), "larger than a letter"),
        (builtin.replace("Kind regards,", "{{ 'x' * 100000000 }}"), "larger than a letter"),
        (builtin.replace("Your application", "Your\x0bapplication", 1), "control character"),
    ):
        page.get_by_label("Template source").fill(bad)
        page.get_by_role("button", name="Save").click()
        assert said in page.inner_text("main"), said
        assert page.get_by_label("Template source").input_value() == bad, "the source is kept"
    assert site.runtime.letter_settings.overrides().templates == {}, "nothing was saved"
    checked(page, watch, "template-control-character")
    page.get_by_label("Template source").fill("x" * 1_100_000)
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("heading", name="That was too much to send").is_visible()
    checked(page, watch, "template-too-large")
    page.go_back()
    assert len(page.get_by_label("Template source").input_value()) == 1_100_000, "still there"


# --- the account page: passwords and API tokens -------------------------------------------------


def test_a_common_password_is_refused_on_the_account_page(page: Any, site: Site) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start="/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("New password again").fill("password1234")
    page.get_by_role("button", name="Change my password").click()
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith("Not changed") and "breach" in alert, alert
    checked(page, watch, "account-common-password")
    page.goto(f"{site.url}/jobs")
    assert "/signin" not in page.url, "still signed in with the old password"


def test_an_api_token_is_made_read_only_used_and_revoked_from_the_account_page(
    page: Any, site: Site
) -> None:
    watch = Watch(page)
    sign_in(page, site.url, "rita", start="/account")
    page.get_by_label("Name (what uses it)").fill("ats sync")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Create a token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("fw_")
    checked(page, watch, "account-token")
    bearer = {"Authorization": f"Bearer {token}"}
    api = page.context.request
    assert api.get(f"{site.url}/api/jobs", headers=bearer).status == 200
    tester = job_id(site, TESTER)
    write = api.post(f"{site.url}/api/jobs/{tester}/reject", headers=bearer, data={})
    assert write.status == 403
    page.goto(f"{site.url}/account")
    assert "/signin" not in page.url
    page.get_by_role("button", name="Revoke the token ats sync").click()
    assert page.get_by_role("cell", name="revoked", exact=False).is_visible()
    assert api.get(f"{site.url}/api/jobs", headers=bearer).status == 401


# --- the candidate's side ------------------------------------------------------------------------


def test_one_open_question_per_application_and_the_export_names_no_staff(
    page: Any, site: Site, tmp_path: Path
) -> None:
    watch = Watch(page)
    store = site.runtime.store
    [application] = [a.application for a in store.applicants(job_id(site, BACKEND))]
    now = site.runtime.clock.now()
    store.audit("web:ivan", "scorecard.entered", "application", application.id, {}, now)
    home = f"{site.url}/p/{PortalLinks(PORTAL_URL, KEY).token(application.ref)}"
    page.goto(f"{home}/ask")
    long_question = "why " * 2000
    page.get_by_label("Your question").fill(long_question)
    page.get_by_role("button", name="Send my question").click()
    assert "too long" in page.inner_text("main")
    assert page.get_by_label("Your question").input_value().strip() == long_question.strip()
    checked(page, watch, "portal-question-too-long")
    page.get_by_label("Your question").fill("Which part of the task went wrong?")
    page.get_by_role("button", name="Send my question").click()
    page.goto(f"{home}/ask")
    assert "Your question is open" in page.get_by_role("status").inner_text()
    assert page.get_by_label("Your question").count() == 0, "no second question while one is open"
    checked(page, watch, "portal-question-open")
    assert len(site.runtime.request_store.all(open_only=True)) == 1
    page.goto(f"{home}/data")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "ivan" not in text and "web:" not in text
    assert json.loads(text)["person"]["email"] == "b0@example.com"


# --- axe-core on the pages no other browser test opens -----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/deadlines",
        "/data-requests",
        "/jobs/{tester}/rediscover",
        "/jobs/{analyst}/wording",
        "/outbox/1",
        "/webhooks",
        "/suppressions",
    ],
)
def test_the_other_pages_pass_axe_under_the_policy(page: Any, site: Site, path: str) -> None:
    watch = Watch(page)
    path = path.format(tester=job_id(site, TESTER), analyst=job_id(site, ANALYST))
    sign_in(page, site.url, "ada", start=path)
    assert page.url.endswith(path), page.url
    checked(page, watch, "page" + path.replace("/", "-"))
