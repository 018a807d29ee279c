"""Greenhouse Harvest v3: OAuth client credentials, cursor-paged pulls, reject without email.

Built from Greenhouse's public references (docs/integrations/greenhouse.md lists them):

- token: ``POST {FAIRWELL_GREENHOUSE_AUTH_URL}`` with HTTP Basic client id and secret and the
  form ``grant_type=client_credentials&sub=<user id>``; the answer's ``access_token`` is sent as
  ``Authorization: Bearer`` and lasts about an hour (``expires_in`` or ``expires_at``);
- lists are cursor-paged: the next page is the ``rel="next"`` URL of the ``Link`` header,
  requested exactly as given (a cursor carries every filter of the first request);
- ``GET /applications?job_ids=`` and ``GET /candidates?ids=`` (at most 50 ids a request);
- ``POST /applications/{id}/reject`` with ``rejection_reason_id`` and ``notes``: Greenhouse
  emails the candidate only when the body has a ``rejection_email``, which we never send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from fairwell.config import Settings
from fairwell.errors import AtsAuthError, AtsRefused, AtsUnknownReason, ConfigurationError
from fairwell.integrations.http import ApiClient, BasicCredentials, RetryPolicy
from fairwell.ports.ats import PulledApplication, PulledPage

__all__ = ["GreenhouseConnector", "connect"]

VENDOR = "greenhouse"
PAGE_SIZE = 100
IDS_PER_REQUEST = 50  # Harvest v3's limit on ids= and candidate_ids=
# A token is renewed this long before Greenhouse says it expires.
TOKEN_MARGIN_SECONDS = 60.0
TOKEN_DEFAULT_SECONDS = 3600.0


class ClientCredentials:
    """A Harvest v3 access token for one user, fetched when needed and renewed before expiry."""

    def __init__(
        self,
        token_endpoint: ApiClient,
        user_id: str,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._endpoint, self._user_id, self._wall = token_endpoint, user_id, wall
        self._token: str | None = None
        self._expires = 0.0

    def headers(self) -> dict[str, str]:
        if self._token is None or self._wall() >= self._expires - TOKEN_MARGIN_SECONDS:
            self._fetch()
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        """The API refused the token (expired, revoked): fetch a new one once."""
        self._token = None
        return True

    def __repr__(self) -> str:
        return "ClientCredentials(<hidden>)"

    def _fetch(self) -> None:
        try:
            response = self._endpoint.request(
                "POST", "", form={"grant_type": "client_credentials", "sub": self._user_id}
            )
            body = response.json()
        except (AtsRefused, AtsAuthError) as refused:
            raise AtsAuthError(
                VENDOR,
                f"the token endpoint refused the client credentials ({refused.detail}); check "
                "FAIRWELL_GREENHOUSE_CLIENT_ID, _CLIENT_SECRET and _USER_ID",
            ) from None
        except ValueError:
            raise AtsAuthError(VENDOR, "the token endpoint did not answer with JSON") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AtsAuthError(VENDOR, "the token endpoint's answer has no access_token")
        self._token = token
        self._expires = self._wall() + _lifetime(body, self._wall())


def _lifetime(body: Mapping[str, Any], now: float) -> float:
    if isinstance(body.get("expires_in"), int | float):
        return float(body["expires_in"])
    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        try:
            return datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp() - now
        except ValueError:
            pass
    return TOKEN_DEFAULT_SECONDS


class GreenhouseConnector:
    """The AtsConnector for Greenhouse Harvest v3."""

    vendor = VENDOR
    # Where each profile field comes from, for messages about a bad value.
    api_fields: Mapping[str, str] = {
        "email": "candidate email_addresses",
        "first_name": "candidate first_name",
        "last_name": "candidate last_name",
        "stage": "current_stage",
        "status": "status",
        "source": "source",
        "sourced_flag": "prospect",
        "referred_by": "credited_to",
        "applied_at": "applied_at",
    }

    def __init__(self, api: ApiClient, token_endpoint: ApiClient) -> None:
        self._api, self._token_endpoint = api, token_endpoint
        self._reasons: dict[str, int] | None = None

    def close(self) -> None:
        self._api.close()
        self._token_endpoint.close()

    # --- pulling ------------------------------------------------------------------------

    def job_title(self, ats_job_id: str) -> str:
        jobs = self._list(self._api.request("GET", "jobs", params={"ids": ats_job_id}))
        if not jobs or not isinstance(jobs[0].get("name"), str):
            raise AtsRefused(VENDOR, f"there is no job {ats_job_id} (or no access to it)", 404)
        return str(jobs[0]["name"])

    def page(self, ats_job_id: str, cursor: str | None) -> PulledPage:
        if cursor is None:
            params = {"job_ids": ats_job_id, "per_page": str(PAGE_SIZE)}
            response = self._api.request("GET", "applications", params=params)
        else:
            response = self._api.request("GET", cursor)
        applications = self._list(response)
        candidates = self._candidates({str(app.get("candidate_id")) for app in applications})
        pulled = [
            _pulled(app, candidates.get(str(app.get("candidate_id")))) for app in applications
        ]
        following = response.links.get("next", {}).get("url")
        return PulledPage(pulled, self._api.url(following) if following else None)

    def _candidates(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        wanted = sorted(ids - {"None"})
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = ",".join(wanted[start : start + IDS_PER_REQUEST])
            for response in self._pages("candidates", {"ids": chunk}):
                for candidate in self._list(response):
                    found[str(candidate.get("id"))] = candidate
        return found

    def _pages(self, path: str, params: Mapping[str, str]) -> Iterator[httpx.Response]:
        response = self._api.request("GET", path, params=params)
        yield response
        while following := response.links.get("next", {}).get("url"):
            response = self._api.request("GET", following)
            yield response

    def _list(self, response: httpx.Response) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            raise AtsRefused(VENDOR, "a list request did not answer with JSON") from None
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise AtsRefused(VENDOR, "a list request did not answer with a list of objects")
        return body

    # --- writing back -------------------------------------------------------------------

    def reject(self, ats_application_id: str, reason: str, note: str) -> str:
        found = self._list(
            self._api.request("GET", "applications", params={"ids": ats_application_id})
        )
        if not found:
            raise AtsRefused(
                VENDOR, f"application {ats_application_id} no longer exists (deleted)", 404
            )
        status = str(found[0].get("status") or "")
        if status == "rejected":
            return "already rejected in Greenhouse"
        if status != "active":
            raise AtsRefused(
                VENDOR,
                f"application {ats_application_id} is {status or 'not active'} in Greenhouse; "
                "only an active application can be rejected",
                409,
            )
        body = {"rejection_reason_id": self._reason_id(reason), "notes": note}
        # No "rejection_email": Greenhouse then sends the candidate nothing.
        self._api.request("POST", f"applications/{ats_application_id}/reject", json_body=body)
        return "rejected"

    def _reason_id(self, reason: str) -> int:
        if reason.strip().isdigit():
            return int(reason)
        if self._reasons is None:
            self._reasons = {}
            for response in self._pages("rejection_reasons", {"include_defaults": "true"}):
                for item in self._list(response):
                    if isinstance(item.get("name"), str) and isinstance(item.get("id"), int):
                        self._reasons[item["name"].strip().casefold()] = item["id"]
        found = self._reasons.get(reason.strip().casefold())
        if found is None:
            raise AtsUnknownReason(
                VENDOR,
                f"there is no rejection reason named {reason!r} in Greenhouse; name one that "
                "exists (or its id) in FAIRWELL_ATS_REASON_MAP",
            )
        return found


def _pulled(app: Mapping[str, Any], candidate: Mapping[str, Any] | None) -> PulledApplication:
    if candidate is None:
        raise AtsRefused(
            VENDOR,
            f"application {app.get('id')}: its candidate {app.get('candidate_id')} is missing",
        )
    source = _name(app.get("source"), "public_name") or _name(app.get("source"), "name")
    values: dict[str, object] = {
        "email": _email(candidate),
        "first_name": candidate.get("first_name") or "",
        "last_name": candidate.get("last_name") or "",
        "stage": _name(app.get("current_stage"), "name"),
        "status": _status(app),
        "source": source,
        "sourced_flag": "yes" if app.get("prospect") else "",
        "applied_at": app.get("applied_at") or "",
    }
    if "referr" in source.casefold():
        values["referred_by"] = _name(app.get("credited_to"), "name")
    return PulledApplication(str(app.get("id")), str(candidate.get("id")), values)


def _status(app: Mapping[str, Any]) -> str:
    """The status, or for a rejection the type of its reason: "They rejected us" means the
    candidate withdrew, and must never get a rejection letter."""
    status = str(app.get("status") or "")
    reason = app.get("rejection_reason")
    if status == "rejected" and isinstance(reason, dict):
        kind = _name(reason.get("type"), "name")
        if kind:
            return kind
    return status


def _name(value: object, key: str) -> str:
    if isinstance(value, dict) and isinstance(value.get(key), str):
        return str(value[key])
    return ""


def _email(candidate: Mapping[str, Any]) -> str:
    """The personal address if there is one, else the first."""
    addresses = [item for item in candidate.get("email_addresses") or [] if isinstance(item, dict)]
    personal = [item for item in addresses if item.get("type") == "personal"]
    chosen = (personal or addresses or [{}])[0].get("value")
    return chosen if isinstance(chosen, str) else ""


def connect(
    settings: Settings, *, sleep: Callable[[float], None] = time.sleep
) -> GreenhouseConnector:
    """The connector, or ConfigurationError naming the setting that is missing."""
    secret = settings.greenhouse_client_secret
    missing = [
        name
        for name, value in (
            ("FAIRWELL_GREENHOUSE_CLIENT_ID", settings.greenhouse_client_id),
            ("FAIRWELL_GREENHOUSE_CLIENT_SECRET", secret),
            ("FAIRWELL_GREENHOUSE_USER_ID", settings.greenhouse_user_id),
        )
        if not value
    ]
    if missing or secret is None or settings.greenhouse_client_id is None:
        raise ConfigurationError(f"Greenhouse is not configured: set {', '.join(missing)}")
    policy = RetryPolicy(settings.ats_max_attempts, settings.ats_max_wait_seconds)
    token_endpoint = ApiClient(
        VENDOR,
        settings.greenhouse_auth_url,
        BasicCredentials(settings.greenhouse_client_id, secret.get_secret_value()),
        timeout=settings.ats_timeout_seconds,
        policy=policy,
        sleep=sleep,
    )
    api = ApiClient(
        VENDOR,
        settings.greenhouse_url,
        ClientCredentials(token_endpoint, str(settings.greenhouse_user_id)),
        timeout=settings.ats_timeout_seconds,
        policy=policy,
        sleep=sleep,
    )
    return GreenhouseConnector(api, token_endpoint)
