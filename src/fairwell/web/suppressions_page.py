"""The suppression list for admins: every address never written to again, and why.

Admins add an address (a candidate asked not to be written to) or remove one (a bounce that
was a mistake); both are audited without the address. Thin handlers over
services/suppressions.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fairwell.errors import FairwellError
from fairwell.services import suppressions as service
from fairwell.web.common import actor, check_csrf, render, runtime_of
from fairwell.web.settings import Admin


def register(app: FastAPI) -> None:
    app.get("/suppressions", include_in_schema=False)(suppressions_page)
    app.post("/suppressions", include_in_schema=False)(add)
    app.post("/suppressions/remove", include_in_schema=False)(remove)


def suppressions_page(
    request: Request, current: Admin, message: str = "", error: str = "", status: int = 200
) -> Response:
    records = service.suppressions(runtime_of(request).suppressions)
    return render(
        request,
        "suppressions.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        records=records,
        message=message,
        error=error,
    )


def add(
    request: Request,
    current: Admin,
    email: Annotated[str, Form(max_length=320)],
    reason: Annotated[str, Form(max_length=2 * service.MAX_REASON)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    try:
        added = service.suppress(
            runtime.suppressions, email, reason, actor=actor(current), now=runtime.clock.now()
        )
    except FairwellError as error:
        return suppressions_page(request, current, error=str(error).splitlines()[0], status=400)
    if not added:
        return suppressions_page(request, current, message="That address was already suppressed.")
    return RedirectResponse("/suppressions", status_code=303)


def remove(
    request: Request,
    current: Admin,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    try:
        service.unsuppress(
            runtime.suppressions, email, actor=actor(current), now=runtime.clock.now()
        )
    except FairwellError as error:
        return suppressions_page(request, current, error=str(error).splitlines()[0], status=400)
    return RedirectResponse("/suppressions", status_code=303)
