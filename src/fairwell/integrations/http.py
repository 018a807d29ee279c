"""One vendor API's requests: retries with backoff, ``Retry-After``, errors classified once.

Every connector sends its requests through an :class:`ApiClient`, so every vendor gets the
same behaviour: a 5xx, a dropped connection or a timeout is tried again after a growing pause
(``max_attempts`` in all); a 429 waits as long as ``Retry-After`` says, unless that is longer
than ``max_wait`` (then the caller stops and resumes later); a 401 asks the credentials to
refresh once (an expired token) before it becomes :class:`AtsAuthError`. Log lines name the
method and the URL's path only: never a header (credentials), a query, or a body.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from fairwell.domain.http_bodies import short
from fairwell.errors import AtsAuthError, AtsRefused, AtsUnavailable, PostFailed

__all__ = [
    "ApiClient",
    "BasicCredentials",
    "Credentials",
    "HttpPoster",
    "RetryPolicy",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

_USER_AGENT = "Fairwell (+https://github.com/fairwell)"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one request is tried. ``max_wait`` is the longest ``Retry-After`` honoured;
    ``min_interval`` keeps a vendor's documented rate (Lever: 10 requests a second)."""

    max_attempts: int = 5
    max_wait: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    min_interval: float = 0.0

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1, 2, …): 1 s, 2 s, 4 s…"""
        doublings: int = 2 ** min(attempt - 1, 20)
        return min(self.base_delay * doublings, self.max_delay)


class Credentials(Protocol):
    """What a request needs to authenticate, and how to recover from an expired token."""

    def headers(self) -> dict[str, str]: ...

    def refresh(self) -> bool:
        """Forget a token the API refused; True when asking again may help."""
        ...


class BasicCredentials:
    """HTTP Basic: Lever's API key (with an empty password), Greenhouse's OAuth client."""

    def __init__(self, user: str, password: str) -> None:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = f"Basic {pair}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._header}

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "BasicCredentials(<hidden>)"


class ApiClient:
    """Requests to one vendor's API under ``base_url``; see the module's docstring."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/") + "/"
        self.credentials = credentials
        self.policy = policy
        self._sleep, self._wall, self._monotonic = sleep, wall, monotonic
        # When the next request may start: the documented rate, or a spent rate-limit window.
        self._next_at = 0.0
        self._http = httpx.Client(
            timeout=timeout, headers={"User-Agent": _USER_AGENT}, follow_redirects=False
        )

    def close(self) -> None:
        self._http.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL on the API's own host: a next-page link elsewhere is refused, so
        our token never goes to a host we were not configured for."""
        if not path_or_url:
            return self.base_url.rstrip("/")  # the base itself, e.g. a token endpoint
        url = urljoin(self.base_url, path_or_url.lstrip("/"))
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise AtsRefused(self.vendor, f"a link points away from {ours.netloc}; not followed")
        return url

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The 2xx response; raises AtsAuthError, AtsUnavailable or AtsRefused otherwise."""
        url = self.url(path_or_url)
        where = f"{method} {urlsplit(url).path}"
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            self._keep_pace()
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=form,
                    headers=self.credentials.headers(),
                )
            except httpx.TransportError as error:
                self._pause_or_give_up(where, attempt, type(error).__name__, None)
                continue
            self._note_window(where, response)
            status = response.status_code
            if 200 <= status < 300:
                return response
            if status == 401 and not refreshed and self.credentials.refresh():
                refreshed = True
                continue
            if status in (401, 403):
                raise AtsAuthError(self.vendor, _refused_credentials(status, response))
            if status == 429:
                self._wait_for_rate_limit(where, attempt, response)
                continue
            if status >= 500:
                self._pause_or_give_up(where, attempt, f"HTTP {status}", response)
                continue
            raise AtsRefused(
                self.vendor, f"{where} answered {status}: {error_text(response)}", status
            )

    def _keep_pace(self) -> None:
        now = self._monotonic()
        if self._next_at > now:
            self._sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + self.policy.min_interval

    def _note_window(self, where: str, response: httpx.Response) -> None:
        """A response that spent the rate-limit window (``X-RateLimit-Remaining: 0``) makes
        the next request wait for ``X-RateLimit-Reset`` (a Unix time), not for a 429."""
        if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        try:
            reset = float(response.headers.get("X-RateLimit-Reset", ""))
        except ValueError:
            return
        wait = reset - self._wall()
        if 0 < wait <= self.policy.max_wait:
            log.info(
                "%s %s: rate-limit window spent; next request in %.1f s", self.vendor, where, wait
            )
            self._next_at = max(self._next_at, self._monotonic() + wait)

    def _pause_or_give_up(
        self, where: str, attempt: int, what: str, response: httpx.Response | None
    ) -> None:
        if attempt >= self.policy.max_attempts:
            detail = f"{where} failed {attempt} times (last: {what}); try again later"
            raise AtsUnavailable(self.vendor, detail)
        delay = self.policy.backoff(attempt)
        if response is not None:
            delay = max(delay, retry_after_seconds(response, self._wall()) or 0.0)
        log.warning("%s %s: %s; trying again in %.1f s", self.vendor, where, what, delay)
        self._sleep(delay)

    def _wait_for_rate_limit(self, where: str, attempt: int, response: httpx.Response) -> None:
        wait = retry_after_seconds(response, self._wall())
        if wait is None:
            wait = self.policy.backoff(attempt)
        if wait > self.policy.max_wait or attempt >= self.policy.max_attempts:
            raise AtsUnavailable(
                self.vendor, f"{where}: rate limited; asked to wait {wait:.0f} s", retry_after=wait
            )
        log.warning("%s %s: rate limited (429); waiting %.1f s as asked", self.vendor, where, wait)
        self._sleep(wait)


def retry_after_seconds(response: httpx.Response, now: float) -> float | None:
    """``Retry-After`` in seconds (it may be a number or an HTTP date); None when absent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def error_text(response: httpx.Response) -> str:
    """What the API said went wrong, from the usual JSON shapes, or the start of the body."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return short(response.text) or response.reason_phrase
    return short(_message_in(body)) or response.reason_phrase


def _message_in(body: object) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list) and body:
        return _message_in(body[0])
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors", "detail"):
            if body.get(key):
                return _message_in(body[key])
    return ""


def _refused_credentials(status: int, response: httpx.Response) -> str:
    said = error_text(response)
    if status == 401:
        return f"the credentials were refused (401: {said}); check them, they may have expired"
    return f"the credentials lack a permission this needs (403: {said})"


class HttpPoster:
    """Posts outgoing webhooks (services/webhooks_out.py): no redirects, a short timeout."""

    def __init__(self, timeout: float) -> None:
        self._http = httpx.Client(
            timeout=timeout, headers={"User-Agent": _USER_AGENT}, follow_redirects=False
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            return self._http.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError as error:
            raise PostFailed(type(error).__name__) from None

    def close(self) -> None:
        self._http.close()
