"""What every page handler shares: who is signed in, who may see what, rendering a page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from fairwell.domain.users import REVIEWER_ROLES, STAFF_ROLES, Role, User
from fairwell.runtime import Runtime
from fairwell.storage.users_store import SqlJobManagers
from fairwell.web.security import SESSION_COOKIE, Session, same_token

PAGE_SIZE = 50
STAFF = STAFF_ROLES
Current = tuple[User, Session]


class SignedOut(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


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
    """
    sessions = request.app.state.sessions
    token = _bearer(request) if request.url.path.startswith("/api/") else None
    if token is not None:
        session = sessions.read_api_token(token)
    else:
        session = sessions.read(request.cookies.get(SESSION_COOKIE))
    return _checked_user(request, session)


def api_caller(request: Request) -> tuple[User, Session]:
    """The API's writes take a bearer token only: a cookie could be sent by another site."""
    return _checked_user(request, request.app.state.sessions.read_api_token(_bearer(request)))


def _checked_user(request: Request, session: Session | None) -> tuple[User, Session]:
    if session is None:
        raise SignedOut
    user = request.app.state.users.by_id(session.user_id)
    if user is None or user.disabled or user.session_version != session.version:
        raise SignedOut
    return user, session


def api_staff(current: Annotated[Current, Depends(api_caller)]) -> Current:
    if current[0].role not in STAFF:
        raise HTTPException(status_code=403, detail="for recruiters")
    return current


def staff(current: Annotated[tuple[User, Session], Depends(signed_in)]) -> tuple[User, Session]:
    """Admins and recruiters; hiring managers and interviewers get their own pages later."""
    if current[0].role not in STAFF:
        raise HTTPException(status_code=403, detail="this page is for recruiters")
    return current


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    pages: Jinja2Templates = request.app.state.pages
    response = pages.TemplateResponse(request, name, context, status_code=status)
    return headers(response)


READERS = REVIEWER_ROLES


def reader(current: Annotated[Current, Depends(signed_in)]) -> Current:
    """Who may read jobs: staff see all of them, a hiring manager only their own."""
    if current[0].role not in READERS:
        raise HTTPException(status_code=403, detail="this page is not for your role yet")
    return current


def visible_jobs(request: Request, user: User) -> set[int] | None:
    """The ids of the jobs this user may see; None means every job."""
    if user.role in STAFF:
        return None
    managers: SqlJobManagers = request.app.state.job_managers
    return managers.jobs_of(user.id)


def check_csrf(current: Current, given: str | None) -> None:
    """Refuse a POST whose form does not carry the session's CSRF token."""
    if not same_token(current[1].csrf, given):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def landing(user: User) -> str:
    """Where a user starts: interviewers at their interviews, everyone else at the jobs."""
    return "/interviews" if user.role is Role.INTERVIEWER else "/jobs"


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
