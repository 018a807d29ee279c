"""A job's competencies and the wording its hiring team writes for them, in the browser and API.

The same service as `fairwell competency add --lang ...` (services/wording.py). The page shows,
per competency and language, the words feedback will use, and beside them the built-in
library's suggestion for a competency of the same name, as text to read: it is never filled
in, so nothing reaches a letter that a person did not save. Saving drafts again the job's
feedback that waited for wording.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fairwell.domain.feedback import CompetencyKind, Wording
from fairwell.domain.model import Job
from fairwell.domain.reasons import SUPPORTED_LOCALES
from fairwell.errors import FairwellError, ImportFileError
from fairwell.ports import RubricRow
from fairwell.services.feedback import draft_job_feedback, load_library
from fairwell.services.wording import WordingStatus, job_wording, one_row
from fairwell.web.common import Current, actor, check_csrf, reader, render, runtime_of
from fairwell.web.reviews import api_reviewer, checker, http_error, page, visible_job
from fairwell.web.wording import plural

LANGUAGES = {"en": "English", "de": "German"}


def register(app: FastAPI) -> None:
    page(app, "/jobs/{job_id}/wording", wording_page)
    app.post("/jobs/{job_id}/wording", include_in_schema=False)(wording_form)
    app.get("/api/jobs/{job_id}/wording")(api_wording)
    app.post("/api/jobs/{job_id}/wording")(api_save)


def _statuses(request: Request, job: Job) -> list[WordingStatus]:
    runtime = runtime_of(request)
    library = load_library(runtime.settings.feedback_library)
    return job_wording(runtime.feedback_store, library, job.id)


def wording_page(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    saved: Annotated[str | None, Query(max_length=100)] = None,
    redrafted: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    job = visible_job(request, current[0], job_id)
    notice = ""
    if saved:
        notice = f"Saved {saved}."
        if redrafted:
            notice += f" Drafted again: {plural(redrafted, 'draft')} that waited for this wording."
    return _render(request, current, job, notice=notice)


def _render(
    request: Request,
    current: Current,
    job: Job,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> Response:
    return render(
        request,
        "job_wording.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        job=job,
        competencies=_statuses(request, job),
        languages=LANGUAGES,
        kinds=[kind.value for kind in CompetencyKind],
        notice=notice,
        error=error,
    )


def wording_form(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(reader)],
    name: Annotated[str, Form(max_length=200)],
    bar: Annotated[str, Form(max_length=4)],
    kind: Annotated[str, Form(max_length=20)] = "",
    lang: Annotated[str, Form(max_length=4)] = "",
    gap: Annotated[str, Form(max_length=2000)] = "",
    next_step: Annotated[str, Form(max_length=2000)] = "",
    strength: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Add or change a competency; with ``lang``, save its wording in that language exactly as
    the form has it (an emptied field is emptied)."""
    check_csrf(current, csrf)
    job = visible_job(request, current[0], job_id)
    fields = {"kind": kind, "lang": lang, "gap": gap, "next_step": next_step}
    try:
        row = _row(job, name, bar, {**fields, "strength": strength})
        redrafted = _save(request, current, job, row)
    except ImportFileError as error:
        return _render(request, current, job, status=400, error=_said(error))
    except FairwellError as error:
        return _render(request, current, job, status=400, error=str(error).splitlines()[0])
    what = f"{row.name} ({LANGUAGES[row.locale]})" if row.locale else row.name
    anchor = f"#competency-{row.name}".replace(" ", "-")
    query = f"saved={what}&redrafted={redrafted}"
    return RedirectResponse(f"/jobs/{job_id}/wording?{query}{anchor}", status_code=303)


def _said(error: ImportFileError) -> str:
    problem = error.problems[0]
    return f"{(problem.field or 'form').replace('_', ' ')} {problem.message}"


def _row(job: Job, name: str, bar: str, fields: dict[str, str]) -> RubricRow:
    given = {key: value.strip() or None for key, value in fields.items()}
    return one_row({"job": job.title, "competency": name, "bar": bar.strip(), **given})


def _save(request: Request, current: Current, job: Job, row: RubricRow) -> int:
    """Save the row; a language's wording replaces what was there. Return how many drafts
    that waited for wording were drafted again."""
    runtime, now, who = runtime_of(request), runtime_of(request).clock.now(), actor(current)
    runtime.feedback_store.save_rubric(
        [RubricRow(0, row.job, row.name, row.bar, row.kind)], who, now
    )
    if row.locale is not None:
        wording = row.wording or Wording()
        runtime.feedback_store.set_wording(job.id, row.name, row.locale, wording, who, now)
    report = draft_job_feedback(
        runtime.pipeline,
        runtime.feedback_store,
        checker(request),
        job.id,
        actor=who,
        now=now,
        show_scores=runtime.settings.show_scores,
    )
    return report.redrafted


# --- the JSON API ----------------------------------------------------------------------------


class WordingBody(BaseModel):
    name: str = Field(description="the competency (or requirement) of the job")
    bar: int = Field(ge=1, le=4, description="the rating (1-4) the role needs")
    kind: str | None = Field(default=None, description="competency or requirement")
    lang: str | None = Field(default=None, description="en or de: the wording's language")
    gap: str = Field(default="", description="how a gap is named to the candidate")
    next_step: str = Field(default="", description="one concrete next step for a gap")
    strength: str = Field(default="", description="how a strength is named")


def _status_json(status: WordingStatus) -> dict[str, object]:
    return {
        "name": status.name,
        "bar": status.bar,
        "kind": status.kind.value,
        "wording": {
            lang: {"gap": w.gap, "next_step": w.next_step, "strength": w.strength}
            for lang, w in sorted(status.wording.items())
        },
        "needs_wording_in": status.missing(),
        "suggested": {
            lang: {"gap": w.gap, "next_step": w.next_step, "strength": w.strength}
            for lang, w in sorted(status.suggested.items())
        },
    }


def api_wording(
    request: Request, job_id: int, current: Annotated[Current, Depends(reader)]
) -> dict[str, object]:
    """The job's competencies with their wording per language, the languages still missing,
    and the library's suggestions (never used unless saved)."""
    job = visible_job(request, current[0], job_id)
    return {
        "job": {"id": job.id, "title": job.title},
        "languages": list(SUPPORTED_LOCALES),
        "competencies": [_status_json(s) for s in _statuses(request, job)],
    }


def api_save(
    request: Request,
    job_id: int,
    current: Annotated[Current, Depends(api_reviewer)],
    body: WordingBody,
) -> dict[str, object]:
    """Add or change a competency and, with ``lang``, replace its wording in that language.

    400 for a bar off the scale, an unknown kind or language, or wording that reads as
    another language; 404 for a job that is not yours to see."""
    job = visible_job(request, current[0], job_id)
    fields = {
        "kind": body.kind or "",
        "lang": body.lang or "",
        "gap": body.gap,
        "next_step": body.next_step,
        "strength": body.strength,
    }
    try:
        row = _row(job, body.name, str(body.bar), fields)
        redrafted = _save(request, current, job, row)
    except ImportFileError as error:
        raise HTTPException(status_code=400, detail=_said(error)) from None
    except FairwellError as error:
        raise http_error(error) from None
    return {"saved": row.name, "lang": row.locale, "redrafted": redrafted}
