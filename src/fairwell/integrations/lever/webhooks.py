"""Lever webhooks: the signature in the body, and the events Fairwell records.

As Lever documents it (docs/integrations/lever.md): the body is ``{"event", "data",
"token", "triggeredAt", "signature"}`` and ``signature`` is the HMAC-SHA256, in hex, of
``token`` followed by ``triggeredAt`` under the signature token Lever shows for that event's
webhook. Each event type has its own signature token (FAIRWELL_LEVER_WEBHOOK_TOKENS maps
event names to them). Fairwell reads ``candidateStageChange``, ``candidateArchiveChange``
and ``candidateHired``; stage and archive reasons arrive as ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from fairwell.config import Settings
from fairwell.domain.http_bodies import digest, json_object, same
from fairwell.errors import AtsError, ConfigurationError, WebhookRefused
from fairwell.ports.ats import AtsEvent, EventKind

__all__ = ["event_from", "named", "signature_tokens", "verified_event", "verify"]

VENDOR = "lever"


def signature_tokens(configured: str | None) -> dict[str, str]:
    """FAIRWELL_LEVER_WEBHOOK_TOKENS read as {event: signature token}."""
    if not configured:
        return {}
    try:
        tokens = json.loads(configured)
    except json.JSONDecodeError:
        tokens = None
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        raise ConfigurationError(
            'FAIRWELL_LEVER_WEBHOOK_TOKENS must be a JSON object {"event": "token", ...}'
        )
    return tokens


def verify(body: bytes, tokens: Mapping[str, str]) -> None:
    """Raise WebhookRefused unless the body's signature is right for its event's token."""
    document = json_object(body)
    event = document.get("event")
    key = tokens.get(event) if isinstance(event, str) else None
    if not tokens:
        raise WebhookRefused("FAIRWELL_LEVER_WEBHOOK_TOKENS is not set")
    if key is None:
        raise WebhookRefused("no signature token is configured for this event")
    token, triggered, signature = (
        document.get("token"),
        document.get("triggeredAt"),
        document.get("signature"),
    )
    if not isinstance(signature, str) or not signature:
        raise WebhookRefused("no signature in the body")
    if not isinstance(token, str) or triggered is None:
        raise WebhookRefused("the body has no token or triggeredAt")
    if not same(digest(key, f"{token}{triggered}".encode()), signature.lower()):
        raise WebhookRefused("the signature does not match")


def event_from(body: bytes) -> AtsEvent:
    document = json_object(body)
    event = str(document.get("event") or "unknown")
    data = document.get("data")
    data = data if isinstance(data, dict) else {}
    archived = data.get("toArchived")
    kind = EventKind.OTHER
    if event == "candidateStageChange":
        kind = EventKind.STAGE
    elif event == "candidateHired":
        kind = EventKind.HIRED
    elif event == "candidateArchiveChange" and isinstance(archived, dict):
        kind = EventKind.REJECTED
    # A replay repeats token, triggeredAt and the rest: the same key, recorded once.
    key = hashlib.sha256(
        f"{document.get('token')}|{document.get('triggeredAt')}|{event}|"
        f"{data.get('opportunityId')}".encode()
    ).hexdigest()
    return AtsEvent(
        vendor=VENDOR,
        delivery_key=key,
        event=event,
        kind=kind,
        ats_application_id=_id(data.get("opportunityId")),
        ats_job_id=_id(data.get("postingId")),
        stage_name=_id(data.get("toStageId")),
        reason=_id(archived.get("reason")) if isinstance(archived, dict) else None,
        resolved=kind not in (EventKind.STAGE, EventKind.REJECTED),
    )


class Names(Protocol):
    """What names Lever's ids: the connector's cached lists of stages and archive reasons."""

    def stage_names(self) -> dict[str, str]: ...

    def archive_reason(self, reason_id: str) -> dict[str, Any] | None: ...


def named(event: AtsEvent, lever: Names) -> AtsEvent:
    """The event with its stage or archive reason named, or unchanged (still unresolved)
    when Lever cannot say: an archive for an unknown reason might be a withdrawal."""
    try:
        if event.kind is EventKind.STAGE and event.stage_name:
            name = lever.stage_names().get(event.stage_name)
            return replace(event, stage_name=name, resolved=True) if name else event
        if event.kind is EventKind.REJECTED and event.reason:
            reason = lever.archive_reason(event.reason)
            if reason is None:
                return event
            if reason.get("type") == "hired":
                return replace(event, kind=EventKind.HIRED, resolved=True)
            text = str(reason.get("text") or "")
            return replace(event, status=text, reason=text, resolved=True)
    except AtsError:
        return event
    return event


def _id(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def verified_event(body: bytes, headers: Mapping[str, str], settings: Settings) -> AtsEvent:
    """The event, once its signature checks out against FAIRWELL_LEVER_WEBHOOK_TOKENS."""
    tokens = settings.lever_webhook_tokens
    verify(body, signature_tokens(tokens.get_secret_value() if tokens else None))
    return event_from(body)
