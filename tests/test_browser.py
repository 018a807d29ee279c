"""The recruiter's pages in real Chromium (Debian's, driven by Playwright), checked by axe-core.

In CI a missing browser or axe-core fails loudly; on a laptop these tests skip and say why.
Screenshots of the main pages are saved to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.users import add_user
from fairwell.storage.users_store import SqlUserStore
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_forever
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, people, write_csv

ROOT = Path(__file__).parent.parent
AXE = ROOT / ".webtools" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("FAIRWELL_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[str]:
    """The real app on a real port with the delivery worker, as `fairwell serve` runs it:
    one job of 61 applicants, one recruiter, and the embedded SMTP sink."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime: Runtime = open_runtime(settings)
    rows = [*people(60), applicant("hana@example.com", "Hana", "Hired", stage="hired")]
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=clock.now())
    add_user(
        SqlUserStore(runtime.store.engine),
        "rita",
        PASSWORD,
        Role.RECRUITER,
        actor="t",
        now=clock.now(),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, runtime), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop = threading.Event()
    worker = threading.Thread(
        target=run_forever, args=(make_deliverer(runtime), stop), kwargs={"poll_seconds": 0.2}
    )
    worker.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    stop.set()
    thread.join(timeout=10)
    worker.join(timeout=10)
    runtime.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    _need(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()


def sign_in(page: Any, site: str) -> None:
    page.goto(f"{site}/jobs")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site}/jobs")


def serious_violations(page: Any) -> list[str]:
    _need(AXE.exists(), f"axe-core not installed at {AXE} (make installs it with npm)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run()")
    return [
        f"{v['id']}: {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_recruiter_signs_in_opens_a_job_and_filters_its_pipeline(page: Any, site: str) -> None:
    sign_in(page, site)
    assert page.get_by_role("link", name="Data Analyst").is_visible()
    shot(page, "jobs")
    page.get_by_role("link", name="Data Analyst").click()
    assert page.get_by_text("61 applicant(s), page 1 of 2").is_visible()
    page.get_by_label("Stage").select_option("hired")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_text("1 applicant(s)").is_visible()
    assert page.get_by_role("cell", name="Hana Hired").is_visible()
    shot(page, "pipeline")


def test_a_wrong_password_shows_an_error_and_stays_signed_out(page: Any, site: str) -> None:
    page.goto(f"{site}/signin")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    page.goto(f"{site}/jobs")
    assert page.url.endswith("/signin")


def test_a_recruiter_rejects_confirms_and_watches_the_letters_go(
    page: Any, site: str, sink: MailSink
) -> None:
    sign_in(page, site)
    page.goto(f"{site}/jobs/1")
    page.get_by_text("Reject applicants").click()
    page.get_by_label("Reason").select_option("position-filled")
    page.get_by_role("button", name="Reject and see the send plan").click()
    page.wait_for_url(f"{site}/jobs/1/plan")
    assert page.get_by_role("button", name="Send 60 letter(s)").is_visible()
    assert serious_violations(page) == []
    shot(page, "plan")
    page.get_by_label("Type 60 to confirm").fill("60")
    page.get_by_role("button", name="Send 60 letter(s)").click()
    page.wait_for_url(f"{site}/batches/1")
    page.get_by_text("60 of 60").wait_for(timeout=30_000)
    assert page.locator("#percent").inner_text() == "100%"
    assert serious_violations(page) == []
    shot(page, "batch")
    assert len(read_sink(sink.directory)) == 60


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
