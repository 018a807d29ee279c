"""Bulk rejection in the browser: reject -> plan -> preview -> confirm -> send -> progress.

The same services as the CLI; the handlers only parse forms and render pages. Sending above
the confirmation threshold asks the recruiter to type the number of letters, and the batch
page shows live progress with pause and resume.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.model import FINAL_STATES, Stage
from fairwell.domain.reasons import REASONS
from fairwell.errors import FairwellError, InvalidInput
from fairwell.ports import ApplicantFilter
from fairwell.runtime import Runtime, wording_check
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import draft_job_feedback
from fairwell.services.planning import PlanChanged, make_plan, queue_plan
from fairwell.services.preview import preview_letter, send_canary
from fairwell.web.common import Current, actor, api_staff, check_csrf, render, runtime_of, staff
from fairwell.worker.kick import start_delivery


def register(app: FastAPI) -> None:
    app.post("/jobs/{job_id}/reject", include_in_schema=False)(reject_form)
    app.get("/jobs/{job_id}/plan", response_class=HTMLResponse, include_in_schema=False)(plan_page)
    app.get("/jobs/{job_id}/preview", response_class=PlainTextResponse, include_in_schema=False)(
        preview
    )
    app.post("/jobs/{job_id}/canary", include_in_schema=False)(canary)
    app.post("/jobs/{job_id}/send", include_in_schema=False)(send)
    app.get("/batches/{batch_id}", response_class=HTMLResponse, include_in_schema=False)(batch_page)
    app.get("/api/jobs/{job_id}/plan")(api_plan)
    app.post("/api/jobs/{job_id}/reject")(api_reject)
    app.post("/api/jobs/{job_id}/send")(api_send)
    app.get("/api/batches/{batch_id}")(api_batch)


def _job_title(runtime: Runtime, job_id: int) -> str:
    for summary in runtime.store.jobs():
        if summary.job.id == job_id:
            return summary.job.title
    raise HTTPException(status_code=404, detail="no such job")


def reject_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    reason: Annotated[str, Form()],
    who: Annotated[str, Form()] = "",
    stage: Annotated[str, Form()] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Reject the people ticked, everyone matching the filter, everyone at a stage, or
    everyone but the hired; then show the plan."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    now = runtime.clock.now()
    try:
        selection = _selection(runtime, job_id, who, stage, q, email or [])
        reject(runtime.store, title, selection, reason, note=None, actor=actor(current), now=now)
    except (FairwellError, ValueError) as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        wording_check(runtime.settings),
        title,
        actor=actor(current),
        now=now,
        show_scores=runtime.settings.show_scores,
    )
    return RedirectResponse(f"/jobs/{job_id}/plan", status_code=303)


def _selection(
    runtime: Runtime, job_id: int, who: str, stage: str, q: str, ticked: list[str]
) -> Selection:
    """The form's choice as a Selection. "matching" takes every page of the filtered pipeline,
    not just the one on screen."""
    if who == "ticked":
        if not ticked:
            raise InvalidInput("tick at least one person, or choose another option")
        return Selection(emails=tuple(ticked))
    if who == "matching":
        shown = ApplicantFilter(stage=stage or None, search=q.strip() or None)
        emails = runtime.store.applicant_emails(job_id, shown)
        if not emails:
            raise InvalidInput("nobody matches this filter")
        return Selection(emails=tuple(emails), one_by_one=False)
    return Selection(stage=Stage(stage)) if stage else Selection(all_except_hired=True)


def plan_page(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    canary: Annotated[str | None, Query()] = None,
) -> Response:
    notice = None
    if canary == "sent":
        notice = "The sample letter was sent. Check that it arrived and reads right."
    return _render_plan(request, job_id, current, notice=notice)


def _render_plan(
    request: Request,
    job_id: int,
    current: Current,
    *,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    runtime.templates.check(wording_check(runtime.settings, meaning=False))
    plan = make_plan(runtime.store, runtime.composer, title, runtime.clock.now())
    return render(
        request,
        "plan.html",
        400 if error else 200,
        user=current[0],
        csrf=current[1].csrf,
        job_id=job_id,
        plan=plan,
        skipped=sorted(plan.skipped_counts().items()),
        reasons=REASONS,
        stages=[s.value for s in Stage],
        threshold=runtime.settings.confirm_threshold,
        notice=notice,
        error=error,
    )


def canary(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    address: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Send the plan's first letter, rendered for a sample person, to an internal address."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    try:
        send_canary(
            runtime.store,
            runtime.composer,
            SmtpTransport.from_settings(runtime.settings),
            title,
            address,
            runtime.clock.now(),
            actor=actor(current),
        )
    except FairwellError as error:
        return _render_plan(request, job_id, current, error=f"No sample letter was sent: {error}")
    return RedirectResponse(f"/jobs/{job_id}/plan?canary=sent", status_code=303)


def preview(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    email: Annotated[str, Query(max_length=320)],
) -> Response:
    """One letter exactly as it will go out, as text."""
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    try:
        shown = preview_letter(runtime.store, runtime.composer, title, email, runtime.clock.now())
    except FairwellError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    text = shown.body.decode("ascii", errors="replace").replace("\r\n", "\n")
    return PlainTextResponse(text, headers={"Referrer-Policy": "no-referrer"})


def send(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    expected: Annotated[int, Form()],
    typed: Annotated[str, Form()] = "",
    now: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Queue the plan the recruiter saw; above the threshold they must type the count.
    ``now`` skips the send windows for this batch (the batch's audit entry says so)."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    if expected > runtime.settings.confirm_threshold and typed.strip() != str(expected):
        raise HTTPException(status_code=400, detail=f"type {expected} to confirm the send")
    try:
        batch = queue_plan(
            runtime.store,
            runtime.composer,
            title,
            actor=actor(current),
            now=runtime.clock.now(),
            expected=expected,
            send_now=now,
        )
    except PlanChanged as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    start_delivery(runtime.settings)
    return RedirectResponse(f"/batches/{batch.batch_id}", status_code=303)


def batch_page(
    request: Request, batch_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    runtime = runtime_of(request)
    status = runtime.store.outbox_status(batch_id, now=runtime.clock.now())
    total = sum(status.counts.values())
    if total == 0:
        raise HTTPException(status_code=404, detail="no such batch")
    done = sum(status.counts.get(state.value, 0) for state in FINAL_STATES)
    # Letters waiting for their send window are settled for now: the page stops refreshing.
    settled = done + status.scheduled
    return render(
        request,
        "batch.html",
        user=current[0],
        csrf=current[1].csrf,
        batch_id=batch_id,
        counts=sorted(status.counts.items()),
        total=total,
        done=done,
        percent=round(100 * done / total),
        paused=status.paused,
        stopped=status.stopped,
        scheduled=status.scheduled,
        next_scheduled_at=status.next_scheduled_at,
        running=settled < total and not status.paused,
    )


# --- The JSON API: the same operations for scripts and ATS integrations ------------------------


def api_plan(
    request: Request, job_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, object]:
    """The send plan, as `fairwell plan --json` prints it."""
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    return make_plan(runtime.store, runtime.composer, title, runtime.clock.now()).as_json()


def api_reject(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_staff)],
    reason: Annotated[str, Body()],
    stage: Annotated[str | None, Body()] = None,
) -> dict[str, object]:
    """Reject everyone but the hired, or everyone at ``stage``, with a reason code."""
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    try:
        selection = Selection(stage=Stage(stage)) if stage else Selection(all_except_hired=True)
        report = reject(
            runtime.store,
            title,
            selection,
            reason,
            note=None,
            actor=actor(current),
            now=runtime.clock.now(),
        )
    except (FairwellError, ValueError) as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    return {
        "rejected": len(report.decided),
        "skipped": [{"email": s.view.person.email, "reason": s.reason} for s in report.skipped],
    }


def api_send(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_staff)],
    expected: Annotated[int, Body()],
    now: Annotated[bool, Body()] = False,
) -> dict[str, object]:
    """Queue the plan's letters; ``expected`` must be the count the plan shows now.
    ``now: true`` skips the send windows for this batch (audited)."""
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    try:
        batch = queue_plan(
            runtime.store,
            runtime.composer,
            title,
            actor=actor(current),
            now=runtime.clock.now(),
            expected=expected,
            send_now=now,
        )
    except PlanChanged as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    return {
        "batch_id": batch.batch_id,
        "queued": batch.queued,
        "delivery": start_delivery(runtime.settings),
    }


def api_batch(
    request: Request, batch_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, object]:
    """Letters of a batch per state."""
    status = runtime_of(request).store.outbox_status(batch_id)
    if not status.counts:
        raise HTTPException(status_code=404, detail="no such batch")
    return {"batch_id": batch_id, "counts": status.counts, "paused": status.paused}
