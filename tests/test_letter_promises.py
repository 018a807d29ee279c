"""What every letter tells a candidate, read from the bytes an SMTP sink received.

English letters use English capitalisation after the greeting (German keeps its own); every
letter has one Reply-To (FAIRWELL_REPLY_TO, else the sender) and says how to reply where
replying makes sense; a named sender signs, on the job or for the installation, and From
stays the organisation's. The referral-closed letter says what was held, where it came from,
until when it is kept (the day the retention run deletes on) and how to have it deleted now.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.model import LetterKind, Stage
from fairwell.domain.reasons import SUPPORTED_LOCALES
from fairwell.domain.users import Role
from fairwell.guard.privacy import Expectation, inspect
from fairwell.guard.roster import Roster
from fairwell.rendering import SAMPLE_CONTEXT, LetterTemplates
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.job_settings import set_sender
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.retention import load_book, run_retention
from fairwell.services.users import add_user
from fairwell.storage.tables import outbox
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, tamper_with_letter, write_csv
from tests.test_web import KEY, csrf_of, sign_in

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JOB = "Data Analyst"


def referred(email: str, first: str, last: str, aware: str, **fields: str) -> dict[str, str]:
    """Someone another person put in: no applied_at, so every rule gives the referral letter."""
    return applicant(
        email,
        first,
        last,
        source="referred",
        referred_by="Rowan Referrer",
        referral_aware=aware,
        applied_at="",
        **fields,
    )


ROWS = [
    applicant("ann@example.com", "Ann", "Archer"),
    applicant("bert@example.com", "Bert", "Brandt", locale="de", country="DE"),
    referred("rae@example.com", "Rae", "Aware", "yes"),
    referred("ned@example.com", "Ned", "Unaware", "no"),
    referred("una@example.com", "Una", "Unknown", ""),
    referred("ria@example.com", "Ria", "Deutsch", "no", locale="de", country="DE"),
    applicant(
        "sol@example.com", "Sol", "Sourced", source="sourced", applied_at="", referral_aware=""
    ),
]


@pytest.fixture
def wired(request: pytest.FixtureRequest, database_url: str, sink: MailSink) -> Iterator[Runtime]:
    extra = getattr(request, "param", {})
    settings = settings_for(database_url, sink.port, **extra)
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = FixedClock(NOW)
    try:
        yield runtime
    finally:
        runtime.close()


def send_all(runtime: Runtime, tmp_path: Path, rows: list[dict[str, str]] = ROWS) -> None:
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, NOW)
    plan = make_plan(runtime.store, runtime.composer, JOB, NOW)
    assert plan.blocked == [], plan.blocked
    batch = queue_plan(
        runtime.store, runtime.composer, JOB, actor="t", now=NOW, expected=plan.ready
    )
    assert run_batch(make_deliverer(runtime), batch.batch_id).sent == len(rows)


def received(sink: MailSink) -> dict[str, tuple[dict[str, list[str]], str]]:
    """Each recipient's headers (every value of each name) and text, as the sink got them."""
    found = {}
    for message in read_sink(sink.directory):
        parsed = message_from_bytes(message.data, policy=default)
        headers: dict[str, list[str]] = {}
        for name, value in parsed.items():
            headers.setdefault(name.lower(), []).append(str(value))
        body = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        text = body.replace("\r\n", "\n")
        found[message.rcpt_tos[0]] = (headers, text)
    return found


def text_of(sink: MailSink, email: str) -> str:
    return " ".join(received(sink)[email][1].split())


# --- capitalisation, read from every rendered letter ---------------------------------------


@pytest.mark.parametrize("kind", list(LetterKind))
def test_an_english_letter_starts_its_first_sentence_with_a_capital(kind: LetterKind) -> None:
    for context in ({**SAMPLE_CONTEXT}, {**SAMPLE_CONTEXT, "referral_aware": False}):
        text = LetterTemplates().render(kind.value, "en", context).text
        greeting, first = text.split("\n\n", 2)[:2]
        assert greeting.startswith("Dear ") and first[0].isupper(), (kind, first[:30])


def test_a_german_letter_keeps_the_lower_case_after_the_greetings_comma() -> None:
    text = LetterTemplates().render("rejection", "de", {**SAMPLE_CONTEXT, "locale": "de"}).text
    assert text.split("\n\n")[1].startswith("vielen Dank für Ihre Bewerbung")


# --- Reply-To and the reply line, from the sink ---------------------------------------------


def test_every_letter_has_one_reply_to_the_sender_and_says_how_to_reply(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path)
    for email, (headers, _) in received(sink).items():
        assert headers["reply-to"] == ["Acme <careers@acme.example.com>"], email
        assert headers["to"] == [headers["to"][0]] and "cc" not in headers
    assert "more feedback on your application, simply reply to this email" in text_of(
        sink, "ann@example.com"
    )
    assert "antworten Sie einfach auf diese E-Mail" in text_of(sink, "bert@example.com")
    assert "personal page" not in text_of(sink, "ann@example.com"), "no portal configured"


@pytest.mark.parametrize("wired", [{"reply_to": "talent@acme.example.com"}], indirect=True)
def test_fairwell_reply_to_names_where_replies_go(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path, ROWS[:1])
    headers, _ = received(sink)["ann@example.com"]
    assert headers["reply-to"] == ["Acme <talent@acme.example.com>"]
    assert headers["from"] == ["Acme <careers@acme.example.com>"]


def test_the_guard_accepts_one_reply_to_and_holds_a_letter_whose_replies_go_to_two(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    import_and_reject_all(wired.store, tmp_path / "a.csv", ROWS[:2], NOW)
    batch = queue_plan(wired.store, wired.composer, JOB, actor="t", now=NOW, expected=2)
    tamper_with_letter(
        wired.engine,
        last=True,
        old=b"Reply-To: Acme <careers@acme.example.com>",
        new=b"Reply-To: careers@acme.example.com, boss@acme.example.com",
    )
    stats = run_batch(make_deliverer(wired), batch.batch_id)
    assert (stats.sent, stats.held) == (1, 1)
    with wired.engine.connect() as conn:
        rules = set(conn.execute(select(outbox.c.held_rule)).scalars())
    assert rules == {None, "one-recipient"}


def test_the_guard_reads_the_reply_to_the_composer_writes() -> None:
    letter = OutgoingLetter(
        sender=Mailbox("careers@acme.example.com", "Acme"),
        recipient=Mailbox("ann@example.com", "Ann Archer"),
        subject="Your application",
        text="Dear Ann,\n\nThank you for your application and your time with us.\n",
        html="<p>Dear Ann,</p>",
        locale="en",
        message_id="<1@acme.example.com>",
        date=NOW,
        reply_to=Mailbox("talent@acme.example.com", "Acme"),
    )
    raw = to_bytes(letter)
    assert raw.count(b"\r\nReply-To: Acme <talent@acme.example.com>\r\n") == 1
    expectation = Expectation("ann@example.com", 1, "en", Stage.SCREEN, Roster([]))
    assert inspect(raw, expectation) == []


# --- who signs -------------------------------------------------------------------------------


@pytest.mark.parametrize("wired", [{"sender_name": "Dana Smith, Talent team"}], indirect=True)
def test_a_named_sender_signs_and_a_job_can_name_its_own_while_from_stays_the_team(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    import_and_reject_all(wired.store, tmp_path / "a.csv", ROWS[:2], NOW)
    job = wired.store.job_by_title(JOB)
    assert wired.composer.signer(job) == "Dana Smith, Talent team"
    set_sender(wired.store, job.id, "  Hana   Hiring ", "t", NOW)
    batch = queue_plan(wired.store, wired.composer, JOB, actor="t", now=NOW, expected=2)
    run_batch(make_deliverer(wired), batch.batch_id)
    headers, text = received(sink)["ann@example.com"]
    assert "Kind regards,\nHana Hiring\nAcme\n" in text
    assert headers["from"] == ["Acme <careers@acme.example.com>"]
    assert "Mit freundlichen Grüßen\nHana Hiring\nAcme\n" in received(sink)["bert@example.com"][1]


def test_without_a_named_sender_the_organisation_signs_alone(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path, ROWS[:1])
    assert "Kind regards,\nAcme\n\nYour reference" in received(sink)["ann@example.com"][1]


def test_the_cli_sets_and_clears_a_jobs_sender_and_refuses_a_line_break(tmp_path: Path) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    runner = CliRunner()
    csv_path = write_csv(tmp_path / "a.csv", ROWS[:1])
    for args in (["init"], ["import", str(csv_path)]):
        assert runner.invoke(app, args, env=env).exit_code == 0
    named = runner.invoke(app, ["job", "sender", "--job", JOB, "--name", "Dana Smith"], env=env)
    assert named.exit_code == 0 and "signed by Dana Smith (set on the job)" in named.stdout
    bad = runner.invoke(app, ["job", "sender", "--job", JOB, "--name", "Dana\x07"], env=env)
    assert bad.exit_code == 1 and "cannot be printed" in bad.stderr
    cleared = runner.invoke(app, ["job", "sender", "--job", JOB, "--clear"], env=env)
    assert "signed by Example Corp (the installation's default)" in cleared.stdout
    closed = runner.invoke(app, ["job", "close", "--job", JOB], env=env)
    assert closed.exit_code == 0
    again = runner.invoke(app, ["job", "close", "--job", JOB], env=env)
    assert again.exit_code == 1 and "already closed" in again.stderr
    assert runner.invoke(app, ["job", "reopen", "--job", JOB], env=env).exit_code == 0


def test_a_recruiter_names_the_jobs_sender_and_closes_it_on_the_job_page(
    wired: Runtime, tmp_path: Path
) -> None:
    settings = wired.settings.model_copy(update={"secret_key": KEY})
    users = wired.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=NOW)
    add_user(users, "hank", PASSWORD, Role.HIRING_MANAGER, actor="t", now=NOW)
    import_and_reject_all(wired.store, tmp_path / "a.csv", ROWS[:1], NOW)
    job = wired.store.job_by_title(JOB)
    client = TestClient(create_app(settings, wired), follow_redirects=False)
    sign_in(client, "rita")
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200 and 'name="sender_name"' in page.text
    assert "Empty: Acme." in page.text
    forged = client.post(f"/jobs/{job.id}/settings", data={"sender_name": "X", "csrf": "no"})
    assert forged.status_code == 403
    token = csrf_of(page.text)
    saved = client.post(
        f"/jobs/{job.id}/settings", data={"sender_name": "Dana Smith", "csrf": token}
    )
    assert saved.status_code == 303
    assert wired.store.job_by_id(job.id).sender_name == "Dana Smith"
    closed = client.post(
        f"/jobs/{job.id}/settings",
        data={"sender_name": "Dana Smith", "closed": "on", "csrf": token},
    )
    assert closed.status_code == 303 and wired.store.job_by_id(job.id).closed_at is not None
    shown = client.get(f"/jobs/{job.id}").text
    assert 'value="Dana Smith"' in shown and "Closed on" in shown
    bad = client.post(f"/jobs/{job.id}/settings", data={"sender_name": "Dana\x07", "csrf": token})
    assert bad.status_code == 400 and wired.store.job_by_id(job.id).sender_name == "Dana Smith"
    client.cookies.clear()
    sign_in(client, "hank")
    refused = client.post(f"/jobs/{job.id}/settings", data={"sender_name": "Hank", "csrf": token})
    assert refused.status_code == 403, "hiring managers read the job; recruiters set it"
    assert wired.store.job_by_id(job.id).sender_name == "Dana Smith"


# --- the referral-closed letter ---------------------------------------------------------------


def test_the_referral_letter_says_what_was_held_where_from_until_when_and_how_to_delete(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path)
    ned = text_of(sink, "ned@example.com")
    assert "A member of our team suggested you for the Data Analyst role at Acme" in ned
    assert "you may not have known" in ned
    assert "your name and your email address" in ned
    assert "We keep these details until 27 May 2027, and delete them after that date." in ned
    assert "If you would like us to delete them now, simply reply to this email." in ned
    assert "Rowan" not in ned, "never the referrer's name unless the organisation says so"
    assert "thank you for applying" not in ned.lower()
    rae = text_of(sink, "rae@example.com")
    assert rae.startswith("Dear Rae, As you may know, a member of our team suggested you")
    assert "you may not have known" not in rae
    assert "you may not have known" in text_of(sink, "una@example.com"), "unknown: not aware"
    sol = text_of(sink, "sol@example.com")
    assert "came across your professional profile" in sol
    ria = text_of(sink, "ria@example.com")
    assert "eine Person aus unserem Team hat Sie für die Stelle als Data Analyst" in ria
    assert "bis zum 27. Mai 2027 auf und löschen sie danach" in ria
    assert "Wenn wir sie schon jetzt löschen sollen, antworten Sie einfach" in ria


def test_the_referral_letters_date_is_the_day_the_retention_run_deletes_on(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path, ROWS[3:4])
    promised = re.search(r"until (\d+ \w+ \d{4})", text_of(sink, "ned@example.com"))
    assert promised and promised.group(1) == "27 May 2027"
    with wired.engine.connect() as conn:
        (stored,) = conn.execute(select(outbox.c.keep_until)).scalars()
    assert stored == datetime(2027, 5, 27).date(), "stored as the letter's promise"
    clock = wired.clock
    assert isinstance(clock, FixedClock)
    clock.current = datetime(2027, 5, 27, 23, 0, tzinfo=UTC)
    assert run_retention(wired, None, dry_run=False).due == []
    clock.current += timedelta(days=1)
    (due,) = run_retention(wired, None, dry_run=False).due
    assert due.keep_until == stored and due.rule is not None and due.rule.name == "LETTER"
    assert load_book(None).policy_for("GB").keep_days == 182


@pytest.mark.parametrize("wired", [{"letters_name_referrer": True}], indirect=True)
def test_an_organisation_can_name_the_referrer_in_the_referral_letter(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path, ROWS[2:4])
    assert "As you may know, Rowan Referrer, a member of our team, suggested you" in text_of(
        sink, "rae@example.com"
    )
    assert "Rowan Referrer, a member of our team, suggested you" in text_of(sink, "ned@example.com")


@pytest.mark.parametrize(
    "wired", [{"portal_url": "https://careers.acme.example/p", "secret_key": KEY}], indirect=True
)
def test_with_a_portal_the_letters_offer_the_personal_page_beside_a_reply(
    wired: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    send_all(wired, tmp_path, ROWS[:1] + ROWS[3:4])
    assert "simply reply to this email or ask on your personal page below" in text_of(
        sink, "ann@example.com"
    )
    assert "simply reply to this email or use your personal page below" in text_of(
        sink, "ned@example.com"
    )


def test_every_locale_renders_every_kind_with_a_named_sender() -> None:
    for locale in SUPPORTED_LOCALES:
        for kind in LetterKind:
            context = {**SAMPLE_CONTEXT, "locale": locale, "signed_by_person": True}
            text = LetterTemplates().render(kind.value, locale, context).text
            assert f"{SAMPLE_CONTEXT['sender_name']}\nExample Corp\n" in text, (kind, locale)
