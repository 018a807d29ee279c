"""Build the exact bytes of a letter.

Building with ``EmailMessage`` and the default policy costs about 0.8 ms a message, the first
bottleneck of a bulk send, so the bytes are assembled here from the standard library's
encoders (``email.header``, ``email.utils``, ``binascii``). The structure is fixed: one
``multipart/alternative`` with a text part and an HTML part. Every header value passes
:func:`check_header_value`, and the type has one recipient field: there is no Cc or Bcc to set.
``Reply-To`` names one mailbox of the organisation, where a candidate's reply goes (asking for
more feedback, or to have their data deleted); it is never a second recipient.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from fairwell.domain.addresses import check_header_value
from fairwell.errors import UnsafeHeaderValue

CRLF = b"\r\n"


# The characters that make formataddr quote a display name (email.utils.specialsre; the
# ones it escapes, backslash and double quote, are among them).
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


@dataclass(frozen=True, slots=True)
class Mailbox:
    address: str
    display_name: str = ""

    def header(self) -> str:
        check_header_value(self.address)
        check_header_value(self.display_name)
        name, address = self.display_name, self.address
        if name.isascii() and address.isascii() and not _SPECIALS.search(name):
            # What formataddr returns for a name that needs no quoting or encoding, without
            # its per-call set-up; every other name goes through formataddr itself.
            return f"{name} <{address}>" if name else address
        return formataddr((name, address), charset="utf-8")


@dataclass(frozen=True, slots=True)
class OutgoingLetter:
    """A letter ready to become bytes. ``recipient`` is the one and only addressee."""

    sender: Mailbox
    recipient: Mailbox
    subject: str
    text: str
    html: str
    locale: str
    message_id: str
    date: datetime
    reply_to: Mailbox | None = None  # None: replies go to the sender
    # An answer in the candidate's own thread (RFC 5322 3.6.4): the message it answers, and
    # the chain of ids before it. Empty for every other letter.
    in_reply_to: str = ""
    references: tuple[str, ...] = ()


def _encoded_subject(subject: str) -> str:
    check_header_value(subject)
    if subject.isascii() and len(subject) < 70 and "=?" not in subject:
        return subject  # nothing to encode or fold: skip the costly general path
    charset = "us-ascii" if subject.isascii() else "utf-8"
    return Header(subject, charset, header_name="Subject").encode(linesep="\r\n")


def _quoted_printable(text: str) -> bytes:
    """``b2a_qp`` of the text with CRLF line ends, one line at a time.

    b2a_qp reads each line on its own: it starts counting at a line's start and looks no
    further than the next byte, so the text encodes as its lines do, each with the line end
    after it (the last without one, where a trailing space is encoded like at any end).
    A letter's lines are mostly its template's, the same in every letter of a batch: each is
    encoded once (tests/test_mime_qp.py checks this against the whole-text encoding).
    """
    *lines, last = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return b"".join([*map(_qp_line, lines), _qp_last_line(last)])


# Bounded, and emptied by forget_lines() once the letters built are guarded: some lines name
# a person, and an erased person's name must not stay in a long-running process.
@functools.lru_cache(maxsize=1024)
def _qp_line(line: str) -> bytes:
    """A line and the line end after it, encoded."""
    return binascii.b2a_qp(f"{line}\n".encode(), istext=True).replace(b"\n", CRLF)


@functools.lru_cache(maxsize=64)
def _qp_last_line(line: str) -> bytes:
    """The text's last line (after its last line end; a letter's is empty), encoded."""
    return binascii.b2a_qp(line.encode(), istext=True).replace(b"\n", CRLF)


def forget_lines() -> None:
    """Forget the lines encoded so far (the privacy guard calls this after each check)."""
    _qp_line.cache_clear()
    _qp_last_line.cache_clear()


# "=_" can never occur in quoted-printable output, so one fixed boundary cannot collide with
# any body. Being fixed also lets parsers reuse one compiled pattern for every letter.
BOUNDARY = "=_fairwell_alternative"


def _part(content_type: str, body: str) -> bytes:
    head = (
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + _quoted_printable(body)


# A batch's letters share their sender and, mostly, their Date: each is formatted once.
@functools.lru_cache(maxsize=16)
def _sender_header(sender: Mailbox) -> str:
    return sender.header()


def _date_header(date: datetime) -> str:
    # Keyed by the ISO text, which holds the wall time and the offset the header shows: equal
    # datetimes in different zones (or either side of a DST fold) must not share a header.
    return _formatted_date(date.isoformat())


@functools.lru_cache(maxsize=16)
def _formatted_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _thread_headers(letter: OutgoingLetter) -> str:
    """In-Reply-To and References, one id to a folded line (a long thread stays under 998)."""
    if not letter.in_reply_to:
        return ""
    ids = [check_header_value(i) for i in (letter.in_reply_to, *letter.references)]
    if any(not i.isascii() or " " in i for i in ids):
        raise UnsafeHeaderValue("a message id in the thread is not one ASCII token")
    return f"In-Reply-To: {ids[0]}\r\nReferences: " + "\r\n ".join(ids[1:] or ids[:1]) + "\r\n"


def to_bytes(letter: OutgoingLetter) -> bytes:
    """Return the RFC 5322 bytes, CRLF line endings, of this letter."""
    boundary = BOUNDARY
    check_header_value(letter.message_id)
    check_header_value(letter.locale)
    reply_to = f"Reply-To: {_sender_header(letter.reply_to)}\r\n" if letter.reply_to else ""
    headers = (
        f"From: {_sender_header(letter.sender)}\r\n"
        f"{reply_to}"
        f"To: {letter.recipient.header()}\r\n"
        f"Subject: {_encoded_subject(letter.subject)}\r\n"
        f"Date: {_date_header(letter.date)}\r\n"
        f"Message-ID: {letter.message_id}\r\n"
        f"{_thread_headers(letter)}"
        "MIME-Version: 1.0\r\n"
        f"Content-Language: {letter.locale}\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
    )
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join(
        (
            headers.encode("ascii"),
            f"--{boundary}\r\n".encode("ascii"),
            _part("text/plain", letter.text),
            delimiter,
            _part("text/html", letter.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
