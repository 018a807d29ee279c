"""The web app's side of signing in: cookie names, CSRF tokens and the session clock.

Sessions, API tokens and the limits on failed sign-ins are services/access.py's (the CLI's
`fairwell users token` uses them too); they are re-exported here for the pages.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fairwell.services.access import SESSION_MAX_AGE as SESSION_MAX_AGE
from fairwell.services.access import Session as Session
from fairwell.services.access import Sessions as Sessions
from fairwell.services.access import SigninLimiter as SigninLimiter
from fairwell.services.access import username_key as username_key

SESSION_COOKIE = "fw_session"
SIGNIN_CSRF_COOKIE = "fw_signin_csrf"


def session_clock() -> datetime:
    """Sessions expire by the wall clock, whatever clock the rest of the app is given: a
    session's eight hours are real hours (tests move the business clock by days)."""
    return datetime.now(UTC)


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an absent token never matches."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
