# ruff: noqa: F811 - the fixtures imported from test_web and test_portal are used by name
"""Issue 17 over HTTP: errors are pages, sessions end on the server, limits are shared and
keyed on the account, tokens are scoped and revocable, passwords are checked, templates
render under limits, every page carries a strict policy, and the counts reflect decisions."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from fairwell.domain.users import Role
from fairwell.errors import InvalidInput
from fairwell.runtime import Runtime
from fairwell.services.export import export_by_email
from fairwell.services.users import add_user
from fairwell.storage.tables import decisions
from fairwell.web.app import create_app
from tests.conftest import FixedClock
from tests.test_portal import ANN, form_of, token_of
from tests.test_portal import runtime as portal_runtime  # noqa: F401 - a fixture
from tests.test_web import PASSWORD, api_token, client, csrf_of, runtime, sign_in  # noqa: F401


def fresh_client(runtime: Runtime) -> TestClient:
    """Another browser, or another web process over the same database."""
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


# --- errors are pages in the layout; the API keeps JSON -----------------------------------------


def is_page(response: object) -> bool:
    text = getattr(response, "text", "")
    return text.startswith("<!DOCTYPE html>") and 'href="/static/fairwell.css"' in text


def test_an_unknown_job_or_an_unreadable_page_number_is_a_page_with_the_way_back(
    client: TestClient,
) -> None:
    sign_in(client)
    missing = client.get("/jobs/999")
    assert missing.status_code == 404 and is_page(missing)
    assert "Back to the jobs" in missing.text and "detail" not in missing.text
    unreadable = client.get("/jobs/1?page=abc")
    assert unreadable.status_code == 400 and is_page(unreadable)
    assert "page must be a whole number" in unreadable.text
    assert client.get("/api/jobs/999/plan", headers={"Accept": "*/*"}).status_code in (401, 404)
    nowhere = client.get("/no/such/page")
    assert nowhere.status_code == 404 and is_page(nowhere)


def test_a_hiring_manager_opening_the_plan_gets_a_page_that_says_whose_it_is(
    client: TestClient,
) -> None:
    sign_in(client, "henry")
    refused = client.get("/jobs/1/plan")
    assert refused.status_code == 403 and is_page(refused)
    assert "for recruiters and admins only" in refused.text


def test_a_mistyped_count_shows_the_plan_again_with_what_was_typed(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    refused = client.post("/jobs/1/send", data={"expected": "120", "typed": "12", "csrf": token})
    assert refused.status_code == 400 and is_page(refused)
    assert "type 120" in refused.text and 'value="12"' in refused.text
    assert "Send 120 letters" in refused.text, "the form is still there"


def test_a_stale_send_shows_the_new_plan_not_json(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    stale = client.post("/jobs/1/send", data={"expected": "5", "csrf": token})
    assert stale.status_code == 409 and is_page(stale)
    assert "the plan changed since you loaded it" in stale.text


def test_a_plan_that_went_stale_after_loading_is_refused_with_what_changed(
    client: TestClient, runtime: Runtime
) -> None:
    sign_in(client)
    page = client.get("/jobs/1/plan").text
    found = re.search(r'name="plan_id" value="(\d+)"', page)
    assert found and "120 letters composed and stored for it" in page
    with runtime.engine.begin() as conn:
        # Another recruiter changes one decision while this page is open.
        conn.execute(
            update(decisions)
            .where(decisions.c.id == select(func.min(decisions.c.id)).scalar_subquery())
            .values(reason_code="skills-mismatch")
        )
    form = {"expected": "120", "typed": "120", "plan_id": found.group(1), "csrf": csrf_of(page)}
    stale = client.post("/jobs/1/send", data=form)
    assert stale.status_code == 409 and is_page(stale)
    assert "the plan is stale: a decision changed since it was made" in stale.text
    assert "1 letter composed and stored for it" in stale.text, "only the changed letter"
    assert runtime.store.outbox_status().counts == {}, "nothing was queued"


def test_rejecting_with_nobody_ticked_keeps_the_form_as_it_was(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/jobs/1").text)
    form = {"reason": "skills-mismatch", "who": "ticked", "csrf": token}
    refused = client.post("/jobs/1/reject", data=form)
    assert refused.status_code == 400 and is_page(refused)
    assert "tick at least one person" in refused.text
    assert '<option value="skills-mismatch" selected>' in refused.text


def test_an_unknown_preview_address_is_a_page(client: TestClient) -> None:
    sign_in(client)
    missing = client.get("/jobs/1/preview", params={"email": "nobody@example.com"})
    assert missing.status_code == 404 and is_page(missing)
    assert "no letter to preview" in missing.text


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    sign_in(client)
    huge = client.post("/jobs/1/reject", data={"reason": "x" * 1_100_000})
    assert huge.status_code == 413 and "too much to send" in huge.text


# --- stages and counts reflect decisions --------------------------------------------------------


def test_jobs_count_the_rejected_and_the_stage_filter_finds_them(client: TestClient) -> None:
    sign_in(client)
    [job] = client.get("/api/jobs").json()
    assert job["stages"]["rejected"] == 120, "the fixture rejected everyone but the hired"
    page = client.get("/jobs/1?stage=rejected&size=25").text
    assert "120 applicants match" in page and page.count('<td class="name">') == 25


# --- sessions live on the server ------------------------------------------------------------------


def test_a_saved_cookie_stops_working_after_sign_out(client: TestClient, runtime: Runtime) -> None:
    sign_in(client)
    saved = dict(client.cookies)
    token = csrf_of(client.get("/jobs").text)
    client.post("/signout", data={"csrf": token})
    replay = fresh_client(runtime)
    replay.cookies.update(saved)
    assert replay.get("/jobs").headers["location"].startswith("/signin")


def test_sign_out_everywhere_ends_every_browser_of_the_account(
    client: TestClient, runtime: Runtime
) -> None:
    other = fresh_client(runtime)
    sign_in(client)
    sign_in(other)
    token = csrf_of(client.get("/account").text)
    client.post("/account/sign-out-everywhere", data={"csrf": token})
    assert other.get("/jobs").status_code == 303 and client.get("/jobs").status_code == 303


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    client: TestClient, runtime: Runtime
) -> None:
    other = fresh_client(runtime)
    sign_in(client)
    sign_in(other)
    token = csrf_of(client.get("/account").text)
    new = "quiet lanterns drift over seven harbours"
    weak = {"current_password": PASSWORD, "new_password": "password1234", "again": "password1234"}
    refused = client.post("/account/password", data={**weak, "csrf": token})
    assert refused.status_code == 400 and "breaches" in refused.text
    form = {"current_password": PASSWORD, "new_password": new, "again": new, "csrf": token}
    assert client.post("/account/password", data=form).status_code == 303
    assert client.get("/jobs").status_code == 200, "this browser stays signed in"
    assert other.get("/jobs").status_code == 303, "the other one is signed out"
    assert sign_in(fresh_client(runtime), password=new) == 303


# --- sign-in limits: the account, not the spelling; shared; never cleared by another ----------


def test_sign_in_limits_key_on_the_account_whatever_the_spelling(client: TestClient) -> None:
    for spelling in (" rita", "RITA ", "Rita", "rita\t", "rItA"):
        assert sign_in(client, spelling, "not the password, no") == 401
    assert sign_in(client, "rita") == 429


def test_another_accounts_success_does_not_clear_the_count(
    client: TestClient, runtime: Runtime
) -> None:
    for _ in range(4):
        sign_in(client, "rita", "not the password, no")
    assert sign_in(client, "henry") == 303, "henry's own sign-in works"
    assert sign_in(fresh_client(runtime), "rita", "not the password, no") == 401
    assert sign_in(fresh_client(runtime), "rita") == 429, "five failures, from any process"


# --- API tokens: revocable, optionally read-only ------------------------------------------------


def test_a_read_only_token_reads_and_a_revoked_one_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    reader = api_token(runtime, "rita", read_only=True)
    assert client.get("/api/jobs", headers=reader).status_code == 200
    write = client.post("/api/jobs/1/reject", json={"reason": "role-closed"}, headers=reader)
    assert write.status_code == 403 and write.json()["detail"] == "this token may only read"
    sign_in(client)
    token = csrf_of(client.get("/account").text)
    created = client.post("/account/tokens", data={"name": "ats sync", "csrf": token})
    shown = re.search(r'<code id="new-token">(fw_[^<]+)</code>', created.text)
    assert created.status_code == 201 and shown, "a new token is shown once"
    headers = {"Authorization": f"Bearer {shown.group(1)}"}
    assert client.get("/api/jobs", headers=headers).status_code == 200
    token_id = re.findall(r"/account/tokens/(\d+)/revoke", client.get("/account").text)[-1]
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf": token})
    assert client.get("/api/jobs", headers=headers).status_code == 401


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["password1234", "qwertyuiopasdf", "iloveyou12345", "a" * 20])
def test_common_leaked_and_patterned_passwords_are_refused(
    runtime: Runtime, clock: FixedClock, password: str
) -> None:
    users = runtime.users
    with pytest.raises(InvalidInput, match="password"):
        add_user(users, "paula", password, Role.RECRUITER, actor="t", now=clock.now())


# --- the policy on every response -------------------------------------------------------------


def test_every_page_has_a_strict_policy_and_raw_views_are_not_sniffed(
    client: TestClient,
) -> None:
    assert "default-src 'none'" in client.get("/signin").headers["content-security-policy"]
    sign_in(client)
    for path in ("/home", "/jobs", "/jobs/1", "/jobs/1/plan", "/outbox", "/api/docs"):
        policy = client.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
    source = client.get("/jobs/1/preview/source", params={"email": "p3@example.com"})
    assert source.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in source.headers["content-security-policy"]
    assert (
        "<style" not in client.get("/jobs/1").text and "<script>" not in client.get("/jobs/1").text
    )


def test_the_favicon_and_the_api_docs_come_from_the_app(client: TestClient) -> None:
    assert client.get("/favicon.ico").headers["location"] == "/static/favicon.svg"
    assert client.get("/static/favicon.svg").status_code == 200
    docs = client.get("/api/docs").text
    assert (
        "cdn" not in docs.lower() and "//" not in docs.replace("<!DOCTYPE", "").split("<body>")[0]
    )


# --- templates render under limits -------------------------------------------------------------

RUNAWAY = {
    "endless loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "a huge range": "{{ range(10**9)|length }}",
    "a huge string": "{{ 'x' * 100000000 }}",
}


@pytest.mark.parametrize("name", RUNAWAY)
def test_a_runaway_template_is_refused_with_a_clear_message(
    runtime: Runtime, clock: FixedClock, name: str
) -> None:
    add_user(runtime.users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
    admin = fresh_client(runtime)
    sign_in(admin, "ada")
    source = (
        "{% block subject %}Your application{% endblock %}{% block body %}Hello "
        f"{{{{ first_name }}}}. {RUNAWAY[name]}{{% endblock %}}"
    )
    token = csrf_of(admin.get("/settings/templates/en-rejection").text)
    form = {"source": source, "action": "save", "csrf": token}
    refused = admin.post("/settings/templates/en-rejection", data=form)
    assert refused.status_code == 400 and is_page(refused)
    assert "larger than a letter needs" in refused.text or "loops more than" in refused.text


def test_a_control_character_in_a_subject_is_refused_not_a_500(
    runtime: Runtime, clock: FixedClock
) -> None:
    add_user(runtime.users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
    admin = fresh_client(runtime)
    sign_in(admin, "ada")
    source = (
        "{% block subject %}Your\x0bapplication{% endblock %}{% block body %}Hello.{% endblock %}"
    )
    token = csrf_of(admin.get("/settings/templates/en-rejection").text)
    refused = admin.post(
        "/settings/templates/en-rejection", data={"source": source, "action": "save", "csrf": token}
    )
    assert refused.status_code == 400 and "control character" in refused.text


# --- the candidate's side ------------------------------------------------------------------------


def test_the_export_never_names_a_staff_account(
    portal_runtime: Runtime,
    clock: FixedClock,
) -> None:
    portal_runtime.store.audit("web:ivan", "scorecard.entered", "application", 1, {}, clock.now())
    document = export_by_email(portal_runtime.privacy, ANN, clock.now())
    text = json.dumps(document, default=str)
    assert "ivan" not in text and "web:" not in text
    assert {entry["actor"] for entry in document["audit"]} <= {
        "you",
        "the hiring team",
        "Fairwell (automatic)",
    }


def test_one_open_feedback_request_at_a_time_and_a_long_question_is_an_error(
    portal_runtime: Runtime,
) -> None:
    portal_client = fresh_client(portal_runtime)
    base = f"/p/{token_of(portal_runtime, ANN)}"
    form = form_of(portal_client.get(f"{base}/ask").text)
    too_long = portal_client.post(f"{base}/ask", data={"form": form, "question": "why " * 2000})
    assert too_long.status_code == 400 and "too long" in too_long.text
    assert "why why" in too_long.text, "what they wrote is kept"
    form = form_of(too_long.text)
    asked = portal_client.post(f"{base}/ask", data={"form": form, "question": "Which part?"})
    assert asked.status_code == 200
    again = portal_client.get(f"{base}/ask").text
    assert "Your question is open: we will answer by 3 December 2026" in again
    assert 'name="question"' not in again, "no second request while one is open"
    assert "Your question is open" in portal_client.get(base).text
    assert len(portal_runtime.request_store.all(open_only=True)) == 1
    policy = portal_client.get(base).headers["content-security-policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy
