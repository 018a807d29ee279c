"""`fairwell demo`: the whole flow on synthetic data, then a check of what the sink received.

The verification reads the sink back and checks each message with code that shares nothing
with the privacy guard (plain substring search), so the demo is evidence, not a tautology.
"""

from __future__ import annotations

import csv
import re
import secrets
import shutil
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.policy import default as email_default
from email.utils import getaddresses
from pathlib import Path

import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fairwell.config import Settings, load_settings
from fairwell.delivery.sink import MailSink, SinkMessage, read_sink
from fairwell.demo.data import (
    COMPETENCIES,
    JOB_TITLE,
    REQUIREMENTS,
    demo_scorecards,
    write_demo_csv,
)
from fairwell.demo.inbox import InboxFacts, mail_comes_back
from fairwell.demo.web import SECOND_JOB, seed_for_the_browser
from fairwell.domain.feedback import CompetencyKind
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import INTERVIEW_STAGES, LetterKind, OutboxState
from fairwell.domain.retention import jurisdiction, long_date
from fairwell.domain.users import Role
from fairwell.ports import RubricRow, WordingCheck
from fairwell.ports.users import UserStore
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.deadlines import deadlines, notice_rules
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import (
    DraftReport,
    approve,
    draft_job_feedback,
    edit,
    load_library,
    review_items,
)
from fairwell.services.feedback import interviewed as interviewed_view
from fairwell.services.importing import import_file
from fairwell.services.job_settings import set_sender
from fairwell.services.language import identify_language
from fairwell.services.planning import Plan, make_plan, queue_plan
from fairwell.services.retention import load_book, retention_schedule
from fairwell.services.status_letters import plan_status_letters, queue_status_letters
from fairwell.services.users import add_user
from fairwell.services.wording import save_rows, suggestions
from fairwell.storage.tables import outbox
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch, run_forever

ACTOR = "demo"
HIRING_MANAGER = "demo:hiring-manager"
REASON = "position-filled"
# Who signs the demo job's letters (`fairwell job sender`); From stays the team's address.
DEMO_SIGNER = "Hana Berg, Head of Product"


FEEDBACK_HEADINGS = (
    "what we saw in your interviews",
    "was wir in ihren gesprächen gesehen haben",
    "what we saw in your application",
    "was wir in ihrer bewerbung gesehen haben",
)
INTERNAL_NOTE_MARK = "internal: calibrate"
# Words that tell a reader they applied, searched for plainly (sharing nothing with
# guard/applied_wording.py): a referred or sourced person must read none of them.
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


@dataclass
class FlowFacts:
    plan: Plan
    merged: int
    feedback_flagged: int = 0
    status_letters: int = 0  # "no decision yet, a decision by ..." to Ontario's interviewed
    inbox: InboxFacts | None = None
    merges: int = 0  # applications made of several rows
    duplicate_notes: int = 0
    notes_held_for_language: int = 0


@dataclass
class Promises:
    """What the letters promised, checked against what the database will do."""

    by_rule: Counter[str]
    undated: int  # applications without an end date: invariant 11 says 0
    referral_dates: Counter[str]  # the day each referral letter says it keeps the data until
    referral_matching: int  # of those, the day the retention run deletes on
    referral_letters: int
    status_promises: Counter[str]  # each status promise's state today
    regions: Counter[str]

    @property
    def ok(self) -> bool:
        return not self.undated and self.referral_matching == self.referral_letters


@dataclass
class Verification:
    received: int = 0
    with_feedback: int = 0
    interviewed: int = 0  # letters to interviewed candidates
    interviewed_with_feedback: int = 0
    internal_notes: int = 0
    multi_recipient: int = 0
    to_mismatch: int = 0
    copies: int = 0
    mentions_other: int = 0
    unknown_recipient: int = 0
    # Referred or sourced people (who never applied) and how many of their letters say they did.
    not_applied: int = 0
    not_applied_dated: int = 0
    thanked_not_applied: int = 0
    written_twice: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.internal_notes
            or self.multi_recipient
            or self.to_mismatch
            or self.copies
            or self.mentions_other
            or self.unknown_recipient
            or self.thanked_not_applied
            or self.written_twice
        )


def _fresh(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("fairwell.db", "fairwell.db-wal", "fairwell.db-shm", "applicants.csv"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "mail", ignore_errors=True)


@dataclass(frozen=True)
class DemoPortal:
    """The candidate portal of the served demo: every letter carries a link to it, signed
    with this run's key (made fresh each run, printed nowhere, stored nowhere)."""

    url: str
    secret_key: str

    @classmethod
    def on(cls, host: str, port: int) -> DemoPortal:
        return cls(f"http://{host}:{port}/p", secrets.token_urlsafe(32))


PORTAL_LINK = re.compile(r"https?://\S+/p/[A-Za-z0-9._~%-]+")


def _settings(directory: Path, port: int, portal: DemoPortal | None = None) -> Settings:
    return load_settings(
        portal_url=portal.url if portal else None,
        secret_key=portal.secret_key if portal else None,
        database_url=f"sqlite:///{directory / 'fairwell.db'}",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_username=None,
        smtp_password=None,
        from_address="careers@northwind.example.com",
        from_name="Northwind hiring team",
        org_name="Northwind Analytics",
        # Replies (asking for more feedback, or to be deleted) reach the talent team's inbox.
        reply_to="talent@northwind.example.com",
        template_dir=None,
        # The demo runs at whatever hour `make demo` is typed and must deliver every letter
        # before it verifies them, so it sends at once (the batch's audit entry says so).
        # docs/sending-times.md shows the windows; `fairwell plan` shows them on real data.
        send_windows="off",
    )


def run_demo(directory: Path, console: Console, portal: DemoPortal | None = None) -> bool:
    """Run the demo in ``directory``; return True when every check passed.

    With ``portal``, every letter carries a working link to the candidate's page (served by
    :func:`serve_demo` with the same key), and one such link is printed."""
    _fresh(directory)
    # Dated back from now: Ontario's interviewed candidates are past the day-30 alert today.
    rows = write_demo_csv(directory / "applicants.csv", now=datetime.now(UTC))
    console.print(f"[bold]Fairwell demo[/bold]: {rows} rows for {JOB_TITLE!r} in {directory}")
    with MailSink(directory / "mail", port=0) as sink:
        settings = _settings(directory, sink.port, portal)
        init_database(settings)
        runtime = open_runtime(settings)
        try:
            facts = _run_flow(runtime, directory, console)
        finally:
            runtime.close()
    runtime = open_runtime(settings)
    try:
        messages = read_sink(directory / "mail")
        passed = _verify(runtime, messages, facts, console)
    finally:
        runtime.close()
    if portal is not None:
        _print_portal_links(messages, console)
    return passed


def _print_portal_links(messages: list[SinkMessage], console: Console) -> None:
    """How many letters carry a portal link, and one of them to open."""
    links = [
        found.group(0)
        for message in messages
        if (
            found := PORTAL_LINK.search(dict(read_letter(message.data).parts).get("text/plain", ""))
        )
    ]
    console.print(f"{len(links)} of {len(messages)} letters carry a link to the candidate's page")
    if links:
        console.print(f"a candidate's page, as their letter links it: {links[0]}", soft_wrap=True)


def _run_flow(runtime: Runtime, directory: Path, console: Console) -> FlowFacts:
    store, now = runtime.store, runtime.clock.now()
    report = import_file(store, directory / "applicants.csv", actor=ACTOR, now=now)
    console.print(
        f"imported {report.rows} applications, {report.duplicates_merged} duplicate rows merged "
        "by rule (`fairwell plan` lists them too):"
    )
    for merge in report.merges:
        console.print(f"  merged {merge.email}: {merge.describe()}", markup=False)
    job = set_sender(runtime.pipeline, _job_id(runtime), DEMO_SIGNER, ACTOR, now)
    console.print(f"{JOB_TITLE!r} letters are signed by {job.sender_name}")
    _record_interviews(runtime, directory, console)
    status_letters = _tell_the_undecided(runtime, console)
    decided = reject(
        store, JOB_TITLE, Selection(all_except_hired=True), REASON, note=None, actor=ACTOR, now=now
    )
    console.print(
        f"rejected {len(decided.decided)} with {REASON!r}; "
        f"{len(decided.skipped)} skipped (hired, offer, withdrawn)"
    )
    feedback = _draft_and_approve_feedback(runtime, console)
    runtime.check_templates()
    plan = make_plan(store, runtime.composer, JOB_TITLE, runtime.clock.now())
    console.print(
        f"send plan {plan.plan_id}: {dict(plan.letters)}, blocked {len(plan.blocked)}; "
        f"{plan.composed} letters composed and stored once; "
        "send windows off for the demo, so every letter goes now"
    )
    batch = queue_plan(
        store,
        runtime.composer,
        JOB_TITLE,
        actor=ACTOR,
        now=runtime.clock.now(),
        expected=plan.ready,
    )
    # Confirming released the stored letters: nothing was composed again.
    stats = run_batch(make_deliverer(runtime), batch.batch_id)
    console.print(f"delivered {stats.sent} of {batch.queued} queued letters")
    inbox = mail_comes_back(runtime, directory, console)
    return FlowFacts(
        plan,
        report.duplicates_merged,
        feedback.flagged,
        status_letters,
        inbox,
        len(report.merges),
        feedback.duplicate_notes,
        feedback.held_notes,
    )


def _tell_the_undecided(runtime: Runtime, console: Console) -> int:
    """Ontario's 45-day rule: interviewed candidates there past the day-30 alert get a status
    letter ("a decision by ...") first; their decision letters then keep that promise."""
    notices = runtime.notices
    rules = notice_rules(runtime.settings)
    now = runtime.clock.now()
    plan = plan_status_letters(runtime.store, notices, notices, rules, now)
    done = queue_status_letters(
        runtime.store, runtime.composer, plan, expected=len(plan.ready), actor=ACTOR, now=now
    )
    sent = sum(run_batch(make_deliverer(runtime), batch).sent for batch in done.batch_ids)
    console.print(
        f"notice deadlines ({', '.join(f'{k} {v} days' for k, v in rules.in_force().items())}): "
        f"{sent} status letter(s) delivered to interviewed candidates there, not decided yet"
    )
    return sent


def _record_interviews(runtime: Runtime, directory: Path, console: Console) -> None:
    now = runtime.clock.now()
    job = runtime.pipeline.job_by_title(JOB_TITLE)
    for name, bar in COMPETENCIES:
        runtime.feedback_store.add_competency(job.id, name, bar, ACTOR, now)
    for name, bar in REQUIREMENTS:
        runtime.feedback_store.add_competency(
            job.id, name, bar, ACTOR, now, CompetencyKind.REQUIREMENT
        )
    _write_wording_from_suggestions(runtime, console)
    with (directory / "applicants.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    saved = runtime.feedback_store.save_scorecards(demo_scorecards(rows), ACTOR, now)
    console.print(f"recorded {saved} ratings from interviews and screening")


def _write_wording_from_suggestions(runtime: Runtime, console: Console) -> None:
    """The hiring manager reads the library's suggestions for the job's competencies and
    saves them as the job's wording: from then on they are words someone chose for this job."""
    library = load_library(None)
    rows = [
        RubricRow(0, JOB_TITLE, name, bar, None, locale, wording)
        for name, bar in (*COMPETENCIES, *REQUIREMENTS)
        for locale, wording in sorted(suggestions(library, name).items())
    ]
    check = runtime.wording_check
    save_rows(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        rows,
        actor=HIRING_MANAGER,
        now=runtime.clock.now(),
    )
    console.print(f"the hiring manager wrote the job's wording: {len(rows)} competency-languages")


def _draft_and_approve_feedback(runtime: Runtime, console: Console) -> DraftReport:
    check = runtime.wording_check
    drafted = draft_job_feedback(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        _job_id(runtime),
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    dropped = _drop_notes_in_another_language(runtime, check)
    approved = approve(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        _job_id(runtime),
        actor=HIRING_MANAGER,
        now=runtime.clock.now(),
    )
    console.print(
        f"feedback drafted for {drafted.drafted} candidates with scorecards, "
        f"{drafted.flagged} flagged, {drafted.duplicate_notes} duplicate note(s) left out, "
        f"{drafted.held_for_wording} held for missing wording; {dropped} draft(s) held for a "
        f"note in another language, which the hiring manager dropped; "
        f"{approved.approved} approved by the hiring manager"
    )
    return drafted


def _job_id(runtime: Runtime) -> int:
    """The demo's job, named by its title as a recruiter names it."""
    return runtime.pipeline.job_by_title(JOB_TITLE).id


def _drop_notes_in_another_language(runtime: Runtime, check: WordingCheck) -> int:
    """ "Translate or drop": the demo's hiring manager drops a note the interviewer wrote in
    English for a candidate who reads German, keeping every other line of the draft."""
    items = review_items(runtime.pipeline, runtime.feedback_store, check, _job_id(runtime))
    dropped = 0
    for item in items:
        if not any(hold.endswith("translate or drop") for hold in item.holds):
            continue
        assert item.view.feedback is not None
        locale = item.view.person.locale
        kept = [
            line
            for line in item.view.feedback.text.splitlines()
            if identify_language(line) in (None, locale)
        ]
        edit(
            runtime.pipeline,
            runtime.feedback_store,
            check,
            _job_id(runtime),
            item.view.person.email,
            "\n".join(kept),
            actor=HIRING_MANAGER,
            now=runtime.clock.now(),
        )
        dropped += 1
    return dropped


def _text_of(data: bytes) -> tuple[str, list[str], list[str]]:
    """All readable text of a message, its To addresses and any copy headers."""
    message = message_from_bytes(data, policy=compat32)
    texts = [str(make_header(decode_header(v))) for v in message.values()]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    to = [addr.lower() for _, addr in getaddresses(message.get_all("To", []))]
    copies = [name for name in ("Cc", "Bcc") if message.get_all(name)]
    return "\n".join(texts).casefold(), to, copies


def _check_message(
    message: SinkMessage,
    people: Mapping[str, tuple[str, ...]],
    result: Verification,
    not_applied: frozenset[str] = frozenset(),
    interviewed: frozenset[str] = frozenset(),
) -> None:
    result.received += 1
    if len(message.rcpt_tos) != 1:
        result.multi_recipient += 1
        return
    recipient = message.rcpt_tos[0].lower()
    text, to, copies = _text_of(message.data)
    carries = any(heading in text for heading in FEEDBACK_HEADINGS)
    result.with_feedback += carries
    if recipient in interviewed:
        result.interviewed += 1
        result.interviewed_with_feedback += carries
    result.internal_notes += INTERNAL_NOTE_MARK in text
    result.to_mismatch += to != [recipient]
    result.copies += bool(copies)
    if recipient in not_applied:
        result.thanked_not_applied += any(words in text for words in APPLICANT_WORDS)
    if recipient not in people:
        result.unknown_recipient += 1
        return
    own = people[recipient]
    others = (p for email, p in people.items() if email != recipient)
    result.mentions_other += any(
        _appears_outside(text, identifier, own) for other in others for identifier in other
    )


def _occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(needle)
    while start != -1:
        spans.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return spans


def _appears_outside(text: str, needle: str, own: tuple[str, ...]) -> bool:
    """True when ``needle`` occurs somewhere that is not inside the addressee's own name or
    address ("ann lee" inside "mary ann lee" is Mary's name, not Ann's)."""
    covering = [span for identifier in own for span in _occurrences(text, identifier)]
    return any(
        not any(s <= start and end <= e for s, e in covering)
        for start, end in _occurrences(text, needle)
    )


def _verify(
    runtime: Runtime, messages: list[SinkMessage], facts: FlowFacts, console: Console
) -> bool:
    plan = facts.plan
    store = runtime.store
    people = {
        v.person.email: (
            v.person.email,
            v.person.full_name.casefold(),
            v.application.ref.casefold(),
        )
        for v in store.applicants(plan.job.id)
    }
    views = store.applicants(plan.job.id)
    not_applied = frozenset(v.person.email for v in views if v.application.never_applied)
    result = Verification(
        not_applied=len(not_applied),
        not_applied_dated=sum(
            1 for v in views if v.application.never_applied and v.application.applied_at
        ),
    )
    interviewed = frozenset(v.person.email for v in views if interviewed_view(v))
    rows = store.outbox_rows(None, None, 1_000_000)
    # A status letter tells no decision, so it carries no feedback: only decision letters count.
    status_ids = _message_ids(runtime, LetterKind.STATUS)
    for message in messages:
        told = interviewed if _message_id(message.data) not in status_ids else frozenset()
        _check_message(message, people, result, not_applied, told)
    # Ontario's interviewed hear twice on purpose: "a decision by ..." first, then the decision.
    letters_to = Counter(message.rcpt_tos[0].lower() for message in messages if message.rcpt_tos)
    letters_to.subtract(row.recipient.lower() for row in rows if row.kind == LetterKind.STATUS)
    result.written_twice = sum(1 for count in letters_to.values() if count > 1)
    delivered = (OutboxState.SENT, OutboxState.BOUNCED)  # a bounced letter went out too
    kinds = Counter(row.kind for row in rows if row.state in delivered)
    promises = _promises(runtime, messages)
    _print_verification(console, result, kinds, facts)
    _print_promises(console, promises)
    inbox_ok = facts.inbox is not None and facts.inbox.ok
    expected = plan.ready + facts.status_letters
    every_interviewed = result.interviewed_with_feedback == result.interviewed
    ok = result.ok and every_interviewed and promises.ok and inbox_ok
    return ok and result.received == expected


def _message_ids(runtime: Runtime, kind: LetterKind) -> set[str]:
    query = select(outbox.c.message_id).where(outbox.c.kind == kind.value)
    with runtime.engine.connect() as conn:
        return set(conn.execute(query).scalars())


def _message_id(data: bytes) -> str:
    """The Message-ID header of raw message bytes ("" when it has none)."""
    headers = BytesHeaderParser(policy=email_default).parsebytes(data)
    return str(headers.get("Message-ID", "")).strip()


def _promises(runtime: Runtime, messages: list[SinkMessage]) -> Promises:
    """Every application's end date, each referral letter's date against the run's, and each
    status letter's promise, read from the database and the sink."""
    book = load_book(runtime.settings.retention_policies)
    retention = runtime.retention
    dated, undated = retention_schedule(retention, book)
    ends = {item.application_id: item.keep_until for item in dated}
    referral = _referral_letters(runtime)
    said: Counter[str] = Counter()
    matching = 0
    for message in messages:
        found = referral.get(message.rcpt_tos[0].lower())
        if found is None:
            continue
        text = dict(read_letter(message.data).parts).get("text/plain", "")
        application_id, locale = found
        end = long_date(ends[application_id], locale) if application_id in ends else ""
        stated = re.search(r"(?:until|bis zum) (\d+\.? [^\s,]+ \d{4})", text)
        said[stated.group(1) if stated else "no date"] += 1
        matching += bool(stated and stated.group(1) == end)
    report = deadlines(
        runtime.notices,
        notice_rules(runtime.settings),
        runtime.clock.now(),
        everyone=True,
    )
    kept = Counter(item.promise.state.value for item in report.items if item.promise)
    regions = Counter(
        jurisdiction(v.person.country, v.person.region) or "none"
        for v in runtime.pipeline.applicants(runtime.pipeline.job_by_title(JOB_TITLE).id)
        if v.person.region
    )
    return Promises(
        Counter(item.rule.value for item in dated if item.rule),
        undated,
        said,
        matching,
        sum(said.values()),
        kept,
        regions,
    )


def _referral_letters(runtime: Runtime) -> dict[str, tuple[int, str]]:
    """The referral-closed letters sent: recipient, their application and language."""
    query = select(outbox.c.recipient, outbox.c.application_id, outbox.c.locale).where(
        outbox.c.kind == LetterKind.REFERRAL_CLOSED.value,
        outbox.c.state == OutboxState.SENT.value,
    )
    with runtime.engine.connect() as conn:
        return {
            row.recipient.lower(): (row.application_id, row.locale) for row in conn.execute(query)
        }


def _print_promises(console: Console, promises: Promises) -> None:
    table = Table("check", "result", title="verification: every promise has a date behind it")
    for region, count in sorted(promises.regions.items()):
        table.add_row(f"candidates in {region}", str(count))
    for rule, count in sorted(promises.by_rule.items()):
        table.add_row(f"applications with an end date: {rule}", str(count))
    table.add_row("applications without an end date", str(promises.undated))
    for day, count in sorted(promises.referral_dates.items()):
        table.add_row(f"referral letters: data kept until {day}", str(count))
    table.add_row(
        "referral letters whose date is the day the retention run deletes on",
        f"{promises.referral_matching} of {promises.referral_letters}",
    )
    for state, count in sorted(promises.status_promises.items()):
        table.add_row(f"status promises ('a decision by'): {state}", str(count))
    console.print(table)
    if promises.ok:
        console.print(
            "[bold green]PASS[/bold green]: every application has an end date, and every "
            "referral letter names the day the retention run deletes on"
        )
    else:
        console.print("[bold red]FAIL[/bold red]: see the table above")


def _print_verification(
    console: Console, result: Verification, kinds: Counter[str], facts: FlowFacts
) -> None:
    table = Table("check", "result", title="verification: what the SMTP sink received")
    table.add_row("messages received", str(result.received))
    table.add_row("envelopes with more than one recipient", str(result.multi_recipient))
    table.add_row("To: differs from the envelope", str(result.to_mismatch))
    table.add_row("messages with Cc or Bcc", str(result.copies))
    table.add_row("messages mentioning another candidate", str(result.mentions_other))
    table.add_row("letters carrying approved feedback", str(result.with_feedback))
    table.add_row(
        "interviewed candidates whose letter carries feedback (goal: all)",
        f"{result.interviewed_with_feedback} of {result.interviewed}",
    )
    table.add_row("letters held for missing wording", str(facts.plan.held_for_wording))
    table.add_row("notes dropped as duplicates", str(facts.duplicate_notes))
    table.add_row(
        "notes held for language (then dropped by the hiring manager)",
        str(facts.notes_held_for_language),
    )
    table.add_row("feedback flagged by the wording check", str(facts.feedback_flagged))
    table.add_row("letters quoting an internal note", str(result.internal_notes))
    table.add_row(
        "referred or sourced people (applied_at filled)",
        f"{result.not_applied} ({result.not_applied_dated})",
    )
    table.add_row("letters thanking someone who never applied", str(result.thanked_not_applied))
    table.add_row("people written to more than once", str(result.written_twice))
    for kind, count in sorted(kinds.items()):
        table.add_row(f"letters: {kind}", str(count))
    for reason, count in sorted(facts.plan.skipped_counts().items()):
        table.add_row(f"skipped: {reason}", str(count))
    table.add_row("duplicate rows merged (applications)", f"{facts.merged} ({facts.merges})")
    table.add_row("blocked by the guard", str(len(facts.plan.blocked)))
    if facts.inbox is not None:
        _inbox_rows(table, facts.inbox)
    console.print(table)
    passed = result.ok and result.interviewed_with_feedback == result.interviewed
    verdict = "[bold green]PASS[/bold green]" if passed else "[bold red]FAIL[/bold red]"
    console.print(
        f"{verdict}: every letter went to one person, once, and mentioned nobody else; nobody "
        "who never applied was thanked for applying; every interviewed candidate's letter "
        "carries feedback"
        if passed
        else f"{verdict}: see the table above"
    )


def _inbox_rows(table: Table, inbox: InboxFacts) -> None:
    """What one fetch of the demo Maildir made of a reply, an out-of-office and a bounce."""
    counts = inbox.counts
    table.add_row(
        "inbox: reply -> feedback request (their own words)",
        f"{counts.requests_created}{'' if inbox.request_words else ' (words wrong)'}",
    )
    table.add_row("inbox: auto-replies ignored", str(counts.auto_replies))
    table.add_row(
        "inbox: bounces recorded (letter bounced, address suppressed)",
        f"{counts.bounces}{'' if inbox.bounced else ' (not marked)'}",
    )
    table.add_row("inbox: unmatched", str(counts.unmatched))
    table.add_row("inbox: letters written back automatically", str(inbox.letters_written))


DEMO_USERS = (
    ("admin", Role.ADMIN),
    ("rita", Role.RECRUITER),
    ("hank", Role.HIRING_MANAGER),
    ("hope", Role.HIRING_MANAGER),
    ("ivan", Role.INTERVIEWER),
)


def _assign_demo_interviews(runtime: Runtime, users: UserStore, count: int = 3) -> int:
    """Give the demo interviewer a few interviewed candidates of the demo job to score."""
    ivan = users.by_username("ivan")
    if ivan is None:
        return 0
    job = runtime.pipeline.job_by_title(JOB_TITLE)
    interviewed = [
        view.application.id
        for view in runtime.pipeline.applicants(job.id)
        if view.application.stage in INTERVIEW_STAGES and view.application.last_interview_at
    ][:count]
    interviews = runtime.interviews
    for application_id in interviewed:
        interviews.assign(application_id, ivan[0].id, ACTOR, runtime.clock.now())
    return len(interviewed)


def serve_demo(
    directory: Path, console: Console, host: str, port: int, portal: DemoPortal | None = None
) -> None:
    """Serve the web app on the demo's database, with the delivery worker and a fresh sink.

    Every run makes new demo passwords and a new key; the passwords are printed, nothing is
    stored. With ``portal`` (the one the letters were composed with) their links work.
    """
    portal = portal or DemoPortal.on(host, port)
    with MailSink(directory / "mail", port=0) as sink:
        settings = _settings(directory, sink.port, portal)
        runtime = open_runtime(settings)
        table = Table("username", "role", "password", title="demo sign-ins")
        users = runtime.users
        for username, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            if users.by_username(username) is None:
                add_user(users, username, password, role, actor=ACTOR, now=runtime.clock.now())
                table.add_row(username, role.value, password)
        second_job = seed_for_the_browser(runtime, directory)
        hank = users.by_username("hank")
        if hank is not None:
            managed = [runtime.pipeline.job_by_title(JOB_TITLE).id, second_job]
            for job_id in filter(None, managed):
                runtime.job_managers.assign(job_id, hank[0].id, ACTOR, runtime.clock.now())
        console.print(table)
        console.print(
            f"hank looks after {JOB_TITLE!r} and {SECOND_JOB!r}; hope has no job yet. "
            f"In {SECOND_JOB!r} nobody is rejected but the onsite candidates, whose feedback "
            "waits for hank's approval; one candidate has asked for more feedback."
        )
        interviews = _assign_demo_interviews(runtime, users)
        console.print(f"ivan interviews {interviews} candidate(s) and fills in scorecards")
        console.print(f"serving the demo at http://{host}:{port} (Ctrl-C stops it)")
        stop = threading.Event()
        worker = threading.Thread(target=run_forever, args=(make_deliverer(runtime), stop))
        worker.start()
        try:
            app = create_app(settings, runtime, mail_viewer=directory / "mail")
            uvicorn.run(app, host=host, port=port, log_level="warning")
        finally:
            stop.set()
            worker.join(timeout=30)
            runtime.close()
