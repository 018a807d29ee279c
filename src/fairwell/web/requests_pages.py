"""Feedback requests in the browser and the API: a candidate asked "why?"; the page shows what
they were told, and the answer goes out as a letter through the guarded outbox.

The same services as `fairwell requests add|answer`. Answering only queues the letter; the
delivery worker sends it. A recruiter records a request that arrived by email; the candidate
portal will record them by itself later.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fairwell.domain.reasons import reason_for
from fairwell.domain.requests import RequestState
from fairwell.errors import FairwellError, NotFound
from fairwell.ports import RequestRecord
from fairwell.services import requests as service
from fairwell.web.common import (
    Current,
    actor,
    api_staff,
    check_csrf,
    reader,
    render,
    runtime_of,
    staff,
)
from fairwell.web.letter_view import html_response, readable, source_response
from fairwell.web.reviews import (
    api_reviewer,
    checker,
    finding_json,
    flags,
    http_error,
    jobs_for,
    marked_lines,
    may_see,
    page,
    status_of,
    visible_job,
)
from fairwell.worker.kick import start_delivery


def register(app: FastAPI) -> None:
    page(app, "/requests", list_page)
    app.post("/requests", include_in_schema=False)(record_form)
    page(app, "/requests/{request_id}", request_page)
    app.post("/requests/{request_id}/answer", include_in_schema=False)(answer_form)
    app.get("/requests/{request_id}/letter/html", include_in_schema=False)(letter_html)
    app.get("/requests/{request_id}/letter/source", include_in_schema=False)(letter_source)
    app.get("/api/requests")(api_requests)
    app.post("/api/requests", status_code=201)(api_record)
    app.post("/api/requests/{request_id}/answer")(api_answer)


# --- Reading, limited to the jobs the user may see ----------------------------------------------


def _statuses(request: Request, current: Current) -> list[service.RequestStatus]:
    runtime = runtime_of(request)
    visible = {job.id for job in jobs_for(request, current[0])}
    every = service.all_requests(runtime.request_store, runtime.clock.now())
    return [s for s in every if s.request.job_id in visible]


def _detail(request: Request, current: Current, request_id: int) -> service.RequestDetail:
    """The request, or 404 when there is none or its job is not this user's to see."""
    runtime = runtime_of(request)
    try:
        detail = service.request_detail(
            runtime.store, runtime.request_store, request_id, runtime.inbox_store
        )
    except NotFound:
        raise HTTPException(status_code=404, detail="no such request") from None
    except FairwellError as error:  # e.g. the decision was reinstated since the request came
        raise http_error(error) from None
    if not may_see(request, current[0], detail.job):
        raise HTTPException(status_code=404, detail="no such request")
    return detail


# --- Pages ------------------------------------------------------------------------------------


def list_page(request: Request, current: Annotated[Current, Depends(reader)]) -> Response:
    return _list(request, current)


def _list(
    request: Request, current: Current, *, status: int = 200, error: str = "", kept: str = ""
) -> Response:
    statuses = _statuses(request, current)
    return render(
        request,
        "requests.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        open=[s for s in statuses if s.request.state is RequestState.OPEN],
        answered=[s for s in statuses if s.request.state is not RequestState.OPEN],
        jobs=jobs_for(request, current[0]),
        error=error,
        kept=kept,
    )


def record_form(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    job_id: Annotated[int, Form()],
    email: Annotated[str, Form(max_length=320)],
    question: Annotated[str, Form(max_length=2 * service.MAX_TEXT)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Record a request that arrived by email; it is due in the configured working days."""
    check_csrf(current, csrf)
    job = visible_job(request, current[0], job_id)
    try:
        record = _receive(request, current, job.id, email, question)
    except FairwellError as error:
        message = str(error).splitlines()[0]
        return _list(request, current, status=status_of(error), error=message, kept=question)
    return RedirectResponse(f"/requests/{record.id}", status_code=303)


def request_page(
    request: Request,
    request_id: int,
    current: Annotated[Current, Depends(reader)],
    answered: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    detail = _detail(request, current, request_id)
    notice = "The answer is queued; the delivery worker sends it." if answered else ""
    return _one(request, current, detail, notice=notice)


def _one(
    request: Request,
    current: Current,
    detail: service.RequestDetail,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
    refused: service.WordingRefused | None = None,
    kept: str = "",
) -> Response:
    state = service.request_status(detail.request, runtime_of(request).clock.now())
    assert detail.view.decision is not None
    raw = runtime_of(request).outbox.letter_body_for(detail.view.decision.id)
    return render(
        request,
        "requests_one.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        state=state,
        detail=detail,
        reason=reason_for(detail.view.decision.reason_code).summary,
        notice=notice,
        error=error,
        marked=marked_lines(refused.text, refused.findings) if refused else [],
        flags=flags(refused.text, refused.findings) if refused else [],
        kept=kept,
        letter=readable(raw) if raw is not None else None,
    )


def _letter_bytes(request: Request, current: Current, request_id: int) -> bytes:
    detail = _detail(request, current, request_id)
    assert detail.view.decision is not None
    raw = runtime_of(request).outbox.letter_body_for(detail.view.decision.id)
    if raw is None:
        raise HTTPException(status_code=404, detail="the decision letter has not been queued yet")
    return raw


def letter_html(
    request: Request, request_id: int, current: Annotated[Current, Depends(reader)]
) -> Response:
    return html_response(_letter_bytes(request, current, request_id))


def letter_source(
    request: Request, request_id: int, current: Annotated[Current, Depends(reader)]
) -> Response:
    return source_response(_letter_bytes(request, current, request_id))


def answer_form(
    request: Request,
    request_id: int,
    current: Annotated[Current, Depends(reader)],
    text: Annotated[str, Form(max_length=2 * service.MAX_TEXT)],
    override: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Queue the answer as a letter; a refused answer comes back with the reason marked."""
    check_csrf(current, csrf)
    detail = _detail(request, current, request_id)
    try:
        _answer(request, current, request_id, text, override or None)
    except FairwellError as error:
        refused = error if isinstance(error, service.WordingRefused) else None
        message = str(error).splitlines()[0]
        code = 409 if isinstance(error, service.AlreadyAnswered) else status_of(error)
        return _one(
            request, current, detail, status=code, error=message, refused=refused, kept=text
        )
    return RedirectResponse(f"/requests/{request_id}?answered=1", status_code=303)


# --- The services, called the same way by pages and API ----------------------------------------


def _receive(
    request: Request, current: Current, job_id: int, email: str, question: str
) -> RequestRecord:
    runtime = runtime_of(request)
    return service.receive(
        runtime.pipeline,
        runtime.request_store,
        job_id,
        email,
        question.strip() or None,
        business_days=runtime.settings.request_due_business_days,
        actor=actor(current),
        now=runtime.clock.now(),
    )


def _answer(
    request: Request, current: Current, request_id: int, text: str, override: str | None
) -> service.Answered:
    runtime = runtime_of(request)
    answered = service.answer(
        runtime.store,
        runtime.request_store,
        runtime.composer,
        checker(request),
        request_id,
        text,
        override=override,
        actor=actor(current),
        now=runtime.clock.now(),
        threads=runtime.inbox_store,
    )
    start_delivery(runtime.settings)
    return answered


# --- The JSON API ------------------------------------------------------------------------------


class RecordBody(BaseModel):
    job_id: int = Field(description="the job the candidate applied for")
    email: str = Field(description="the candidate's address, as on their application")
    question: str | None = Field(
        default=None, description="what they asked, as they wrote it; a default question if empty"
    )


class AnswerBody(BaseModel):
    text: str = Field(description="the answer the candidate will read, in their language")
    override: str | None = Field(
        default=None,
        description="send wording the check flags; a written justification (10 characters or "
        "more) that goes to the audit trail",
    )


def _request_json(status: service.RequestStatus) -> dict[str, object]:
    record = status.request
    return {
        "id": record.id,
        "job": record.job_title,
        "email": record.email,
        "state": record.state.value,
        "question": record.question,
        "received_at": record.received_at.isoformat(),
        "due_at": record.due_at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "overdue": status.overdue,
        "due_soon": status.remind,
    }


def api_requests(
    request: Request, current: Annotated[Current, Depends(reader)]
) -> list[dict[str, object]]:
    """Feedback requests on the jobs you may see: open ones first, soonest due first, then
    answered ones. ``overdue`` is true once an open request is past its due date."""
    return [_request_json(s) for s in _statuses(request, current)]


def api_record(
    request: Request, current: Annotated[Current, Depends(api_staff)], body: RecordBody
) -> dict[str, object]:
    """Record a candidate's request that arrived another way (a reply to their letter).

    For recruiters. 400 when the application has no decision to ask about; 404 for an unknown
    job or an address with no application for it."""
    job = visible_job(request, current[0], body.job_id)
    try:
        record = _receive(request, current, job.id, body.email, body.question or "")
    except FairwellError as error:
        raise http_error(error) from None
    now = runtime_of(request).clock.now()
    return _request_json(service.request_status(record, now))


def api_answer(
    request: Request,
    request_id: int,
    current: Annotated[Current, Depends(api_reviewer)],
    body: AnswerBody,
) -> dict[str, object]:
    """Answer a request: the answer is queued as a letter to the candidate alone, and the
    delivery worker sends it. Returns the batch id and any findings sent with an override.

    400 when the answer is empty, in the wrong language, blocked by the privacy guard, or
    flagged by the wording check without an override (``findings`` in the error say where);
    404 for a request that does not exist or is not yours to see; 409 when it was answered."""
    _detail(request, current, request_id)
    try:
        answered = _answer(request, current, request_id, body.text, body.override)
    except service.AlreadyAnswered as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except service.WordingRefused as error:
        found = [finding_json(f, error.text) for f in error.findings]
        raise HTTPException(400, detail={"message": str(error), "findings": found}) from None
    except FairwellError as error:
        raise http_error(error) from None
    return {
        "batch_id": answered.batch_id,
        "findings": [finding_json(f, answered.text) for f in answered.findings],
    }
