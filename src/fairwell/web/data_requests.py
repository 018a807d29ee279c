"""Data requests for admins: access and erasure requests with their due dates, legal holds,
and erasing a person when nothing blocks it.

Thin handlers over services/erasure.py; what blocks an erasure is shown in words.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fairwell.errors import FairwellError, InvalidInput
from fairwell.ports.privacy import PrivacyStore
from fairwell.services import erasure
from fairwell.web.common import check_csrf, render, runtime_of
from fairwell.web.settings import Admin


def register(app: FastAPI) -> None:
    app.state.privacy = app.state.runtime.privacy
    app.get("/data-requests", include_in_schema=False)(data_requests_page)
    app.post("/data-requests/holds", include_in_schema=False)(add_hold)
    app.post("/data-requests/holds/{hold_id}/release", include_in_schema=False)(release_hold)
    app.post("/data-requests/erase", include_in_schema=False)(erase_now)


def _privacy(request: Request) -> PrivacyStore:
    privacy: PrivacyStore = request.app.state.privacy
    return privacy


def data_requests_page(
    request: Request, current: Admin, message: str | None = None, status: int = 200
) -> Response:
    privacy = _privacy(request)
    now = runtime_of(request).clock.now()
    rows = [
        (
            r,
            None
            if r.person_id is None or r.state != "open"
            else erasure.blocked_by(privacy, r.person_id),
        )
        for r in privacy.requests()
    ]
    return render(
        request,
        "data_requests.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        requests=rows,
        holds=privacy.holds(),
        now=now,
        message=message,
    )


def add_hold(
    request: Request,
    current: Admin,
    email: Annotated[str, Form(max_length=320)],
    reason: Annotated[str, Form(max_length=500)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    privacy = _privacy(request)
    try:
        person_id = erasure.person_by_email(privacy, email)
        if len(reason.strip()) < 5:
            raise InvalidInput("give the reason for the hold (a few words at least)")
        privacy.add_hold(
            person_id, reason.strip(), current[0].username, runtime_of(request).clock.now()
        )
    except FairwellError as error:
        return data_requests_page(request, current, f"Not recorded: {error}", 400)
    return RedirectResponse("/data-requests", status_code=303)


def release_hold(
    request: Request, hold_id: int, current: Admin, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(current, csrf)
    try:
        _privacy(request).release_hold(
            hold_id, current[0].username, runtime_of(request).clock.now()
        )
    except FairwellError as error:
        return data_requests_page(request, current, f"Not released: {error}", 404)
    return RedirectResponse("/data-requests", status_code=303)


def erase_now(
    request: Request,
    current: Admin,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    privacy = _privacy(request)
    try:
        person_id = erasure.person_by_email(privacy, email)
        erasure.erase_person(
            privacy, person_id, f"web:{current[0].username}", runtime_of(request).clock.now()
        )
    except FairwellError as error:
        return data_requests_page(request, current, str(error), 409)
    return data_requests_page(request, current, "Erased.")
