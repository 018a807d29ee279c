"""Download my data: a JSON document of everything held about one person.

The same document for the portal's download and for ``fairwell export``. Letters are given
as their text; the audit entries about the person's records are included (they hold ids and
actions, never personal data). Interviewers' names and internal notes are left out: they are
about other people or the employer's deliberation, and an operator reviews them by hand.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fairwell.domain.addresses import normalise_address
from fairwell.domain.mimeread import read_letter
from fairwell.errors import NotFound
from fairwell.ports import PrivacyStore

EXPORT_FORMAT = "fairwell.export/1"


def export_person(privacy: PrivacyStore, person_id: int, now: datetime) -> dict[str, Any]:
    """The export of one person; it also answers their open access requests."""
    rows: dict[str, Any] = privacy.export_rows(person_id)
    privacy.complete_requests(person_id, "access", now)
    person = rows["person"][0]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "person": {
            key: person[key]
            for key in (
                "email",
                "first_name",
                "last_name",
                "locale",
                "country",
                "region",
                "timezone",
            )
        },
        "applications": rows["applications"],
        "decisions": rows["decisions"],
        "scorecards": rows["scorecards"],
        "feedback": rows["feedback"],
        "letters": [_letter(row) for row in rows["letters"]],
        "feedback_requests": rows["feedback_requests"],
        "mail_received": rows.get("mail_received", []),
        "bounces": rows.get("bounces", []),
        "checklists": rows["checklists"],
        "consents": rows["consents"],
        "privacy_requests": [_without_person(row) for row in rows["privacy_requests"]],
        "audit": [_without_staff_names(row) for row in rows["audit"]],
    }


def export_by_email(privacy: PrivacyStore, email: str, now: datetime) -> dict[str, Any]:
    person_id = privacy.person_id(normalise_address(email))
    if person_id is None:
        raise NotFound("no person with that address")
    return export_person(privacy, person_id, now)


def _letter(row: dict[str, Any]) -> dict[str, Any]:
    body = row.pop("body", None)
    row["text"] = None if body is None else _text_of(bytes(body))
    return row


def _text_of(body: bytes) -> str:
    try:
        parts = read_letter(body).parts
    except Exception:  # a letter we cannot parse is still theirs: give the bytes
        return base64.b64encode(body).decode("ascii")
    text = next((t for kind, t in parts if kind == "text/plain"), parts[0][1] if parts else "")
    return text.replace("\r\n", "\n").strip()


# Who acted, as the candidate may read it: themselves, the system, or the hiring team.
# A staff account's username (``web:ivan``, ``cli:rita``) names an employee, not them.
_CANDIDATE_ACTORS = frozenset({"candidate", "portal", "email"})
_SYSTEM_ACTORS = frozenset({"retention", "consent-renewals", "fairwell", "worker", "delivery"})


def candidate_facing_actor(actor: str) -> str:
    if actor in _CANDIDATE_ACTORS:
        return "you"
    if actor in _SYSTEM_ACTORS or actor.startswith("worker"):
        return "Fairwell (automatic)"
    return "the hiring team"


def _without_staff_names(row: dict[str, Any]) -> dict[str, Any]:
    if "actor" not in row:
        return row
    return {**row, "actor": candidate_facing_actor(str(row["actor"]))}


def _without_person(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "person_id"}


def as_json_value(value: object) -> object:
    """json.dumps' ``default``: datetimes as ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
