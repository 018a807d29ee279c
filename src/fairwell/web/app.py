"""The FastAPI app: thin handlers, parse -> service -> render.

Pages are server-rendered with Jinja2 (autoescaped); every form carries a CSRF token; the
JSON API under /api uses the same session and the same services.
"""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from fairwell.config import SemanticMode, Settings
from fairwell.domain.model import Job, Stage
from fairwell.domain.reasons import REASONS
from fairwell.domain.users import User
from fairwell.errors import ConfigurationError
from fairwell.ports import ApplicantFilter, JobSummary
from fairwell.runtime import Runtime, open_runtime
from fairwell.services import semantic
from fairwell.services.users import authenticate
from fairwell.storage.users_store import SqlJobManagers, SqlUserStore
from fairwell.web import (
    applicants,
    data_requests,
    deadlines_page,
    feedback_pages,
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
from fairwell.web.common import (
    PAGE_SIZE,
    SignedOut,
    check_csrf,
    landing,
    reader,
    render,
    signed_in,
    visible_jobs,
)
from fairwell.web.security import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SIGNIN_CSRF_COOKIE,
    Session,
    Sessions,
    SigninLimiter,
    same_token,
)


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, mail_viewer: Path | None = None
) -> FastAPI:
    if not settings.secret_key:
        raise ConfigurationError("the web app needs FAIRWELL_SECRET_KEY to sign its sessions")
    if settings.rediscovery_semantic is SemanticMode.ON:
        # Required: load the model now, so a missing extra stops the start, not a page.
        semantic.choose(settings.rediscovery_semantic)
    app = FastAPI(title="Fairwell", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.runtime = runtime or open_runtime(settings)
    app.state.users = SqlUserStore(app.state.runtime.store.engine)
    app.state.job_managers = SqlJobManagers(app.state.runtime.store.engine)
    app.state.sessions = Sessions(settings.secret_key)
    app.state.limiter = SigninLimiter()
    app.state.secure_cookies = settings.secure_cookies
    # The demo's mail viewer shows what the embedded sink received; off without a sink folder.
    app.state.mail_viewer = mail_viewer
    folder = resources.files("fairwell").joinpath("templates/web")
    app.state.pages = Jinja2Templates(directory=str(folder))
    app.add_exception_handler(SignedOut, _signed_out)
    # Our own small scripts (progressive enhancement only); nothing third-party is served.
    static = resources.files("fairwell").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _routes(app)
    return app


def _signed_out(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "sign in first"}, status_code=401)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _routes(app: FastAPI) -> None:
    app.get("/", include_in_schema=False)(home)
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


def home(current: Annotated[tuple[User, Session], Depends(signed_in)]) -> Response:
    """Signed out: the sign-in page; signed in: where the user's role starts."""
    return RedirectResponse(landing(current[0]), status_code=303)


def signin_form(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "signin.html", csrf=token, error=None)
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
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if not same_token(request.cookies.get(SIGNIN_CSRF_COOKIE), csrf):
        raise HTTPException(status_code=403, detail="the form expired; reload the page")
    limiter: SigninLimiter = request.app.state.limiter
    keys = (f"ip:{request.client.host if request.client else '?'}", f"user:{username.lower()}")
    if limiter.blocked(*keys):
        return render(
            request,
            "signin.html",
            429,
            csrf=csrf,
            error="Too many attempts. Wait a few minutes and try again.",
        )
    user = authenticate(request.app.state.users, username, password)
    if user is None:
        limiter.failed(*keys)
        return render(
            request,
            "signin.html",
            401,
            csrf=csrf,
            error="That username and password do not match an active account.",
        )
    limiter.succeeded(*keys)
    cookie, _ = request.app.state.sessions.issue(user.id, user.session_version)
    response = RedirectResponse(landing(user), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


def signout(
    current: Annotated[tuple[User, Session], Depends(signed_in)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _jobs_for(request: Request, user: User) -> list[JobSummary]:
    """The job summaries this user may see (a hiring manager: only their own jobs)."""
    runtime: Runtime = request.app.state.runtime
    allowed = visible_jobs(request, user)
    return [s for s in runtime.store.jobs() if allowed is None or s.job.id in allowed]


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


def pipeline(
    request: Request,
    job_id: int,
    current: Annotated[tuple[User, Session], Depends(reader)],
    stage: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    # A job this user may not see answers exactly like a job that does not exist.
    job = next((s.job for s in _jobs_for(request, current[0]) if s.job.id == job_id), None)
    if job is None:
        raise HTTPException(status_code=404, detail="no such job")
    shown = ApplicantFilter(stage=stage or None, search=(q or "").strip() or None)
    found = runtime.store.applicant_page(job.id, shown, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return render(
        request,
        "pipeline.html",
        user=current[0],
        csrf=current[1].csrf,
        job=job,
        applicants=found.views,
        total=found.total,
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
        stage=stage or "",
        q=q or "",
        filtered=bool(shown.stage or shown.search),
        stages=[s.value for s in Stage],
        reasons=REASONS,
        default_signer=runtime.composer.signer(Job(job.id, job.title)),
    )


def api_jobs(
    request: Request, current: Annotated[tuple[User, Session], Depends(reader)]
) -> list[dict[str, Any]]:
    """The jobs you may see, with their applicants per stage."""
    return [
        {"id": s.job.id, "title": s.job.title, "applicants": s.total, "stages": s.stages}
        for s in _jobs_for(request, current[0])
    ]
