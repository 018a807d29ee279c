"""A letter shown to staff as the candidate will read it, and its raw bytes on request.

Every page that shows a letter (preview, outbox, applicant, requests, the demo's mail) shows
the same three things: the headers a reader sees (From, To, Reply-To, Subject, Date), the
text part as text, and the HTML part in a sandboxed frame served by the app under its own
policy (its inline styles, nothing that runs or loads). "View source" serves the stored
bytes unchanged as plain text, sandboxed and ``nosniff``.

The bytes are read with domain/mimeread.py (headers, text) and the email package (the HTML
part's own markup), never recomposed: what is shown is what was or will be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from fastapi.responses import HTMLResponse, Response

from fairwell.domain.mimeread import read_letter
from fairwell.web.policy import LETTER_FRAME_POLICY, RAW_POLICY

SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date")


@dataclass(frozen=True, slots=True)
class ReadableLetter:
    headers: tuple[tuple[str, str], ...]
    text: str
    has_html: bool
    size: int  # bytes as stored

    @property
    def subject(self) -> str:
        return next((value for name, value in self.headers if name == "Subject"), "")


def readable(raw: bytes) -> ReadableLetter:
    """The letter as its reader sees it: decoded headers and the text part."""
    letter = read_letter(raw)
    found = {name.lower(): value for name, value in letter.headers}
    headers = tuple((name, found[name.lower()]) for name in SHOWN_HEADERS if name.lower() in found)
    text = next((t for kind, t in letter.parts if kind == "text/plain"), "")
    has_html = any(kind == "text/html" for kind, _ in letter.parts)
    if not text and letter.parts:
        text = letter.parts[0][1]
    return ReadableLetter(headers, text.replace("\r\n", "\n").strip(), has_html, len(raw))


def html_part(raw: bytes) -> str | None:
    """The HTML part's own markup, decoded; None for a letter without one."""
    parsed = message_from_bytes(raw, policy=policy.default)
    if not isinstance(parsed, EmailMessage):
        return None
    body = parsed.get_body(preferencelist=("html",))
    return body.get_content() if isinstance(body, EmailMessage) else None


def html_response(raw: bytes) -> Response:
    """The HTML part for the sandboxed frame on our own pages; framed only by them."""
    markup = html_part(raw)
    if markup is None:
        markup = "<!DOCTYPE html><p>This letter has no HTML part.</p>"
    response = HTMLResponse(markup)
    response.headers["Content-Security-Policy"] = LETTER_FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response


def source_response(raw: bytes) -> Response:
    """The stored bytes, unchanged, as plain text: data, never a page."""
    response = Response(raw, media_type="text/plain; charset=utf-8")
    response.headers["Content-Security-Policy"] = RAW_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response
