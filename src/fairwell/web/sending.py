"""Bulk rejection in the browser: reject -> plan -> preview -> confirm -> send -> progress.

The same services as the CLI; the handlers only parse forms and render pages. Sending above
the confirmation threshold asks the recruiter to type the number of letters, and the batch
page shows live progress with pause and resume.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fairwell.domain.feedback import Basis
from fairwell.domain.model import BATCH_GUARD_PAUSED, FINAL_STATES, PAUSED_BATCH_STATES, Stage
from fairwell.domain.reasons import REASONS
from fairwell.errors import FairwellError, InvalidInput, NotFound, PlanChanged, PlanStale
from fairwell.ports import ApplicantFilter
from fairwell.runtime import Runtime, wording_check
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import DraftReport, draft_job_feedback, other_kind_notes
from fairwell.services.planning import AWAITING_APPROVAL, Plan
from fairwell.services.preview import preview_for_job, send_canary
from fairwell.services.sending import confirm, make_plan
from fairwell.web.common import Current, actor, api_staff, check_csrf, render, runtime_of, staff
from fairwell.web.letter_view import html_response, readable, source_response
from fairwell.web.pipeline_view import PipelineView, pipeline_page
from fairwell.worker.kick import start_delivery

PLAN_PAGE = 50


def register(app: FastAPI) -> None:
    app.post("/jobs/{job_id}/reject", include_in_schema=False)(reject_form)
    app.get("/jobs/{job_id}/plan", response_class=HTMLResponse, include_in_schema=False)(plan_page)
    app.get("/jobs/{job_id}/preview", response_class=HTMLResponse, include_in_schema=False)(preview)
    app.get("/jobs/{job_id}/preview/html", include_in_schema=False)(preview_html)
    app.get("/jobs/{job_id}/preview/source", include_in_schema=False)(preview_source)
    app.post("/jobs/{job_id}/canary", include_in_schema=False)(canary)
    app.post("/jobs/{job_id}/send", include_in_schema=False)(send)
    app.get("/batches/{batch_id}", response_class=HTMLResponse, include_in_schema=False)(batch_page)
    app.get("/api/jobs/{job_id}/plan")(api_plan)
    app.post("/api/jobs/{job_id}/reject")(api_reject)
    app.post("/api/jobs/{job_id}/send")(api_send)
    app.get("/api/batches/{batch_id}")(api_batch)


def _job_title(runtime: Runtime, job_id: int) -> str:
    try:
        return runtime.store.job_by_id(job_id).title
    except NotFound:
        raise HTTPException(status_code=404, detail="there is no job with this number") from None


def reject_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    reason: Annotated[str, Form(max_length=100)],
    who: Annotated[str, Form(max_length=20)] = "",
    stage: Annotated[str, Form(max_length=40)] = "",
    q: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Reject the people ticked, everyone matching the filter, everyone at a stage, or
    everyone but the hired; then show the plan. A refusal shows the pipeline again with the
    error and the form as it was filled in."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    title = _job_title(runtime, job_id)
    now = runtime.clock.now()
    try:
        selection = _selection(runtime, job_id, who, stage, q, email or [])
        reject(runtime.store, title, selection, reason, note=None, actor=actor(current), now=now)
    except (FairwellError, ValueError) as error:
        kept = {"who": who, "stage": stage, "reason": reason, "ticked": email or []}
        view = PipelineView(stage=stage if who == "matching" else "", q=q.strip())
        return pipeline_page(
            request, job_id, current, view, status=400, error=str(error), kept=kept
        )
    drafted = draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        wording_check(runtime.settings),
        job_id,
        actor=actor(current),
        now=now,
        show_scores=runtime.settings.show_scores,
    )
    return RedirectResponse(f"/jobs/{job_id}/plan{_unrated_query(drafted)}", status_code=303)


def _unrated_query(drafted: DraftReport) -> str:
    """Counts (never people) of those whose scorecards rate only what their stage does not
    count, for the plan page to say why their letters carry no feedback."""
    counts = {
        "requirements_only": drafted.other_kind_only[Basis.SKILLS],
        "competencies_only": drafted.other_kind_only[Basis.REQUIREMENTS],
    }
    shown = urlencode({name: count for name, count in counts.items() if count})
    return f"?{shown}" if shown else ""


# Where the web app puts it right: the job's wording page (web/wording_pages.py).
_FIX_ON_THE_PAGE = {
    Basis.SKILLS: "make what was rated a competency on the job's feedback wording page",
    Basis.REQUIREMENTS: "make what was rated a requirement on the job's feedback wording page",
}


def _unrated_notice(requirements_only: int, competencies_only: int) -> str | None:
    """Why some letters carry no feedback though the candidates have scorecards."""
    counts = {Basis.SKILLS: requirements_only, Basis.REQUIREMENTS: competencies_only}
    notes = other_kind_notes(counts, _FIX_ON_THE_PAGE)
    return ". ".join(note[0].upper() + note[1:] for note in notes) + "." if notes else None


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
    canary: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    requirements_only: Annotated[int, Query(ge=0)] = 0,
    competencies_only: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    notice = _unrated_notice(requirements_only, competencies_only)
    if canary == "sent":
        notice = "The sample letter was sent. Check that it arrived and reads right."
    return _render_plan(request, job_id, current, notice=notice, page=page)


def _render_plan(
    request: Request,
    job_id: int,
    current: Current,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 400,
    typed: str = "",
    page: int = 1,
    send_now: bool = False,
) -> Response:
    runtime = runtime_of(request)
    _job_title(runtime, job_id)
    plan = _staged_plan(runtime, job_id, actor(current), send_now)
    # The people whose letters this plan holds, a page at a time, each with a preview link.
    listed = runtime.store.applicant_page(
        job_id, ApplicantFilter(unsent=True), (page - 1) * PLAN_PAGE, PLAN_PAGE
    )
    return render(
        request,
        "plan.html",
        status if error else 200,
        user=current[0],
        csrf=current[1].csrf,
        job_id=job_id,
        plan=plan,
        skipped=sorted(plan.skipped_counts().items()),
        awaiting=AWAITING_APPROVAL,
        listed=listed.views,
        listed_total=listed.total,
        page=page,
        pages=max(1, -(-listed.total // PLAN_PAGE)),
        reasons=REASONS,
        stages=[s.value for s in Stage],
        threshold=runtime.settings.confirm_threshold,
        send_now=send_now,
        notice=notice,
        error=error,
        typed=typed,
    )


def _staged_plan(runtime: Runtime, job_id: int, who: str, send_now: bool = False) -> Plan:
    """The job's staged plan, made or brought up to date: only what changed is composed."""
    runtime.check_templates()
    return make_plan(
        runtime.store,
        runtime.composer,
        job_id,
        runtime.clock.now(),
        actor=who,
        send_now=send_now,
        max_age=_max_age(runtime),
    ).plan


def _staged_plan_id(runtime: Runtime, job_id: int, who: str, send_now: bool) -> int:
    runtime.check_templates()
    staged = make_plan(
        runtime.store,
        runtime.composer,
        job_id,
        runtime.clock.now(),
        actor=who,
        send_now=send_now,
        max_age=_max_age(runtime),
        summary=False,
    )
    return staged.plan_id


def _max_age(runtime: Runtime) -> timedelta:
    return timedelta(minutes=runtime.settings.plan_max_age_minutes)


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
    _job_title(runtime, job_id)
    try:
        send_canary(
            runtime.store,
            runtime.composer,
            runtime.transport(),
            job_id,
            address,
            runtime.clock.now(),
            actor=actor(current),
        )
    except FairwellError as error:
        return _render_plan(request, job_id, current, error=f"No sample letter was sent: {error}")
    return RedirectResponse(f"/jobs/{job_id}/plan?canary=sent", status_code=303)


def _preview_bytes(request: Request, job_id: int, email: str) -> bytes:
    runtime = runtime_of(request)
    _job_title(runtime, job_id)
    try:
        now = runtime.clock.now()
        shown = preview_for_job(runtime.store, runtime.composer, job_id, email, now)
    except NotFound:
        raise HTTPException(
            status_code=404,
            detail=f"{email or 'that address'} has no application for this job, so there is "
            "no letter to preview; pick a row of the plan or the pipeline",
        ) from None
    except FairwellError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    return shown.body


def preview(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    email: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    """One letter exactly as it will go out, as the candidate will read it."""
    raw = _preview_bytes(request, job_id, email)
    query = urlencode({"email": email})
    return render(
        request,
        "letter.html",
        user=current[0],
        csrf=current[1].csrf,
        letter=readable(raw),
        heading="Preview: the letter as it will go out",
        intro="These are the exact bytes the send will queue; nothing is composed again.",
        html_url=f"/jobs/{job_id}/preview/html?{query}",
        source_url=f"/jobs/{job_id}/preview/source?{query}",
        back_url=f"/jobs/{job_id}/plan",
        back_label="Back to the send plan",
    )


def preview_html(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    email: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    return html_response(_preview_bytes(request, job_id, email))


def preview_source(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    email: Annotated[str, Query(max_length=320)] = "",
) -> Response:
    return source_response(_preview_bytes(request, job_id, email))


def send(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(staff)],
    expected: Annotated[int, Form()],
    plan_id: Annotated[int | None, Form()] = None,
    typed: Annotated[str, Form()] = "",
    now: Annotated[bool, Form()] = False,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Release the staged plan the recruiter saw; above the threshold they must type the
    count. ``now`` skips the send windows for this batch (the batch's audit entry says so):
    the letters' dates change, so the plan is made again for them to check first."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    _job_title(runtime, job_id)
    if expected > runtime.settings.confirm_threshold and typed.strip() != str(expected):
        error = (
            f"Nothing was sent. To send, type {expected} — the number of letters — in the box, "
            f"exactly{f' (you typed {typed.strip()!r})' if typed.strip() else ''}."
        )
        return _render_plan(request, job_id, current, error=error, typed=typed, send_now=now)
    if plan_id is None:
        # A form without the plan's number (a script): the plan is made or brought up to
        # date now, and the count must still match it.
        plan_id = _staged_plan_id(runtime, job_id, actor(current), now)
    elif now and not runtime.store.plan_record(plan_id).send_now:
        notice = (
            "The plan was made again to send every letter now, outside the send windows. "
            "Check it, then send."
        )
        return _render_plan(request, job_id, current, notice=notice, send_now=True)
    try:
        batch = confirm(
            runtime.store,
            plan_id,
            expected,
            actor=actor(current),
            now=runtime.clock.now(),
            windows=runtime.composer.scheduler.mode,
            max_age=_max_age(runtime),
        )
    except PlanChanged as error:
        stale = (
            f"Nothing was sent: the plan changed since you loaded it ({error}). "
            "The plan below is made again: check the new numbers, then send again."
        )
        return _render_plan(request, job_id, current, error=stale, status=409, send_now=now)
    start_delivery(runtime.settings)
    return RedirectResponse(f"/batches/{batch.batch_id}", status_code=303)


def batch_page(
    request: Request, batch_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    runtime = runtime_of(request)
    try:
        summary = runtime.batches.summary(batch_id)
    except NotFound:
        raise HTTPException(status_code=404, detail=f"there is no batch {batch_id}") from None
    status = runtime.store.outbox_status(batch_id, now=runtime.clock.now())
    total = sum(status.counts.values())
    done = sum(status.counts.get(state.value, 0) for state in FINAL_STATES)
    # Letters waiting for their send window are settled for now: the page stops refreshing.
    settled = done + status.scheduled
    paused = status.paused or summary.state in PAUSED_BATCH_STATES
    return render(
        request,
        "batch.html",
        user=current[0],
        csrf=current[1].csrf,
        batch_id=batch_id,
        batch=summary,
        who=summary.created_by.removeprefix("web:").removeprefix("cli:"),
        counts=sorted(status.counts.items()),
        total=total,
        done=done,
        finished=total > 0 and done == total,
        percent=round(100 * done / total) if total else 100,
        paused=status.paused,
        batch_paused=summary.state in PAUSED_BATCH_STATES,
        guard_paused=summary.state == BATCH_GUARD_PAUSED,
        stopped=status.stopped,
        scheduled=status.scheduled,
        next_scheduled_at=status.next_scheduled_at,
        running=settled < total and not paused,
    )


# --- The JSON API: the same operations for scripts and ATS integrations ------------------------


def api_plan(
    request: Request, job_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, object]:
    """The send plan, as `fairwell plan --json` prints it."""
    runtime = runtime_of(request)
    _job_title(runtime, job_id)
    return _staged_plan(runtime, job_id, actor(current)).as_json()


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
    plan_id: Annotated[int | None, Body()] = None,
) -> dict[str, object]:
    """Release the staged plan ``plan_id`` (as `GET .../plan` gave it); ``expected`` must be
    its ready count. Without ``plan_id`` the plan is made (or brought up to date) first.
    ``now: true`` skips the send windows for this batch (audited)."""
    runtime = runtime_of(request)
    _job_title(runtime, job_id)
    try:
        if plan_id is None:
            plan_id = _staged_plan_id(runtime, job_id, actor(current), now)
        batch = confirm(
            runtime.store,
            plan_id,
            expected,
            actor=actor(current),
            now=runtime.clock.now(),
            windows=runtime.composer.scheduler.mode,
            max_age=_max_age(runtime),
        )
    except PlanStale as error:
        raise HTTPException(
            status_code=409, detail={"error": str(error), "changed": error.reasons}
        ) from None
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
