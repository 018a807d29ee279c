"""Home: what waits for you, with counts and links, by role.

A hiring manager sees the drafts waiting for their approval and the requests due on their
jobs; an interviewer the scorecards still to fill in; a recruiter also the batches still
going, letters held or failed, and the notice deadlines near; an admin also the data
requests. Each tile links to the page where the work is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from fairwell.domain.model import BATCH_GUARD_PAUSED, FeedbackState, OutboxState
from fairwell.domain.requests import RequestState
from fairwell.domain.users import Role, User
from fairwell.services import interviews as interview_service
from fairwell.services import requests as request_service
from fairwell.services.deadlines import notice_rules
from fairwell.web.common import Current, render, runtime_of, signed_in
from fairwell.web.reviews import jobs_for
from fairwell.web.wording import plural


@dataclass
class Tile:
    """One kind of waiting work: how many, what it is, where to do it, and the items."""

    heading: str
    count: int
    summary: str
    href: str
    items: list[tuple[str, str]] = field(default_factory=list)  # (text, link)
    urgent: bool = False


def register(app: FastAPI) -> None:
    app.get("/home", response_class=HTMLResponse, include_in_schema=False)(home_page)


def home_page(request: Request, current: Annotated[Current, Depends(signed_in)]) -> Response:
    user = current[0]
    tiles = [tile for make in _TILES[user.role] for tile in make(request, user)]
    return render(
        request,
        "home.html",
        user=user,
        csrf=current[1].csrf,
        tiles=tiles,
        waiting=sum(t.count for t in tiles),
    )


def _drafts(request: Request, user: User) -> list[Tile]:
    counts = runtime_of(request).feedback_store.review_counts()
    items, total = [], 0
    for job in jobs_for(request, user):
        drafts = counts.get(job.id, {}).get(FeedbackState.DRAFT.value, 0)
        if drafts:
            total += drafts
            items.append((f"{job.title}: {plural(drafts, 'draft')}", f"/feedback/{job.id}"))
    summary = "feedback drafts wait for approval; their letters are held until then"
    return [Tile("Feedback to approve", total, summary, "/feedback", items)]


def _requests(request: Request, user: User) -> list[Tile]:
    runtime = runtime_of(request)
    visible = {job.id for job in jobs_for(request, user)}
    due = [
        status
        for status in request_service.all_requests(runtime.request_store, runtime.clock.now())
        if status.request.state is RequestState.OPEN and status.request.job_id in visible
    ]
    items = [
        (
            f"#{s.request.id} {s.request.job_title}, due {s.request.due_at:%d %b}"
            + (" (overdue)" if s.overdue else " (due soon)" if s.remind else ""),
            f"/requests/{s.request.id}",
        )
        for s in due[:8]
    ]
    overdue = sum(s.overdue for s in due)
    summary = "candidates asked why and wait for an answer"
    if overdue:
        summary += f"; {plural(overdue, 'request is', 'requests are')} overdue"
    return [Tile("Feedback requests due", len(due), summary, "/requests", items, bool(overdue))]


def _interviews(request: Request, user: User) -> list[Tile]:
    found = interview_service.my_interviews(runtime_of(request).interviews, user)
    open_ones = [item for item in found if not item.done]
    items = [
        (
            f"{i.full_name}, {i.job_title}: {i.rated} of {i.competencies} rated",
            f"/interviews/{i.application_id}",
        )
        for i in open_ones[:8]
    ]
    summary = "scorecards still to fill in"
    return [Tile("Interviews to score", len(open_ones), summary, "/interviews", items)]


_STATE_WORDS = {BATCH_GUARD_PAUSED: "paused by the privacy guard"}


def _batches(request: Request, user: User) -> list[Tile]:
    running = runtime_of(request).batches.unfinished()
    items = [
        (
            f"Batch {b.id}, {b.job_title}: {b.done} of {plural(b.total, 'letter')} done"
            + (f" ({_STATE_WORDS.get(b.state, b.state)})" if b.state != "active" else ""),
            f"/batches/{b.id}",
        )
        for b in running[:8]
    ]
    summary = "batches still sending or waiting for send windows"
    return [Tile("Batches running", len(running), summary, "/outbox", items)]


def _outbox_problems(request: Request, user: User) -> list[Tile]:
    counts = runtime_of(request).outbox.outbox_status().counts
    items = [
        (f"{plural(counts[state.value], 'letter')} {state.value}", f"/outbox?state={state.value}")
        for state in (OutboxState.HELD, OutboxState.QUARANTINED, OutboxState.FAILED)
        if counts.get(state.value)
    ]
    total = sum(counts.get(s, 0) for s in ("held", "quarantined", "failed"))
    summary = "letters that did not go: held, quarantined or failed"
    return [Tile("Letters to look at", total, summary, "/outbox", items)]


def _deadlines(request: Request, user: User) -> list[Tile]:
    from fairwell.services.status_letters import plan_status_letters

    runtime = runtime_of(request)
    rules = notice_rules(runtime.settings)
    if not rules.in_force():
        return []
    notices = runtime.notices
    plan = plan_status_letters(runtime.store, notices, notices, rules, runtime.clock.now())
    overdue = sum(
        c.item.notice is not None and c.item.notice.state.value == "overdue"
        for c in plan.candidates
    )
    summary = "interviewed candidates must hear from us by their notice deadline"
    if overdue:
        summary += f"; {plural(overdue, 'deadline')} passed"
    tile = Tile("Deadlines near", len(plan.candidates), summary, "/deadlines", urgent=bool(overdue))
    return [tile]


def _data_requests(request: Request, user: User) -> list[Tile]:
    now = runtime_of(request).clock.now()
    open_ones = [r for r in runtime_of(request).privacy.requests() if r.state == "open"]
    overdue = sum(r.due_at < now for r in open_ones)
    summary = "access and erasure requests, due a month after they arrive"
    return [Tile("Data requests", len(open_ones), summary, "/data-requests", urgent=bool(overdue))]


_READER_TILES = (_drafts, _requests)
_STAFF_TILES = (*_READER_TILES, _batches, _outbox_problems, _deadlines)
_TILES = {
    Role.ADMIN: (*_STAFF_TILES, _data_requests),
    Role.RECRUITER: _STAFF_TILES,
    Role.HIRING_MANAGER: _READER_TILES,
    Role.INTERVIEWER: (_interviews,),
}
assert set(_TILES) == set(Role)
