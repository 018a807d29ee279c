"""A job's own settings on its page: who signs its letters, and whether its search has ended.

Thin handler over services/job_settings.py, for admins and recruiters. A bad name is shown on
the page, never saved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from fairwell.errors import FairwellError, NotFound
from fairwell.services.auto_send import turn_auto_send
from fairwell.services.job_settings import clean_sender_name, close_job, set_sender
from fairwell.web.common import Current, actor, check_csrf, runtime_of, staff

Staff = Annotated[Current, Depends(staff)]


def register(app: FastAPI) -> None:
    app.post("/jobs/{job_id}/settings", include_in_schema=False)(save_job_settings)


def save_job_settings(
    request: Request,
    job_id: int,
    current: Staff,
    sender_name: Annotated[str, Form(max_length=400)] = "",
    closed: Annotated[str | None, Form()] = None,
    auto_send: Annotated[str | None, Form()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    try:
        job = runtime.pipeline.job_by_id(job_id)
    except NotFound:
        raise HTTPException(status_code=404, detail="no such job") from None
    try:
        now, who = runtime.clock.now(), actor(current)
        if clean_sender_name(sender_name) != job.sender_name:
            job = set_sender(runtime.pipeline, job.id, sender_name, who, now)
        if bool(auto_send) != (job.auto_send_by is not None):
            turn_auto_send(
                runtime.pipeline,
                runtime.users,
                runtime.job_managers,
                job.id,
                current[0].username,
                bool(auto_send),
                now,
            )
        if bool(closed) != (job.closed_at is not None):
            close_job(runtime.pipeline, job.id, bool(closed), who, now)
    except FairwellError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
