"""Humane send windows: the earliest moment a letter may reach one candidate, and why.

A letter goes in the candidate's local business hours, on a working day that is not a public
holiday where they are (their country, and their province or state when known), and never
within a gap after their last interview (news that comes an hour after the interview reads as
if nobody listened). Nothing waits longer than a maximum delay, so a long run of holidays
cannot hold a letter for weeks.

Pure: the clock is passed in, and public holidays come through :class:`HolidayCalendar`
(services/scheduling.py backs it with the ``holidays`` package).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

# A year has at most about 120 weekend days and holidays; a search that needs more days than
# this has rules that admit no working day at all, and the maximum delay decides instead.
MAX_DAYS_SEARCHED = 400


class Why(StrEnum):
    """Why a letter goes when it goes. The values appear in plans and in JSON."""

    NOW = "in the candidate's business hours"
    BEFORE_HOURS = "before the candidate's business hours"
    AFTER_HOURS = "after the candidate's business hours"
    WEEKEND = "weekend where the candidate lives"
    HOLIDAY = "public holiday where the candidate lives"
    INTERVIEW_GAP = "too soon after the candidate's last interview"
    MAX_DELAY = "no window within the maximum delay"
    DEADLINE = "no window before the letter's deadline"
    WINDOWS_OFF = "send windows are off for this installation"
    SEND_NOW = "sent now on request (send --now)"


class HolidayCalendar(Protocol):
    def holiday(self, country: str | None, day: date, region: str | None = None) -> str | None:
        """Return the holiday's name when ``day`` is a public holiday in ``country`` (and its
        ``region``, ISO 3166-2, when given), else None."""
        ...


class NoHolidays:
    """A calendar without holidays (weekends still count)."""

    def holiday(self, country: str | None, day: date, region: str | None = None) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class WindowRules:
    """When letters may go. ``start``/``end`` are local wall-clock times, ``end`` exclusive."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    gap: timedelta = timedelta(hours=24)
    max_delay: timedelta = timedelta(days=7)
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a send window must start before it ends")


@dataclass(frozen=True, slots=True)
class Recipient:
    """The facts about one candidate that decide when their letter may go."""

    zone: tzinfo
    country: str | None = None
    last_interview_at: datetime | None = None
    region: str | None = None  # ISO 3166-2 ("CA-ON"): its own public holidays count too


@dataclass(frozen=True, slots=True)
class Schedule:
    """The earliest send time (UTC-aware) and the first reason it is not ``now``.

    ``detail`` names the holiday, or is empty.
    """

    at: datetime
    why: Why
    detail: str = ""

    def is_later(self, now: datetime) -> bool:
        return self.at > now

    @property
    def reason(self) -> str:
        return f"{self.why.value} ({self.detail})" if self.detail else self.why.value


def earliest_send(
    recipient: Recipient,
    rules: WindowRules,
    now: datetime,
    calendar: HolidayCalendar,
    latest: datetime | None = None,
) -> Schedule:
    """The earliest moment at or after ``now`` the letter may go, with the reason.

    The interview gap is never shortened. Otherwise nothing waits beyond ``now +
    rules.max_delay`` nor beyond ``latest`` (a legal deadline): if the windows leave no moment
    before then, the letter goes at that bound and the reason says so.
    """
    _require_aware(now)
    start, why = now, Why.NOW
    if recipient.last_interview_at is not None:
        gap_end = recipient.last_interview_at + rules.gap
        if gap_end > now:
            start, why = gap_end, Why.INTERVIEW_GAP
    found, first_why, detail = _next_window(start, recipient, rules, calendar)
    if why is Why.NOW:
        why = first_why
    else:
        detail = ""
    bound, bound_why = _bound(now, start, rules, latest)
    if found is None or found > bound:
        return Schedule(bound, bound_why)
    return Schedule(found, why, detail)


def _bound(
    now: datetime, start: datetime, rules: WindowRules, latest: datetime | None
) -> tuple[datetime, Why]:
    """The latest a letter may wait: the maximum delay or the deadline, never inside the gap."""
    bound, why = now + rules.max_delay, Why.MAX_DELAY
    if latest is not None and latest < bound:
        bound, why = latest, Why.DEADLINE
    return max(bound, start), why


def _next_window(
    start: datetime, recipient: Recipient, rules: WindowRules, calendar: HolidayCalendar
) -> tuple[datetime | None, Why, str]:
    """The first moment at or after ``start`` inside a window, and why ``start`` was not."""
    local = start.astimezone(recipient.zone)
    first: tuple[Why, str] | None = None
    for _ in range(MAX_DAYS_SEARCHED):
        blocked = _day_blocked(local.date(), recipient, rules, calendar)
        if blocked is None:
            if local.time() < rules.start:
                first = first or (Why.BEFORE_HOURS, "")
                local = _at(local.date(), rules.start, recipient.zone)
            if local.time() < rules.end:
                why, detail = first or (Why.NOW, "")
                return local.astimezone(UTC), why, detail
            blocked = (Why.AFTER_HOURS, "")
        first = first or blocked
        local = _at(local.date() + timedelta(days=1), rules.start, recipient.zone)
    return None, Why.MAX_DELAY, ""


def _day_blocked(
    day: date, recipient: Recipient, rules: WindowRules, calendar: HolidayCalendar
) -> tuple[Why, str] | None:
    if day.weekday() in rules.weekend:
        return Why.WEEKEND, ""
    name = calendar.holiday(recipient.country, day, recipient.region)
    return (Why.HOLIDAY, name) if name else None


def _at(day: date, moment: time, zone: tzinfo) -> datetime:
    """``moment`` on ``day`` in ``zone``.

    A wall time the DST change skips (01:30 on a day that jumps from 01:00 to 02:00) is read
    with the offset before the change (PEP 495): 02:30, still inside the day's window.
    """
    return datetime.combine(day, moment, tzinfo=zone)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("send windows need an aware datetime")
