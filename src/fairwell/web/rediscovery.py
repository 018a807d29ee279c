"""Rediscovery for recruiters: the people on file ranked for a job, and letters to the picked.

Thin handlers over services/rediscovery.py. The page is a list to review; only the people a
recruiter ticks are written to, and only while their consent is valid.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from fairwell.errors import FairwellError
from fairwell.runtime import Runtime
from fairwell.services import rediscovery, semantic
from fairwell.web.common import Current, check_csrf, render, staff
from fairwell.web.wording import plural

Staff = Annotated[Current, Depends(staff)]


def register(app: FastAPI) -> None:
    app.get("/jobs/{job_id}/rediscover", include_in_schema=False)(rediscover_page)
    app.post("/jobs/{job_id}/rediscover", include_in_schema=False)(invite)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def rediscover_page(
    request: Request, job_id: int, current: Staff, message: str | None = None, status: int = 200
) -> Response:
    runtime = _runtime(request)
    pool = runtime.rediscovery
    meaning = semantic.choose(runtime.settings.rediscovery_semantic)
    report = rediscovery.rediscover(pool, pool.job(job_id), runtime.clock.now(), meaning)
    return render(
        request,
        "rediscover.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        report=report,
        invited=pool.invited(job_id),
        message=message,
    )


async def invite(request: Request, job_id: int, current: Staff) -> Response:
    form = await request.form()
    check_csrf(current, str(form.get("csrf", "")))
    runtime = _runtime(request)
    pool = runtime.rediscovery
    try:
        picked = [int(str(value)) for value in form.getlist("person")]
        done = rediscovery.invite(
            runtime.store,
            pool,
            runtime.composer,
            pool.job(job_id),
            picked,
            actor=f"web:{current[0].username}",
            now=runtime.clock.now(),
        )
    except (FairwellError, ValueError) as error:
        return rediscover_page(request, job_id, current, f"Nothing queued: {error}", 400)
    text = f"Queued {plural(done.queued, 'letter')}."
    if done.refused:
        text += f" {len(done.refused)} not written to: " + "; ".join(w for _, w in done.refused)
    return rediscover_page(request, job_id, current, text)
