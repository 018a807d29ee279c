"""The demo's mail viewer: what the embedded SMTP sink received, read back from its folder.

Only on when the app is given a sink folder (`make demo` does); a real deployment has no
sink and these pages answer 404. The letters are shown as the sink stored them, so what you
read here is what a candidate's mail server would have received.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from fairwell.delivery.sink import SinkMessage, read_sink
from fairwell.web.common import Current, render, staff


@dataclass(frozen=True, slots=True)
class ShownMessage:
    number: int
    received_at: str
    envelope_to: str
    subject: str
    sender: str
    date: str
    text: str


def register(app: FastAPI) -> None:
    app.get("/mail", response_class=HTMLResponse, include_in_schema=False)(mailbox)
    app.get("/mail/{number}", response_class=HTMLResponse, include_in_schema=False)(message)
    app.get("/mail/{number}/source", response_class=PlainTextResponse, include_in_schema=False)(
        source
    )


def _folder(request: Request) -> Path:
    folder: Path | None = request.app.state.mail_viewer
    if folder is None:
        raise HTTPException(status_code=404, detail="there is no mail viewer outside the demo")
    return folder


def _shown(received: SinkMessage) -> ShownMessage:
    parsed = message_from_bytes(received.data, policy=policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return ShownMessage(
        number=received.number,
        received_at=received.received_at.strftime("%Y-%m-%d %H:%M:%S"),
        envelope_to=", ".join(received.rcpt_tos),
        subject=str(parsed.get("Subject", "")),
        sender=str(parsed.get("From", "")),
        date=str(parsed.get("Date", "")),
        text=text,
    )


def _one(request: Request, number: int) -> SinkMessage:
    for received in read_sink(_folder(request)):
        if received.number == number:
            return received
    raise HTTPException(status_code=404, detail="no such message")


def mailbox(request: Request, current: Annotated[Current, Depends(staff)]) -> Response:
    """Every message the sink received, newest first."""
    messages = [_shown(m) for m in reversed(read_sink(_folder(request)))]
    return render(request, "mailbox.html", user=current[0], csrf=current[1].csrf, messages=messages)


def message(request: Request, number: int, current: Annotated[Current, Depends(staff)]) -> Response:
    """One message: its headers and the text a candidate reads."""
    shown = _shown(_one(request, number))
    return render(request, "message.html", user=current[0], csrf=current[1].csrf, message=shown)


def source(request: Request, number: int, current: Annotated[Current, Depends(staff)]) -> Response:
    """The message's bytes exactly as the sink received them."""
    data = _one(request, number).data
    text = data.decode("ascii", errors="replace").replace("\r\n", "\n")
    return PlainTextResponse(text, headers={"Referrer-Policy": "no-referrer"})
