"""`fairwell inbox fetch`: replies become feedback requests, bounces are heard, the rest is kept.

One pass over the new messages of the inbox, then it returns (cron or Celery beat run it).
Each message is read once (domain/inbound.py) and becomes exactly one of:

* a **bounce**: a delivery report about one of our letters. It must return that letter's
  Message-ID and name the address the letter went to: a report that does not is kept as
  unmatched and suppresses nothing, so a forged report cannot silence a candidate. A
  permanent failure marks the letter ``bounced`` and suppresses the address; a temporary one
  is recorded only.
* an **auto-reply**: counted, nothing kept, never answered.
* a **reply**: matched to a letter by In-Reply-To/References, else by an application
  reference in the subject or text, else by the sender when they have exactly one
  application with a letter. The sender must be the address the letter went to: a reply
  that names another candidate's letter from a third address is unmatched. A match opens a
  feedback request with the candidate's own words, or joins the request already open.
* **unmatched**: kept for a person to read (`fairwell inbox unmatched`), never answered.

A reply (or report) about a letter of a person since erased keeps nothing: it is counted
and deleted from the mailbox. Every other message is marked handled there only after what it
caused was committed, and a message seen before (a crash between the two) is only marked.
Nothing is logged but counts: no address, no subject, no text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from fairwell.domain.bounces import read_bounce
from fairwell.domain.inbound import InboundMessage, read_inbound, reply_words
from fairwell.domain.requests import due_date
from fairwell.errors import UnreadableReport
from fairwell.ports import InboundRecord, InboundReply, Inbox, InboxStore

log = logging.getLogger(__name__)
# flufl.bounce logs each detector it runs, and a traceback when one fails on malformed mail:
# neither may carry a message's text into our logs.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

AUTO_REPLY, ERASED = "auto_reply", "erased"
MAX_QUESTION = 4000  # as a request recorded by hand (services/requests.py)
UNREADABLE_REPORT = "a delivery report that could not be read"
REPORT_ABOUT_NOTHING = "a delivery report about no letter we sent to that address"
NOT_THE_RECIPIENT = "it answers a letter that went to another address than the sender's"
NO_SENDER = "it has no single valid sender address"
NOTHING_MATCHES = "no letter or application matches it"


class Handled(Enum):
    """What one message became; decides the counts and what happens to it in the mailbox."""

    REQUEST_CREATED = "request created"
    REQUEST_JOINED = "joined an open request"
    ERASED_REPLY = "a reply about an erased person's letter"
    BOUNCE = "bounce recorded"
    ERASED_REPORT = "a report about an erased person's letter"
    AUTO_REPLY = "auto-reply"
    UNMATCHED = "unmatched"
    ALREADY = "handled before"

    @property
    def deleted(self) -> bool:
        return self in (Handled.ERASED_REPLY, Handled.ERASED_REPORT)


@dataclass(slots=True)
class FetchCounts:
    replies: int = 0
    requests_created: int = 0
    bounces: int = 0
    auto_replies: int = 0
    unmatched: int = 0
    erased: int = 0  # replies and reports about erased people's letters (deleted unread)
    already: int = 0  # handled by an earlier fetch that stopped before marking them
    failed: int = 0  # left new in the mailbox: something went wrong handling them

    def add(self, handled: Handled) -> None:
        self.replies += handled in (
            Handled.REQUEST_CREATED,
            Handled.REQUEST_JOINED,
            Handled.ERASED_REPLY,
        )
        self.requests_created += handled is Handled.REQUEST_CREATED
        self.bounces += handled in (Handled.BOUNCE, Handled.ERASED_REPORT)
        self.auto_replies += handled is Handled.AUTO_REPLY
        self.unmatched += handled is Handled.UNMATCHED
        self.erased += handled.deleted
        self.already += handled is Handled.ALREADY

    def as_json(self) -> dict[str, int]:
        return {
            "replies": self.replies,
            "requests_created": self.requests_created,
            "bounces": self.bounces,
            "auto_replies": self.auto_replies,
            "unmatched": self.unmatched,
        }


@dataclass(frozen=True, slots=True)
class _Match:
    application_id: int
    outbox_id: int | None


@dataclass(frozen=True, slots=True)
class InboxPolicy:
    """Who the fetch acts as, and when a request it opens is due."""

    business_days: int
    actor: str = "inbox"


def fetch(
    inbox: Inbox, store: InboxStore, policy: InboxPolicy, now: Callable[[], datetime]
) -> FetchCounts:
    """Handle every new message once; return the counts. Raises InboxUnavailable when the
    mailbox cannot be read: what was handled before stays handled, the rest stays new."""
    counts = FetchCounts()
    try:
        for mail in inbox.new_messages():
            try:
                handled = handle_message(store, mail.raw, policy, now())
            except Exception as error:
                # A bug must not drop a message: it stays new and is tried at the next fetch.
                log.error("inbound message left unhandled (%s)", type(error).__name__)
                counts.failed += 1
                continue
            counts.add(handled)
            if handled.deleted:
                inbox.delete(mail.key)
            else:
                inbox.handled(mail.key)
    finally:
        inbox.close()
    log.info("inbox fetched: %s", counts.as_json())
    return counts


def handle_message(store: InboxStore, raw: bytes, policy: InboxPolicy, now: datetime) -> Handled:
    """What one message becomes; everything it causes is committed before this returns."""
    message = read_inbound(raw)
    if store.seen(message.digest):
        return Handled.ALREADY
    if message.delivery_report:
        return _report(store, message, policy, now)
    if message.auto_reply is not None:
        store.record_ignored(message.digest, AUTO_REPLY, now)
        return Handled.AUTO_REPLY
    return _reply(store, message, policy, now)


def unmatched(store: InboxStore, limit: int = 200) -> list[InboundRecord]:
    """Mail nobody could match, newest first: for a person to read and act on."""
    return store.unmatched(limit)


# --- delivery reports ---------------------------------------------------------------------------


def _report(
    store: InboxStore, message: InboundMessage, policy: InboxPolicy, now: datetime
) -> Handled:
    try:
        report = read_bounce(message.parsed)
    except UnreadableReport:
        store.record_unmatched(_kept(message, ""), UNREADABLE_REPORT, now)
        return Handled.UNMATCHED
    if report.original_ids and store.erased_letter(report.original_ids):
        store.record_ignored(message.digest, ERASED, now)
        return Handled.ERASED_REPORT
    letters = store.letters(report.original_ids) if report.original_ids else []
    for failure in report.failures:
        letter = next((item for item in letters if item.recipient == failure.address), None)
        if letter is not None:
            details = (failure.status, failure.permanent, failure.diagnostic)
            store.record_bounce(message.digest, letter, details, now, policy.actor)
            return Handled.BOUNCE
    store.record_unmatched(_kept(message, ""), REPORT_ABOUT_NOTHING, now)
    return Handled.UNMATCHED


# --- replies ----------------------------------------------------------------------------------


def _reply(
    store: InboxStore, message: InboundMessage, policy: InboxPolicy, now: datetime
) -> Handled:
    if message.thread_ids and store.erased_letter(message.thread_ids):
        store.record_ignored(message.digest, ERASED, now)
        return Handled.ERASED_REPLY
    words = _question(reply_words(message.text))
    match = _match(store, message)
    if isinstance(match, str):
        store.record_unmatched(_kept(message, words), match, now)
        return Handled.UNMATCHED
    due = due_date(now, policy.business_days)
    outcome = store.record_reply(
        _kept(message, words), match.application_id, match.outbox_id, now, due, policy.actor
    )
    if outcome.unmatched is not None:
        return Handled.UNMATCHED
    if outcome.request_id is None:
        return Handled.ALREADY
    return Handled.REQUEST_CREATED if outcome.created else Handled.REQUEST_JOINED


def _match(store: InboxStore, message: InboundMessage) -> _Match | str:
    """The application (and letter) a reply answers, or why none can be trusted."""
    sender = message.sender
    if sender is None:
        return NO_SENDER
    if message.thread_ids:
        letters = store.letters(message.thread_ids)
        if letters:
            own = [letter for letter in letters if letter.recipient == sender]
            if not own:
                return NOT_THE_RECIPIENT
            return _Match(own[0].application_id, own[0].outbox_id)
    if message.application_refs:
        quoted = store.applications_by_ref(message.application_refs)
        own_refs = [found for found in quoted if found.email == sender]
        if len(own_refs) == 1:
            return _Match(own_refs[0].application_id, None)
    written = store.applications_written_to(sender)
    if len(written) == 1:
        return _Match(written[0].application_id, None)
    if written:
        return f"the sender has {len(written)} applications with letters and names none of them"
    return NOTHING_MATCHES


def _question(words: str) -> str:
    if len(words) <= MAX_QUESTION:
        return words
    return words[: MAX_QUESTION - 1].rstrip() + "…"


def _kept(message: InboundMessage, text: str) -> InboundReply:
    return InboundReply(
        digest=message.digest,
        sender=message.sender,
        subject=message.subject,
        message_id=message.message_id,
        references=message.references,
        text=text,
        attachments=message.attachments,
    )
