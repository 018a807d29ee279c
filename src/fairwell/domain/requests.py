"""A candidate's request for more feedback: its states and the dates it must be answered by.

Business days are Monday to Friday on the UTC calendar, without the public holidays of where
the candidate is when the caller passes them (``holiday``: services/scheduling.py's calendar,
keyed by country and region like every jurisdiction rule).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5  # datetime.weekday(): Monday is 0, Saturday 5, Sunday 6


class RequestState(StrEnum):
    """A feedback request is open until the hiring manager's answer is queued as a letter."""

    OPEN = "open"
    ANSWERED = "answered"


def due_date(
    received_at: datetime,
    business_days: int,
    holiday: Callable[[date], bool] | None = None,
) -> datetime:
    """Return the moment ``business_days`` business days after ``received_at``.

    Steps forward one calendar day at a time and counts only Monday to Friday, keeping the
    time of day: Tuesday 14:30 plus 5 is the next Tuesday 14:30, Friday 09:00 plus 1 is Monday
    09:00. A request received on Saturday or Sunday counts from Monday: Monday is its first
    business day, so Saturday 10:00 plus 1 is Monday 10:00 and plus 5 is Friday 10:00.
    The result is never on a weekend and always later than ``received_at``. A day for which
    ``holiday`` is true is no business day either (without it, holidays count as working days).

    ``received_at`` must be timezone-aware UTC; the result is aware UTC. Raise ValueError
    for a naive or non-UTC datetime, or when ``business_days`` is less than 1.
    """
    if business_days < 1:
        raise ValueError(f"business_days must be at least 1, got {business_days}")
    start = _utc(received_at, "received_at")
    return _step_business_days(start, business_days, _ONE_DAY, holiday)


def remind_at(due: datetime) -> datetime:
    """Return the moment one business day before ``due``, at the same time of day.

    Monday's due date is reminded on the Friday before. For a deadline of one business day
    the reminder falls at or before the request's receipt; a caller that schedules it should
    remind at the later of this and now. ``due`` must be aware UTC (else ValueError).
    """
    return _step_business_days(_utc(due, "due"), 1, -_ONE_DAY)


def _step_business_days(
    start: datetime,
    count: int,
    step: timedelta,
    holiday: Callable[[date], bool] | None = None,
) -> datetime:
    """Move from ``start`` by ``step`` until ``count`` Monday-to-Friday days (that are not
    holidays) were reached."""
    moment = start
    while count:
        moment += step
        if moment.weekday() < _SATURDAY and not (holiday and holiday(moment.date())):
            count -= 1
    return moment


def _utc(moment: datetime, name: str) -> datetime:
    """Return ``moment`` with ``datetime.UTC`` as its tzinfo; refuse naive or offset times."""
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {moment!r}")
    return moment.astimezone(UTC)
