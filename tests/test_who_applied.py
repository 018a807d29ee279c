"""Who applied: only `source` says so. Referred and sourced people get the referral-closed letter
and never read words that say they applied, whatever `applied_at` holds (ATS exports fill it
for every record: it is the day the record was made)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.eligibility import History, letter_kind_for
from fairwell.domain.model import (
    Application,
    Decision,
    Job,
    LetterKind,
    Person,
    Source,
    Stage,
)
from fairwell.errors import InvalidInput, TemplateCheckError
from fairwell.guard.applied_wording import applied_phrases
from fairwell.guard.roster import Roster, RosterEntry
from fairwell.ports import ApplicantView
from fairwell.rendering import LetterTemplates
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services.applicant_record import applicant_record
from fairwell.services.compose import Composer, Sender
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.portal import PortalLinks
from fairwell.services.requests import answer, receive
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

CREATED = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# What a letter may not say to someone who did not apply, looked for with plain substrings:
# code that shares nothing with guard/applied_wording.py.
APPLICANT_WORDS = (
    "for applying",
    "your application",
    "this application",
    "you applied",
    "ihre bewerbung",
    "ihrer bewerbung",
    "dieser bewerbung",
    "beworben haben",
)
# Extra values the kinds that tell no decision are composed with.
EXTRAS: dict[LetterKind, dict[str, object]] = {
    LetterKind.FEEDBACK_ANSWER: {"answer": "We looked again at the role's needs."},
    LetterKind.STATUS: {"promised_by": "15 January 2027"},
    LetterKind.ROLE_OPENED: {"kept_until": "26 May 2027"},
    LetterKind.CONSENT_RENEWAL: {"kept_until": "26 May 2027"},
}
EVERY_KIND_BUT_REJECTION = [kind for kind in LetterKind if kind is not LetterKind.REJECTION]


def application(source: Source, **changes: object) -> Application:
    fields: dict[str, object] = {
        "id": 1,
        "ref": "FW-0000000001",
        "job_id": 1,
        "person_id": 1,
        "stage": Stage.SCREEN,
        "source": source,
        "applied_at": CREATED,
        **changes,
    }
    return Application(**fields)  # type: ignore[arg-type]


def view_of(source: Source, locale: str = "en", **changes: object) -> ApplicantView:
    person = Person(1, "rex@example.com", "Rex", "Nevermind", locale)
    decision = Decision(1, 1, "position-filled", None, NOW)
    return ApplicantView(application(source, **changes), person, History(), decision)


def composer() -> Composer:
    links = PortalLinks("https://careers.example.com/p", "k" * 40)
    return Composer(LetterTemplates(), Sender("careers@acme.example", "", "Acme"), links)


def composed_text(view: ApplicantView, kind: LetterKind) -> tuple[str, tuple[str, ...]]:
    """The letter's subject and text as the reader sees them, and the rules that hold it."""
    roster = Roster([RosterEntry(1, view.person.email, view.person.full_name, ("FW-0000000001",))])
    letter = composer().compose(
        view, Job(1, "Data Analyst"), roster, NOW, kind=kind, extra=EXTRAS.get(kind)
    )
    message = message_from_bytes(letter.body, policy=default)
    body = message.get_body(("plain",))
    assert isinstance(body, Message)
    text = f"{message['Subject']}\n{body.get_content()}"
    return text.casefold(), tuple(f.rule for f in letter.findings)


# --- the choice of letter ---------------------------------------------------------------------


@pytest.mark.parametrize("source", [Source.REFERRED, Source.SOURCED])
@pytest.mark.parametrize("applied_at", [CREATED, None], ids=["applied_at-filled", "no-date"])
@pytest.mark.parametrize("aware", [True, False, None])
def test_a_referred_or_sourced_person_gets_the_referral_letter_whatever_the_dates_say(
    source: Source, applied_at: datetime | None, aware: bool | None
) -> None:
    found = application(source, applied_at=applied_at, referral_aware=aware)
    assert found.never_applied
    assert letter_kind_for(found) is LetterKind.REFERRAL_CLOSED


def test_a_person_who_applied_and_was_also_referred_gets_the_rejection() -> None:
    both = application(Source.APPLIED, referred_by="Carol Chen", referral_aware=True)
    assert not both.never_applied
    assert letter_kind_for(both) is LetterKind.REJECTION


def test_referral_awareness_changes_the_wording_of_the_referral_letter_only() -> None:
    aware, _ = composed_text(
        view_of(Source.REFERRED, referral_aware=True), LetterKind.REFERRAL_CLOSED
    )
    unaware, _ = composed_text(
        view_of(Source.REFERRED, referral_aware=False), LetterKind.REFERRAL_CLOSED
    )
    assert aware != unaware
    assert "as you may know, a member of our team suggested you" in aware
    assert "you may not have known" in unaware and "as you may know" not in unaware


def test_an_interviewed_referral_is_thanked_for_the_talks_not_told_it_was_not_assessed() -> None:
    # Nobody said whether they knew of the referral, but after a phone interview they did.
    talked = view_of(Source.SOURCED, referral_aware=None, stage=Stage.PHONE)

    text, _ = composed_text(talked, LetterKind.REFERRAL_CLOSED)

    assert "thank you for the time you spent speaking with us" in text
    assert "did not assess you" not in text and "for applying" not in text
    assert "you may not have known" not in text and "as you may know" in text


@pytest.mark.parametrize("locale", ["en", "de"])
def test_a_referral_nobody_looked_at_is_told_it_was_not_assessed(locale: str) -> None:
    untouched = view_of(Source.REFERRED, locale, stage=Stage.APPLIED)

    text, _ = composed_text(untouched, LetterKind.REFERRAL_CLOSED)

    assert ("did not assess you" if locale == "en" else "nicht beurteilt") in text


@pytest.mark.parametrize("locale", ["en", "de"])
def test_a_screened_referral_is_not_told_it_was_not_assessed(locale: str) -> None:
    # An ATS's "phone screening" is the screen stage: someone looked at them for the role.
    screened = view_of(Source.REFERRED, locale, stage=Stage.SCREEN)

    text, _ = composed_text(screened, LetterKind.REFERRAL_CLOSED)

    assert "assess" not in text and "beurteilt" not in text
    assert "thank you for the time" not in text and "vielen dank" not in text
    closed = "we will not be taking things further with you"
    assert closed in text if locale == "en" else "nicht weiterführen" in text


@pytest.mark.parametrize(
    ("country", "timezone", "en", "de"),
    [
        (None, None, "your email address and that you", "e-mail-adresse und dass"),
        ("DE", None, "the country you are in,", "das land, in dem sie sich befinden,"),
        (None, "Europe/Berlin", "the time zone you are in,", "die zeitzone, in der sie"),
        ("DE", "Europe/Berlin", "the country and time zone you are in,", "das land und die"),
    ],
)
@pytest.mark.parametrize("locale", ["en", "de"])
def test_the_referral_letter_says_it_held_only_what_is_on_file(
    locale: str, country: str | None, timezone: str | None, en: str, de: str
) -> None:
    # An ATS export without a country or a time zone column: the letter (a GDPR Article 14
    # notice) must not list them among what was held.
    view = view_of(Source.REFERRED, locale)
    person = Person(1, "rex@example.com", "Rex", "Nevermind", locale, country=country)
    view = ApplicantView(
        view.application, replace(person, timezone=timezone), History(), view.decision
    )

    text, _ = composed_text(view, LetterKind.REFERRAL_CLOSED)

    held = text[
        text.index("what we held about you:" if locale == "en" else "diese angaben") :
    ].split(".")[0]
    assert (en if locale == "en" else de) in held
    if country is None:
        assert "country" not in held and "land" not in held
    if timezone is None:
        assert "time zone" not in held and "zeitzone" not in held


# --- the words of every letter ----------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("kind", list(LetterKind), ids=str)
@pytest.mark.parametrize("source", [Source.REFERRED, Source.SOURCED])
def test_no_letter_a_referred_person_can_get_says_they_applied(
    kind: LetterKind, locale: str, source: Source
) -> None:
    if kind is LetterKind.REJECTION:
        kind = letter_kind_for(view_of(source).application)  # what they really get
    text, held_by = composed_text(view_of(source, locale, stage=Stage.ONSITE), kind)
    assert [words for words in APPLICANT_WORDS if words in text] == []
    assert held_by == ()


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("kind", list(LetterKind), ids=str)
def test_the_same_letters_to_an_applicant_still_speak_of_their_application(
    kind: LetterKind, locale: str
) -> None:
    """The check above could not pass by accident: the applicant's wording is still there."""
    if kind is LetterKind.REFERRAL_CLOSED:
        return  # only people who did not apply get it
    text, _ = composed_text(view_of(Source.APPLIED, locale), kind)
    assert any(words in text for words in APPLICANT_WORDS), text


def test_a_letter_to_a_referred_person_that_says_they_applied_is_held() -> None:
    """An answer typed by a hiring manager, or an edited template, can bring the words back."""
    view = view_of(Source.REFERRED)
    roster = Roster([RosterEntry(1, view.person.email, view.person.full_name, ())])
    letter = composer().compose(
        view,
        Job(1, "Data Analyst"),
        roster,
        NOW,
        kind=LetterKind.FEEDBACK_ANSWER,
        extra={"answer": "Your application was strong, but the role closed."},
    )
    assert [f.rule for f in letter.findings] == ["applied-wording"]
    assert "your application" in letter.findings[0].detail.casefold()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Thank you for applying for the role.", ["for applying"]),
        ("We kept your application on file.", ["your application"]),
        ("When you applied to Acme, you agreed.", ["you applied"]),
        ("Vielen Dank für Ihre Bewerbung.", ["Ihre Bewerbung"]),
        ("Als Sie sich bei Acme beworben haben, ...", ["Sie haben sich beworben"]),
        ("You did not apply, and we did not assess you.", []),
        ("You are welcome to apply for it at any time.", []),
        ("Sie haben sich nicht selbst beworben.", []),
        ("Sie können sich jederzeit gerne bewerben.", []),
    ],
)
def test_the_applied_wording_check_tells_saying_from_denying(text: str, said: list[str]) -> None:
    assert applied_phrases(text) == said


def test_a_template_that_thanks_a_referred_person_for_applying_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "letters" / "en"
    folder.mkdir(parents=True)
    (folder / "status.txt.j2").write_text(
        "{% block subject %}Your application{% endblock %}"
        "{% block body %}Dear {{ first_name }}, no decision yet.{% endblock %}",
        encoding="utf-8",
    )
    with pytest.raises(TemplateCheckError, match=r"status\.txt\.j2.*your application"):
        LetterTemplates(tmp_path / "templates").check()


def test_the_built_in_templates_word_every_letter_apart_for_people_who_did_not_apply() -> None:
    LetterTemplates().check(None)


# --- through the database, on SQLite and PostgreSQL ---------------------------------------------


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


ROWS = [
    applicant("ann@example.com", "Ann", "Applied"),
    applicant("both@example.com", "Bo", "Both", referred_by="Carol Chen", referral_aware="yes"),
    applicant("rex@example.com", "Rex", "Referred", source="referred", referred_by="Carol Chen"),
    applicant("rae@example.com", "Rae", "Aware", source="referred", referral_aware="yes"),
    applicant("sam@example.com", "Sam", "Sourced", source="sourced", locale="de", country="DE"),
]
NEVER_APPLIED = {"rex@example.com", "rae@example.com", "sam@example.com"}


def import_and_reject_everyone(runtime: Runtime, tmp_path: Path) -> datetime:
    """ROWS imported and everyone rejected (role closed), as a recruiter would; returns now."""
    now = runtime.clock.now()
    import_file(runtime.store, write_csv(tmp_path / "a.csv", ROWS), actor="t", now=now)
    reject(
        runtime.store,
        "Data Analyst",
        Selection(all_except_hired=True),
        "role-closed",
        note=None,
        actor="t",
        now=now,
    )
    return now


def letters_by_recipient(sink: MailSink) -> dict[str, str]:
    texts = {}
    for message in read_sink(sink.directory):
        parsed = message_from_bytes(message.data, policy=default)
        body = parsed.get_body(("plain",))
        assert isinstance(body, Message)
        texts[message.rcpt_tos[0]] = f"{parsed['Subject']}\n{body.get_content()}".casefold()
    return texts


def test_referred_and_sourced_people_with_dates_get_the_referral_letter_by_mail(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    assert all(row["applied_at"] for row in ROWS), "every record has a date, as in an ATS export"
    now = import_and_reject_everyone(runtime, tmp_path)
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", now)
    assert dict(plan.letters) == {"rejection": 2, "referral_closed": 3}

    batch = queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
    run_batch(make_deliverer(runtime), batch.batch_id)

    texts = letters_by_recipient(sink)
    assert set(texts) == {row["email"] for row in ROWS}
    for email, text in texts.items():
        said = [words for words in APPLICANT_WORDS if words in text]
        assert bool(said) is (email not in NEVER_APPLIED), (email, said)


def test_an_answer_telling_a_referred_person_about_their_application_is_refused(
    runtime: Runtime, tmp_path: Path
) -> None:
    now = import_and_reject_everyone(runtime, tmp_path)
    request = receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title("Data Analyst").id,
        "rex@example.com",
        "Why me?",
        business_days=5,
        actor="t",
        now=now,
    )
    check = wording_check(runtime.settings)

    with pytest.raises(InvalidInput, match="applied-wording"):
        answer(
            runtime.store,
            runtime.request_store,
            runtime.composer,
            check,
            request.id,
            "Your application was strong.",
            actor="t",
            now=now,
        )
    queued = answer(
        runtime.store,
        runtime.request_store,
        runtime.composer,
        check,
        request.id,
        "A colleague suggested you; the role has closed.",
        actor="t",
        now=now,
    )
    assert queued.batch_id


def test_the_applicant_page_dates_a_referral_as_a_referral_not_an_application(
    runtime: Runtime, tmp_path: Path
) -> None:
    now = runtime.clock.now()
    import_file(runtime.store, write_csv(tmp_path / "a.csv", ROWS), actor="t", now=now)
    records = runtime.applicant_records
    job = runtime.store.job_by_title("Data Analyst")
    ids = {v.person.email: v.application.id for v in runtime.store.applicants(job.id)}

    rex = [event.what for event in applicant_record(records, ids["rex@example.com"], None).timeline]
    ann = [event.what for event in applicant_record(records, ids["ann@example.com"], None).timeline]
    assert rex[0] == "Referred" and "Applied" not in rex
    assert ann[0] == "Applied"


def test_a_reimport_that_changes_who_applied_holds_the_queued_letter_at_send_time(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    now = import_and_reject_everyone(runtime, tmp_path)
    batch = queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
    # The ATS export says otherwise now: Ann was referred after all, Rex applied himself.
    changed = {"ann@example.com": "referred", "rex@example.com": "applied"}
    rows = [{**row, "source": changed.get(row["email"], row["source"])} for row in ROWS]
    import_file(runtime.store, write_csv(tmp_path / "b.csv", rows), actor="t", now=now)

    run_batch(make_deliverer(runtime), batch.batch_id)

    assert set(letters_by_recipient(sink)) == {row["email"] for row in ROWS} - set(changed)
    status = runtime.store.outbox_status(batch.batch_id, now)
    assert status.counts.get("held") == 2
