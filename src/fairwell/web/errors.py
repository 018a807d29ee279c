"""Every error a browser can reach is a page in the app's layout; the JSON API keeps JSON.

A page says what happened, what to do about it and where to go back to. Forms that can be
refused for what was typed (a confirmation count, an empty selection, a stale plan) handle
that themselves and show the form again with the input kept; this module catches the rest:
unknown ids, wrong roles, values in the address the app cannot read, an expired form, a body
too large, and anything unexpected (a 500 that names the time, so an admin can find it in
the log, and never the exception's text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fairwell.domain.users import User
from fairwell.web.policy import ASGIApp, Scope

log = logging.getLogger(__name__)

TITLES = {
    400: "That cannot be done as asked",
    401: "Please sign in",
    403: "This page is not for your role",
    404: "Not found",
    405: "That is not how this page is used",
    409: "Something changed in the meantime",
    410: "Gone",
    413: "That was too much to send",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}
WHAT_TO_DO = {
    400: "Check what you entered and try again.",
    401: "Sign in, then open the page again.",
    403: "Use the menu above to reach your own pages. If you need this one, ask an admin "
    "to change your role.",
    404: "It may have been removed, it may not be yours to see, or the address may be "
    "mistyped. Nothing was changed.",
    405: "Use the page's own buttons and links instead of typing the address.",
    409: "Reload the page to see how things stand now, then try again.",
    413: "Shorten what you entered and send it again. Nothing was saved.",
    429: "Wait a few minutes, then try again.",
    500: "Nothing you sent was half-saved: try again in a moment. If it keeps happening, "
    "tell your admin the time shown below.",
}


@dataclass(frozen=True, slots=True)
class WayBack:
    label: str
    href: str


# The nearest page that makes sense to return to, by the path that failed.
_WAYS_BACK: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], WayBack]], ...] = (
    (re.compile(r"^/jobs/(\d+)/"), lambda m: WayBack("Back to the job", f"/jobs/{m[1]}")),
    (re.compile(r"^/jobs"), lambda m: WayBack("Back to the jobs", "/jobs")),
    (re.compile(r"^/batches/"), lambda m: WayBack("Back to the outbox", "/outbox")),
    (re.compile(r"^/outbox"), lambda m: WayBack("Back to the outbox", "/outbox")),
    (
        re.compile(r"^/feedback/(\d+)"),
        lambda m: WayBack("Back to the feedback", f"/feedback/{m[1]}"),
    ),
    (re.compile(r"^/feedback"), lambda m: WayBack("Back to the feedback", "/feedback")),
    (re.compile(r"^/requests"), lambda m: WayBack("Back to the requests", "/requests")),
    (re.compile(r"^/interviews"), lambda m: WayBack("Back to my interviews", "/interviews")),
    (re.compile(r"^/settings"), lambda m: WayBack("Back to the settings", "/settings")),
    (re.compile(r"^/mail"), lambda m: WayBack("Back to the mail", "/mail")),
    (re.compile(r"^/account"), lambda m: WayBack("Back to your account", "/account")),
)


def way_back(path: str, *, status: int = 400) -> WayBack:
    """The nearest page to return to. After a 404 it names no id from the address: the page
    for a job that is not yours is exactly the page for a job that does not exist."""
    for pattern, make in _WAYS_BACK:
        found = pattern.match(path)
        if found and not (status == 404 and found.groups()):
            return make(found)
    return WayBack("Back to the start page", "/")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _signed_in_user(request: Request) -> tuple[User | None, str]:
    """Who is signed in, if anyone, for the page's menu; never raises."""
    from fairwell.errors import SignedOut
    from fairwell.web.common import signed_in

    try:
        user, session = signed_in(request)
    except (SignedOut, Exception):  # an error page must render whatever else is broken
        return None, ""
    return user, session.csrf


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    what_to_do: str | None = None,
    back: WayBack | None = None,
    reference: str | None = None,
) -> Response:
    """The error in the app's layout: what happened, what to do, the way back."""
    from fairwell.web.common import render

    user, csrf = _signed_in_user(request)
    response = render(
        request,
        "error.html",
        status,
        user=user,
        csrf=csrf,
        code=status,
        heading=TITLES.get(status, "That did not work"),
        message=message,
        what_to_do=what_to_do or WHAT_TO_DO.get(status, WHAT_TO_DO[400]),
        back=back or way_back(request.url.path, status=status),
        reference=reference,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _detail_text(detail: Any) -> str:
    if isinstance(detail, str):
        return detail[:1].upper() + detail[1:] + ("" if detail.endswith(".") else ".")
    return "The request could not be carried out."


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if is_api(request):
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    if exc.status_code in (404, 405):
        from fairwell.web.portal import portal_miss

        candidate_page = portal_miss(request, exc.status_code)
        if candidate_page is not None:
            return candidate_page
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = "There is no page at this address."
    elif exc.status_code == 405:
        message = "This address does not take that kind of request."
    else:
        message = _detail_text(exc.detail)
    return error_page(request, exc.status_code, message)


def _field(error: dict[str, Any]) -> str:
    where = [str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path")]
    return ".".join(where) or "the request"


_PLAIN = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "missing": "is missing",
    "string_too_long": "is too long",
    "bool_parsing": "must be yes or no",
}


def _plain(error: dict[str, Any]) -> str:
    said = _PLAIN.get(str(error.get("type")), str(error.get("msg", "is not valid")).lower())
    given = error.get("input")
    shown = f" (got {given!r})" if isinstance(given, str) and len(given) <= 40 else ""
    return f"{_field(error)} {said}{shown}"


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_api(request):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, 422)
    problems = "; ".join(_plain(error) for error in exc.errors()[:5])
    message = f"Fairwell could not read this request: {problems}."
    if request.method == "GET":
        hint = "Open the page from its link instead of a typed address, or fix the value named."
        plain = WayBack("Open the page without these values", request.url.path)
        return error_page(request, 400, message, what_to_do=hint, back=plain)
    hint = "Go back to the form: what you typed is still there. Fill in what is named."
    return error_page(request, 400, message, what_to_do=hint)


async def server_error(request: Request, exc: Exception) -> Response:
    from fairwell.web.common import runtime_of

    try:
        at = runtime_of(request).clock.now().strftime("%Y-%m-%d %H:%M:%S UTC")
    except Exception:
        at = "unknown"
    # The exception's type only: its text may hold an applicant's name or address.
    log.error(
        "unhandled %s on %s %s at %s", type(exc).__name__, request.method, _route(request), at
    )
    if is_api(request):
        return JSONResponse({"detail": "internal error", "at": at}, 500)
    message = "The page could not be made. This is a fault in Fairwell, not in what you did."
    return error_page(request, 500, message, reference=at)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "?"))


def refuse_large_body(scope: Scope) -> ASGIApp:
    """The 413 answer of BodyLimit: JSON for the API, a short page for the browser."""
    path = str(scope.get("path", ""))
    if path.startswith("/api/"):
        return JSONResponse({"detail": "the request body is too large"}, 413)
    body = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Too large · Fairwell"
        "</title><link rel='stylesheet' href='/static/fairwell.css'></head><body><main "
        "class='container'><h1>That was too much to send</h1><p>The form held more than "
        "Fairwell accepts (1 MB). Nothing was saved. Go back, shorten what you entered and "
        "send it again.</p><p><a href='/'>Back to the start page</a></p></main></body></html>"
    )
    from fastapi.responses import HTMLResponse

    return HTMLResponse(body, 413)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
