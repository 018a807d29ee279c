"""The applicant page, the letters exactly as sent, and interviewers' scorecards.

Staff read every applicant, a hiring manager only the applicants of their own jobs; an
interviewer reaches only the applications assigned to them and only their own ratings.
Anything a user may not read answers 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from fairwell.domain.feedback import MAX_RATING, MIN_RATING
from fairwell.domain.reasons import REASONS
from fairwell.errors import NotFound, ScorecardRefused
from fairwell.ports import ApplicantRecords, InterviewStore, ScorecardEntry, WordingCheck
from fairwell.services import interviews as interview_service
from fairwell.services.applicant_record import applicant_record, letter_as_sent, record_as_json
from fairwell.services.interviews import RatingInput, ScorecardSheet
from fairwell.web.audit_words import audit_line
from fairwell.web.common import (
    Current,
    actor,
    api_interviewer,
    check_csrf,
    interviewer,
    reader,
    render,
    runtime_of,
    visible_jobs,
)
from fairwell.web.letter_view import html_response, readable, source_response


def register(app: FastAPI) -> None:
    app.state.applicant_records = app.state.runtime.applicant_records
    app.state.interviews = app.state.runtime.interviews
    app.get("/applications/{application_id}", response_class=HTMLResponse, include_in_schema=False)(
        applicant_page
    )
    app.get("/applications/{application_id}/letters/{outbox_id}", include_in_schema=False)(
        letter_bytes
    )
    letter = "/applications/{application_id}/letters/{outbox_id}"
    app.get(f"{letter}/html", include_in_schema=False)(letter_html)
    app.get(f"{letter}/source", include_in_schema=False)(letter_source)
    app.get("/interviews", response_class=HTMLResponse, include_in_schema=False)(interviews_page)
    app.get("/interviews/{application_id}", response_class=HTMLResponse, include_in_schema=False)(
        scorecard_page
    )
    app.post("/interviews/{application_id}", include_in_schema=False)(scorecard_form)
    app.get("/api/applications/{application_id}")(api_applicant)
    app.get("/api/interviews")(api_interviews)
    app.post("/api/interviews/{application_id}/scorecard")(api_scorecard)


def _records(request: Request) -> ApplicantRecords:
    records: ApplicantRecords = request.app.state.applicant_records
    return records


def _interviews(request: Request) -> InterviewStore:
    found: InterviewStore = request.app.state.interviews
    return found


def _wording(request: Request) -> WordingCheck:
    """The runtime's wording check, built once per process."""
    return runtime_of(request).wording_check


def _not_found(error: NotFound) -> HTTPException:
    return HTTPException(status_code=404, detail=str(error))


# --- the applicant page -------------------------------------------------------------------------


def applicant_page(
    request: Request, application_id: int, current: Annotated[Current, Depends(reader)]
) -> Response:
    try:
        record = applicant_record(
            _records(request), application_id, visible_jobs(request, current[0])
        )
    except NotFound as error:
        raise _not_found(error) from None
    return render(
        request,
        "applicant.html",
        user=current[0],
        csrf=current[1].csrf,
        record=record,
        facts=record.facts,
        interviews=_interviews_of(record.facts.scorecards),
        audit=[audit_line(entry) for entry in record.facts.audit],
        reasons={reason.code: reason for reason in REASONS},
        max_rating=MAX_RATING,
        bounces=runtime_of(request).inbox_store.bounces(application_id),
    )


def _letter(request: Request, current: Current, application_id: int, outbox_id: int) -> bytes:
    try:
        return letter_as_sent(
            _records(request), application_id, outbox_id, visible_jobs(request, current[0])
        )
    except NotFound as error:
        raise _not_found(error) from None


def letter_bytes(
    request: Request,
    application_id: int,
    outbox_id: int,
    current: Annotated[Current, Depends(reader)],
) -> Response:
    """One of the applicant's letters as they read it; the stored bytes behind the link."""
    base = f"/applications/{application_id}/letters/{outbox_id}"
    return render(
        request,
        "letter.html",
        user=current[0],
        csrf=current[1].csrf,
        letter=readable(_letter(request, current, application_id, outbox_id)),
        heading=f"Letter #{outbox_id}",
        intro="What the candidate received, read back from the bytes stored when it was queued.",
        html_url=f"{base}/html",
        source_url=f"{base}/source",
        back_url=f"/applications/{application_id}",
        back_label="Back to the applicant",
    )


def letter_html(
    request: Request,
    application_id: int,
    outbox_id: int,
    current: Annotated[Current, Depends(reader)],
) -> Response:
    return html_response(_letter(request, current, application_id, outbox_id))


def letter_source(
    request: Request,
    application_id: int,
    outbox_id: int,
    current: Annotated[Current, Depends(reader)],
) -> Response:
    """The stored bytes, unchanged: what the relay received is what is shown."""
    return source_response(_letter(request, current, application_id, outbox_id))


def _interviews_of(scorecards: tuple[ScorecardEntry, ...]) -> list[list[ScorecardEntry]]:
    """The ratings grouped per interview: one interviewer's ratings entered on one day."""
    groups: dict[tuple[str, object], list[ScorecardEntry]] = {}
    for entry in scorecards:
        groups.setdefault((entry.interviewer, entry.created_at.date()), []).append(entry)
    return list(groups.values())


def api_applicant(
    request: Request, application_id: int, current: Annotated[Current, Depends(reader)]
) -> dict[str, object]:
    """The applicant record: facts, timeline, scorecards, decisions, letters and audit trail."""
    try:
        record = applicant_record(
            _records(request), application_id, visible_jobs(request, current[0])
        )
    except NotFound as error:
        raise _not_found(error) from None
    return record_as_json(record)


# --- interviewers -------------------------------------------------------------------------------


def interviews_page(
    request: Request, current: Annotated[Current, Depends(interviewer)]
) -> Response:
    return render(
        request,
        "interviews.html",
        user=current[0],
        csrf=current[1].csrf,
        interviews=interview_service.my_interviews(_interviews(request), current[0]),
    )


def _sheet(request: Request, current: Current, application_id: int) -> ScorecardSheet:
    try:
        return interview_service.scorecard_sheet(
            _interviews(request),
            runtime_of(request).feedback_store,
            _wording(request),
            current[0],
            application_id,
        )
    except NotFound as error:
        raise _not_found(error) from None


def _render_sheet(
    request: Request,
    current: Current,
    sheet: ScorecardSheet,
    *,
    saved: bool = False,
    given: dict[str, RatingInput] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "scorecard.html",
        400 if problems else 200,
        user=current[0],
        csrf=current[1].csrf,
        sheet=sheet,
        saved=saved,
        values=given or _saved_values(sheet),
        problems=problems or {},
        scale=range(MIN_RATING, MAX_RATING + 1),
    )


def _saved_values(sheet: ScorecardSheet) -> dict[str, RatingInput]:
    return {
        name: RatingInput(name, str(e.rating), e.internal_note, e.note_for_candidate)
        for name, e in sheet.mine.items()
    }


def scorecard_page(
    request: Request,
    application_id: int,
    current: Annotated[Current, Depends(interviewer)],
    saved: Annotated[bool, Query()] = False,
) -> Response:
    return _render_sheet(request, current, _sheet(request, current, application_id), saved=saved)


def scorecard_form(
    request: Request,
    application_id: int,
    current: Annotated[Current, Depends(interviewer)],
    competency: Annotated[list[str], Form()],
    rating: Annotated[list[str], Form()],
    internal_note: Annotated[list[str], Form()],
    note_for_candidate: Annotated[list[str], Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Save the ratings (all or none); then show the form again with the wording check."""
    check_csrf(current, csrf)
    sheet = _sheet(request, current, application_id)
    if not len(competency) == len(rating) == len(internal_note) == len(note_for_candidate):
        raise HTTPException(status_code=400, detail="every competency needs all four fields")
    given = [
        RatingInput(*fields)
        for fields in zip(competency, rating, internal_note, note_for_candidate, strict=True)
    ]
    try:
        _save(request, current, application_id, given)
    except ScorecardRefused as refused:
        kept = {item.competency: item for item in given}
        return _render_sheet(request, current, sheet, given=kept, problems=refused.problems)
    return RedirectResponse(f"/interviews/{application_id}?saved=true", status_code=303)


def _save(
    request: Request, current: Current, application_id: int, given: list[RatingInput]
) -> ScorecardSheet:
    runtime = runtime_of(request)
    try:
        return interview_service.enter_scorecard(
            _interviews(request),
            runtime.feedback_store,
            _wording(request),
            current[0],
            application_id,
            given,
            actor=actor(current),
            now=runtime.clock.now(),
        )
    except NotFound as error:
        raise _not_found(error) from None


def api_interviews(
    request: Request, current: Annotated[Current, Depends(interviewer)]
) -> list[dict[str, object]]:
    """The applications assigned to you, and whether your scorecard for each is complete."""
    return [
        {
            "application_id": item.application_id,
            "name": item.full_name,
            "job": {"id": item.job_id, "title": item.job_title},
            "stage": item.stage.value,
            "rated": item.rated,
            "competencies": item.competencies,
            "done": item.done,
        }
        for item in interview_service.my_interviews(_interviews(request), current[0])
    ]


class RatingBody(BaseModel):
    competency: str = Field(max_length=200)
    rating: int
    internal_note: str = Field(default="", max_length=10_000)
    note_for_candidate: str = Field(default="", max_length=2_000)


def api_scorecard(
    request: Request,
    application_id: int,
    current: Annotated[Current, Depends(api_interviewer)],
    ratings: Annotated[list[RatingBody], Body(embed=True)],
) -> dict[str, object]:
    """Save your ratings of an assigned application (all or none); the wording check's
    findings on each note for the candidate come back with the saved ratings."""
    given = [
        RatingInput(r.competency, str(r.rating), r.internal_note, r.note_for_candidate)
        for r in ratings
    ]
    try:
        sheet = _save(request, current, application_id, given)
    except ScorecardRefused as refused:
        raise HTTPException(status_code=400, detail=refused.problems) from None
    return _sheet_json(sheet)


def _sheet_json(sheet: ScorecardSheet) -> dict[str, object]:
    return {
        "application_id": sheet.subject.application_id,
        "ratings": [
            {
                "competency": e.competency,
                "rating": e.rating,
                "internal_note": e.internal_note,
                "note_for_candidate": e.note_for_candidate,
                "findings": [
                    {"rule": f.rule, "why": f.why, "suggestion": f.suggestion}
                    for f in sheet.findings.get(name, ())
                ],
            }
            for name, e in sheet.mine.items()
        ],
    }
