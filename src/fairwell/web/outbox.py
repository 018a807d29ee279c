"""The outbox in the browser and the API: letters by state, pause, resume, stop, requeue.

Pause stops every worker from starting new letters; stop holds the rest of one batch for
good (until requeued). Both leave letters a worker already holds to finish: a letter the
SMTP server may have accepted cannot be taken back.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Body, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fairwell.domain.model import STOPPED_RULE, OutboxState
from fairwell.errors import FairwellError, NotFound
from fairwell.ports import OutboxRow
from fairwell.ports.outbox import BatchControls
from fairwell.runtime import Runtime
from fairwell.services import outbox as outbox_service
from fairwell.web.common import Current, actor, api_staff, check_csrf, render, runtime_of, staff
from fairwell.web.letter_view import html_response, readable, source_response

LISTED_LETTERS = 500
LISTED_BOUNCES = 100
OUTBOX_PAGE = 50


def register(app: FastAPI) -> None:
    app.get("/outbox", response_class=HTMLResponse, include_in_schema=False)(outbox_page)
    app.get("/outbox/{outbox_id}", response_class=HTMLResponse, include_in_schema=False)(
        outbox_letter
    )
    app.get("/outbox/{outbox_id}/html", include_in_schema=False)(outbox_letter_html)
    app.get("/outbox/{outbox_id}/source", include_in_schema=False)(outbox_letter_source)
    app.post("/batches/{batch_id}/pause", include_in_schema=False)(pause_batch)
    app.post("/batches/{batch_id}/resume", include_in_schema=False)(resume_batch)
    app.post("/outbox/requeue", include_in_schema=False)(requeue)
    app.post("/outbox/pause", include_in_schema=False)(pause)
    app.post("/outbox/resume", include_in_schema=False)(resume)
    app.post("/batches/{batch_id}/stop", include_in_schema=False)(stop)
    app.post("/batches/{batch_id}/requeue", include_in_schema=False)(requeue_stopped)
    app.get("/api/outbox")(api_outbox)
    app.get("/api/outbox/{outbox_id}", response_class=PlainTextResponse)(api_letter)
    app.post("/api/outbox/pause")(api_pause)
    app.post("/api/outbox/resume")(api_resume)
    app.post("/api/outbox/requeue")(api_requeue)
    app.post("/api/batches/{batch_id}/stop")(api_stop)


def _letter_text(runtime: Runtime, outbox_id: int) -> Response:
    try:
        body = runtime.outbox.outbox_body(outbox_id)
    except FairwellError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return source_response(body)


def _state(value: str | None) -> OutboxState | None:
    if value is None or value == "":
        return None
    try:
        return OutboxState(value)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"there is no outbox state {value!r}") from None


def _batches(request: Request) -> BatchControls:
    return runtime_of(request).batches


def outbox_page(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    state: Annotated[str | None, Query(max_length=20)] = None,
    batch: Annotated[int | None, Query(ge=1)] = None,
    q: Annotated[str | None, Query(max_length=320)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """Letters by state, batch and recipient, newest first, a page at a time; why a letter
    is held or failed; requeue puts them back."""
    runtime = runtime_of(request)
    chosen = _state(state)
    status = runtime.outbox.outbox_status()
    search = (q or "").strip()
    total, rows = _batches(request).outbox_page(
        chosen.value if chosen else None,
        batch,
        search or None,
        (page - 1) * OUTBOX_PAGE,
        OUTBOX_PAGE,
    )
    query = urlencode({k: v for k, v in (("state", state), ("batch", batch), ("q", search)) if v})
    return render(
        request,
        "outbox.html",
        bounces=runtime.inbox_store.bounces(limit=LISTED_BOUNCES),
        user=current[0],
        csrf=current[1].csrf,
        state=state or "",
        batch=batch,
        q=search,
        states=[s.value for s in OutboxState],
        counts=sorted(status.counts.items()),
        paused=status.paused,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // OUTBOX_PAGE)),
        query=query,
        requeueable={s.value for s in outbox_service.REQUEUEABLE},
        running=_batches(request).unfinished(),
    )


def _body(request: Request, outbox_id: int) -> bytes:
    try:
        return runtime_of(request).outbox.outbox_body(outbox_id)
    except FairwellError:
        raise HTTPException(status_code=404, detail=f"there is no letter #{outbox_id}") from None


def outbox_letter(
    request: Request, outbox_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    """One letter as the candidate reads it; its stored bytes behind "View source"."""
    return render(
        request,
        "letter.html",
        user=current[0],
        csrf=current[1].csrf,
        letter=readable(_body(request, outbox_id)),
        heading=f"Letter #{outbox_id}",
        intro="",
        html_url=f"/outbox/{outbox_id}/html",
        source_url=f"/outbox/{outbox_id}/source",
        back_url="/outbox",
        back_label="Back to the outbox",
    )


def outbox_letter_html(
    request: Request, outbox_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    return html_response(_body(request, outbox_id))


def outbox_letter_source(
    request: Request, outbox_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    """The stored bytes, exactly as they went or will go out."""
    return source_response(_body(request, outbox_id))


def requeue(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    outbox_id: Annotated[int, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    outbox_service.requeue(
        runtime.store, ids=[outbox_id], actor=actor(current), now=runtime.clock.now()
    )
    return RedirectResponse("/outbox", status_code=303)


def _steer_outbox(
    request: Request, current: Current, batch_id: int, csrf: str, paused: bool
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    steer = outbox_service.pause if paused else outbox_service.resume
    steer(runtime.store, actor=actor(current), now=runtime.clock.now())
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


def _steer_batch(
    request: Request, current: Current, batch_id: int, csrf: str, pause: bool
) -> Response:
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    steer = outbox_service.pause_batch if pause else outbox_service.resume_batch
    try:
        steer(_batches(request), batch_id, actor=actor(current), now=runtime.clock.now())
    except NotFound:
        raise HTTPException(status_code=404, detail=f"there is no batch {batch_id}") from None
    except FairwellError as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


def pause_batch(
    request: Request,
    batch_id: int,
    current: Annotated[Current, Depends(staff)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Pause this batch only: its letters wait, other batches go on."""
    return _steer_batch(request, current, batch_id, csrf, pause=True)


def resume_batch(
    request: Request,
    batch_id: int,
    current: Annotated[Current, Depends(staff)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _steer_batch(request, current, batch_id, csrf, pause=False)


def _stop(runtime: Runtime, batch_id: int, current: Current) -> int:
    try:
        return outbox_service.stop(
            runtime.store, batch_id, actor=actor(current), now=runtime.clock.now()
        )
    except FairwellError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


def stop(
    request: Request,
    batch_id: int,
    current: Annotated[Current, Depends(staff)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(current, csrf)
    _stop(runtime_of(request), batch_id, current)
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


def _stopped_ids(runtime: Runtime, batch_id: int) -> list[int]:
    held = runtime.outbox.outbox_rows(OutboxState.HELD, batch_id, limit=1_000_000)
    return [row.id for row in held if row.held_rule == STOPPED_RULE]


def requeue_stopped(
    request: Request,
    batch_id: int,
    current: Annotated[Current, Depends(staff)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Undo a stop: the batch's stopped letters go back in the queue (the guard runs again)."""
    check_csrf(current, csrf)
    runtime = runtime_of(request)
    ids = _stopped_ids(runtime, batch_id)
    if ids:
        outbox_service.requeue(
            runtime.store,
            states=[OutboxState.HELD],
            ids=ids,
            actor=actor(current),
            now=runtime.clock.now(),
        )
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


# --- The JSON API ------------------------------------------------------------------------------


def _row_json(row: OutboxRow) -> dict[str, object]:
    return {
        "id": row.id,
        "batch_id": row.batch_id,
        "application_id": row.application_id,
        "kind": row.kind,
        "recipient": row.recipient,
        "state": row.state.value,
        "attempts": row.attempts,
        "last_code": row.last_code,
        "last_error": row.last_error,
        "held_rule": row.held_rule,
        "possible_duplicates": row.possible_duplicates,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


def api_outbox(
    request: Request,
    current: Annotated[Current, Depends(staff)],
    state: Annotated[str | None, Query()] = None,
    batch_id: Annotated[int | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=LISTED_LETTERS)] = 100,
) -> dict[str, object]:
    """Counts per state, and the letters in one state or batch (at most ``limit``)."""
    runtime = runtime_of(request)
    status = runtime.outbox.outbox_status(batch_id)
    chosen = _state(state)
    rows = runtime.outbox.outbox_rows(chosen, batch_id, limit) if chosen or batch_id else []
    return {
        "paused": status.paused,
        "counts": status.counts,
        "stopped": status.stopped,
        "letters": [_row_json(row) for row in rows],
    }


def api_letter(
    request: Request, outbox_id: int, current: Annotated[Current, Depends(staff)]
) -> Response:
    """One letter's stored bytes as text, exactly as it went or will go out."""
    return _letter_text(runtime_of(request), outbox_id)


def api_pause(request: Request, current: Annotated[Current, Depends(api_staff)]) -> dict[str, bool]:
    """Stop every worker from starting new letters."""
    runtime = runtime_of(request)
    outbox_service.pause(runtime.store, actor=actor(current), now=runtime.clock.now())
    return {"paused": True}


def api_resume(
    request: Request, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, bool]:
    """Let workers claim letters again."""
    runtime = runtime_of(request)
    outbox_service.resume(runtime.store, actor=actor(current), now=runtime.clock.now())
    return {"paused": False}


def api_requeue(
    request: Request,
    current: Annotated[Current, Depends(api_staff)],
    ids: Annotated[list[int], Body(embed=True)],
) -> dict[str, int]:
    """Put these held, quarantined or failed letters back in the queue; the guard runs again."""
    if not ids:
        raise HTTPException(status_code=400, detail="name the letters to requeue")
    runtime = runtime_of(request)
    count = outbox_service.requeue(
        runtime.store, ids=ids, actor=actor(current), now=runtime.clock.now()
    )
    return {"requeued": count}


def api_stop(
    request: Request, batch_id: int, current: Annotated[Current, Depends(api_staff)]
) -> dict[str, int]:
    """Hold the batch's letters that no worker has taken yet."""
    return {"batch_id": batch_id, "held": _stop(runtime_of(request), batch_id, current)}
