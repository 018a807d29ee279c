"""What every ATS integration shares: its errors, named for what the caller should do.

Classify failure at the boundary (STYLE.md point 5): above the vendor's HTTP client, code only
sees :class:`AtsAuthError` (the credentials are wrong or expired: fix them, retrying now is
pointless), :class:`AtsUnavailable` (try again later: a 5xx, a rate limit, a dropped
connection) or :class:`AtsRefused` (this request will never succeed: the application was
deleted, it is no longer active). Messages never carry credentials, tokens or personal data.
"""

from __future__ import annotations

from fairwell.errors import FairwellError

__all__ = [
    "AtsAuthError",
    "AtsError",
    "AtsRefused",
    "AtsUnavailable",
    "AtsUnknownReason",
    "short",
]

# An error body quoted in a message is cut to this many characters.
QUOTED_CHARS = 200


class AtsError(FairwellError):
    """Root of what an ATS integration raises on purpose; the message starts with the vendor."""

    def __init__(self, vendor: str, detail: str) -> None:
        super().__init__(f"{vendor}: {detail}")
        self.vendor = vendor
        self.detail = detail


class AtsAuthError(AtsError):
    """The ATS refused our credentials (401 or 403): nothing more is tried in this run."""


class AtsUnavailable(AtsError):
    """Try again later. ``retry_after`` is how long the ATS asked us to wait, when it said."""

    def __init__(self, vendor: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(vendor, detail)
        self.retry_after = retry_after


class AtsRefused(AtsError):
    """The ATS will never accept this request as it is (``status`` is its HTTP status, or None
    when the refusal came from what it answered rather than how)."""

    def __init__(self, vendor: str, detail: str, status: int | None = None) -> None:
        super().__init__(vendor, detail)
        self.status = status


class AtsUnknownReason(AtsError):
    """The reason map names a rejection or archive reason the ATS does not have. Not a
    refusal of the application: once the map is fixed, the same write-back succeeds."""


def short(text: str) -> str:
    """One line of at most :data:`QUOTED_CHARS` characters, for quoting an error body."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTED_CHARS else line[:QUOTED_CHARS] + "…"
