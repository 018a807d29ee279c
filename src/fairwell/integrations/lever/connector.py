"""Lever: API key over HTTP Basic, offset-paged opportunities, archive with a reason.

Built from Lever's public API reference (docs/integrations/lever.md lists it):

- authentication: HTTP Basic with the API key as the user name and an empty password;
- ``GET /opportunities?posting_id=&limit=&offset=``: ``{"data": [...], "hasNext": true,
  "next": "<offset>"}``; the next page passes that ``next`` as ``offset``;
- ``GET /stages`` and ``GET /archive_reasons`` (``type`` hired or non-hired) name the ids an
  opportunity carries in ``stage`` and ``archived.reason``;
- ``PUT /opportunities/{id}/archived?perform_as=<user>`` with ``{"reason": <id>}``;
- about 10 requests a second per key; a 429 means slow down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from fairwell.config import Settings
from fairwell.errors import AtsRefused, AtsUnknownReason, ConfigurationError
from fairwell.integrations.http import ApiClient, BasicCredentials, RetryPolicy
from fairwell.ports.ats import PulledApplication, PulledPage

__all__ = ["LeverConnector", "connect"]

VENDOR = "lever"
PAGE_SIZE = 100
HIRED = "hired"
# Lever's documented steady rate: 10 requests a second per API key.
MIN_INTERVAL = 0.1


class LeverConnector:
    """The AtsConnector for Lever's API."""

    vendor = VENDOR
    api_fields: Mapping[str, str] = {
        "full_name": "name",
        "first_name": "name",
        "last_name": "name",
        "email": "emails",
        "stage": "stage",
        "status": "archived.reason",
        "source": "origin",
        "applied_at": "createdAt",
    }

    def __init__(self, api: ApiClient, perform_as: str | None) -> None:
        self._api, self._perform_as = api, perform_as
        self._stages: dict[str, str] | None = None
        self._reasons: list[dict[str, Any]] | None = None

    def close(self) -> None:
        self._api.close()

    # --- pulling ------------------------------------------------------------------------

    def job_title(self, ats_job_id: str) -> str:
        posting = self._data(self._api.request("GET", f"postings/{ats_job_id}"))
        if not isinstance(posting, dict) or not isinstance(posting.get("text"), str):
            raise AtsRefused(VENDOR, f"posting {ats_job_id} has no title")
        return str(posting["text"])

    def page(self, ats_job_id: str, cursor: str | None) -> PulledPage:
        params = {"posting_id": ats_job_id, "limit": str(PAGE_SIZE), "expand": "stage"}
        if cursor is not None:
            params["offset"] = cursor
        response = self._api.request("GET", "opportunities", params=params)
        body = self._body(response)
        items = body.get("data")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise AtsRefused(VENDOR, "GET /opportunities did not answer with a data list")
        following = body.get("next") if body.get("hasNext") else None
        pulled = [self._pulled(item) for item in items]
        return PulledPage(pulled, str(following) if following else None)

    def _pulled(self, item: Mapping[str, Any]) -> PulledApplication:
        emails = [email for email in item.get("emails") or [] if isinstance(email, str)]
        values: dict[str, object] = {
            "full_name": item.get("name") or "",
            "email": emails[0] if emails else "",
            "stage": self._stage_name(item.get("stage")),
            "status": self._archived(item.get("archived")),
            "source": item.get("origin") or "",
            "applied_at": _moment(item.get("createdAt")),
        }
        contact = item.get("contact")
        return PulledApplication(str(item.get("id")), str(contact) if contact else None, values)

    def _stage_name(self, stage: object) -> str:
        """``stage`` is expanded ({"id", "text"}) when asked for, else an id."""
        if isinstance(stage, dict):
            return str(stage.get("text") or "")
        if isinstance(stage, str) and stage:
            return self.stage_names().get(stage, stage)
        return ""

    def _archived(self, archived: object) -> str:
        """An archived opportunity's reason, by name; hired reasons read as "Hired"."""
        if not isinstance(archived, dict) or not archived.get("reason"):
            return ""
        reason = self.archive_reason(str(archived["reason"]))
        if reason is None:
            return str(archived["reason"])
        return "Hired" if reason.get("type") == HIRED else str(reason.get("text") or "")

    def stage_names(self) -> dict[str, str]:
        if self._stages is None:
            stages = self._data(self._api.request("GET", "stages"))
            self._stages = {
                str(stage.get("id")): str(stage.get("text"))
                for stage in stages or []
                if isinstance(stage, dict)
            }
        return self._stages

    def archive_reason(self, reason_id: str) -> dict[str, Any] | None:
        return next((r for r in self._archive_reasons() if str(r.get("id")) == reason_id), None)

    def _archive_reasons(self) -> list[dict[str, Any]]:
        if self._reasons is None:
            reasons = self._data(self._api.request("GET", "archive_reasons"))
            self._reasons = [r for r in reasons or [] if isinstance(r, dict)]
        return self._reasons

    # --- writing back -------------------------------------------------------------------

    def reject(self, ats_application_id: str, reason: str, note: str) -> str:
        try:
            opportunity = self._data(
                self._api.request("GET", f"opportunities/{ats_application_id}")
            )
        except AtsRefused as refused:
            if refused.status == 404:
                raise AtsRefused(
                    VENDOR, f"opportunity {ats_application_id} no longer exists (deleted)", 404
                ) from None
            raise
        if isinstance(opportunity, dict) and opportunity.get("archived"):
            return "already archived in Lever"
        params = {"perform_as": self._perform_as} if self._perform_as else None
        self._api.request(
            "PUT",
            f"opportunities/{ats_application_id}/archived",
            params=params,
            json_body={"reason": self._reason_id(reason)},
        )
        return "rejected"

    def _reason_id(self, reason: str) -> str:
        wanted = reason.strip().casefold()
        for item in self._archive_reasons():
            if item.get("type") == HIRED:
                continue
            if wanted in (str(item.get("id")).casefold(), str(item.get("text")).casefold()):
                return str(item.get("id"))
        raise AtsUnknownReason(
            VENDOR,
            f"there is no non-hired archive reason named {reason!r} in Lever; name one that "
            "exists (or its id) in FAIRWELL_ATS_REASON_MAP",
        )

    # --- answers ------------------------------------------------------------------------

    def _body(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise AtsRefused(VENDOR, "an answer was not JSON") from None
        if not isinstance(body, dict):
            raise AtsRefused(VENDOR, "an answer was not a JSON object")
        return body

    def _data(self, response: httpx.Response) -> Any:
        return self._body(response).get("data")


def _moment(millis: object) -> str:
    """Lever's times are milliseconds since 1970."""
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        return datetime.fromtimestamp(millis / 1000, UTC).isoformat()
    return ""


def connect(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> LeverConnector:
    """The connector, or ConfigurationError naming the setting that is missing."""
    if settings.lever_api_key is None:
        raise ConfigurationError("Lever is not configured: set FAIRWELL_LEVER_API_KEY")
    api = ApiClient(
        VENDOR,
        settings.lever_url,
        BasicCredentials(settings.lever_api_key.get_secret_value(), ""),
        timeout=settings.ats_timeout_seconds,
        policy=RetryPolicy(
            settings.ats_max_attempts, settings.ats_max_wait_seconds, min_interval=MIN_INTERVAL
        ),
        sleep=sleep,
        monotonic=monotonic,
    )
    return LeverConnector(api, settings.lever_perform_as)
