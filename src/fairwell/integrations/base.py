"""What every ATS integration shares: its errors, named for what the caller should do.

Classify failure at the boundary (STYLE.md point 5): above the vendor's HTTP client, code only
sees :class:`AtsAuthError` (the credentials are wrong or expired: fix them, retrying now is
pointless), :class:`AtsUnavailable` (try again later: a 5xx, a rate limit, a dropped
connection) or :class:`AtsRefused` (this request will never succeed: the application was
deleted, it is no longer active). Messages never carry credentials, tokens or personal data.
"""

from __future__ import annotations

from fairwell.errors import AtsAuthError as AtsAuthError
from fairwell.errors import AtsError as AtsError
from fairwell.errors import AtsRefused as AtsRefused
from fairwell.errors import AtsUnavailable as AtsUnavailable
from fairwell.errors import AtsUnknownReason as AtsUnknownReason

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


def short(text: str) -> str:
    """One line of at most :data:`QUOTED_CHARS` characters, for quoting an error body."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTED_CHARS else line[:QUOTED_CHARS] + "…"
