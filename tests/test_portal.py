"""The candidate portal over HTTP: each candidate reaches their own application with the link
in their letter, and nothing else. Attacks: tampered, expired, wrong-purpose and foreign
tokens, replayed forms, a scanner's GETs, and a flood of fresh-link requests."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, insert, select

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.model import FeedbackState, OutboxState
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.planning import queue_plan
from fairwell.services.portal import LETTER_LINK_SALT, SEPARATOR, PortalForms, PortalLinks
from fairwell.storage.tables import feedback, metadata
from fairwell.web.app import create_app
from fairwell.web.portal import HideTokens
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all

KEY = "portal-key-" + "k" * 32
OLD_KEY = "an-earlier-portal-key-" + "o" * 32
PORTAL_URL = "http://testserver/p"
ANN = "ann.quixote@example.com"
GRETA = "greta.zauberberg@example.com"
REX = "rex.nevermind@example.com"
STEPS = "Practise window functions on a public data set\nWrite up one analysis end to end"


def rows() -> list[dict[str, str]]:
    return [
        applicant(ANN, "Annabel", "Quixote", stage="onsite"),
        applicant(GRETA, "Greta", "Zauberberg", locale="de", country="DE"),
        # applied_at filled, as ATS exports do for every record: Rex still never applied.
        applicant(REX, "Rex", "Nevermind", source="referred", referred_by="Ann Q"),
    ]


def approve_feedback_for(runtime: Runtime, email: str) -> None:
    view = next(
        v
        for v in runtime.store.applicants(runtime.store.job_by_title("Data Analyst").id)
        if v.person.email == email
    )
    assert view.decision is not None
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        conn.execute(
            insert(feedback).values(
                decision_id=view.decision.id,
                state=FeedbackState.APPROVED.value,
                text="Your SQL was careful and correct.",
                next_steps=STEPS,
                lint_findings=0,
                created_at=now,
                updated_at=now,
            )
        )


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> Iterator[Runtime]:
    """Ann (applied, with approved feedback), Greta (German), Rex (referred, never applied):
    all rejected, their letters delivered to the sink."""
    settings = settings_for(
        database_url,
        sink.port,
        secret_key=KEY,
        portal_url=PORTAL_URL,
        secret_key_fallbacks=[OLD_KEY],
    )
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    import_and_reject_all(wired.store, tmp_path / "a.csv", rows(), clock.now())
    approve_feedback_for(wired, ANN)
    batch = queue_plan(wired.store, wired.composer, "Data Analyst", actor="t", now=clock.now())
    run_batch(make_deliverer(wired), batch.batch_id)
    yield wired
    wired.close()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)


def ref_of(runtime: Runtime, email: str) -> str:
    job = runtime.store.job_by_title("Data Analyst")
    return next(
        v.application.ref for v in runtime.store.applicants(job.id) if v.person.email == email
    )


def token_of(runtime: Runtime, email: str) -> str:
    return PortalLinks(PORTAL_URL, KEY).token(ref_of(runtime, email))


def token_in_letter(sink: MailSink, email: str) -> str:
    message = next(m for m in read_sink(sink.directory) if m.rcpt_tos == [email])
    unwrapped = message.data.decode("ascii").replace("=\r\n", "")
    found = re.search(r"http://testserver/p/(\S+)", unwrapped)
    assert found, "the letter carries a portal link"
    return found.group(1)


def form_of(html: str) -> str:
    found = re.search(r'name="form" value="([^"]+)"', html)
    assert found, "the page has a portal form"
    return found.group(1)


def row_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in metadata.tables.items()
        }


def test_the_link_in_the_letter_opens_the_letter_and_feedback_as_sent(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    page = client.get(f"/p/{token_in_letter(sink, ANN)}")
    assert page.status_code == 200
    assert "<h1>Hello Annabel</h1>" in page.text, "English letters and pages greet by first name"
    assert "We have decided not to move forward" in page.text, "the letter as sent"
    assert "Practise window functions" in page.text, "the next steps as a checklist"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert GRETA not in page.text and "Zauberberg" not in page.text


def test_a_german_letter_leads_to_german_pages(client: TestClient, runtime: Runtime) -> None:
    page = client.get(f"/p/{token_of(runtime, GRETA)}")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and "<h1>Guten Tag Greta Zauberberg</h1>" in page.text
    ask = client.get(f"/p/{token_of(runtime, GRETA)}/ask")
    assert "Mehr Feedback erbitten" in ask.text and "vielen Dank für Ihr Schreiben" in ask.text


def test_gets_by_a_mail_scanner_change_nothing(client: TestClient, runtime: Runtime) -> None:
    before = row_counts(runtime)
    base = f"/p/{token_of(runtime, REX)}"
    for path in ("", "/ask", "/consent", "/data", "/delete", "/not-applied", "/checklist"):
        client.get(base + path)
    client.get("/p/fresh-link")
    assert row_counts(runtime) == before


def test_asking_for_more_records_a_tracked_request_with_its_answer_date(
    client: TestClient, runtime: Runtime
) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    form = form_of(client.get(f"{base}/ask").text)
    asked = client.post(f"{base}/ask", data={"form": form, "question": "Which part was weak?"})
    assert asked.status_code == 200
    # Thursday 26 November 2026 plus five working days.
    assert "You can expect an answer by 3 December 2026" in asked.text
    [request] = runtime.request_store.all(open_only=True)
    assert request.email == ANN and request.question == "Which part was weak?"


def test_a_replayed_form_is_refused_and_changes_nothing_twice(
    client: TestClient, runtime: Runtime
) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    form = form_of(client.get(f"{base}/ask").text)
    assert client.post(f"{base}/ask", data={"form": form, "question": "Why?"}).status_code == 200
    replay = client.post(f"{base}/ask", data={"form": form, "question": "Why?"})
    assert replay.status_code == 409 and "already sent" in replay.text
    assert len(runtime.request_store.all(open_only=True)) == 1


def test_a_tampered_token_is_refused_like_an_unknown_one(
    client: TestClient, runtime: Runtime
) -> None:
    token = token_of(runtime, ANN)
    forged = token.replace(ref_of(runtime, ANN), ref_of(runtime, GRETA))
    unknown = PortalLinks(PORTAL_URL, KEY).token("FW-0000000000")
    answers = [client.get(f"/p/{bad}") for bad in (forged, unknown, token[:-2] + "xx")]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text.split('name="form"')[0] for a in answers}) == 1, "all read the same"
    assert "Annabel" not in answers[0].text and "Greta" not in answers[0].text


def test_an_expired_link_leads_to_the_fresh_link_page_in_the_letters_language(
    client: TestClient, runtime: Runtime
) -> None:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 91 * 86400

    old = LongAgo(KEY, salt=LETTER_LINK_SALT, sep=SEPARATOR).sign(ref_of(runtime, GRETA))
    page = client.get(f"/p/{old.decode()}")
    assert page.status_code == 410
    assert "Dieser Link ist abgelaufen" in page.text and "Neuen Link senden" in page.text
    assert "Greta" not in page.text, "an expired link shows nothing of the application"


@pytest.mark.parametrize("path", ["/p", "/p/", "/p/{token}/nothing-here", "/p/fresh-link"])
def test_a_wrong_portal_address_gets_the_candidates_page_not_the_staff_one(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    page = client.get(
        path.format(token=token_of(runtime, GRETA)), headers={"accept-language": "de"}
    )

    assert page.status_code in (404, 405)
    assert "Dieser Link funktioniert nicht" in page.text and "Neuen Link senden" in page.text
    assert "Sign in" not in page.text and "start page" not in page.text
    assert "Greta" not in page.text


def test_a_token_for_another_purpose_is_refused(client: TestClient, runtime: Runtime) -> None:
    ref = ref_of(runtime, ANN)
    form_as_link = PortalForms(KEY).issue(ref, "ask")
    assert client.get(f"/p/{form_as_link}").status_code == 404
    base = f"/p/{token_of(runtime, ANN)}"
    link_as_form = token_of(runtime, ANN)
    refused = client.post(f"{base}/ask", data={"form": link_as_form, "question": "Why?"})
    assert refused.status_code == 409
    assert runtime.request_store.all(open_only=True) == []


def test_a_form_for_one_action_does_not_work_for_another(
    client: TestClient, runtime: Runtime
) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    ask_form = form_of(client.get(f"{base}/ask").text)
    refused = client.post(f"{base}/delete", data={"form": ask_form, "confirm": "yes"})
    assert refused.status_code == 409
    assert client.get(base).status_code == 200, "nothing was erased"


def test_ann_cannot_use_gretas_form_or_see_gretas_data(
    client: TestClient, runtime: Runtime
) -> None:
    gretas_form = form_of(client.get(f"/p/{token_of(runtime, GRETA)}/ask").text)
    anns = f"/p/{token_of(runtime, ANN)}"
    refused = client.post(f"{anns}/ask", data={"form": gretas_form, "question": "Why?"})
    assert refused.status_code == 409
    download = client.post(f"{anns}/data", data={"form": form_of(client.get(f"{anns}/data").text)})
    assert download.status_code == 200
    assert ANN in download.text
    for other in (GRETA, "Zauberberg", REX, "Nevermind"):
        assert other not in download.text


def test_the_download_holds_applications_letters_feedback_and_audit_entries(
    client: TestClient, runtime: Runtime
) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    response = client.post(f"{base}/data", data={"form": form_of(client.get(f"{base}/data").text)})
    assert response.headers["content-disposition"].startswith("attachment;")
    document = response.json()
    assert document["person"]["email"] == ANN
    assert document["applications"][0]["ref"] == ref_of(runtime, ANN)
    assert "We have decided not to move forward" in document["letters"][0]["text"]
    assert document["feedback"][0]["next_steps"] == STEPS
    assert {"letter.sent", "privacy.requested"} <= {a["action"] for a in document["audit"]}
    assert [r["kind"] for r in document["privacy_requests"]] == ["access"]
    assert "Ann Q" not in response.text, "the referrer's name is not Ann's data"


def test_consent_states_the_date_the_retention_policy_gives(
    client: TestClient, runtime: Runtime
) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    page = client.get(f"{base}/consent")
    # Ann is in GB: one consent lasts 365 days from delivery (retention/policies.toml).
    assert "until 26 November 2027" in page.text, "delivered 26 November 2026, plus 365 days"
    given = client.post(f"{base}/consent", data={"form": form_of(page.text), "choice": "keep"})
    assert "We keep your application on file until 26 November 2027" in given.text
    withdrawn = client.post(
        f"{base}/consent", data={"form": form_of(given.text), "choice": "withdraw"}
    )
    assert "Your consent is withdrawn" in withdrawn.text


def test_ticks_are_stored_only_when_saved(client: TestClient, runtime: Runtime) -> None:
    base = f"/p/{token_of(runtime, ANN)}"
    page = client.get(base)
    assert "checked" not in page.text
    saved = client.post(f"{base}/checklist", data={"form": form_of(page.text), "step": ["1", "7"]})
    assert "Your ticks are saved" in saved.text
    assert 'value="1" checked' in client.get(base).text
    assert 'value="0" checked' not in client.get(base).text


def test_only_a_person_who_never_applied_is_offered_i_didnt_apply(
    client: TestClient, runtime: Runtime
) -> None:
    rex = f"/p/{token_of(runtime, REX)}"
    assert "I didn" in client.get(rex).text
    assert "I didn" not in client.get(f"/p/{token_of(runtime, ANN)}").text
    assert client.get(f"/p/{token_of(runtime, ANN)}/not-applied").status_code == 404
    removed = client.post(
        f"{rex}/not-applied", data={"form": form_of(client.get(f"{rex}/not-applied").text)}
    )
    assert "Your data has been deleted" in removed.text
    assert client.get(rex).status_code == 404


def test_a_referred_persons_pages_and_fresh_link_never_speak_of_their_application(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    rex = f"/p/{token_of(runtime, REX)}"
    pages = {path: client.get(f"{rex}{path}").text for path in ("", "/ask", "/data", "/delete")}
    consent = client.get(f"{rex}/consent").text
    pages["/consent"] = consent
    pages["/consent given"] = client.post(
        f"{rex}/consent", data={"form": form_of(consent), "choice": "keep"}
    ).text
    for path, html in pages.items():
        assert "application" not in html.casefold(), path
    assert "Your details with us" in pages[""]
    assert "We keep your details on file until" in pages["/consent given"]
    assert "your application" in client.get(f"/p/{token_of(runtime, ANN)}").text.casefold()

    client.post("/p/fresh-link", data={"form": fresh_link_form(client), "email": REX})
    queued = runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)
    assert [row.recipient for row in queued] == [REX]
    run_batch(make_deliverer(runtime), queued[0].batch_id)
    fresh = [m for m in read_sink(sink.directory) if b"new link" in m.data]
    assert len(fresh) == 1
    letter = message_from_bytes(fresh[0].data, policy=default)
    text = f"{letter['Subject']} {letter.get_body(('plain',)).get_content()}"  # type: ignore[union-attr]
    assert "personal page" in text and "application" not in text.casefold()


def test_links_signed_with_an_earlier_key_still_work_and_others_do_not(
    client: TestClient, runtime: Runtime
) -> None:
    ref = ref_of(runtime, ANN)
    assert client.get(f"/p/{PortalLinks(PORTAL_URL, OLD_KEY).token(ref)}").status_code == 200
    stranger = PortalLinks(PORTAL_URL, "s" * 40).token(ref)
    assert client.get(f"/p/{stranger}").status_code == 404


def fresh_link_form(client: TestClient) -> str:
    return form_of(client.get("/p/not-a-token").text)


def test_a_fresh_link_goes_to_a_known_address_and_reads_the_same_for_an_unknown_one(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    known = client.post("/p/fresh-link", data={"form": fresh_link_form(client), "email": ANN})
    unknown = client.post(
        "/p/fresh-link", data={"form": fresh_link_form(client), "email": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    queued = runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)
    assert [row.recipient for row in queued] == [ANN], "one fresh link, to the address on file"
    body = runtime.store.outbox_body(queued[0].id).decode("ascii").replace("=\r\n", "")
    token = re.search(r"http://testserver/p/(\S+)", body).group(1)  # type: ignore[union-attr]
    assert client.get(f"/p/{token}").status_code == 200
    run_batch(make_deliverer(runtime), queued[0].batch_id)
    delivered = [m for m in read_sink(sink.directory) if b"new link" in m.data]
    assert [m.rcpt_tos for m in delivered] == [[ANN]], "the worker delivers it, to Ann alone"


def test_a_flood_of_fresh_link_requests_is_limited_the_same_way_for_everyone(
    client: TestClient, runtime: Runtime
) -> None:
    answers = []
    for number in range(8):
        email = ANN if number % 2 else f"nobody{number}@example.com"
        answers.append(
            client.post("/p/fresh-link", data={"form": fresh_link_form(client), "email": email})
        )
    codes = [a.status_code for a in answers]
    assert codes == [200] * 5 + [429] * 3, "five an hour from one client"
    assert len({a.text for a in answers[:5]}) == 1 and len({a.text for a in answers[5:]}) == 1
    queued = runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)
    assert len(queued) == 2, "Ann's two requests within the limit; none for unknown addresses"


def test_web_processes_share_the_fresh_link_limit_through_the_database(
    runtime: Runtime, clock: FixedClock
) -> None:
    """Two web processes (two apps) over one database count the same requests."""
    first, second = (
        TestClient(create_app(runtime.settings, runtime), follow_redirects=False) for _ in range(2)
    )
    for _ in range(3):
        answer = first.post("/p/fresh-link", data={"form": fresh_link_form(first), "email": ANN})
        assert answer.status_code == 200
    refused = second.post("/p/fresh-link", data={"form": fresh_link_form(second), "email": ANN})
    assert refused.status_code == 429, "the second process knows the address was asked for"
    assert len(runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)) == 3
    clock.current += timedelta(hours=1, seconds=1)
    second.post("/p/fresh-link", data={"form": fresh_link_form(second), "email": ANN})
    assert len(runtime.store.outbox_rows(OutboxState.QUEUED, None, 99)) == 4, "an hour later"


def test_the_access_log_never_shows_a_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/p/FW-1234567890~abc~sig/ask", "1.1", 200),
        None,
    )
    HideTokens("/p").filter(record)
    assert "FW-1234567890" not in record.getMessage() and "/p/…/ask" in record.getMessage()
