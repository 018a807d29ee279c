"""Read a letter's final bytes back into header values and decoded text parts.

The email package's parser costs about 200 µs a letter, more than everything else the guard
does, and the guard reads every letter twice. Letters that Fairwell builds have one simple
shape (see :mod:`fairwell.domain.mime`), so :func:`read_letter` reads that shape directly and
hands anything else — nested parts, odd encodings, malformed headers — to the email package.
Tests check that both readers agree on every letter we build.
"""

from __future__ import annotations

import binascii
import functools
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32

# What bytes.strip() removes: str.strip() would also remove \x1c-\x1f.
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_BOUNDARY = re.compile(r'boundary="([^"]+)"|boundary=([^\s;]+)', re.IGNORECASE)
_CHARSET = re.compile(r'charset="?([A-Za-z0-9_.:-]+)"?', re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


@dataclass(slots=True)
class ReadLetter:
    """Header values (decoded) and text parts (decoded), as a reader would see them."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[tuple[str, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


class _Unusual(Exception):
    """The bytes are not in the simple shape; the email package reads them instead."""


def _visible(html_text: str) -> str:
    """The text a reader of the HTML part sees: tags become spaces, entities characters."""
    return html.unescape(_TAG.sub(" ", html_text))


def decoded_header(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def _split_headers(head: bytes) -> list[tuple[str, str]]:
    """Header lines as (name, value), folded lines joined by a space; raise _Unusual.

    The block is checked and decoded once, then split with string methods: a regular
    expression per line cost more than the rest of the reader.
    """
    # After splitting at CRLF, any LF left is a bare one (every CRLF holds one LF: counting
    # needs no copy of the block), and a name is printable ASCII without space or colon;
    # both go to the general reader.
    if not head.isascii() or head.count(b"\n") != head.count(b"\r\n"):
        raise _Unusual
    headers: list[tuple[str, str]] = []
    for line in head.decode("ascii").split("\r\n"):
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(_ASCII_SPACE))
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.isprintable() or " " in name or not name:
            raise _Unusual
        headers.append((name, value.lstrip(" \t")))
    return headers


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


def _form(headers: list[tuple[str, str]]) -> tuple[str, str, str]:
    """A text part's (content type, transfer encoding, charset); raise _Unusual."""
    content_type = _header(headers, "content-type")
    kind = content_type.split(";", 1)[0].strip().lower()
    if not kind.startswith("text/"):
        raise _Unusual
    encoding = _header(headers, "content-transfer-encoding").strip().lower()
    if encoding not in ("quoted-printable", "base64", "", "7bit", "8bit"):
        raise _Unusual
    charset = _CHARSET.search(content_type)
    return kind, encoding, charset.group(1) if charset else "us-ascii"


@functools.lru_cache(maxsize=64)
def _part_form(head: bytes) -> tuple[str, str, str]:
    """The form of a part from its header block. Cached: the parts of every letter we build
    have the same two header blocks, so each letter skips reading them again."""
    return _form(_split_headers(head))


def _decode_body(body: bytes, form: tuple[str, str, str]) -> tuple[str, str]:
    kind, encoding, charset = form
    if encoding == "quoted-printable":
        data = binascii.a2b_qp(body)
    elif encoding == "base64":
        data = binascii.a2b_base64(body)
    else:
        data = body
    text = data.decode(charset, errors="replace")
    return kind, _visible(text) if kind == "text/html" else text


def _read_simple(raw: bytes) -> ReadLetter:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        raise _Unusual
    headers = _split_headers(head)
    letter = ReadLetter(
        headers=[(name, decoded_header(value)) for name, value in headers], raw_headers=headers
    )
    content_type = _header(headers, "content-type")
    if not content_type.lower().startswith("multipart/alternative"):
        letter.parts.append(_decode_body(body, _form(headers)))
        return letter
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise _Unusual
    delimiter = b"--" + (found.group(1) or found.group(2)).encode("ascii")
    chunks = body.split(b"\r\n" + delimiter)
    if not chunks[0].startswith(delimiter) or not chunks[-1].startswith(b"--"):
        raise _Unusual
    for chunk in [chunks[0][len(delimiter) :], *chunks[1:-1]]:
        part_head, separator, part_body = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise _Unusual
        letter.parts.append(_decode_body(part_body, _part_form(part_head)))
    return letter


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return _visible(text) if part.get_content_type() == "text/html" else text


def read_with_email_package(raw: bytes) -> ReadLetter:
    """The general reader: any MIME structure the email package understands."""
    message = message_from_bytes(raw, policy=compat32)
    raw_headers = [(key, str(value)) for key, value in message.items()]
    letter = ReadLetter(
        headers=[(key, decoded_header(value)) for key, value in raw_headers],
        raw_headers=raw_headers,
    )
    for part in message.walk():
        if not part.is_multipart():
            letter.parts.append((part.get_content_type(), _part_text(part)))
    letter.defects = [type(defect).__name__ for defect in message.defects]
    return letter


def read_letter(raw: bytes) -> ReadLetter:
    """Read the bytes: the fast path for our own shape, the email package for anything else."""
    try:
        return _read_simple(raw)
    except (_Unusual, UnicodeDecodeError, binascii.Error, LookupError):
        return read_with_email_package(raw)
