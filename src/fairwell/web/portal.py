"""The candidate portal: the pages behind the personal link in every letter.

The link's token is the only credential. GET pages only read (an email security scanner
that follows the link changes nothing); every change is a POST whose form carries a signed,
single-use nonce bound to the application and the action. Pages speak the letter's language,
send no referrer, and never say whether another person or application exists. Tokens are
kept out of the access log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import BackgroundTasks, FastAPI, Form, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from fairwell.config import Settings
from fairwell.errors import ExpiredPortalToken, InvalidPortalToken
from fairwell.errors import FormRefused as FormRefused
from fairwell.ports import ConsentRecord, PortalApplication, PortalStore, PrivacyStore
from fairwell.runtime import Runtime
from fairwell.services import erasure, portal_actions
from fairwell.services.consent import keep_on_file, offered_until, renewed_until
from fairwell.services.export import as_json_value, export_person
from fairwell.services.portal import PortalForms, PortalLinks
from fairwell.services.requests import MAX_TEXT
from fairwell.services.retention import load_book
from fairwell.web.common import headers
from fairwell.web.policy import PAGE_POLICY, RAW_POLICY
from fairwell.web.portal_text import TEXT, from_header, language, long_date, texts
from fairwell.web.security import SigninLimiter

FRESH_LINK = "fresh-link"


@dataclass
class Portal:
    settings: Settings
    runtime: Runtime
    links: PortalLinks
    forms: PortalForms
    store: PortalStore
    privacy: PrivacyStore
    pages: Jinja2Templates
    prefix: str
    # A fresh link may be asked for 5 times an hour per client and 3 times per address.
    per_client: SigninLimiter
    per_address: SigninLimiter

    @property
    def max_age(self) -> int:
        return self.settings.portal_link_max_age_days * 86400


def register(app: FastAPI) -> None:
    settings: Settings = app.state.runtime.settings
    if not settings.portal_url or not settings.secret_key:
        return
    prefix = urlparse(settings.portal_url).path.rstrip("/") or "/p"
    app.state.portal = _portal(app.state.runtime, settings, prefix)
    logging.getLogger("uvicorn.access").addFilter(HideTokens(prefix))
    app.add_exception_handler(InvalidPortalToken, _bad_link)
    app.add_exception_handler(FormRefused, _form_refused)
    route = f"{prefix}/{{token}}"
    app.post(f"{prefix}/{FRESH_LINK}", include_in_schema=False)(fresh_link)
    app.get(route, include_in_schema=False)(overview)
    app.post(f"{route}/checklist", include_in_schema=False)(checklist)
    for action, (show, do) in ACTIONS.items():
        app.get(f"{route}/{action}", include_in_schema=False)(show)
        app.post(f"{route}/{action}", include_in_schema=False)(do)


def _portal(runtime: Runtime, settings: Settings, prefix: str) -> Portal:
    assert settings.portal_url and settings.secret_key
    fallbacks = tuple(settings.secret_key_fallbacks)
    folder = resources.files("fairwell").joinpath("templates/portal")
    return Portal(
        settings=settings,
        runtime=runtime,
        links=PortalLinks(settings.portal_url, settings.secret_key, fallbacks),
        forms=PortalForms(settings.secret_key, fallbacks),
        store=runtime.portal,
        privacy=runtime.privacy,
        pages=Jinja2Templates(directory=str(folder)),
        prefix=prefix,
        # In the database, like the sign-in limits: every web process counts the same.
        per_client=SigninLimiter(runtime.signin_failures, limit=5, window=timedelta(hours=1)),
        per_address=SigninLimiter(runtime.signin_failures, limit=3, window=timedelta(hours=1)),
    )


class HideTokens(logging.Filter):
    """Replace portal tokens in access-log lines: a token is a key to someone's data."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix + "/"

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._hidden(arg) for arg in record.args)
        return True

    def _hidden(self, arg: object) -> object:
        if isinstance(arg, str) and arg.startswith(self.prefix):
            rest = arg[len(self.prefix) :].split("/", 1)
            return self.prefix + "…" + ("/" + rest[1] if len(rest) > 1 else "")
        return arg


# --- shared ---------------------------------------------------------------------------


def _state(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _page(request: Request, name: str, lang: str, status: int = 200, **context: Any) -> Response:
    portal = _state(request)
    context = {"t": TEXT[lang], "lang": lang, "prefix": portal.prefix, **context}
    response = portal.pages.TemplateResponse(request, name, context, status_code=status)
    return _private(response)


def _private(response: Response) -> Response:
    headers(response)
    response.headers["Cache-Control"] = "no-store"
    # The same strict policy as the staff pages (web/policy.py); a download is raw data.
    raw = response.media_type != "text/html"
    response.headers["Content-Security-Policy"] = RAW_POLICY if raw else PAGE_POLICY
    return response


def _opened(request: Request, token: str) -> PortalApplication:
    portal = _state(request)
    return portal_actions.open_link(portal.store, portal.links, token, portal.max_age)


def _app_page(
    request: Request,
    name: str,
    token: str,
    app: PortalApplication,
    status: int = 200,
    **context: Any,
) -> Response:
    portal = _state(request)
    lang = language(app.locale)
    forms = {action: portal.forms.issue(app.ref, action) for action in (*ACTIONS, "checklist")}
    return _page(
        request,
        name,
        lang,
        status,
        t=texts(lang, applied=not app.never_applied),
        token=token,
        app=app,
        forms=forms,
        org=portal.settings.org_name,
        date=lambda moment: long_date(moment, lang),
        **context,
    )


def _accepted(request: Request, app: PortalApplication, action: str, form: str) -> None:
    """Check the form's signature, application and action; use its nonce up (once only)."""
    portal = _state(request)
    lang = language(app.locale)
    try:
        claim = portal.forms.read(form, app.ref, action)
    except InvalidPortalToken:
        raise FormRefused(lang) from None
    now = portal.runtime.clock.now()
    if not portal.store.use_nonce(claim.nonce, app.application_id, now):
        raise FormRefused(lang)


def _bad_link(request: Request, exc: Exception) -> Response:
    portal = _state(request)
    lang, status, title = from_header(request.headers.get("accept-language")), 404, "invalid_title"
    if isinstance(exc, ExpiredPortalToken):
        found = portal.store.application(exc.application_ref)
        lang = language(found.locale) if found else lang
        status, title = 410, "expired_title"
    form = portal.forms.issue("", FRESH_LINK)
    return _page(request, "expired.html", lang, status, title=title, form=form)


def portal_miss(request: Request, status: int) -> Response | None:
    """A candidate's wrong address under the portal gets the portal's page, not the staff one.

    The page in the candidate's language offers a fresh link, exactly like a link that does
    not work: nothing in it tells whether a token exists or what the staff app looks like.
    """
    portal: Portal | None = getattr(request.app.state, "portal", None)
    path = request.url.path
    if portal is None or not (path == portal.prefix or path.startswith(portal.prefix + "/")):
        return None
    lang = from_header(request.headers.get("accept-language"))
    form = portal.forms.issue("", FRESH_LINK)
    return _page(request, "expired.html", lang, status, title="invalid_title", form=form)


def _form_refused(request: Request, exc: Exception) -> Response:
    lang = exc.lang if isinstance(exc, FormRefused) else "en"
    return _page(request, "message.html", lang, 409, title="problem", message="form_used")


# --- pages ----------------------------------------------------------------------------


def overview(request: Request, token: str, saved: bool = False) -> Response:
    app = _opened(request, token)
    runtime = _state(request).runtime
    return _app_page(
        request,
        "overview.html",
        token,
        app,
        letter=portal_actions.letter_text(runtime.store, app),
        ticked=_state(request).store.checklist(app.application_id),
        waiting=portal_actions.open_request(runtime.request_store, app),
        saved=saved,
        **_renewal(_state(request), app, runtime.clock.now()),
    )


def checklist(
    request: Request,
    token: str,
    form: Annotated[str, Form()],
    step: Annotated[list[int] | None, Form()] = None,
) -> Response:
    app = _opened(request, token)
    _accepted(request, app, "checklist", form)
    portal = _state(request)
    portal_actions.save_checklist(portal.store, app, set(step or []), portal.runtime.clock.now())
    return overview(request, token, saved=True)


def ask_page(request: Request, token: str) -> Response:
    app = _opened(request, token)
    waiting = portal_actions.open_request(_state(request).runtime.request_store, app)
    return _app_page(request, "ask.html", token, app, asked=None, waiting=waiting)


def ask(
    request: Request,
    token: str,
    form: Annotated[str, Form()],
    question: Annotated[str, Form(max_length=4 * MAX_TEXT)] = "",
) -> Response:
    app = _opened(request, token)
    _accepted(request, app, "ask", form)  # a form sent twice is refused (409)
    portal = _state(request)
    requests = portal.runtime.request_store
    waiting = portal_actions.open_request(requests, app)
    if waiting is not None:  # one open request at a time: the page says so
        return _app_page(request, "ask.html", token, app, asked=None, waiting=waiting)
    text = question.replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_TEXT:
        # The page comes back with a fresh form and what they wrote, to shorten and send.
        problem = "ask_empty" if not text else "ask_too_long"
        return _app_page(
            request,
            "ask.html",
            token,
            app,
            400,
            asked=None,
            waiting=None,
            problem=problem,
            kept=question,
            limit=MAX_TEXT,
            length=len(text),
        )
    try:
        record = portal_actions.ask_for_more(
            requests,
            app,
            question,
            portal.settings.request_due_business_days,
            portal.runtime.clock.now(),
        )
    except portal_actions.AlreadyAsked as already:  # another tab asked in between
        return _app_page(request, "ask.html", token, app, asked=None, waiting=already.record)
    return _app_page(request, "ask.html", token, app, asked=record, waiting=None)


def _offered_until(portal: Portal, app: PortalApplication, now: datetime) -> datetime:
    """From the retention policy the run deletes by (services/retention.py)."""
    book = portal.runtime.composer.retention or load_book(portal.settings.retention_policies)
    facts = portal.runtime.retention.application_facts(app.application_id)
    return offered_until(book, facts, now)


def _renewal(portal: Portal, app: PortalApplication, now: datetime) -> dict[str, Any]:
    """The consent in force and the date renewing it now would give (None: no renewal)."""
    current = portal.store.consent(app.person_id, now)
    return {"current": current, "renew_until": _renew_until(portal, app, current, now)}


def _renew_until(
    portal: Portal, app: PortalApplication, current: ConsentRecord | None, now: datetime
) -> datetime | None:
    book = portal.runtime.composer.retention or load_book(portal.settings.retention_policies)
    facts = portal.runtime.retention.application_facts(app.application_id)
    return renewed_until(book, facts, current, now)


def consent_page(request: Request, token: str, changed: str | None = None) -> Response:
    app = _opened(request, token)
    portal = _state(request)
    now = portal.runtime.clock.now()
    return _app_page(
        request,
        "consent.html",
        token,
        app,
        offered_until=_offered_until(portal, app, now),
        changed=changed,
        **_renewal(portal, app, now),
    )


def consent(
    request: Request, token: str, form: Annotated[str, Form()], choice: Annotated[str, Form()]
) -> Response:
    app = _opened(request, token)
    _accepted(request, app, "consent", form)
    portal = _state(request)
    now = portal.runtime.clock.now()
    if choice == "withdraw":
        portal.store.withdraw_consent(app.person_id, now)
        return consent_page(request, token, changed="consent_withdrawn")
    if choice == "renew":
        current = portal.store.consent(app.person_id, now)
        until = _renew_until(portal, app, current, now)
        if until is None:
            return consent_page(request, token)
        keep_on_file(portal.store, app, until, now)
        return consent_page(request, token, changed="consent_renewed")
    keep_on_file(portal.store, app, _offered_until(portal, app, now), now)
    return consent_page(request, token, changed="consent_given")


def data_page(request: Request, token: str) -> Response:
    return _app_page(request, "data.html", token, _opened(request, token))


def data(request: Request, token: str, form: Annotated[str, Form()]) -> Response:
    app = _opened(request, token)
    _accepted(request, app, "data", form)
    portal = _state(request)
    now = portal.runtime.clock.now()
    # A download is an access request answered at once; it is recorded like one.
    erasure.record_request(portal.privacy, erasure.ACCESS, app.person_id, "portal", now)
    document = export_person(portal.privacy, app.person_id, now)
    body = json.dumps(document, indent=2, ensure_ascii=False, default=as_json_value)
    response = Response(body.encode("utf-8"), media_type="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{app.ref}.json"'
    return _private(response)


def delete_page(request: Request, token: str) -> Response:
    return _app_page(request, "delete.html", token, _opened(request, token), outcome=None)


def delete(
    request: Request,
    token: str,
    form: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    app = _opened(request, token)
    if confirm != "yes":
        return delete_page(request, token)
    _accepted(request, app, "delete", form)
    return _erase(request, token, app)


def _erase(request: Request, token: str, app: PortalApplication) -> Response:
    portal = _state(request)
    outcome = erasure.request_erasure(
        portal.privacy, app.person_id, "portal", "candidate", portal.runtime.clock.now()
    )
    return _app_page(request, "delete.html", token, app, outcome=outcome)


def not_applied_page(request: Request, token: str) -> Response:
    app = _opened(request, token)
    if not app.never_applied:
        raise InvalidPortalToken("not for this application")
    return _app_page(request, "not_applied.html", token, app)


def not_applied(request: Request, token: str, form: Annotated[str, Form()]) -> Response:
    app = _opened(request, token)
    if not app.never_applied:
        raise InvalidPortalToken("not for this application")
    _accepted(request, app, "not-applied", form)
    return _erase(request, token, app)


ACTIONS: dict[str, tuple[Callable[..., Response], Callable[..., Response]]] = {
    "ask": (ask_page, ask),
    "consent": (consent_page, consent),
    "data": (data_page, data),
    "delete": (delete_page, delete),
    "not-applied": (not_applied_page, not_applied),
}


# --- a fresh link ---------------------------------------------------------------------


def fresh_link(
    request: Request,
    background: BackgroundTasks,
    form: Annotated[str, Form()],
    email: Annotated[str, Form(max_length=320)],
    lang: Annotated[str, Form()] = "en",
) -> Response:
    """The same answer whether or not the address is known; the letter is queued after the
    answer went out, so not even the time taken tells the difference."""
    portal = _state(request)
    lang = language(lang)
    try:
        claim = portal.forms.read(form, "", FRESH_LINK)
    except InvalidPortalToken:
        raise FormRefused(lang) from None
    client = f"portal-ip:{request.client.host if request.client else '?'}"
    address = "portal-addr:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    now = portal.runtime.clock.now()
    if portal.per_client.blocked(now, client) or portal.per_address.blocked(now, address):
        return _page(request, "message.html", lang, 429, title="problem", message="too_many")
    portal.per_client.failed(now, client)
    portal.per_address.failed(now, address)
    if not portal.store.use_nonce(claim.nonce, None, now):
        raise FormRefused(lang)
    background.add_task(_send_fresh_links, portal, email, now)
    return _page(request, "message.html", lang, title="fresh_send", message="fresh_sent")


def _send_fresh_links(portal: Portal, email: str, now: Any) -> None:
    runtime = portal.runtime
    wiring = portal_actions.FreshLinks(
        runtime.store,
        portal.store,
        portal.privacy,
        runtime.templates,
        runtime.composer,
        portal.links,
    )
    portal_actions.send_fresh_links(wiring, email, now)
