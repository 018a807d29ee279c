"""The outgoing webhooks' delivery log in real Chromium: admins only, axe-core, phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.domain.users import Role
from fairwell.runtime import (
    Runtime,
    init_database,
    make_deliverer,
    open_runtime,
)
from fairwell.services.planning import queue_plan
from fairwell.services.users import add_user
from fairwell.services.webhooks_out import deliver_due, subscribe
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD, page, serious_violations, serve, shot, sign_in
from tests.conftest import FixedClock, settings_for
from tests.fake_ats import Receiver, serving
from tests.helpers import import_and_reject_all, people

__all__ = ["page"]


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, sink: MailSink) -> Iterator[tuple[str, Runtime]]:
    """Three letters sent; a receiver that refused the first post and took the others."""
    settings = settings_for(f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key="k" * 40)
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = clock
    users = runtime.users
    add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
    with serving(Receiver(lambda n: 500 if n == 1 else 200)) as receiver:
        subscribe(
            runtime.webhook_store,
            f"{receiver.origin}/hook",
            "s" * 32,
            ["letter.sent"],
            actor="t",
            now=clock.now(),
            allow_http=True,
        )
        import_and_reject_all(runtime.store, tmp_path / "a.csv", people(3), clock.now())
        batch = queue_plan(
            runtime.store, runtime.composer, "Data Analyst", actor="t", now=clock.now()
        )
        run_batch(make_deliverer(runtime), batch.batch_id)
        poster = runtime.webhook_poster()
        deliver_due(runtime.webhook_store, poster, clock, "w1")
        poster.close()
    with serve(runtime) as url:
        yield url, runtime
    runtime.close()


def test_an_admin_reads_the_delivery_log_and_filters_it_by_state(
    page: Any, site: tuple[str, Runtime]
) -> None:
    url, _ = site
    sign_in(page, url, "ada")
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(f"{url}/webhooks")
    log = page.get_by_role("table", name="Delivery log")
    assert log.get_by_role("row").count() == 4  # the header and three deliveries
    assert log.get_by_text("delivered", exact=True).count() == 2
    assert "HTTP 500" in log.get_by_role("row").filter(has_text="retry").inner_text()
    shot(page, "webhooks-log")
    page.get_by_label("State").select_option("retry")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"{url}/webhooks?state=retry")
    assert page.get_by_role("table", name="Delivery log").get_by_role("row").count() == 2
    assert serious_violations(page) == []


def test_the_log_reads_on_a_phone(page: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, url, "ada")
    page.goto(f"{url}/webhooks")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the log scrolls sideways on a phone ({width}px)"
    shot(page, "webhooks-log-phone")


def test_the_log_is_for_admins_only(page: Any, site: tuple[str, Runtime]) -> None:
    url, _ = site
    sign_in(page, url, "rita")
    assert page.get_by_role("link", name="Webhooks").count() == 0
    response = page.goto(f"{url}/webhooks")
    assert response is not None and response.status == 403
