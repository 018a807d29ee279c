"""Greenhouse webhooks: the ``Signature`` header, and the events Fairwell records.

As Greenhouse documents it (docs/integrations/greenhouse.md): every delivery carries
``Signature: sha256 <hex>``, the HMAC-SHA256 of the whole request body under the webhook's
secret key, and a ``Greenhouse-Event-ID`` unique to the delivery. The body is
``{"action": ..., "payload": {"application": {...}}}``; Fairwell reads ``reject_candidate``,
``candidate_stage_change`` and ``hire_candidate`` and records every other action as seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from fairwell.config import Settings
from fairwell.domain.http_bodies import digest, json_object, same
from fairwell.errors import WebhookRefused
from fairwell.ports.ats import AtsEvent, EventKind

__all__ = ["event_from", "verified_event", "verify"]

VENDOR = "greenhouse"
KINDS = {
    "reject_candidate": EventKind.REJECTED,
    "candidate_stage_change": EventKind.STAGE,
    "hire_candidate": EventKind.HIRED,
}


def verify(body: bytes, headers: Mapping[str, str], secret: str | None) -> None:
    """Raise WebhookRefused unless ``Signature`` is the body's HMAC under ``secret``."""
    if not secret:
        raise WebhookRefused("FAIRWELL_GREENHOUSE_WEBHOOK_SECRET is not set")
    header = headers.get("signature", "")
    algorithm, _, signature = header.strip().partition(" ")
    if not header:
        raise WebhookRefused("no Signature header")
    if algorithm.lower() != "sha256" or not signature:
        raise WebhookRefused("the Signature header is not 'sha256 <hex>'")
    if not same(digest(secret, body), signature.strip().lower()):
        raise WebhookRefused("the signature does not match the body")


def event_from(body: bytes, headers: Mapping[str, str]) -> AtsEvent:
    """The event a verified body reports (ids and names of stages and reasons only)."""
    document = json_object(body)
    action = str(document.get("action") or "")
    payload = document.get("payload")
    application = payload.get("application") if isinstance(payload, dict) else None
    application = application if isinstance(application, dict) else {}
    reason = application.get("rejection_reason")
    reason = reason if isinstance(reason, dict) else {}
    return AtsEvent(
        vendor=VENDOR,
        delivery_key=headers.get("greenhouse-event-id") or hashlib.sha256(body).hexdigest(),
        event=action or "unknown",
        kind=KINDS.get(action, EventKind.OTHER),
        ats_application_id=_id(application.get("id")),
        ats_job_id=_job(application),
        stage_name=_text(application.get("current_stage"), "name"),
        status=_text(reason.get("type"), "name"),
        reason=str(reason["name"]) if isinstance(reason.get("name"), str) else None,
    )


def _job(application: Mapping[str, Any]) -> str | None:
    job = application.get("job")
    if isinstance(job, dict) and job.get("id") is not None:
        return _id(job.get("id"))
    jobs = application.get("jobs")
    if isinstance(jobs, list) and jobs and isinstance(jobs[0], dict):
        return _id(jobs[0].get("id"))
    return None


def _id(value: object) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _text(value: object, key: str) -> str | None:
    if isinstance(value, dict) and isinstance(value.get(key), str):
        return str(value[key])
    return None


def verified_event(body: bytes, headers: Mapping[str, str], settings: Settings) -> AtsEvent:
    """The event, once its signature checks out against FAIRWELL_GREENHOUSE_WEBHOOK_SECRET."""
    secret = settings.greenhouse_webhook_secret
    verify(body, headers, secret.get_secret_value() if secret else None)
    return event_from(body, headers)
