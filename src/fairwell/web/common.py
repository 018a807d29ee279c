"""What every page handler shares: who is signed in, who may see what, rendering a page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from fairwell.domain.users import REVIEWER_ROLES, STAFF_ROLES, Role, User
from fairwell.errors import SignedOut as SignedOut
from fairwell.ports.users import JobManagers
from fairwell.runtime import Runtime
from fairwell.web.security import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    Session,
    same_token,
    session_clock,
)

PAGE_SIZE = 50
STAFF = STAFF_ROLES
Current = tuple[User, Session]


def headers(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def signed_in(request: Request) -> tuple[User, Session]:
    """The signed-in user and session, or SignedOut; a disabled user is signed out at once.

    The API also takes a bearer token (`fairwell users token`); pages take the cookie only.
    A read-only token reads: anything but GET and HEAD is refused.
    """
    sessions = request.app.state.sessions
    now = session_clock()
    token = _bearer(request) if request.url.path.startswith("/api/") else None
    if token is not None:
        session = sessions.read_api_token(token, now)
    else:
        session = sessions.read(request.cookies.get(SESSION_COOKIE), now)
    return _checked_user(request, session)


def api_caller(request: Request) -> tuple[User, Session]:
    """The API's writes take a bearer token only: a cookie could be sent by another site."""
    token = request.app.state.sessions.read_api_token(_bearer(request), session_clock())
    return _checked_user(request, token)


def _checked_user(request: Request, session: Session | None) -> tuple[User, Session]:
    if session is None:
        raise SignedOut
    user = request.app.state.users.by_id(session.user_id)
    if user is None or user.disabled:
        raise SignedOut
    if session.version is not None and user.session_version != session.version:
        raise SignedOut
    if session.read_only and request.method not in ("GET", "HEAD"):
        raise HTTPException(status_code=403, detail="this token may only read")
    return user, session


def api_staff(current: Annotated[Current, Depends(api_caller)]) -> Current:
    if current[0].role not in STAFF:
        raise HTTPException(status_code=403, detail="for recruiters")
    return current


def staff(current: Annotated[tuple[User, Session], Depends(signed_in)]) -> tuple[User, Session]:
    """Admins and recruiters: rejecting, sending and the outbox are theirs."""
    if current[0].role not in STAFF:
        raise HTTPException(status_code=403, detail="this page is for recruiters and admins only")
    return current


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    pages: Jinja2Templates = request.app.state.pages
    response = pages.TemplateResponse(request, name, context, status_code=status)
    return headers(response)


READERS = REVIEWER_ROLES


def reader(current: Annotated[Current, Depends(signed_in)]) -> Current:
    """Who may read jobs: staff see all of them, a hiring manager only their own."""
    if current[0].role not in READERS:
        raise HTTPException(
            status_code=403, detail="this page is for recruiters, admins and hiring managers"
        )
    return current


def visible_jobs(request: Request, user: User) -> set[int] | None:
    """The ids of the jobs this user may see; None means every job."""
    if user.role in STAFF:
        return None
    managers: JobManagers = request.app.state.job_managers
    return managers.jobs_of(user.id)


def check_csrf(current: Current, given: str | None) -> None:
    """Refuse a POST whose form does not carry the session's CSRF token."""
    if not same_token(current[1].csrf, given):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def landing(user: User) -> str:
    """Where a user starts: the home page of what waits for their role (web/home.py)."""
    return "/home"


def interviewer(current: Annotated[Current, Depends(signed_in)]) -> Current:
    """Interviewers only; which applications they reach is the service's check."""
    if current[0].role is not Role.INTERVIEWER:
        raise HTTPException(status_code=403, detail="this page is for interviewers")
    return current


def api_interviewer(current: Annotated[Current, Depends(api_caller)]) -> Current:
    """An interviewer's API writes: a bearer token only, like every API write."""
    return interviewer(current)


def runtime_of(request: Request) -> Runtime:
    """The app's runtime: store, composer, clock and settings, shared by every handler."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def actor(current: Current) -> str:
    """Who did it, as the audit log names web users."""
    return f"web:{current[0].username}"


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    """The session cookie: HTTP only, same-site, Secure when served over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
