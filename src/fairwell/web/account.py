"""Your own account: change the password, sign out everywhere, and your API tokens.

Changing the password ends every other session of the account (this browser gets a new one);
"sign out everywhere" ends all of them, this one too. A new API token is shown once, on the
page that created it; each token can be revoked on its own, and may be read-only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fairwell.errors import FairwellError
from fairwell.services.users import change_password
from fairwell.web.common import (
    Current,
    actor,
    check_csrf,
    render,
    runtime_of,
    set_session_cookie,
    signed_in,
)
from fairwell.web.security import SESSION_COOKIE, Sessions, session_clock

Signed = Annotated[Current, Depends(signed_in)]
NOTICES = {
    "password": "Your password is changed. Every other session of your account has ended.",
    "revoked": "The token is revoked: scripts using it are refused from now on.",
}


def register(app: FastAPI) -> None:
    app.get("/account", response_class=HTMLResponse, include_in_schema=False)(account_page)
    app.post("/account/password", include_in_schema=False)(password_form)
    app.post("/account/sign-out-everywhere", include_in_schema=False)(sign_out_everywhere)
    app.post("/account/tokens", include_in_schema=False)(token_form)
    app.post("/account/tokens/{token_id}/revoke", include_in_schema=False)(revoke_form)


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def _page(
    request: Request,
    current: Current,
    status: int = 200,
    *,
    notice: str = "",
    error: str = "",
    where: str = "",
    new_token: str = "",
    token_name: str = "",
) -> Response:
    user = current[0]
    now = session_clock()
    response = render(
        request,
        "account.html",
        status,
        user=user,
        csrf=current[1].csrf,
        sessions=_sessions(request).live_count(user.id, now),
        tokens=_sessions(request).tokens_of(user.id),
        notice=notice,
        error=error,
        where=where,
        new_token=new_token,
        token_name=token_name,
    )
    # The page may show a new token: no cache keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response


def account_page(request: Request, current: Signed, done: str = "") -> Response:
    return _page(request, current, notice=NOTICES.get(done, ""))


def password_form(
    request: Request,
    current: Signed,
    current_password: Annotated[str, Form(max_length=4000)],
    new_password: Annotated[str, Form(max_length=4000)],
    again: Annotated[str, Form(max_length=4000)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    now = runtime_of(request).clock.now()
    if new_password != again:
        error = "The two new passwords differ. Type the same new password twice."
        return _page(request, current, 400, error=error, where="password")
    try:
        change_password(
            request.app.state.users,
            current[0],
            current_password,
            new_password,
            actor=actor(current),
            now=now,
        )
    except FairwellError as refused:
        return _page(request, current, 400, error=str(refused), where="password")
    # Every session of the account ends, this one too; this browser gets a fresh one.
    sessions = _sessions(request)
    sessions.end_all(current[0].id, session_clock(), actor=actor(current))
    cookie, _ = sessions.issue(current[0].id, current[0].session_version, session_clock())
    response = RedirectResponse("/account?done=password", status_code=303)
    set_session_cookie(request, response, cookie)
    return response


def sign_out_everywhere(
    request: Request, current: Signed, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(current, csrf)
    _sessions(request).end_all(current[0].id, session_clock(), actor=actor(current))
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def token_form(
    request: Request,
    current: Signed,
    name: Annotated[str, Form(max_length=400)] = "",
    read_only: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Create a token and show it once; the page is not cached."""
    check_csrf(current, csrf)
    now = runtime_of(request).clock.now()
    try:
        token = _sessions(request).create_token(
            current[0].id, name, read_only, actor=actor(current), now=now
        )
    except FairwellError as refused:
        return _page(request, current, 400, error=str(refused), where="tokens", token_name=name)
    return _page(request, current, 201, new_token=token, token_name=name)


def revoke_form(
    request: Request, token_id: int, current: Signed, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(current, csrf)
    now = runtime_of(request).clock.now()
    if not _sessions(request).revoke_token(current[0].id, token_id, actor=actor(current), now=now):
        error = "That token is not one of yours, or it was revoked already."
        return _page(request, current, 404, error=error, where="tokens")
    return RedirectResponse("/account?done=revoked", status_code=303)
