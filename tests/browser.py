"""What every browser test shares: the app served on a real port, Chromium, axe-core, shots.

In CI a missing browser or axe-core fails loudly; on a laptop the tests skip and say why.
Import the ``page`` fixture into a test module (``from tests.browser import page``) and
serve the app with ``serve(runtime)``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from fairwell.runtime import Runtime, make_deliverer
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_forever

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


def need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What the browser refused or a script threw, per page: serious_violations reports it with
# axe-core's findings, so every page a test checks is also checked against the CSP.
_REFUSED: dict[int, list[str]] = {}


def _note_refusal(refused: list[str], message: Any) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        refused.append(f"csp: {message.text}")


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context()
        opened = context.new_page()
        refused = _REFUSED.setdefault(id(opened), [])
        opened.on("console", lambda message: _note_refusal(refused, message))
        opened.on("pageerror", lambda error: refused.append(f"script error: {error}"))
        yield opened
        _REFUSED.pop(id(opened), None)
        context.close()
        browser.close()


def sign_in(page: Any, site: str, username: str = "rita", start: str = "/jobs") -> None:
    """Open ``start`` signed out and sign in: the sign-in page brings the user back there."""
    page.goto(f"{site}{start}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, and anything the browser refused
    under the Content-Security-Policy (or a script threw) since the last check."""
    need(AXE.exists(), f"axe-core not installed at {AXE} (make installs it with npm)")
    # Evaluated through the DevTools protocol: the pages' Content-Security-Policy allows no
    # inline script, so a <script> tag with axe-core in it would be (rightly) refused.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;window.axe = axe;")
    result = page.evaluate("async () => await window.axe.run()")
    found = [
        f"{v['id']}: {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    refused = _REFUSED.get(id(page), [])
    found.extend(refused)
    refused.clear()
    return found


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextmanager
def serve(runtime: Runtime, mail_viewer: Path | None = None) -> Iterator[str]:
    """The real app on a real port with the delivery worker, as `fairwell serve` runs it
    (with ``mail_viewer``, as the demo serves it)."""
    port = _free_port()
    app = create_app(runtime.settings, runtime, mail_viewer=mail_viewer)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        stop.set()
        thread.join(timeout=10)
        worker.join(timeout=10)
