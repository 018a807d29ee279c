"""Mail as it arrives: replies, auto-replies and delivery reports, built the way real mail
clients and mail servers build them, and a Maildir to drop them in."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

OUR_ADDRESS = "careers@acme.example.com"
QUOTED_LETTER = (
    "On Thu, 26 Nov 2026 at 10:00, Acme <careers@acme.example.com> wrote:\n"
    "> Dear Pat,\n>\n> Thank you for applying for the Data Analyst role.\n"
)


def reply(
    *,
    sender: str,
    text: str = "Could you tell me why I was not selected?",
    subject: str = "Re: Your application for Data Analyst",
    in_reply_to: str | None = None,
    references: str | None = None,
    message_id: str | None = None,
    signature: str = "Thanks,\nPat",
    quoted: bool = True,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A reply as a mail client writes it: the words, a signature, the quoted letter."""
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Pat <{sender}>"
    message["To"] = OUR_ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    body = f"{text}\n\n{signature}\n\n{QUOTED_LETTER if quoted else ''}"
    message.set_content(body)
    return message.as_bytes()


def with_attachments(raw: bytes, sizes: list[int]) -> bytes:
    """The same message with attachments of these sizes (a CV, a portfolio)."""
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    for number, size in enumerate(sizes):
        content = (b"%PDF-1.7 " + bytes(range(256)) * (size // 256 + 1))[:size]
        message.add_attachment(
            content, maintype="application", subtype="pdf", filename=f"cv-{number}.pdf"
        )
    return message.as_bytes(policy=SMTP)


def delivery_report(
    *,
    original_id: str | None,
    address: str,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{address}>: Recipient address rejected: User unknown",
) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    returned = f"From: Acme <{OUR_ADDRESS}>\nTo: {address}\nSubject: Your application\n"
    if original_id:
        returned += f"Message-ID: {original_id}\n"
    said = diagnostic.format(address=address)
    text = f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: bounces@acme.example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: {make_msgid(domain="mx.example.net")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="REPORT"

--REPORT
Content-Type: text/plain

This is the mail system at host mx.example.net. Your message could not be delivered.

--REPORT
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {address}
Original-Recipient: rfc822;{address}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {said}

--REPORT
Content-Type: text/rfc822-headers

{returned}
--REPORT--
"""
    return text.replace("\n", "\r\n").encode("ascii")


def exim_bounce(*, original_id: str, address: str) -> bytes:
    """A bounce in the older, non-MIME format (Exim): the letter pasted into the text."""
    text = f"""From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: bounces@acme.example.com
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1-exim-bounce@mx.example.net>
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {address}
    SMTP error from remote mail server after RCPT TO:<{address}>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

From: Acme <{OUR_ADDRESS}>
To: {address}
Subject: Your application
Message-ID: {original_id}

Dear Pat,
"""
    return text.replace("\n", "\r\n").encode("ascii")


def malformed_report() -> bytes:
    """Says it is a delivery report, and names no recipient anyone can read."""
    text = """From: MAILER-DAEMON@mx.example.net
To: bounces@acme.example.com
Subject: Undelivered Mail
Message-ID: <broken-report@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="X"

--X
Content-Type: message/delivery-status

this is not a header block at all ;;; <<<>>>
Action failed

--X
"""
    return text.replace("\n", "\r\n").encode("ascii")


def drop(maildir: Path, *messages: bytes) -> list[str]:
    """Deliver messages into a Maildir's new/ as a mail server would; return their keys."""
    box = mailbox.Maildir(maildir, create=True)
    return [box.add(message) for message in messages]


def waiting(maildir: Path) -> tuple[int, int]:
    """How many messages are in new/ and in cur/."""
    return len(list((maildir / "new").iterdir())), len(list((maildir / "cur").iterdir()))
