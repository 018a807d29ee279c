"""'Keep me on file': consent with an exact end date.

The length lives in one place, the ``consent_months`` setting (6 months after the letter was
delivered by default). Issue 6's retention policy replaces it; until then this is the policy
both the portal's promise and any later deletion read.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from fairwell.errors import InvalidInput
from fairwell.ports import ConsentRecord, PortalApplication, PortalStore

TALENT_POOL = "talent-pool"  # the one purpose a candidate can agree to


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; a day the month lacks becomes its last (31 Aug + 6 =
    28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def consent_until(application: PortalApplication, months: int, now: datetime) -> datetime:
    """Counted from the letter's delivery; from now when it has not been delivered yet."""
    return add_months(application.letter_sent_at or now, months)


def keep_on_file(
    portal: PortalStore, application: PortalApplication, months: int, now: datetime
) -> ConsentRecord:
    until = consent_until(application, months, now)
    if until <= now:
        raise InvalidInput("the time we could keep your application on file has passed")
    portal.give_consent(application, TALENT_POOL, until, now)
    return ConsentRecord(TALENT_POOL, now, until)
