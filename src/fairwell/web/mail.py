"""The demo's mail viewer: what the embedded SMTP sink received, read back from its folder.

Only on when the app is given a sink folder (`make demo` does); a real deployment has no
sink and these pages answer 404. A message is shown as its reader sees it (web/letter_view.py)
with its bytes, exactly as the sink stored them, behind "View source".

The list is paged and reads only the messages of its page: the folder holds thousands after a
big send, and parsing all of them for every visit took over a second. A search by recipient
reads the small envelope files only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from fairwell.delivery.sink import (
    SinkMessage,
    read_sink_message,
    sink_numbers,
    sink_recipients,
)
from fairwell.web.common import Current, render, staff
from fairwell.web.letter_view import html_response, readable, source_response

MAIL_PAGE = 50


@dataclass(frozen=True, slots=True)
class ShownMessage:
    number: int
    received_at: str
    envelope_to: str
    subject: str


def register(app: FastAPI) -> None:
    app.get("/mail", response_class=HTMLResponse, include_in_schema=False)(mailbox)
    app.get("/mail/{number}", response_class=HTMLResponse, include_in_schema=False)(message)
    app.get("/mail/{number}/html", include_in_schema=False)(message_html)
    app.get("/mail/{number}/source", include_in_schema=False)(source)


def _folder(request: Request) -> Path:
    folder: Path | None = request.app.state.mail_viewer
    if folder is None:
        raise HTTPException(status_code=404, detail="there is no mail viewer outside the demo")
    return folder


def _shown(received: SinkMessage) -> ShownMessage:
    return ShownMessage(
        number=received.number,
        received_at=received.received_at.strftime("%Y-%m-%d %H:%M:%S"),
        envelope_to=", ".join(received.rcpt_tos),
        subject=readable(received.data).subject,
    )


def _to(folder: Path, number: int, wanted: str) -> bool:
    return any(wanted in recipient.lower() for recipient in sink_recipients(folder, number))


def _one(request: Request, number: int) -> SinkMessage:
    found = read_sink_message(_folder(request), number)
    if found is None:
        raise HTTPException(status_code=404, detail=f"the sink has no message {number}")
    return found


def mailbox(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    to: Annotated[str | None, Query(max_length=320)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The messages the sink received, newest first, a page at a time; by recipient."""
    folder = _folder(request)
    numbers = list(reversed(sink_numbers(folder)))
    wanted = (to or "").strip().lower()
    if wanted:
        numbers = [
            n for n in numbers if any(wanted in r.lower() for r in sink_recipients(folder, n))
        ]
    chosen = numbers[(page - 1) * MAIL_PAGE : page * MAIL_PAGE]
    messages = [_shown(found) for n in chosen if (found := read_sink_message(folder, n))]
    return render(
        request,
        "mailbox.html",
        user=current[0],
        csrf=current[1].csrf,
        messages=messages,
        total=len(numbers),
        to=wanted,
        page=page,
        pages=max(1, -(-len(numbers) // MAIL_PAGE)),
    )


def message(request: Request, number: int, current: Annotated[Current, Depends(staff)]) -> Response:
    """One message as its reader sees it: headers, text, the HTML part in a frame."""
    received = _one(request, number)
    return render(
        request,
        "message.html",
        user=current[0],
        csrf=current[1].csrf,
        number=number,
        letter=readable(received.data),
        envelope_to=", ".join(received.rcpt_tos),
        received_at=received.received_at.strftime("%Y-%m-%d %H:%M:%S"),
    )


def message_html(
    request: Request, number: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    return html_response(_one(request, number).data)


def source(request: Request, number: int, current: Annotated[Current, Depends(staff)]) -> Response:
    """The message's bytes exactly as the sink received them."""
    return source_response(_one(request, number).data)
