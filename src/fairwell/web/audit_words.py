"""The audit trail in words: "Letter sent", "Rejected (reason: skills-mismatch)", not JSON.

Each action has a short sentence; the stored detail (ids, counts and codes, never personal
data) becomes a few "name: value" pairs. An action without a sentence of its own is shown
by its name, so a new kind of entry is still readable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fairwell.ports import AuditEntry

SENTENCES = {
    "application.updated": "Application updated by an import",
    "batch.queued": "Letters queued in a batch",
    "batch.paused": "Batch paused",
    "batch.resumed": "Batch resumed",
    "batch.stopped": "Batch stopped",
    "canary.sent": "Sample letter sent",
    "checklist.saved": "The candidate saved their checklist",
    "consent.given": "The candidate agreed to be kept on file",
    "consent.withdrawn": "The candidate withdrew their consent",
    "decision.reject": "Rejected",
    "feedback.drafted": "Feedback drafted",
    "feedback.edited": "Feedback edited",
    "feedback.approved": "Feedback approved",
    "feedback.downgraded": "Plain letter chosen instead of the feedback",
    "interview.assigned": "Interviewer assigned",
    "letter.sent": "Letter sent",
    "letter.recovered": "Letter taken back after a worker stopped",
    "letter.lease-lost": "A worker lost its hold on the letter",
    "outbox.requeued": "Letter put back in the queue",
    "person.erased": "Personal data erased",
    "privacy.requested": "Data request received",
    "privacy.answered": "Data request answered",
    "request.received": "Feedback request received",
    "request.answered": "Feedback request answered",
    "scorecard.entered": "Scorecard entered",
    "scorecards.saved": "Scorecards imported",
}
# Detail keys in words; others are shown by their own name.
KEYS = {
    "reason": "reason",
    "reason_code": "reason",
    "count": "letters",
    "held": "held",
    "state": "state",
    "kind": "letter",
    "rule": "rule",
    "ratings": "ratings",
    "batch_id": "batch",
    "decision_id": "decision",
    "override": "with override",
}


@dataclass(frozen=True, slots=True)
class AuditLine:
    what: str
    who: str
    details: tuple[tuple[str, str], ...]


def _who(actor: str) -> str:
    for prefix in ("web:", "cli:"):
        if actor.startswith(prefix):
            return actor[len(prefix) :]
    return {"candidate": "the candidate", "demo": "the demo"}.get(actor, actor)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    return str(value)


def audit_line(entry: AuditEntry) -> AuditLine:
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = {"detail": entry.detail}
    if not isinstance(detail, dict):
        detail = {"detail": detail}
    what = SENTENCES.get(entry.action) or entry.action.replace(".", ": ").replace("-", " ")
    details = tuple(
        (KEYS.get(key, key.replace("_", " ")), _value(value))
        for key, value in detail.items()
        if value not in (None, "", [], {})
    )
    return AuditLine(what[:1].upper() + what[1:], _who(entry.actor), details)
