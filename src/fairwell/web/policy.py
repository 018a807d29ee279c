"""What every response of the app carries, and the largest request it reads.

Every page gets a strict Content-Security-Policy: scripts, styles, images and fonts from the
app's own origin only (``default-src 'none'`` first, so nothing is allowed by omission), no
inline script or style, forms that post only to the app, no framing by another site. A
response that sets its own policy keeps it: a letter's HTML part is framed by our own pages
under a sandbox, and raw bytes are served as sandboxed plain text. Every response also gets
``nosniff``, so no text view can be sniffed into a page.

A request body over ``MAX_BODY_BYTES`` is refused with 413 before any handler reads it: no
form of ours comes near it (a letter template is at most 20,000 characters), and a 100 MB
field must not be held in memory to be refused later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Pico CSS draws its check marks and select arrows as data: SVG images.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        # A letter's HTML part is shown in a sandboxed frame served by the app itself.
        "frame-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
# Raw bytes (a letter's source, an export) are data: nothing in them may run or load.
RAW_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
# A letter's HTML part inside our own page: its inline styles, nothing that runs or loads.
LETTER_FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)
MAX_BODY_BYTES = 1_000_000

_DEFAULTS = (
    (b"content-security-policy", PAGE_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Adds the default headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in _DEFAULTS if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413, by its length or as it arrives.

    ``refuse`` builds the answer (an HTML page for the browser, JSON for the API).
    """

    def __init__(
        self,
        app: ASGIApp,
        refuse: Callable[[Scope], ASGIApp],
        limit: int = MAX_BODY_BYTES,
    ) -> None:
        self.app, self.refuse, self.limit = app, refuse, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self.refuse(scope)(scope, receive, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read it here, up to the limit, then hand it on.
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.limit:
                await self.refuse(scope)(scope, receive, send)
                return
        await self.app(scope, _replay(body), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
