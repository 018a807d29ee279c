"""ATS webhooks in (``POST /hooks/<vendor>``) and the outgoing webhooks' delivery log.

A webhook is verified as its vendor documents (integrations/<vendor>/webhooks.py) before
anything is read from it; a refused one is logged with the vendor, the reason and its size,
never its body (it carries names and addresses). An accepted one is recorded once and may
move a stage or record a decision; it never queues or sends a letter.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from fairwell.errors import ConfigurationError, WebhookRefused
from fairwell.ports.ats import EventKind
from fairwell.ports.webhooks import DeliveryState
from fairwell.services.ats_hooks import receive
from fairwell.services.ats_reasons import ReasonMap
from fairwell.services.export_profiles import Profile, load_profile
from fairwell.web.common import Current, render, runtime_of
from fairwell.web.settings import admin

log = logging.getLogger(__name__)

# A vendor's webhook is a few kilobytes; anything much larger is not one.
MAX_HOOK_BYTES = 1024 * 1024
LISTED_DELIVERIES = 200


def register(app: FastAPI) -> None:
    app.post("/hooks/{vendor}", include_in_schema=False)(ats_hook)
    app.get("/webhooks", response_class=HTMLResponse, include_in_schema=False)(webhooks_page)


async def ats_hook(vendor: str, request: Request) -> Response:
    """Verify, record and apply one ATS webhook; 401 for a bad or missing signature."""
    runtime = runtime_of(request)
    receiver = runtime.webhook_receiver(vendor)
    if receiver is None:
        raise HTTPException(status_code=404, detail=f"no webhooks from {vendor!r}")
    body = await request.body()
    if len(body) > MAX_HOOK_BYTES:
        log.warning("%s webhook refused: %d bytes is too large", vendor, len(body))
        return JSONResponse({"error": "too large"}, status_code=413)
    try:
        event = receiver(body, request.headers, runtime.settings)
    except WebhookRefused as refused:
        log.warning("%s webhook refused: %s (%d bytes, not recorded)", vendor, refused, len(body))
        return JSONResponse({"error": str(refused)}, status_code=401)
    except ConfigurationError as error:
        log.error("%s webhook cannot be checked: %s", vendor, error)
        return JSONResponse({"error": "not configured"}, status_code=503)
    profile, reasons = _vendor_data(request, vendor)
    names = runtime.ats_names(vendor) if event.kind is not EventKind.OTHER else None
    received = await run_in_threadpool(
        receive, runtime.ats_store, event, profile, reasons, runtime.clock, names
    )
    log.info("%s webhook %s: %s", vendor, event.event, received.outcome)
    return JSONResponse(
        {"outcome": received.outcome, "detail": received.detail, "duplicate": received.duplicate}
    )


def _vendor_data(request: Request, vendor: str) -> tuple[Profile, ReasonMap]:
    """The vendor's profile (its stage names) and the reason map, read once per app."""
    state = request.app.state
    cache: dict[str, Profile] = getattr(state, "ats_profiles", None) or {}
    state.ats_profiles = cache
    if vendor not in cache:
        cache[vendor] = load_profile(vendor)
    return cache[vendor], runtime_of(request).reason_map


def webhooks_page(
    request: Request,
    current: Annotated[Current, Depends(admin)],
    state: Annotated[str | None, Query()] = None,
) -> Response:
    """Subscriptions, and every delivery: its event, state, attempts and last answer."""
    try:
        chosen = DeliveryState(state) if state else None
    except ValueError:
        raise HTTPException(status_code=400, detail=f"no delivery state {state!r}") from None
    store = runtime_of(request).webhook_store
    return render(
        request,
        "webhooks.html",
        user=current[0],
        csrf=current[1].csrf,
        subscriptions=store.subscriptions(),
        deliveries=store.deliveries(LISTED_DELIVERIES, chosen),
        state=state or "",
        states=[s.value for s in DeliveryState],
    )
