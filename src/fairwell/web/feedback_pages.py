"""Feedback approval in the browser and the API: a hiring manager reads every draft as the
candidate will, with the wording check's findings marked in the text, and approves, edits or
downgrades it to a plain letter.

The same services as `fairwell feedback approve|edit|downgrade`. A flagged draft is never
approved by "approve all": it needs an edit or a written override, which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fairwell.domain.addresses import normalise_address
from fairwell.domain.model import FeedbackState, Job
from fairwell.domain.reasons import reason_for
from fairwell.errors import FairwellError
from fairwell.services import feedback as service
from fairwell.web.common import Current, actor, check_csrf, reader, render, runtime_of
from fairwell.web.reviews import (
    Flag,
    Piece,
    api_reviewer,
    checker,
    finding_json,
    flags,
    http_error,
    jobs_for,
    marked_lines,
    page,
    status_of,
    visible_job,
)
from fairwell.web.wording import plural

STATE_NAMES = {
    FeedbackState.DRAFT: "Draft: waiting for approval",
    FeedbackState.APPROVED: "Approved: goes out with the letter",
    FeedbackState.PLAIN: "Plain letter: this feedback is not sent",
}


def register(app: FastAPI) -> None:
    page(app, "/feedback", overview)
    page(app, "/feedback/{job_id}", review_page)
    app.post("/feedback/{job_id}/approve", include_in_schema=False)(approve_form)
    app.post("/feedback/{job_id}/edit", include_in_schema=False)(edit_form)
    app.post("/feedback/{job_id}/downgrade", include_in_schema=False)(downgrade_form)
    app.get("/api/jobs/{job_id}/feedback")(api_feedback)
    app.post("/api/jobs/{job_id}/feedback/approve")(api_approve)
    app.post("/api/jobs/{job_id}/feedback/edit")(api_edit)
    app.post("/api/jobs/{job_id}/feedback/downgrade")(api_downgrade)


# --- What the pages show ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    """One candidate's feedback as the review page shows it."""

    decision_id: int
    name: str
    email: str
    reason: str
    state: FeedbackState
    state_name: str
    text: str  # the editable wording
    feedback: list[list[Piece]]
    steps: list[list[Piece]]
    flags: list[Flag]
    override_reason: str | None
    holds: tuple[str, ...] = ()

    @property
    def needs_override(self) -> bool:
        return self.state is FeedbackState.DRAFT and bool(self.flags) and not self.holds


def card(item: service.ReviewItem) -> Card:
    view, record = item.view, item.view.feedback
    assert record is not None and view.decision is not None
    checked = service.checked_text(view)
    lines = marked_lines(checked, item.findings)
    split = record.text.count("\n") + 1  # the checked text is the feedback, then next steps
    return Card(
        decision_id=view.decision.id,
        name=view.person.full_name,
        email=view.person.email,
        reason=reason_for(view.decision.reason_code).summary,
        state=record.state,
        state_name=STATE_NAMES[record.state],
        text=record.text,
        feedback=_readable(lines[:split]),
        steps=_readable(lines[split:]),
        flags=flags(checked, item.findings),
        override_reason=record.override_reason,
        holds=item.holds,
    )


def _readable(lines: list[list[Piece]]) -> list[list[Piece]]:
    """The lines a letter shows: it leaves out blank ones."""
    return [line for line in lines if "".join(piece.text for piece in line).strip()]


def _cards(request: Request, job: Job) -> list[Card]:
    runtime = runtime_of(request)
    return [
        card(i)
        for i in service.review_items(
            runtime.pipeline, runtime.feedback_store, checker(request), job.id
        )
    ]


def _notice(approved: int | None, held: int | None, edited: int | None, cards: list[Card]) -> str:
    """What the last action did, said in words (the page also marks it in each card)."""
    if edited is not None:
        found = next((len(c.flags) for c in cards if c.decision_id == edited), 0)
        return "Saved as a draft. " + (
            f"The wording check found {plural(found, 'thing')} in the new text; they are "
            "marked below."
            if found
            else "The wording check found nothing in the new text."
        )
    if approved is None:
        return ""
    notice = f"Approved {plural(approved, 'draft')}."
    if held:
        notice += (
            f" {plural(held, 'draft was', 'drafts were')} not approved: the wording check"
            " flagged them, or they wait for the job's wording. Each one says below what it"
            " needs."
        )
    return notice


# --- Pages ------------------------------------------------------------------------------------


def overview(request: Request, current: Annotated[Current, Depends(reader)]) -> Response:
    """The jobs with feedback whose letters have not gone yet: drafts and reviewed ones."""
    counts = runtime_of(request).feedback_store.review_counts()
    rows = [
        (job, *_drafts_and_reviewed(counts[job.id]))
        for job in jobs_for(request, current[0])
        if job.id in counts
    ]
    return render(request, "feedback.html", user=current[0], csrf=current[1].csrf, rows=rows)


def _drafts_and_reviewed(by_state: dict[str, int]) -> tuple[int, int]:
    drafts = by_state.get(FeedbackState.DRAFT.value, 0)
    return drafts, sum(by_state.values()) - drafts


def review_page(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    approved: Annotated[int | None, Query(ge=0)] = None,
    held: Annotated[int | None, Query(ge=0)] = None,
    edited: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    job = visible_job(request, current[0], job_id)
    cards = _cards(request, job)
    notice = _notice(approved, held, edited, cards)
    return _review(request, current, job, cards, notice=notice)


def _review(
    request: Request,
    current: Current,
    job: Job,
    cards: list[Card],
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> Response:
    return render(
        request,
        "feedback_job.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        job=job,
        cards=cards,
        drafts=sum(c.state is FeedbackState.DRAFT for c in cards),
        flagged=[c for c in cards if c.needs_override],
        held=[c for c in cards if c.holds],
        notice=notice,
        error=error,
    )


def _refused(request: Request, current: Current, job: Job, error: FairwellError) -> Response:
    """The page again, saying what was refused and why; nothing was changed."""
    cards = _cards(request, job)
    message = str(error).splitlines()[0]
    return _review(request, current, job, cards, status=status_of(error), error=message)


def approve_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    email: Annotated[str, Form(max_length=320)] = "",
    override: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Approve every draft of the job, or one person's (``email``), optionally overriding.

    "Approve all" needs its box ticked, which carries the number of drafts the page showed:
    a count that changed since is refused, like a send's typed count."""
    check_csrf(current, csrf)
    job = visible_job(request, current[0], job_id)
    if not email:
        cards = _cards(request, job)
        clean = sum(c.state is FeedbackState.DRAFT and not c.flags for c in cards)
        if confirm != str(clean):
            error = (
                f"nothing was approved. Tick “Yes, approve {plural(clean, 'draft')}” to "
                "confirm; the number shown is what will be approved"
                if not confirm
                else "nothing was approved: the drafts changed since the page was loaded. "
                "Read them again below, then confirm"
            )
            return _review(request, current, job, cards, status=400, error=error)
    try:
        report = _approve(request, current, job, [email] if email else [], override or None)
    except FairwellError as error:
        return _refused(request, current, job, error)
    query = f"approved={report.approved}&held={len(report.need_override) + len(report.held)}"
    return RedirectResponse(f"/feedback/{job_id}?{query}", status_code=303)


def edit_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    email: Annotated[str, Form(max_length=320)],
    text: Annotated[str, Form(max_length=2 * service.MAX_FEEDBACK_CHARACTERS)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Save new wording as a draft; the page then shows what the wording check finds in it."""
    check_csrf(current, csrf)
    job = visible_job(request, current[0], job_id)
    try:
        item = _edit(request, current, job, email, text)
    except FairwellError as error:
        return _refused(request, current, job, error)
    assert item.view.decision is not None
    edited = item.view.decision.id
    return RedirectResponse(
        f"/feedback/{job_id}?edited={edited}#feedback-{edited}", status_code=303
    )


def downgrade_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Send this candidate a plain letter: the feedback stays on record but is never sent."""
    check_csrf(current, csrf)
    job = visible_job(request, current[0], job_id)
    try:
        _downgrade(request, current, job, email)
    except FairwellError as error:
        return _refused(request, current, job, error)
    return RedirectResponse(f"/feedback/{job_id}", status_code=303)


# --- The services, called the same way by pages and API ----------------------------------------


def _approve(
    request: Request, current: Current, job: Job, emails: list[str], override: str | None
) -> service.ApproveReport:
    runtime = runtime_of(request)
    return service.approve(
        runtime.pipeline,
        runtime.feedback_store,
        checker(request),
        job.id,
        emails=emails,
        override=override,
        actor=actor(current),
        now=runtime.clock.now(),
    )


def _edit(
    request: Request, current: Current, job: Job, email: str, text: str
) -> service.ReviewItem:
    """Save the new wording; return the item as it now stands, with its findings."""
    runtime = runtime_of(request)
    service.edit(
        runtime.pipeline,
        runtime.feedback_store,
        checker(request),
        job.id,
        email,
        text,
        actor=actor(current),
        now=runtime.clock.now(),
    )
    wanted = normalise_address(email)
    items = service.review_items(runtime.pipeline, runtime.feedback_store, checker(request), job.id)
    return next(i for i in items if i.view.person.email == wanted)


def _downgrade(request: Request, current: Current, job: Job, email: str) -> None:
    runtime = runtime_of(request)
    service.downgrade(
        runtime.pipeline,
        runtime.feedback_store,
        checker(request),
        job.id,
        email,
        actor=actor(current),
        now=runtime.clock.now(),
    )


# --- The JSON API ------------------------------------------------------------------------------


class ApproveBody(BaseModel):
    emails: list[str] = Field(
        default_factory=list,
        description="approve only these people's drafts; all the job's drafts when empty",
    )
    override: str | None = Field(
        default=None,
        description="approve flagged wording too; a written justification (10 characters or "
        "more) that goes to the audit trail",
    )


class EditBody(BaseModel):
    email: str = Field(description="the candidate whose feedback to rewrite")
    text: str = Field(description="the new feedback; one point a line")


class DowngradeBody(BaseModel):
    email: str = Field(description="the candidate who gets a plain letter instead")


def _item_json(item: service.ReviewItem) -> dict[str, object]:
    view, record = item.view, item.view.feedback
    assert record is not None and view.decision is not None
    checked = service.checked_text(view)
    return {
        "email": view.person.email,
        "name": view.person.full_name,
        "reason": view.decision.reason_code,
        "state": record.state.value,
        "text": record.text,
        "next_steps": record.next_steps,
        "override_reason": record.override_reason,
        "holds": list(item.holds),
        "basis": record.basis,
        "findings": [finding_json(f, checked) for f in item.findings],
    }


def api_feedback(
    request: Request, job_id: int, current: Annotated[Current, Depends(reader)]
) -> dict[str, object]:
    """The job's feedback whose letters have not gone yet, each with its state and what the
    wording check found (``span`` points into ``text``, a newline, then ``next_steps``).

    404 when the job does not exist or is not yours to see."""
    job = visible_job(request, current[0], job_id)
    runtime = runtime_of(request)
    items = service.review_items(runtime.pipeline, runtime.feedback_store, checker(request), job.id)
    return {"job": {"id": job.id, "title": job.title}, "items": [_item_json(i) for i in items]}


def api_approve(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_reviewer)],
    body: ApproveBody | None = None,
) -> dict[str, object]:
    """Approve drafts: all of the job's, or those of ``emails``. Drafts the wording check flags
    are approved only with ``override`` and are otherwise listed in ``need_override``.

    400 for an override without a real justification; 404 for an unknown job or an address
    with no feedback to review."""
    job = visible_job(request, current[0], job_id)
    body = body or ApproveBody()
    try:
        report = _approve(request, current, job, body.emails, body.override)
    except FairwellError as error:
        raise http_error(error) from None
    held = [
        {"email": i.view.person.email, "rules": sorted({f.rule for f in i.findings})}
        for i in report.need_override
    ]
    waiting = [{"email": i.view.person.email, "holds": list(i.holds)} for i in report.held]
    return {"approved": report.approved, "need_override": held, "held": waiting}


def api_edit(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_reviewer)],
    body: EditBody,
) -> dict[str, object]:
    """Rewrite one candidate's feedback. It goes back to draft and must be approved again;
    the answer is the item as it now stands, with what the wording check found in the new
    text.

    400 for empty text, a placeholder or text over 4,000 characters; 404 for an unknown job or
    an address with no feedback to review."""
    job = visible_job(request, current[0], job_id)
    try:
        item = _edit(request, current, job, body.email, body.text)
    except FairwellError as error:
        raise http_error(error) from None
    return _item_json(item)


def api_downgrade(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_reviewer)],
    body: DowngradeBody,
) -> dict[str, object]:
    """Send one candidate a plain letter instead of the feedback (it stays on record).

    404 for an unknown job or an address with no feedback to review."""
    job = visible_job(request, current[0], job_id)
    try:
        _downgrade(request, current, job, body.email)
    except FairwellError as error:
        raise http_error(error) from None
    return {"state": FeedbackState.PLAIN.value}
