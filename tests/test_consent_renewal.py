"""Consent renewal: a letter before a "keep me on file" consent ends, delivered to the real
sink once per consent; the portal keeps the data longer or deletes it now; no answer means
the retention run deletes it after the date the letter gave."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.mimeread import read_letter
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.consent_renewal import send_consent_renewals
from fairwell.services.planning import queue_plan
from fairwell.services.portal import PortalLinks
from fairwell.services.retention import run_retention
from fairwell.storage.tables import applications, consents, outbox, persons
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all

KEY = "renewal-key-" + "k" * 32
PORTAL_URL = "http://testserver/p"
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday: the rejections go out at once
KEEPS = "keeps@example.com"  # renews through the portal
LAPSES = "lapses@example.com"  # does not answer
ANNA = "anna@example.com"  # German, consent far from its end
ENDS = START + timedelta(days=200)  # KEEPS' and LAPSES' consents end on this day


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY, portal_url=PORTAL_URL)
    init_database(settings)
    wired = open_runtime(settings)
    clock = FixedClock(START)
    wired.clock = clock
    rows = [
        # No country policy of their own: the default one deletes.
        applicant(KEEPS, "Kim", "Keeps", country="NL"),
        applicant(LAPSES, "Lee", "Lapses", country="NL"),
        applicant(ANNA, "Anna", "Berg", locale="de", country="DE"),
    ]
    import_and_reject_all(wired.store, tmp_path / "a.csv", rows, START)
    batch = queue_plan(wired.store, wired.composer, "Data Analyst", actor="t", now=START)
    assert run_batch(make_deliverer(wired), batch.batch_id).sent == 3
    _consent(wired, {KEEPS: ENDS, LAPSES: ENDS, ANNA: START + timedelta(days=300)})
    yield wired
    wired.close()


def _consent(runtime: Runtime, until: dict[str, datetime]) -> None:
    """Consents as the portal records them (given on the day the letter arrived)."""
    with runtime.engine.begin() as conn:
        for email, ends in until.items():
            person_id, application_id = conn.execute(
                select(persons.c.id, applications.c.id)
                .join(applications, applications.c.person_id == persons.c.id)
                .where(persons.c.email == email)
            ).one()
            conn.execute(
                insert(consents).values(
                    person_id=person_id,
                    application_id=application_id,
                    purpose="talent-pool",
                    given_at=START,
                    until=ends,
                )
            )


def _at(runtime: Runtime, moment: datetime) -> None:
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.current = moment


def _deliver_renewals(runtime: Runtime) -> int:
    queued = send_consent_renewals(runtime, runtime.clock.now())
    with runtime.engine.connect() as conn:
        batches = set(
            conn.execute(
                select(outbox.c.batch_id).where(outbox.c.kind == "consent_renewal")
            ).scalars()
        )
    for batch_id in batches:
        run_batch(make_deliverer(runtime), batch_id)
    return queued


def _renewals_received(sink: MailSink) -> dict[str, str]:
    letters = {}
    for message in read_sink(sink.directory):
        letter = read_letter(message.data)
        subject = next(value for name, value in letter.headers if name.lower() == "subject")
        if "keep it or delete it" in subject or "aufbewahren oder" in subject:
            letters[message.rcpt_tos[0]] = " ".join(
                " ".join(text for _, text in letter.parts).split()
            )
    return letters


def _erased(runtime: Runtime, email: str) -> bool:
    with runtime.engine.connect() as conn:
        found = conn.execute(select(persons.c.id).where(persons.c.email == email)).first()
    return found is None


def _token(runtime: Runtime, email: str) -> str:
    job = runtime.store.job_by_title("Data Analyst")
    ref = next(
        v.application.ref for v in runtime.store.applicants(job.id) if v.person.email == email
    )
    return PortalLinks(PORTAL_URL, KEY).token(ref)


def _form(html: str, action: str) -> str:
    found = re.search(
        rf'action="[^"]*/{action}">\s*<input type="hidden" name="form" '
        r'value="([^"]+)"',
        html,
    )
    assert found, f"the page has a {action} form"
    return found.group(1)


def test_a_consent_near_its_end_is_asked_about_once_and_the_letter_is_delivered(
    runtime: Runtime, sink: MailSink
) -> None:
    _at(runtime, ENDS - timedelta(days=30))
    assert _deliver_renewals(runtime) == 0, "30 days before the end is outside the window"

    _at(runtime, ENDS - timedelta(days=10))
    assert _deliver_renewals(runtime) == 2
    received = _renewals_received(sink)
    assert set(received) == {KEEPS, LAPSES}, "not Anna, whose consent ends much later"
    text = received[KEEPS]
    assert "we keep your information until 14 June 2027" in text
    assert "If you do nothing, we delete it after 14 June 2027" in text
    assert "http://testserver/p/" in text, "the portal link keeps or deletes with one click"

    assert _deliver_renewals(runtime) == 0, "never twice"
    _at(runtime, ENDS - timedelta(days=2))
    assert _deliver_renewals(runtime) == 0, "never twice, however often the task runs"
    assert len(_renewals_received(sink)) == 2


def test_renewed_in_the_portal_stays_and_unanswered_is_deleted_after_its_date(
    runtime: Runtime, sink: MailSink
) -> None:
    _at(runtime, ENDS - timedelta(days=10))
    assert _deliver_renewals(runtime) == 2
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    base = f"/p/{_token(runtime, KEEPS)}"
    page = client.get(base)
    # The default policy: one consent lasts 365 days from the renewal (2028 is a leap year).
    assert "Keep my data until 3 June 2028" in page.text
    assert "Delete my data now" in page.text
    renewed = client.post(
        f"{base}/consent", data={"form": _form(page.text, "consent"), "choice": "renew"}
    )
    assert "We now keep your application on file until 3 June 2028" in renewed.text
    assert "Keep my data until" not in renewed.text, "renewing again would add nothing"

    _at(runtime, ENDS + timedelta(days=1))
    report = run_retention(runtime, None, dry_run=False)
    assert _erased(runtime, LAPSES), "no answer: deleted the day after the date in the letter"
    assert not _erased(runtime, KEEPS), "renewed: kept past the old date"
    assert not _erased(runtime, ANNA)
    assert report.counts["due"] == 1


def test_delete_now_from_the_renewal_erases_at_once(runtime: Runtime) -> None:
    _at(runtime, ENDS - timedelta(days=10))
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    base = f"/p/{_token(runtime, LAPSES)}"
    page = client.get(f"{base}/consent")
    deleted = client.post(
        f"{base}/delete", data={"form": _form(page.text, "delete"), "confirm": "yes"}
    )
    assert "Your data has been deleted" in deleted.text
    assert _erased(runtime, LAPSES)


def test_the_cli_lists_due_renewals_and_queues_them_once(runtime: Runtime) -> None:
    env = {"FAIRWELL_DATABASE_URL": runtime.settings.database_url}
    runner = CliRunner()
    # The CLI's clock is the real one: a consent ending in five days is due today.
    now = datetime.now(UTC)
    _consent(runtime, {ANNA: now + timedelta(days=5)})
    dry = runner.invoke(cli, ["retention", "renewals", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    found = json.loads(dry.output)
    assert (len(found["due"]), found["queued"]) == (1, 0)
    done = json.loads(runner.invoke(cli, ["retention", "renewals", "--json"], env=env).output)
    assert done["queued"] == 1
    again = json.loads(runner.invoke(cli, ["retention", "renewals", "--json"], env=env).output)
    assert (again["due"], again["queued"]) == ([], 0)


def test_a_german_candidate_is_asked_in_german_and_keeps_her_data_in_the_portal(
    runtime: Runtime, sink: MailSink
) -> None:
    anna_ends = START + timedelta(days=300)  # 22 September 2027
    _at(runtime, anna_ends - timedelta(days=10))
    assert _deliver_renewals(runtime) == 1, "only Anna's consent is near its end now"
    text = _renewals_received(sink)[ANNA]
    assert text.startswith("Guten Tag Anna Berg,")
    assert "Wir bewahren Ihre Angaben bis zum 22. September 2027 auf." in text
    assert "Wenn Sie nichts tun, löschen wir sie nach dem 22. September 2027." in text
    assert "Ihre persönliche Seite: http://testserver/p/" in text

    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    base = f"/p/{_token(runtime, ANNA)}"
    page = client.get(base)
    # One consent lasts 365 days from the renewal: 12 September 2027 + 365 days.
    assert "Meine Daten bis zum 11. September 2028 aufbewahren" in page.text
    assert "Meine Daten jetzt löschen" in page.text
    renewed = client.post(
        f"{base}/consent", data={"form": _form(page.text, "consent"), "choice": "renew"}
    )
    assert "Wir bewahren Ihre Bewerbung nun bis zum 11. September 2028 auf." in renewed.text

    _at(runtime, anna_ends + timedelta(days=1))
    run_retention(runtime, None, dry_run=False)
    assert not _erased(runtime, ANNA), "renewed: kept past the date in the letter"
