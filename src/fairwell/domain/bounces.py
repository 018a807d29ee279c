"""Delivery status notifications (RFC 3464): which address failed, for good or for now, and why.

flufl.bounce (GNU Mailman's bounce detectors) decides which recipients a report names and
whether each failure is permanent (``Action: failed``) or temporary (``Action: delayed``), for
RFC 3464 reports and the older formats of Exim, Postfix, qmail, Exchange and others. The email
package then reads, for each of those addresses, the ``Status`` (an enhanced status code such
as 5.1.1) and the ``Diagnostic-Code`` of its per-recipient block, and the Message-ID of the
returned letter (``message/rfc822`` or ``text/rfc822-headers``), which ties the report to one
letter we sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_string
from email.message import Message

from flufl.bounce import all_failures

from fairwell.domain.addresses import normalise_address
from fairwell.domain.mimeread import decoded_header
from fairwell.errors import InvalidInput
from fairwell.errors import UnreadableReport as UnreadableReport

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS = re.compile(r"\S*@\S*")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>", re.ASCII)
# A "Message-ID:" header line of a returned letter pasted into a bounce's text.
_PASTED_ID = re.compile(r"^\s*message-id:\s*(<[^>\s]{1,250}>)\s*$", re.IGNORECASE | re.MULTILINE)
MAX_DIAGNOSTIC = 200


@dataclass(frozen=True, slots=True)
class Failure:
    """One recipient the report says could not be reached. ``status``: e.g. "5.1.1", or ""."""

    address: str
    permanent: bool
    status: str
    diagnostic: str


@dataclass(frozen=True, slots=True)
class BounceReport:
    failures: tuple[Failure, ...]
    # The Message-IDs of the returned letter (normally one), to find which letter bounced.
    original_ids: tuple[str, ...]


def read_bounce(parsed: Message) -> BounceReport:
    """Read a delivery report; raise UnreadableReport when it names no failed address."""
    try:
        temporary, permanent = all_failures(parsed)
    except Exception as error:  # a detector choked on malformed mail: nothing to act on
        raise UnreadableReport(f"the report could not be read ({type(error).__name__})") from None
    blocks = _recipient_blocks(parsed)
    said = _status_in_text(parsed)
    failures = [
        *(_failure(address, True, blocks, said) for address in sorted(permanent)),
        *(_failure(address, False, blocks, said) for address in sorted(temporary - permanent)),
    ]
    readable = tuple(failure for failure in failures if failure is not None)
    if not readable:
        raise UnreadableReport("the report names no failed address")
    return BounceReport(readable, _original_ids(parsed))


def _failure(raw: bytes, permanent: bool, blocks: dict[str, Message], said: str) -> Failure | None:
    """One failed address; ``said``: a status code from the report's text, for the older
    formats that have no per-recipient block."""
    try:
        address = normalise_address(raw.decode("ascii", "replace"))
    except InvalidInput:
        return None
    block = blocks.get(address)
    status = _status(block) if block is not None else said
    return Failure(address, permanent, status, _diagnostic(block))


def _status_in_text(parsed: Message) -> str:
    for part in parsed.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found = _STATUS.search(payload.decode("utf-8", "replace"))
                if found:
                    return ".".join(found.groups())
    return ""


def _recipient_blocks(parsed: Message) -> dict[str, Message]:
    """The per-recipient blocks of every message/delivery-status part, by normalised address."""
    blocks: dict[str, Message] = {}
    for part in parsed.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            if not isinstance(block, Message):
                continue
            for name in ("original-recipient", "final-recipient"):
                address = _recipient(block.get(name))
                if address is not None:
                    blocks.setdefault(address, block)
    return blocks


def _recipient(value: object) -> str | None:
    """ "rfc822; anna@example.com" -> "anna@example.com" (normalised), else None."""
    if value is None:
        return None
    _, _, address = str(value).partition(";")
    try:
        return normalise_address(address.strip().strip("<>"))
    except InvalidInput:
        return None


def _status(block: Message | None) -> str:
    if block is None:
        return ""
    found = _STATUS.search(str(block.get("status", "")))
    return ".".join(found.groups()) if found else ""


def _diagnostic(block: Message | None) -> str:
    """The remote server's words, on one line, every address blanked out."""
    if block is None:
        return ""
    text = decoded_header(str(block.get("diagnostic-code", "")))
    _, _, words = text.partition(";")
    words = _ADDRESS.sub("[address]", " ".join((words or text).split()))
    return words[:MAX_DIAGNOSTIC]


def _original_ids(parsed: Message) -> tuple[str, ...]:
    """The returned letter's Message-IDs: from its MIME part (RFC 3464), else from the copy
    older formats (Exim, qmail) paste into the text after "This is a copy of the message"."""
    return _returned_part_ids(parsed) or _pasted_copy_ids(parsed)


def _pasted_copy_ids(parsed: Message) -> tuple[str, ...]:
    found: list[str] = []
    for part in parsed.walk():
        if part.get_content_type() != "text/plain":
            continue
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        found.extend(_MESSAGE_ID.findall("\n".join(_PASTED_ID.findall(text))))
    return tuple(dict.fromkeys(found))


def _returned_part_ids(parsed: Message) -> tuple[str, ...]:
    found: list[str] = []
    for part in parsed.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            for returned in part.get_payload():
                if isinstance(returned, Message):
                    found.extend(_MESSAGE_ID.findall(str(returned.get("message-id", ""))))
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                headers = message_from_string(payload.decode("ascii", "replace"))
                found.extend(_MESSAGE_ID.findall(str(headers.get("message-id", ""))))
    return tuple(dict.fromkeys(found))
