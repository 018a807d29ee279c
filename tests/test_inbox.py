"""Mail that talks back: replies become requests, bounces are heard, the rest is kept unanswered.

Each test drops real messages (as mail clients and Postfix write them) into a Maildir and runs
one fetch against the real store, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fairwell.delivery.inbox import MaildirInbox
from fairwell.delivery.sink import MailSink
from fairwell.domain.model import OutboxState
from fairwell.domain.requests import due_date
from fairwell.domain.retention import Rule
from fairwell.runtime import (
    Runtime,
    init_database,
    make_deliverer,
    open_runtime,
)
from fairwell.services import inbox as service
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.retention import load_book, retention_schedule
from fairwell.services.suppressions import suppress, suppressions, unsuppress
from fairwell.storage.retention_store import SqlRetentionStore
from fairwell.storage.tables import inbound_messages, outbox
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people, write_csv
from tests.inbound_mail import (
    delivery_report,
    drop,
    exim_bounce,
    malformed_report,
    reply,
    waiting,
    with_attachments,
)

JOB = "Data Analyst"


@pytest.fixture
def runtime(
    database_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    yield from written_to(database_url, sink, clock, tmp_path)


def written_to(
    database_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    """Pat Doe0, Doe1 and Doe2 were each sent a rejection letter."""
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    import_and_reject_all(wired.store, tmp_path / "a.csv", people(3), clock.now())
    batch = queue_plan(wired.store, wired.composer, JOB, actor="t", now=clock.now())
    run_batch(make_deliverer(wired), batch.batch_id)
    yield wired
    wired.close()


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "Maildir"


def fetch(runtime: Runtime, maildir: Path) -> service.FetchCounts:
    drop(maildir)  # a Maildir exists even when nothing arrived
    policy = service.InboxPolicy(business_days=5, actor="test")
    return service.fetch(MaildirInbox(maildir), runtime.inbox_store, policy, runtime.clock.now)


def letter_id(runtime: Runtime, email: str) -> str:
    with runtime.engine.connect() as conn:
        query = select(outbox.c.message_id).where(outbox.c.recipient == email)
        return str(conn.execute(query).scalar_one())


def ref_of(runtime: Runtime, email: str) -> str:
    job = runtime.store.job_by_title(JOB)
    return next(
        v.application.ref for v in runtime.store.applicants(job.id) if v.person.email == email
    )


def requests_of(runtime: Runtime) -> dict[str, list[str]]:
    """Open requests: the candidate's address and the question they asked."""
    found: dict[str, list[str]] = {}
    for record in runtime.request_store.all(open_only=True):
        found.setdefault(record.email, []).append(record.question)
    return found


def stored(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(inbound_messages).order_by(inbound_messages.c.id))
        return [dict(row._mapping) for row in rows]


# --- replies ------------------------------------------------------------------------------------


def test_a_reply_to_a_letter_opens_a_request_with_the_candidates_own_words(
    runtime: Runtime, maildir: Path, clock: FixedClock
) -> None:
    drop(maildir, reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")))
    counts = fetch(runtime, maildir)
    assert counts.as_json() == {
        "replies": 1,
        "requests_created": 1,
        "bounces": 0,
        "auto_replies": 0,
        "unmatched": 0,
    }
    [request] = runtime.request_store.all(open_only=True)
    assert request.email == "p0@example.com"
    assert request.question == "Could you tell me why I was not selected?", (
        "the quoted letter and the signature are not their words"
    )
    assert request.due_at == due_date(clock.now(), 5)
    assert waiting(maildir) == (0, 1), "handled: moved from new/ to cur/"
    assert next((maildir / "cur").iterdir()).name.endswith(":2,S")


def test_a_second_reply_joins_the_request_already_open(runtime: Runtime, maildir: Path) -> None:
    first = letter_id(runtime, "p0@example.com")
    drop(maildir, reply(sender="p0@example.com", in_reply_to=first))
    fetch(runtime, maildir)
    drop(maildir, reply(sender="p0@example.com", in_reply_to=first, text="Any news?"))
    counts = fetch(runtime, maildir)
    assert (counts.replies, counts.requests_created) == (1, 0)
    assert len(requests_of(runtime)["p0@example.com"]) == 1
    [request] = runtime.request_store.all(open_only=True)
    thread = runtime.inbox_store.thread(request.id)
    assert [message.text for message in thread] == [
        "Could you tell me why I was not selected?",
        "Any news?",
    ]


def test_a_german_reply_loses_its_quote_and_greeting_too(runtime: Runtime, maildir: Path) -> None:
    text = "Können Sie mir sagen, woran es lag?"
    message = reply(
        sender="p1@example.com",
        in_reply_to=letter_id(runtime, "p1@example.com"),
        text=text,
        signature="Mit freundlichen Grüßen\nPat Doe",
        subject="AW: Ihre Bewerbung",
    )
    drop(maildir, message)
    fetch(runtime, maildir)
    assert requests_of(runtime) == {"p1@example.com": [text]}


def test_a_reply_without_thread_headers_is_matched_by_the_reference_it_quotes(
    runtime: Runtime, maildir: Path
) -> None:
    ref = ref_of(runtime, "p2@example.com")
    drop(maildir, reply(sender="p2@example.com", subject=f"About my application {ref}"))
    counts = fetch(runtime, maildir)
    assert counts.requests_created == 1
    assert list(requests_of(runtime)) == ["p2@example.com"]


def test_a_reply_with_only_the_senders_address_matches_their_one_application(
    runtime: Runtime, maildir: Path
) -> None:
    drop(maildir, reply(sender="P1@Example.com", subject="A question", quoted=False))
    counts = fetch(runtime, maildir)
    assert counts.requests_created == 1
    assert list(requests_of(runtime)) == ["p1@example.com"]


def test_a_sender_with_letters_for_two_applications_and_no_clue_is_unmatched(
    runtime: Runtime, maildir: Path, tmp_path: Path, clock: FixedClock
) -> None:
    second = applicant("p0@example.com", "Pat", "Doe0", job="Data Engineer")
    import_file(runtime.store, write_csv(tmp_path / "b.csv", [second]), actor="t", now=clock.now())
    everyone = Selection(all_except_hired=True)
    reject(
        runtime.store,
        "Data Engineer",
        everyone,
        "position-filled",
        note=None,
        actor="t",
        now=clock.now(),
    )
    batch = queue_plan(runtime.store, runtime.composer, "Data Engineer", actor="t", now=clock.now())
    run_batch(make_deliverer(runtime), batch.batch_id)
    drop(maildir, reply(sender="p0@example.com", subject="Hello", quoted=False))
    counts = fetch(runtime, maildir)
    assert (counts.unmatched, counts.requests_created) == (1, 0)
    [kept] = service.unmatched(runtime.inbox_store)
    assert kept.note is not None and "2 applications" in kept.note


def test_a_reply_nobody_can_match_is_kept_listed_and_never_answered(
    runtime: Runtime, maildir: Path
) -> None:
    """Bad input: no headers to match and an unknown sender."""
    letters_before = runtime.store.outbox_status().counts
    drop(maildir, reply(sender="stranger@elsewhere.example", subject="Hi", quoted=False))
    counts = fetch(runtime, maildir)
    assert counts.unmatched == 1 and counts.replies == 0
    [kept] = service.unmatched(runtime.inbox_store)
    assert kept.sender == "stranger@elsewhere.example"
    assert kept.text == "Could you tell me why I was not selected?"
    assert kept.note == service.NOTHING_MATCHES
    assert requests_of(runtime) == {}
    assert runtime.store.outbox_status().counts == letters_before, "nothing was written back"
    assert waiting(maildir) == (0, 1), "kept in the mailbox too, marked read"


@pytest.mark.parametrize(
    "forger", ["stranger@elsewhere.example", "p1@example.com"], ids=["stranger", "other-candidate"]
)
def test_a_forged_in_reply_to_from_a_third_address_reaches_nobodys_request(
    runtime: Runtime, maildir: Path, forger: str
) -> None:
    """Bad input: In-Reply-To points at Pat Doe0's letter; the sender is someone else."""
    target = letter_id(runtime, "p0@example.com")
    drop(maildir, reply(sender=forger, in_reply_to=target, references=target))
    counts = fetch(runtime, maildir)
    assert (counts.unmatched, counts.requests_created) == (1, 0)
    assert requests_of(runtime) == {}
    [kept] = service.unmatched(runtime.inbox_store)
    assert kept.note == service.NOT_THE_RECIPIENT


def test_a_ten_megabyte_reply_keeps_the_words_and_not_the_attachments(
    runtime: Runtime, maildir: Path
) -> None:
    """Bad input: a 10 MB reply with attachments."""
    message = with_attachments(
        reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")),
        [5_000_000, 5_000_000],
    )
    assert len(message) > 10_000_000
    drop(maildir, message)
    counts = fetch(runtime, maildir)
    assert counts.requests_created == 1
    [row] = stored(runtime)
    assert row["attachments"] == 2
    assert row["text"] == "Could you tell me why I was not selected?"
    kept = sum(len(str(value or "")) for value in row.values())
    assert kept < 2_000, "only the words, the subject and the ids: no attachment bytes"


# --- auto-replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: Your application"),
        ({"Auto-Submitted": "auto-generated; owner-email=it@example.com"}, "Notice"),
        ({"X-Autoreply": "yes"}, "Re: Your application"),
        ({"Precedence": "bulk"}, "Re: Your application"),
        ({"Precedence": "auto_reply"}, "Re: Your application"),
        ({"Precedence": "list"}, "Re: Your application"),
        ({}, "Out of Office: back on Monday"),
        ({}, "Automatic reply: Your application for Data Analyst"),
        ({}, "Automatische Antwort: Ihre Bewerbung"),
        ({}, "Abwesenheitsnotiz: Ihre Bewerbung"),
    ],
)
def test_an_auto_reply_is_counted_and_creates_nothing(
    runtime: Runtime, maildir: Path, headers: dict[str, str], subject: str
) -> None:
    message = reply(
        sender="p0@example.com",
        in_reply_to=letter_id(runtime, "p0@example.com"),
        subject=subject,
        headers=headers,
        text="I am away until Monday.",
    )
    drop(maildir, message)
    counts = fetch(runtime, maildir)
    assert (counts.auto_replies, counts.replies, counts.unmatched) == (1, 0, 0)
    assert requests_of(runtime) == {}
    [row] = stored(runtime)
    assert (row["kind"], row["sender"], row["text"], row["subject"]) == (
        "auto_reply",
        None,
        None,
        None,
    ), "nothing of it is kept but that it came"


def test_auto_submitted_no_is_a_person_writing(runtime: Runtime, maildir: Path) -> None:
    message = reply(
        sender="p0@example.com",
        in_reply_to=letter_id(runtime, "p0@example.com"),
        headers={"Auto-Submitted": "no"},
    )
    drop(maildir, message)
    assert fetch(runtime, maildir).requests_created == 1


# --- bounces ------------------------------------------------------------------------------------


def test_a_permanent_bounce_marks_the_letter_and_suppresses_the_address(
    runtime: Runtime, maildir: Path
) -> None:
    drop(
        maildir,
        delivery_report(original_id=letter_id(runtime, "p1@example.com"), address="p1@example.com"),
    )
    counts = fetch(runtime, maildir)
    assert (counts.bounces, counts.unmatched) == (1, 0)
    [row] = [
        r for r in runtime.store.outbox_rows(None, None, 10) if r.recipient == "p1@example.com"
    ]
    assert row.state is OutboxState.BOUNCED
    assert row.last_error is not None and row.last_error.startswith("bounced: 5.1.1")
    assert "p1@" not in row.last_error, "the server's words, with the address blanked"
    [bounce] = runtime.inbox_store.bounces()
    assert (bounce.recipient, bounce.status, bounce.permanent) == ("p1@example.com", "5.1.1", True)
    assert [(s.email, s.reason) for s in suppressions(runtime.suppressions)] == [
        ("p1@example.com", "bounced (5.1.1)")
    ]


def test_a_bounced_decision_letter_still_starts_the_retention_clock_it_promised(
    runtime: Runtime, maildir: Path
) -> None:
    drop(
        maildir,
        delivery_report(original_id=letter_id(runtime, "p1@example.com"), address="p1@example.com"),
    )
    fetch(runtime, maildir)
    [row] = [
        r for r in runtime.store.outbox_rows(None, None, 10) if r.recipient == "p1@example.com"
    ]
    dated, undated = retention_schedule(SqlRetentionStore(runtime.store.engine), load_book(None))
    [item] = [item for item in dated if item.application_id == row.application_id]
    assert undated == 0
    assert item.rule is Rule.LETTER, "a decided application, not one still open"
    with runtime.store.engine.connect() as conn:
        promised = conn.execute(select(outbox.c.keep_until).where(outbox.c.id == row.id)).scalar()
    assert item.keep_until == promised


def test_a_bounce_in_an_older_format_pasting_the_letter_is_heard_too(
    runtime: Runtime, maildir: Path
) -> None:
    bounce = exim_bounce(original_id=letter_id(runtime, "p2@example.com"), address="p2@example.com")
    drop(maildir, bounce)
    assert fetch(runtime, maildir).bounces == 1
    [row] = runtime.inbox_store.bounces()
    assert (row.recipient, row.status, row.permanent) == ("p2@example.com", "5.1.1", True)
    assert [s.email for s in suppressions(runtime.suppressions)] == ["p2@example.com"]


def test_a_temporary_failure_is_recorded_and_changes_nothing_else(
    runtime: Runtime, maildir: Path
) -> None:
    report = delivery_report(
        original_id=letter_id(runtime, "p1@example.com"),
        address="p1@example.com",
        action="delayed",
        status="4.4.7",
        diagnostic="451 4.4.7 delivery temporarily suspended",
    )
    drop(maildir, report)
    counts = fetch(runtime, maildir)
    assert counts.bounces == 1
    [bounce] = runtime.inbox_store.bounces()
    assert (bounce.status, bounce.permanent) == ("4.4.7", False)
    assert runtime.store.outbox_status().counts == {"sent": 3}
    assert suppressions(runtime.suppressions) == []


def test_a_report_for_an_address_we_never_wrote_to_suppresses_nothing(
    runtime: Runtime, maildir: Path
) -> None:
    """Bad input: a DSN for an address we never wrote to."""
    drop(
        maildir,
        delivery_report(
            original_id="<unknown@elsewhere.example>", address="nobody@elsewhere.example"
        ),
    )
    counts = fetch(runtime, maildir)
    assert (counts.bounces, counts.unmatched) == (0, 1)
    assert suppressions(runtime.suppressions) == []
    [kept] = service.unmatched(runtime.inbox_store)
    assert kept.note == service.REPORT_ABOUT_NOTHING
    assert kept.text == "", "the report's text (someone's address) is not kept"


def test_a_forged_report_naming_our_letter_for_another_address_suppresses_nothing(
    runtime: Runtime, maildir: Path
) -> None:
    forged = delivery_report(
        original_id=letter_id(runtime, "p0@example.com"), address="p1@example.com"
    )
    drop(maildir, forged)
    assert fetch(runtime, maildir).unmatched == 1
    assert suppressions(runtime.suppressions) == []
    assert runtime.store.outbox_status().counts == {"sent": 3}


def test_a_malformed_report_is_kept_for_a_person_and_suppresses_nothing(
    runtime: Runtime, maildir: Path
) -> None:
    """Bad input: a malformed DSN."""
    drop(maildir, malformed_report())
    counts = fetch(runtime, maildir)
    assert (counts.unmatched, counts.bounces, counts.failed) == (1, 0, 0)
    [kept] = service.unmatched(runtime.inbox_store)
    assert kept.note == service.UNREADABLE_REPORT
    assert suppressions(runtime.suppressions) == []


# --- suppressions and the plan ------------------------------------------------------------------


def test_a_suppressed_address_is_skipped_in_the_plan_with_the_reason(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    rows = [applicant("new@example.com", "Nia", "New"), applicant("ok@example.com", "Ola", "Ok")]
    import_and_reject_all(runtime.store, tmp_path / "b.csv", rows, clock.now())
    store = runtime.suppressions
    assert suppress(
        store, "New@Example.com", "asked never to be written to", actor="t", now=clock.now()
    )
    assert not suppress(store, "new@example.com", "again", actor="t", now=clock.now())
    plan = make_plan(runtime.store, runtime.composer, JOB, clock.now())
    assert plan.ready == 1
    assert [(s.view.person.email, s.reason) for s in plan.skipped if "suppressed" in s.reason] == [
        ("new@example.com", "address suppressed: asked never to be written to")
    ]
    assert unsuppress(store, "new@example.com", actor="t", now=clock.now())
    assert make_plan(runtime.store, runtime.composer, JOB, clock.now()).ready == 2


def test_a_letter_queued_before_the_bounce_is_held_not_sent(
    runtime: Runtime, tmp_path: Path, clock: FixedClock, sink: MailSink
) -> None:
    import_and_reject_all(
        runtime.store,
        tmp_path / "b.csv",
        [applicant("late@example.com", "Lu", "Late")],
        clock.now(),
    )
    batch = queue_plan(runtime.store, runtime.composer, JOB, actor="t", now=clock.now())
    suppress(runtime.suppressions, "late@example.com", None, actor="t", now=clock.now())
    before = len(list((sink.directory).glob("*.eml")))
    run_batch(make_deliverer(runtime), batch.batch_id)
    assert runtime.store.outbox_status(batch.batch_id).counts == {"held": 1}
    assert len(list((sink.directory).glob("*.eml"))) == before


# --- erasure, idempotence, privacy ----------------------------------------------------------------


def test_a_reply_to_an_erased_persons_letter_is_counted_and_deleted(
    runtime: Runtime, maildir: Path, clock: FixedClock
) -> None:
    """Bad input: a reply to a letter of an erased person: nothing kept, deleted once counted."""
    their_letter = letter_id(runtime, "p0@example.com")
    privacy = runtime.privacy
    person = privacy.person_id("p0@example.com")
    assert person is not None
    privacy.erase(person, None, "t", clock.now())
    drop(maildir, reply(sender="p0@example.com", in_reply_to=their_letter))
    counts = fetch(runtime, maildir)
    assert (counts.replies, counts.requests_created, counts.unmatched) == (1, 0, 0)
    assert waiting(maildir) == (0, 0), "deleted from the mailbox"
    [row] = stored(runtime)
    assert row["kind"] == "erased" and row["sender"] is None and row["text"] is None


def test_erasure_removes_what_was_kept_of_their_mail(
    runtime: Runtime, maildir: Path, clock: FixedClock
) -> None:
    drop(
        maildir,
        reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")),
        reply(sender="p0@example.com", subject="Another thing", quoted=False, references="<x@y>"),
        delivery_report(
            original_id=letter_id(runtime, "p0@example.com"),
            address="p0@example.com",
            action="delayed",
            status="4.2.2",
        ),
        reply(sender="p1@example.com", in_reply_to=letter_id(runtime, "p1@example.com")),
    )
    fetch(runtime, maildir)
    privacy = runtime.privacy
    person = privacy.person_id("p0@example.com")
    assert person is not None
    counts = privacy.erase(person, None, "t", clock.now())
    assert counts["inbound_messages"] == 3 and counts["bounces"] == 1
    kept = stored(runtime)
    assert [row["sender"] for row in kept] == ["p1@example.com"]
    assert "p0@example.com" not in repr(kept)


def test_fetching_again_counts_nothing_twice(runtime: Runtime, maildir: Path) -> None:
    message = reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com"))
    drop(maildir, message)
    fetch(runtime, maildir)
    drop(maildir, message)  # the same message delivered again
    counts = fetch(runtime, maildir)
    assert counts.as_json() == dict.fromkeys(counts.as_json(), 0)
    assert counts.already == 1
    assert len(runtime.request_store.all(open_only=False)) == 1


def test_a_crash_between_the_commit_and_the_mailbox_loses_and_repeats_nothing(
    runtime: Runtime, maildir: Path
) -> None:
    message = reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com"))
    drop(maildir, message)
    # The message was handled and committed, and the process died before marking it read.
    policy = service.InboxPolicy(business_days=5)
    service.handle_message(runtime.inbox_store, message, policy, runtime.clock.now())
    assert waiting(maildir) == (1, 0)
    counts = fetch(runtime, maildir)
    assert (counts.already, counts.requests_created) == (1, 0)
    assert waiting(maildir) == (0, 1)
    assert len(runtime.request_store.all(open_only=False)) == 1


def test_a_message_that_breaks_the_handler_stays_new_for_the_next_fetch(
    runtime: Runtime, maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(maildir, reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")))

    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "read_inbound", broken)
    counts = fetch(runtime, maildir)
    assert counts.failed == 1
    assert waiting(maildir) == (1, 0), "not dropped, not marked"
    monkeypatch.undo()
    assert fetch(runtime, maildir).requests_created == 1


def test_no_address_subject_or_text_reaches_the_log(
    runtime: Runtime, maildir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop(
        maildir,
        reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")),
        reply(sender="stranger@elsewhere.example", subject="Secret subject", quoted=False),
        malformed_report(),
        delivery_report(original_id=letter_id(runtime, "p1@example.com"), address="p1@example.com"),
    )
    with caplog.at_level(logging.DEBUG):
        fetch(runtime, maildir)
    for private in ("example.com", "elsewhere", "Secret subject", "selected", "Pat", "Doe"):
        assert private not in caplog.text


def test_a_maildir_that_is_not_there_is_one_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    from fairwell.errors import InboxUnavailable

    policy = service.InboxPolicy(business_days=5)
    with pytest.raises(InboxUnavailable, match="no Maildir at"):
        service.fetch(
            MaildirInbox(tmp_path / "absent"), runtime.inbox_store, policy, runtime.clock.now
        )


def test_the_inbox_tables_count_what_came(runtime: Runtime, maildir: Path) -> None:
    drop(
        maildir,
        reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")),
        reply(sender="p2@example.com", headers={"X-Autoreply": "yes"}),
    )
    fetch(runtime, maildir)
    with runtime.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(inbound_messages)).scalar_one()
    assert total == 2
    assert runtime.inbox_store.counts() == {"reply": 1, "auto_reply": 1}
