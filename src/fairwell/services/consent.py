"""'Keep me on file': consent with an exact end date.

How long it lasts comes from the retention policy of the candidate's country
(services/retention.py), the same book the retention run deletes by: counted from the
letter's delivery, or from now when it has not been delivered yet.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from fairwell.domain.retention import Policy, PolicyBook, consent_until
from fairwell.errors import InvalidInput
from fairwell.ports import ConsentRecord, PortalApplication, PortalStore, RetentionRow

TALENT_POOL = "talent-pool"  # the one purpose a candidate can agree to


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later; a day the month lacks becomes its last (31 Aug + 6 =
    28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _policy(book: PolicyBook, facts: RetentionRow | None) -> Policy:
    """The policy of where the candidate is: their country and region."""
    return book.policy_for(facts.country, facts.region) if facts else book.policy_for(None)


def offered_until(book: PolicyBook, facts: RetentionRow | None, now: datetime) -> datetime:
    """Until when a consent given now would keep the application on file."""
    policy = _policy(book, facts)
    start = facts.delivered_at if facts and facts.delivered_at else now
    return consent_until(policy, start)


def renewed_until(
    book: PolicyBook, facts: RetentionRow | None, current: ConsentRecord | None, now: datetime
) -> datetime | None:
    """Until when renewing the consent in force now would keep the application on file: one
    more consent period counted from now. None when there is nothing to renew, or renewing
    would not keep it any longer."""
    if current is None:
        return None
    until = consent_until(_policy(book, facts), now)
    return until if until.date() > current.until.date() else None


def keep_on_file(
    portal: PortalStore, application: PortalApplication, until: datetime, now: datetime
) -> ConsentRecord:
    if until <= now:
        raise InvalidInput("the time we could keep your data on file has passed")
    portal.give_consent(application, TALENT_POOL, until, now)
    return ConsentRecord(TALENT_POOL, now, until)
