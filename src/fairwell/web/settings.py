"""The settings pages, for admins: delivery settings, reason wording, letter templates.

Delivery settings are shown, not edited: they belong to the operator's environment. Wording
and templates are edited with the same check three ways: as the admin types (a JSON POST
from static/settings.js), with the "Check" button (works without JavaScript) and on "Save",
which refuses anything the check finds, whatever the browser did.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from fairwell.domain.reasons import SUPPORTED_LOCALES
from fairwell.domain.users import Role
from fairwell.errors import EditProblem, EditRefused, NotFound
from fairwell.services.delivery_settings import check_connection, delivery_settings
from fairwell.services.letter_settings import LetterEditor, TemplateReport
from fairwell.web.common import Current, actor, check_csrf, headers, render, runtime_of, signed_in

LOCALE_NAMES = {"en": "English", "de": "German"}


def register(app: FastAPI) -> None:
    pages: list[tuple[str, str, Callable[..., Any]]] = [
        ("GET", "/settings", smtp_page),
        ("POST", "/settings/smtp/test", smtp_test),
        ("GET", "/settings/reasons", reasons_page),
        ("GET", "/settings/reasons/{code}", reason_page),
        ("POST", "/settings/reasons/{code}", reason_submit),
        ("POST", "/settings/reasons/{code}/check", reason_check),
        ("POST", "/settings/reasons/{code}/reset", reason_reset),
        ("GET", "/settings/templates", templates_page),
        ("GET", "/settings/templates/{key}", template_page),
        ("POST", "/settings/templates/{key}", template_submit),
        ("POST", "/settings/templates/{key}/check", template_check),
        ("POST", "/settings/templates/{key}/reset", template_reset),
    ]
    for method, path, handler in pages:
        app.add_api_route(path, handler, methods=[method], include_in_schema=False)


def admin(current: Annotated[Current, Depends(signed_in)]) -> Current:
    if current[0].role is not Role.ADMIN:
        raise HTTPException(status_code=403, detail="the settings are for admins")
    return current


Admin = Annotated[Current, Depends(admin)]


def _editor(request: Request) -> LetterEditor:
    """The runtime's editor: one per process, with the checks it built."""
    return runtime_of(request).letter_editor


async def _posted(request: Request) -> dict[str, str]:
    """The posted form's text fields.

    Only this is async: the handlers wait on the database and the relay, so they are plain
    functions, which FastAPI runs on its thread pool instead of the event loop.
    """
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


Posted = Annotated[dict[str, str], Depends(_posted)]


def _form(current: Current, fields: dict[str, str]) -> dict[str, str]:
    """The posted fields, after the CSRF check."""
    check_csrf(current, fields.get("csrf"))
    return fields


def _page(
    request: Request, name: str, current: Current, status: int = 200, **context: object
) -> Response:
    return render(request, name, status, user=current[0], csrf=current[1].csrf, **context)


@contextmanager
def _known() -> Iterator[None]:
    """A reason code, locale or template that does not exist answers 404."""
    try:
        yield
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


def _json(problems: tuple[EditProblem, ...] | list[EditProblem], **extra: object) -> Response:
    body = {"ok": not problems, "problems": [asdict(p) for p in problems], **extra}
    return headers(JSONResponse(body))


# -- SMTP and sender ----------------------------------------------------------------------------


def smtp_page(request: Request, current: Admin) -> Response:
    return _smtp(request, current, outcome=None)


def smtp_test(request: Request, current: Admin, posted: Posted) -> Response:
    """Connect to the relay as the worker would, without sending; show what happened."""
    _form(current, posted)
    runtime = runtime_of(request)
    outcome = check_connection(runtime.settings, runtime.relay_probe)
    detail: dict[str, object] = {"verdict": outcome.verdict.value, "code": outcome.code}
    runtime.audit_log.audit(
        actor(current), "smtp.tested", "settings", None, detail, runtime.clock.now()
    )
    return _smtp(request, current, outcome=outcome)


def _smtp(request: Request, current: Current, outcome: object) -> Response:
    rows = delivery_settings(runtime_of(request).settings, os.environ)
    return _page(request, "settings.html", current, section="smtp", rows=rows, outcome=outcome)


# -- reason wording ----------------------------------------------------------------------------


def reasons_page(request: Request, current: Admin) -> Response:
    return _page(
        request,
        "settings_reasons.html",
        current,
        section="reasons",
        reasons=_editor(request).reasons(),
        locale_names=LOCALE_NAMES,
    )


def reason_page(request: Request, code: str, current: Admin) -> Response:
    return _reason(request, current, code, texts=None, problems=None)


def _texts(fields: dict[str, str]) -> dict[str, str]:
    return {
        locale: fields[f"wording_{locale}"]
        for locale in SUPPORTED_LOCALES
        if f"wording_{locale}" in fields
    }


def _reason_problems(editor: LetterEditor, code: str, texts: dict[str, str]) -> list[EditProblem]:
    with _known():
        return [
            p for locale, text in texts.items() for p in editor.check_wording(code, locale, text)
        ]


def reason_check(request: Request, code: str, current: Admin, posted: Posted) -> Response:
    """The live check as the admin types: JSON findings for every locale posted."""
    texts = _texts(_form(current, posted))
    return _json(_reason_problems(_editor(request), code, texts))


def reason_submit(request: Request, code: str, current: Admin, posted: Posted) -> Response:
    """Check shows the findings; Save saves only when there are none."""
    fields = _form(current, posted)
    texts, editor = _texts(fields), _editor(request)
    if fields.get("action") != "save":
        problems = _reason_problems(editor, code, texts)
        return _reason(request, current, code, texts=texts, problems=problems)
    try:
        with _known():
            editor.save_wordings(code, texts, actor(current), runtime_of(request).clock.now())
    except EditRefused as refused:
        return _reason(request, current, code, texts, list(refused.problems), status=400)
    return RedirectResponse(f"/settings/reasons/{code}?saved=1", status_code=303)


def reason_reset(request: Request, code: str, current: Admin, posted: Posted) -> Response:
    fields = _form(current, posted)
    locale = fields.get("locale", "")
    with _known():
        _editor(request).reset_wording(
            code, locale, actor(current), runtime_of(request).clock.now()
        )
    return RedirectResponse(f"/settings/reasons/{code}?reset=1", status_code=303)


def _reason(
    request: Request,
    current: Current,
    code: str,
    texts: dict[str, str] | None,
    problems: list[EditProblem] | None,
    status: int = 200,
) -> Response:
    with _known():
        row = _editor(request).reason(code)
    return _page(
        request,
        "settings_reason.html",
        current,
        status,
        section="reasons",
        row=row,
        texts=texts or {w.locale: w.wording for w in row.wordings},
        problems=problems,
        locale_names=LOCALE_NAMES,
        saved="saved" in request.query_params,
        was_reset="reset" in request.query_params,
    )


# -- letter templates --------------------------------------------------------------------------


def templates_page(request: Request, current: Admin) -> Response:
    rows = _editor(request).templates()
    return _page(request, "settings_templates.html", current, section="templates", rows=rows)


def template_page(request: Request, key: str, current: Admin) -> Response:
    return _template(request, current, key, source=None, report=None)


def _template_report(editor: LetterEditor, key: str, source: str) -> TemplateReport:
    with _known():
        return editor.check_template(key, source)


def template_check(request: Request, key: str, current: Admin, posted: Posted) -> Response:
    """The live check as the admin types: JSON findings and the rendered preview."""
    source = _form(current, posted).get("source", "")
    report = _template_report(_editor(request), key, source)
    preview = {"subject": report.preview_subject, "text": report.preview_text}
    return _json(
        report.problems, unknown=list(report.unknown), available=report.available, preview=preview
    )


def template_submit(request: Request, key: str, current: Admin, posted: Posted) -> Response:
    """Check shows the findings and the preview; Save saves only when there are none."""
    fields = _form(current, posted)
    source, editor = fields.get("source", ""), _editor(request)
    if fields.get("action") != "save":
        report = _template_report(editor, key, source)
        return _template(request, current, key, source=source, report=report)
    try:
        with _known():
            editor.save_template(key, source, actor(current), runtime_of(request).clock.now())
    except EditRefused:
        report = _template_report(editor, key, source)
        return _template(request, current, key, source=source, report=report, status=400)
    return RedirectResponse(f"/settings/templates/{key}?saved=1", status_code=303)


def template_reset(request: Request, key: str, current: Admin, posted: Posted) -> Response:
    _form(current, posted)
    with _known():
        _editor(request).reset_template(key, actor(current), runtime_of(request).clock.now())
    return RedirectResponse(f"/settings/templates/{key}?reset=1", status_code=303)


def _template(
    request: Request,
    current: Current,
    key: str,
    source: str | None,
    report: TemplateReport | None,
    status: int = 200,
) -> Response:
    editor = _editor(request)
    with _known():
        row, current_source = editor.template(key)
    source = current_source if source is None else source
    # The page opens with the check and preview of what it shows, as if Check was pressed.
    report = report or _template_report(editor, key, source)
    return _page(
        request,
        "settings_template.html",
        current,
        status,
        section="templates",
        row=row,
        source=source,
        report=report,
        saved="saved" in request.query_params,
        was_reset="reset" in request.query_params,
    )
