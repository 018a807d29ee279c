"""The demo's mail coming back: a reply, an out-of-office and a bounce, then one inbox fetch.

Three messages are written into ``demo-run/Maildir`` as a mail server would deliver them, in
answer to three letters the sink received: the candidate's question (a reply in the letter's
thread, quoting it), an out-of-office (RFC 3834 ``Auto-Submitted``) and a delivery report
(RFC 3464, 5.1.1 "user unknown") about the third. ``fairwell inbox fetch`` then reads them,
and the verification checks the outcome in the database: one request with the candidate's
own words, the auto-reply counted and nothing else, the letter bounced and the address
suppressed, and no letter written back by any of it.
"""

from __future__ import annotations

import mailbox
import shutil
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

from rich.console import Console

from fairwell.delivery.inbox import MaildirInbox
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import LetterKind, OutboxState
from fairwell.runtime import Runtime
from fairwell.services.inbox import FetchCounts, InboxPolicy, fetch

QUESTION = "Could you tell me which skills I should work on for a role like this?"


@dataclass(frozen=True, slots=True)
class InboxFacts:
    counts: FetchCounts
    request_words: bool  # the request holds the question, and not the quoted letter
    bounced: bool  # the letter is marked bounced and its address suppressed
    letters_written: int  # letters queued by the fetch (must be none)

    @property
    def ok(self) -> bool:
        counts = self.counts
        return (
            (counts.requests_created, counts.auto_replies, counts.bounces) == (1, 1, 1)
            and counts.unmatched == 0
            and self.request_words
            and self.bounced
            and self.letters_written == 0
        )


def mail_comes_back(runtime: Runtime, directory: Path, console: Console) -> InboxFacts:
    """Write the three messages into the demo's Maildir, fetch them, and read what happened."""
    maildir = directory / "Maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    asker, away, gone = _three_letters(runtime)
    box = mailbox.Maildir(maildir, create=True)
    box.add(_reply(asker))
    box.add(_out_of_office(away))
    box.add(_bounce(gone))
    letters_before = sum(runtime.outbox.outbox_status().counts.values())
    policy = InboxPolicy(runtime.settings.request_due_business_days, actor="demo:inbox")
    counts = fetch(MaildirInbox(maildir), runtime.inbox_store, policy, runtime.clock.now)
    console.print(
        f"inbox: {counts.replies} reply ({counts.requests_created} feedback request), "
        f"{counts.auto_replies} auto-reply ignored, {counts.bounces} bounce recorded"
    )
    requests = runtime.request_store.all(open_only=True)
    words = any(r.email == asker[0] and _own_words(r.question) for r in requests)
    bounced_row = next((r for r in runtime.outbox.outbox_rows(OutboxState.BOUNCED, None, 10)), None)
    suppressed = {s.email for s in runtime.suppressions.suppressions()}
    return InboxFacts(
        counts,
        request_words=words,
        bounced=bounced_row is not None
        and bounced_row.recipient == gone[0]
        and gone[0] in suppressed,
        letters_written=sum(runtime.outbox.outbox_status().counts.values()) - letters_before,
    )


def _own_words(question: str) -> bool:
    """The question is there; the quoted letter and the signature are not."""
    return QUESTION in question and "move forward" not in question and "Alex" not in question


def _three_letters(runtime: Runtime) -> list[tuple[str, str, str]]:
    """Three rejection letters that went out: (recipient, Message-ID, Subject) of each."""
    found: list[tuple[str, str, str]] = []
    sent = runtime.outbox.outbox_rows(OutboxState.SENT, None, 1_000)
    for row in (row for row in sent if row.kind == LetterKind.REJECTION.value):
        headers = dict(
            (name.lower(), value)
            for name, value in read_letter(runtime.outbox.outbox_body(row.id)).headers
        )
        found.append((row.recipient, headers["message-id"], headers["subject"]))
        if len(found) == 3:
            return found
    raise RuntimeError("the demo sent fewer than three letters")


def _message(sender: str, subject: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = "careers@northwind.example.com"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    return message


def _reply(letter: tuple[str, str, str]) -> bytes:
    recipient, message_id, subject = letter
    message = _message(recipient, f"Re: {subject}")
    message["In-Reply-To"] = message_id
    message["References"] = message_id
    message.set_content(
        f"Hello,\n\n{QUESTION}\n\nThank you,\nAlex\n\n"
        f"On Monday, Northwind hiring team <careers@northwind.example.com> wrote:\n"
        "> Thank you for applying.\n> We have decided not to move forward.\n"
    )
    return message.as_bytes()


def _out_of_office(letter: tuple[str, str, str]) -> bytes:
    recipient, message_id, subject = letter
    message = _message(recipient, f"Automatic reply: {subject}")
    message["Auto-Submitted"] = "auto-replied"
    message["In-Reply-To"] = message_id
    message.set_content("I am out of the office until Monday and will reply then.")
    return message.as_bytes()


def _bounce(letter: tuple[str, str, str]) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    recipient, message_id, subject = letter
    report = f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: careers@northwind.example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: {make_msgid(domain="mx.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="DEMO-REPORT"

--DEMO-REPORT
Content-Type: text/plain

This is the mail system at host mx.example.net. Your message could not be delivered.

--DEMO-REPORT
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--DEMO-REPORT
Content-Type: text/rfc822-headers

From: Northwind hiring team <careers@northwind.example.com>
To: {recipient}
Subject: {subject}
Message-ID: {message_id}

--DEMO-REPORT--
"""
    return report.replace("\n", "\r\n").encode("utf-8")
