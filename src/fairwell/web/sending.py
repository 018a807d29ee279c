"""Bulk rejection in the browser: reject -> plan -> preview -> confirm -> send -> progress.

The same services as the CLI; the handlers only parse forms and render pages. Sending above
the confirmation threshold asks the recruiter to type the number of letters, and the batch
page shows live progress with pause and resume.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fairwell.domain.model import FINAL_STATES, OutboxState, Stage
from fairwell.domain.reasons import REASONS
from fairwell.errors import FairwellError
from fairwell.runtime import Runtime, wording_check
from fairwell.services import outbox as outbox_service
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import draft_job_feedback, load_library
from fairwell.services.planning import PlanChanged, make_plan, queue_plan
from fairwell.services.preview import preview_letter
from fairwell.web.common import Current, api_staff, check_csrf, render, staff


def register(app: FastAPI) -> None:
    app.post("/jobs/{job_id}/reject", include_in_schema=False)(reject_form)
    app.get("/jobs/{job_id}/plan", response_class=HTMLResponse, include_in_schema=False)(plan_page)
    app.get("/jobs/{job_id}/preview", response_class=PlainTextResponse, include_in_schema=False)(
        preview
    )
    app.post("/jobs/{job_id}/send", include_in_schema=False)(send)
    app.get("/batches/{batch_id}", response_class=HTMLResponse, include_in_schema=False)(batch_page)
    app.get("/outbox", response_class=HTMLResponse, include_in_schema=False)(outbox_page)
    app.get("/outbox/{outbox_id}", response_class=PlainTextResponse, include_in_schema=False)(
        outbox_letter
    )
    app.post("/outbox/requeue", include_in_schema=False)(requeue)
    app.post("/outbox/pause", include_in_schema=False)(pause)
    app.get("/api/jobs/{job_id}/plan")(api_plan)
    app.post("/api/jobs/{job_id}/reject")(api_reject)
    app.post("/api/jobs/{job_id}/send")(api_send)
    app.get("/api/batches/{batch_id}")(api_batch)
    app.post("/outbox/resume", include_in_schema=False)(resume)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _job_title(runtime: Runtime, job_id: int) -> str:
    for summary in runtime.store.jobs():
        if summary.job.id == job_id:
            return summary.job.title
    raise HTTPException(status_code=404, detail="no such job")


def _actor(current: Current) -> str:
    return f"web:{current[0].username}"


def reject_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    reason: Annotated[str, Form()],
    stage: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Reject everyone but the hired, or everyone at one stage, then show the plan."""
    check_csrf(current, csrf)
    runtime = _runtime(request)
    title = _job_title(runtime, job_id)
    selection = Selection(stage=Stage(stage)) if stage else Selection(all_except_hired=True)
    now = runtime.clock.now()
    try:
        reject(runtime.store, title, selection, reason, note=None, actor=_actor(current), now=now)
    except FairwellError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        load_library(runtime.settings.feedback_library),
        wording_check(runtime.settings),
        title,
        actor=_actor(current),
        now=now,
        show_scores=runtime.settings.show_scores,
    )
    return RedirectResponse(f"/jobs/{job_id}/plan", status_code=303)


def plan_page(
    request: Request, job_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    runtime = _runtime(request)
    title = _job_title(runtime, job_id)
    runtime.templates.check(wording_check(runtime.settings))
    plan = make_plan(runtime.store, runtime.composer, title, runtime.clock.now())
    return render(
        request,
        "plan.html",
        user=current[0],
        csrf=current[1].csrf,
        job_id=job_id,
        plan=plan,
        skipped=sorted(plan.skipped_counts().items()),
        reasons=REASONS,
        stages=[s.value for s in Stage],
        threshold=runtime.settings.confirm_threshold,
    )


def preview(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    email: Annotated[str, Query(max_length=320)],
) -> Response:
    """One letter exactly as it will go out, as text."""
    runtime = _runtime(request)
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
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Queue the plan the recruiter saw; above the threshold they must type the count."""
    check_csrf(current, csrf)
    runtime = _runtime(request)
    title = _job_title(runtime, job_id)
    if expected > runtime.settings.confirm_threshold and typed.strip() != str(expected):
        raise HTTPException(status_code=400, detail=f"type {expected} to confirm the send")
    try:
        batch = queue_plan(
            runtime.store,
            runtime.composer,
            title,
            actor=_actor(current),
            now=runtime.clock.now(),
            expected=expected,
        )
    except PlanChanged as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    return RedirectResponse(f"/batches/{batch.batch_id}", status_code=303)


def batch_page(
    request: Request, batch_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    runtime = _runtime(request)
    status = runtime.store.outbox_status(batch_id)
    total = sum(status.counts.values())
    if total == 0:
        raise HTTPException(status_code=404, detail="no such batch")
    done = sum(status.counts.get(state.value, 0) for state in FINAL_STATES)
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
        running=done < total and not status.paused,
    )


def _steer_outbox(
    request: Request, current: Current, batch_id: int, csrf: str, paused: bool
) -> Response:
    check_csrf(current, csrf)
    runtime = _runtime(request)
    steer = outbox_service.pause if paused else outbox_service.resume
    steer(runtime.store, actor=_actor(current), now=runtime.clock.now())
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


def pause(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    batch_id: Annotated[int, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _steer_outbox(request, current, batch_id, csrf, paused=True)


def resume(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    batch_id: Annotated[int, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _steer_outbox(request, current, batch_id, csrf, paused=False)


def outbox_page(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    state: Annotated[str | None, Query()] = None,
) -> Response:
    """Letters by state, with why a letter is held or failed; requeue puts them back."""
    runtime = _runtime(request)
    chosen = OutboxState(state) if state in {s.value for s in OutboxState} else None
    status = runtime.store.outbox_status()
    rows = runtime.store.outbox_rows(chosen, None, 500) if chosen else []
    return render(
        request,
        "outbox.html",
        user=current[0],
        csrf=current[1].csrf,
        state=state or "",
        states=[s.value for s in OutboxState],
        counts=sorted(status.counts.items()),
        paused=status.paused,
        rows=rows,
        requeueable={s.value for s in outbox_service.REQUEUEABLE},
    )


def outbox_letter(
    request: Request, outbox_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    """One letter's stored bytes, exactly as they went or will go out."""
    runtime = _runtime(request)
    try:
        body = runtime.store.outbox_body(outbox_id)
    except FairwellError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    text = body.decode("ascii", errors="replace").replace("\r\n", "\n")
    return PlainTextResponse(text, headers={"Referrer-Policy": "no-referrer"})


def requeue(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    outbox_id: Annotated[int, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = _runtime(request)
    outbox_service.requeue(
        runtime.store, ids=[outbox_id], actor=_actor(current), now=runtime.clock.now()
    )
    return RedirectResponse("/outbox", status_code=303)


# --- The JSON API: the same operations for scripts and ATS integrations ------------------------


def api_plan(
    request: Request, job_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, object]:
    """The send plan, as `fairwell plan --json` prints it."""
    runtime = _runtime(request)
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
    runtime = _runtime(request)
    title = _job_title(runtime, job_id)
    try:
        selection = Selection(stage=Stage(stage)) if stage else Selection(all_except_hired=True)
        report = reject(
            runtime.store,
            title,
            selection,
            reason,
            note=None,
            actor=_actor(current),
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
    expected: Annotated[int, Body(embed=True)],
) -> dict[str, object]:
    """Queue the plan's letters; ``expected`` must be the count the plan shows now."""
    runtime = _runtime(request)
    title = _job_title(runtime, job_id)
    try:
        batch = queue_plan(
            runtime.store,
            runtime.composer,
            title,
            actor=_actor(current),
            now=runtime.clock.now(),
            expected=expected,
        )
    except PlanChanged as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    return {"batch_id": batch.batch_id, "queued": batch.queued}


def api_batch(
    request: Request, batch_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, object]:
    """Letters of a batch per state."""
    status = _runtime(request).store.outbox_status(batch_id)
    if not status.counts:
        raise HTTPException(status_code=404, detail="no such batch")
    return {"batch_id": batch_id, "counts": status.counts, "paused": status.paused}
