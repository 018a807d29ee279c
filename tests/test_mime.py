"""Letters as bytes: built with one recipient, read back the same by both readers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.mimeread import _read_simple, read_letter, read_with_email_package

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
safe_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=300
)


def build(subject: str, text: str, name: str) -> bytes:
    return to_bytes(
        OutgoingLetter(
            sender=Mailbox("careers@acme.example.com", "Acme Hiring"),
            recipient=Mailbox("zoe@example.com", name),
            subject=subject,
            text=text,
            html=f"<p>{text}</p>",
            locale="en",
            message_id="<x@acme.example.com>",
            date=WHEN,
        )
    )


@settings(max_examples=200, deadline=None)
@given(subject=safe_text, text=safe_text, name=safe_text)
def test_the_fast_reader_agrees_with_the_email_package(subject: str, text: str, name: str) -> None:
    raw = build(subject, text, name)
    fast, general = _read_simple(raw), read_with_email_package(raw)
    assert fast.headers == general.headers
    assert fast.parts == general.parts
    assert general.defects == []


def test_every_line_ends_in_crlf_and_no_line_is_too_long() -> None:
    raw = build("Ihre Bewerbung bei Müller & Söhne " * 4, "Grüße " * 200, "Zoë Ünal")
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998


def test_there_is_no_cc_or_bcc_to_set_and_one_to_header() -> None:
    raw = build("Hi", "Hello", "Zoe")
    assert raw.count(b"\r\nTo: ") == 1
    assert b"\r\nCc:" not in raw and b"\r\nBcc:" not in raw
    assert not hasattr(OutgoingLetter, "cc")


def test_an_unusual_message_is_read_by_the_email_package() -> None:
    raw = (
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
        b"preamble\r\n--X\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nSGFsbG8gQm9i\r\n--X--\r\n"
    )
    read = read_letter(raw)
    assert ("Subject", "Grüße") in read.headers
    assert read.parts == [("text/plain", "Hallo Bob")]
