"""The settings pages in real Chromium: live checks as an admin types, axe-core, phone width.

Screenshots go to test-artifacts/ like the other browser tests'.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.users import add_user
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for

__all__ = ["page"]

PAGES = [
    "/settings",
    "/settings/reasons",
    "/settings/reasons/role-closed",
    "/settings/templates",
    "/settings/templates/en-rejection",
    "/settings/templates/layout",
]


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[tuple[str, Runtime]]:
    """The app with an admin, ada, and the embedded SMTP sink as the relay."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime = open_runtime(settings)
    users = runtime.users
    add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
    with serve(runtime) as url:
        yield url, runtime
    runtime.close()


def test_an_admin_sees_a_live_finding_fixes_the_template_and_saves_it(
    page: Any, site: tuple[str, Runtime]
) -> None:
    url, runtime = site
    sign_in(page, url, "ada")
    page.goto(f"{url}/settings/templates/en-rejection")
    source = page.get_by_label("Template source")
    builtin = source.input_value()
    findings = page.locator("#findings")

    source.fill(
        builtin.replace("Kind regards,", "Thanks from the {{ job_titel }} team.\n\nKind regards,")
    )
    findings.get_by_text("{{ job_titel }} is not a placeholder letters have").wait_for()
    assert "did you mean {{ job_title }}?" in findings.inner_text()
    assert page.url == f"{url}/settings/templates/en-rejection", "nothing was submitted"
    assert runtime.letter_settings.overrides().templates == {}, "nothing was saved"
    shot(page, "settings-template-finding")

    source.fill(
        builtin.replace("Kind regards,", "Thanks from the {{ job_title }} team.\n\nKind regards,")
    )
    findings.get_by_text("No problems found.").wait_for()
    page.locator("#preview").get_by_text("Thanks from the Sample Role team.").wait_for()
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/settings/templates/en-rejection?saved=1")
    assert page.get_by_role("status").inner_text().startswith("Saved.")
    saved = runtime.letter_settings.overrides().templates["letters/en/rejection.txt.j2"]
    assert "Thanks from the {{ job_title }} team." in saved
    shot(page, "settings-template-saved")


def test_a_reason_wording_is_checked_as_the_admin_types(
    page: Any, site: tuple[str, Runtime]
) -> None:
    url, _ = site
    sign_in(page, url, "ada")
    page.goto(f"{url}/settings/reasons/role-closed")
    page.get_by_label("English wording").fill("we were hoping for someone younger")
    page.locator("#findings").get_by_text("younger", exact=False).wait_for()
    shot(page, "settings-reason-finding")


@pytest.mark.parametrize("path", PAGES)
def test_the_settings_pages_have_no_serious_accessibility_violations(
    page: Any, site: tuple[str, Runtime], path: str
) -> None:
    url, _ = site
    sign_in(page, url, "ada")
    page.goto(f"{url}{path}")
    assert serious_violations(page) == []


def test_the_settings_pages_read_on_a_phone(page: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, url, "ada")
    for path in PAGES:
        page.goto(f"{url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
    shot(page, "settings-template-phone")
    page.goto(f"{url}/settings")
    page.get_by_role("button", name="Test the connection").click()
    assert page.get_by_role("status").inner_text().startswith("It works.")
    shot(page, "settings-smtp-phone")
