"""Deadlines for recruiters: who must hear from us by when, and a button for status letters.

Thin handlers over services/deadlines.py and services/status_letters.py. The button sends the
count the recruiter saw; a list that changed since is refused rather than queued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import Response

from fairwell.errors import FairwellError
from fairwell.runtime import Runtime
from fairwell.services.deadlines import NoticeRules, deadlines, notice_rules
from fairwell.services.status_letters import (
    StatusPlan,
    plan_status_letters,
    queue_status_letters,
)
from fairwell.web.common import Current, check_csrf, render, staff
from fairwell.web.wording import plural

Staff = Annotated[Current, Depends(staff)]


def register(app: FastAPI) -> None:
    app.get("/deadlines", include_in_schema=False)(deadlines_page)
    app.post("/deadlines/notify", include_in_schema=False)(notify)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _plan(runtime: Runtime, rules: NoticeRules) -> StatusPlan:
    notices = runtime.notices
    return plan_status_letters(runtime.store, notices, notices, rules, runtime.clock.now())


def deadlines_page(
    request: Request, current: Staff, message: str | None = None, status: int = 200
) -> Response:
    runtime = _runtime(request)
    rules = notice_rules(runtime.settings)
    now = runtime.clock.now()
    promises = [
        item
        for item in deadlines(runtime.notices, rules, now, everyone=True).items
        if item.promise is not None
    ]
    return render(
        request,
        "deadlines.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        rules=rules.in_force(),
        alert_days=rules.alert_days,
        plan=_plan(runtime, rules),
        promises=promises,
        message=message,
    )


def notify(
    request: Request,
    current: Staff,
    expected: Annotated[int, Form(ge=0)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = _runtime(request)
    rules = notice_rules(runtime.settings)
    if not rules.in_force():
        return deadlines_page(request, current, "No jurisdiction has a notice deadline.", 409)
    try:
        done = queue_status_letters(
            runtime.store,
            runtime.composer,
            _plan(runtime, rules),
            expected=expected,
            actor=f"web:{current[0].username}",
            now=runtime.clock.now(),
        )
    except FairwellError as error:
        return deadlines_page(request, current, f"Nothing queued: {error}", 409)
    text = (
        f"Queued {plural(done.queued, 'status letter')}; {done.later} wait for their send window."
    )
    if done.blocked:
        text += f" {len(done.blocked)} blocked by the privacy guard (see the outbox)."
    return deadlines_page(request, current, text)
