"""The FastAPI app: thin handlers, parse -> service -> render.

Pages are server-rendered with Jinja2 (autoescaped); every form carries a CSRF token; the
JSON API under /api uses the same session and the same services.
"""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fairwell.config import SemanticMode, Settings
from fairwell.domain.model import Stage
from fairwell.domain.users import User
from fairwell.errors import ConfigurationError, SignedOut
from fairwell.ports import JobSummary
from fairwell.runtime import Runtime, open_runtime
from fairwell.services import semantic
from fairwell.services.users import authenticate
from fairwell.web import (
    account,
    api_docs,
    applicants,
    data_requests,
    deadlines_page,
    errors,
    feedback_pages,
    home_page,
    integrations,
    job_page,
    mail,
    outbox,
    portal,
    rediscovery,
    requests_pages,
    sending,
    suppressions_page,
    wording_pages,
)
from fairwell.web import settings as settings_pages
from fairwell.web.assets import VendorAssets, find_vendor_assets
from fairwell.web.common import (
    PAGE_SIZE,
    check_csrf,
    landing,
    reader,
    render,
    set_session_cookie,
    signed_in,
    visible_jobs,
)
from fairwell.web.pipeline_view import PAGE_SIZES, PipelineView, pipeline_page
from fairwell.web.policy import BodyLimit, SecurityHeaders
from fairwell.web.security import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Session,
    Sessions,
    SigninLimiter,
    same_token,
    session_clock,
    username_key,
)
from fairwell.web.wording import menu, plural, role_name


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, mail_viewer: Path | None = None
) -> FastAPI:
    if not settings.secret_key:
        raise ConfigurationError("the web app needs FAIRWELL_SECRET_KEY to sign its sessions")
    if settings.rediscovery_semantic is SemanticMode.ON:
        # Required: load the model now, so a missing extra stops the start, not a page.
        semantic.choose(settings.rediscovery_semantic)
    # The docs page is ours (web/api_docs.py): Swagger UI served by the app, never a CDN.
    app = FastAPI(title="Fairwell", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    wired = runtime or open_runtime(settings)
    app.state.runtime = wired
    # The runtime's stores and services; the app builds none of its own.
    app.state.users = wired.users
    app.state.job_managers = wired.job_managers
    app.state.sessions = wired.sessions
    app.state.limiter = wired.signin_limiter
    app.state.secure_cookies = settings.secure_cookies
    # The demo's mail viewer shows what the embedded sink received; off without a sink folder.
    app.state.mail_viewer = mail_viewer
    app.state.vendor = find_vendor_assets(settings.web_assets)
    app.state.pages = _pages(app.state.vendor)
    errors.install(app)
    app.add_exception_handler(SignedOut, _signed_out)
    app.add_middleware(BodyLimit, refuse=errors.refuse_large_body)
    app.add_middleware(SecurityHeaders)
    _routes(app)
    # Pinned front-end packages first (web/assets.py), then our own styles and scripts.
    api_docs.register(app)
    static = resources.files("fairwell").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


def _pages(vendor: VendorAssets) -> Jinja2Templates:
    """The page templates, with what every page's layout uses."""
    folder = resources.files("fairwell").joinpath("templates/web")
    pages = Jinja2Templates(directory=str(folder))
    pages.env.globals.update(menu=menu, role_name=role_name, plural=plural, vendor=vendor)
    pages.env.filters["plural"] = plural
    return pages


def _signed_out(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "sign in first"}, status_code=401)
    target = "/signin"
    if request.method == "GET" and request.url.path not in ("/", "/signin"):
        target += "?" + urlencode({"next": request.url.path + _query(request)})
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _local(target: str | None) -> str | None:
    """A path on this site to return to after signing in; anything else is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _routes(app: FastAPI) -> None:
    app.get("/", include_in_schema=False)(home)
    home_page.register(app)
    account.register(app)
    app.get("/signin", response_class=HTMLResponse, include_in_schema=False)(signin_form)
    app.post("/signin", include_in_schema=False)(signin)
    app.post("/signout", include_in_schema=False)(signout)
    app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)(jobs_page)
    app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)(pipeline)
    app.get("/api/jobs")(api_jobs)
    sending.register(app)
    outbox.register(app)
    mail.register(app)
    settings_pages.register(app)
    feedback_pages.register(app)
    requests_pages.register(app)
    applicants.register(app)
    portal.register(app)
    data_requests.register(app)
    deadlines_page.register(app)
    job_page.register(app)
    rediscovery.register(app)
    suppressions_page.register(app)
    integrations.register(app)
    wording_pages.register(app)


def home(request: Request) -> Response:
    """Signed out: the sign-in page; signed in: the home page of what waits for them."""
    user, _ = signed_in(request)
    return RedirectResponse(landing(user), status_code=303)


def signin_form(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    return _signin_page(request, next_page=_local(next))


def _signin_page(
    request: Request,
    status: int = 200,
    *,
    error: str | None = None,
    username: str = "",
    next_page: str | None = None,
) -> Response:
    """The sign-in form with a fresh CSRF token; a refused attempt keeps the username."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "signin.html",
        status,
        csrf=token,
        error=error,
        username=username,
        next_page=next_page,
        saved="signed_out" in request.query_params,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
    )
    return response


def signin(
    request: Request,
    username: Annotated[str, Form(max_length=400)],
    password: Annotated[str, Form(max_length=4000)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    next_page = _local(next)
    if not same_token(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf):
        error = "The form had expired. Please sign in again."
        return _signin_page(request, 403, error=error, username=username, next_page=next_page)
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock.now()
    limiter: SigninLimiter = request.app.state.limiter
    user_key = username_key(username)
    keys = (f"ip:{request.client.host if request.client else '?'}", user_key)
    if limiter.blocked(now, *keys):
        error = "Too many attempts. Wait 15 minutes and try again."
        return _signin_page(request, 429, error=error, username=username, next_page=next_page)
    user = authenticate(request.app.state.users, username, password)
    if user is None:
        limiter.failed(now, *keys)
        error = "That username and password do not match an active account."
        return _signin_page(request, 401, error=error, username=username, next_page=next_page)
    limiter.succeeded(user_key)
    sessions: Sessions = request.app.state.sessions
    cookie, _ = sessions.issue(user.id, user.session_version, session_clock())
    response = RedirectResponse(next_page or landing(user), status_code=303)
    set_session_cookie(request, response, cookie)
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


def signout(
    request: Request,
    current: Annotated[tuple[User, Session], Depends(signed_in)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """End this session on the server: the cookie, even a saved copy, no longer works."""
    check_csrf(current, csrf)
    sessions: Sessions = request.app.state.sessions
    sessions.end(current[1], session_clock())
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def pipeline(
    request: Request,
    job_id: int,
    current: Annotated[tuple[User, Session], Depends(reader)],
    stage: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    dir: Annotated[str | None, Query(max_length=4)] = None,
    size: Annotated[int, Query(ge=1, le=max(PAGE_SIZES))] = PAGE_SIZE,
) -> Response:
    """The job's applicants: filtered, sorted, paged; staff select and reject from here."""
    view = PipelineView.chosen(stage, q, page, sort, dir, size)
    return pipeline_page(request, job_id, current, view)


def _jobs_for(request: Request, user: User) -> list[JobSummary]:
    """The job summaries this user may see (a hiring manager: only their own jobs)."""
    runtime: Runtime = request.app.state.runtime
    allowed = visible_jobs(request, user)
    return [s for s in runtime.pipeline.jobs() if allowed is None or s.job.id in allowed]


def jobs_page(
    request: Request, current: Annotated[tuple[User, Session], Depends(reader)]
) -> Response:
    return render(
        request,
        "jobs.html",
        user=current[0],
        csrf=current[1].csrf,
        jobs=_jobs_for(request, current[0]),
        stages=[stage.value for stage in Stage],
    )


def api_jobs(
    request: Request, current: Annotated[tuple[User, Session], Depends(reader)]
) -> list[dict[str, Any]]:
    """The jobs you may see, with their applicants per stage."""
    return [
        {"id": s.job.id, "title": s.job.title, "applicants": s.total, "stages": s.stages}
        for s in _jobs_for(request, current[0])
    ]
