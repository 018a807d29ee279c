"""The candidate's journey in real Chromium, checked by axe-core on every portal page:
open the link → read the feedback → ask for more → keep me on file → download → delete.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.planning import queue_plan
from fairwell.worker.embedded import run_batch
from tests.browser import page, serious_violations, serve, shot
from tests.conftest import FixedClock, settings_for
from tests.helpers import import_and_reject_all
from tests.test_portal import ANN, GRETA, KEY, PORTAL_URL, approve_feedback_for, rows, token_of

__all__ = ["page"]


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[tuple[str, Runtime]]:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'portal.db'}", sink.port, secret_key=KEY, portal_url=PORTAL_URL
    )
    init_database(settings)
    runtime: Runtime = open_runtime(settings)
    runtime.clock = clock
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows(), clock.now())
    approve_feedback_for(runtime, ANN)
    batch = queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=clock.now())
    run_batch(make_deliverer(runtime), batch.batch_id)
    with serve(runtime) as url:
        yield url, runtime
    runtime.close()


def accessible(page: Any, name: str) -> None:
    assert serious_violations(page) == [], name
    shot(page, f"portal-{name}")


def test_a_candidate_reads_asks_consents_downloads_and_deletes(
    page: Any, site: tuple[str, Runtime], tmp_path: Path
) -> None:
    url, runtime = site
    home = f"{url}/p/{token_of(runtime, ANN)}"
    page.goto(home)
    assert page.get_by_role("heading", name="Hello Annabel").is_visible()
    assert page.get_by_text("Your SQL was careful and correct.", exact=False).is_visible()
    accessible(page, "overview")
    page.get_by_label("Practise window functions on a public data set").check()
    page.get_by_role("button", name="Save my ticks").click()
    assert "Your ticks are saved" in page.get_by_role("status").inner_text()

    page.get_by_role("link", name="Ask for more feedback").click()
    assert "thank you for your letter" in page.get_by_label("Your question").input_value()
    accessible(page, "ask")
    page.get_by_role("button", name="Send my question").click()
    assert "answer by 3 December 2026" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Back to your page").click()

    page.get_by_role("link", name="Keep me on file").click()
    accessible(page, "consent")
    page.get_by_role("button", name="Keep me on file until 26 November 2027").click()
    assert "until 26 November 2027" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Back to your page").click()

    page.get_by_role("link", name="Download my data").click()
    accessible(page, "download")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["person"]["email"] == ANN and len(document["consents"]) == 1
    assert document["feedback_requests"][0]["question"].startswith("Hello")

    page.goto(home)
    page.get_by_role("link", name="Delete my data").click()
    accessible(page, "delete")
    page.get_by_label("I understand that my data will be deleted").check()
    page.get_by_role("button", name="Delete my data").click()
    assert "Your data has been deleted" in page.get_by_role("status").inner_text()
    accessible(page, "deleted")
    page.goto(home)
    assert page.get_by_role("heading", name="This link does not work").is_visible()
    accessible(page, "invalid-link")


def test_the_german_pages_and_the_expired_link_page_pass_axe(
    page: Any, site: tuple[str, Runtime]
) -> None:
    url, runtime = site
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/p/{token_of(runtime, GRETA)}")
    assert page.get_by_role("heading", name="Guten Tag Greta Zauberberg").is_visible()
    accessible(page, "de-overview")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="Meine Bewerbung aufbewahren").click()
    accessible(page, "de-consent")
    page.goto(f"{url}/p/not-a-link")
    page.get_by_label("Email address").fill("someone@example.com")
    page.get_by_role("button", name="Send me a new link").click()
    assert "If this address belongs" in page.get_by_role("status").inner_text()
    accessible(page, "fresh-link-sent")


def test_a_candidate_near_the_end_of_their_consent_keeps_their_data_longer(
    page: Any, site: tuple[str, Runtime], clock: FixedClock
) -> None:
    url, runtime = site
    home = f"{url}/p/{token_of(runtime, ANN)}"
    page.goto(f"{home}")
    page.get_by_role("link", name="Keep me on file").click()
    page.get_by_role("button", name="Keep me on file until 26 November 2027").click()
    clock.advance(days=355)  # ten days before the consent ends: the renewal letter's moment
    page.goto(home)
    keep = page.get_by_role("button", name="Keep my data until 15 November 2028")
    assert keep.is_visible() and page.get_by_role("button", name="Delete my data now").is_visible()
    accessible(page, "renewal")
    keep.press("Enter")
    assert "until 15 November 2028" in page.get_by_role("status").inner_text()
    accessible(page, "renewed")
