"""When each letter may go: the send windows (domain/send_windows.py) over a candidate's data.

The candidate's own time zone and country come first (``persons.timezone``/``country`` from
the import); jobs carry no location yet, so a candidate without them falls back to
``FAIRWELL_DEFAULT_TIMEZONE`` and ``FAIRWELL_DEFAULT_COUNTRY``. Public holidays come from the
``holidays`` package keyed by country and region, as the other jurisdiction rules are: a
candidate in Ontario (``persons.region`` CA-ON) has Ontario's holidays (Family Day, Boxing
Day, ...), one in Canada without a region only the national ones. A region the package does
not know has its country's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fairwell.config import SendWindows, Settings
from fairwell.domain.model import Person
from fairwell.domain.retention import jurisdiction
from fairwell.domain.send_windows import (
    Recipient,
    Schedule,
    Why,
    WindowRules,
    earliest_send,
)

if TYPE_CHECKING:
    import holidays


class Override(StrEnum):
    """How one batch was scheduled; recorded in the audit entry of the batch."""

    WINDOWS = "on"
    OFF = "off"  # FAIRWELL_SEND_WINDOWS=off
    NOW = "now"  # fairwell send --now


class PublicHolidays:
    """Public holidays per country and region, from the ``holidays`` package, cached per year."""

    def holiday(self, country: str | None, day: date, region: str | None = None) -> str | None:
        place = jurisdiction(country, region)
        if place is None:
            return None
        country_code, _, subdivision = place.partition("-")
        calendar = _calendar(country_code, subdivision or None, day.year)
        return None if calendar is None else calendar.get(day)


def working_days_of(country: str | None, region: str | None) -> Callable[[date], bool] | None:
    """The public holidays of where a candidate is, as a test a due date's working days skip
    (domain/requests.py); None without a country: weekends only."""
    if not country:
        return None
    calendar = PublicHolidays()
    return lambda day: calendar.holiday(country, day, region) is not None


@functools.lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase | None:
    # Imported on the first holiday looked up, not at start (about 50 ms): every process that
    # composes or delivers imports this module, and only scheduling with send windows on (or
    # a due date in working days) looks one up.
    import holidays

    try:
        return holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        # A region the package does not know has its country's holidays; a country it does
        # not know, weekends only.
        return _calendar(country, None, year) if subdivision else None


class Scheduler:
    """Schedules letters for one installation; ``rules`` None means send windows are off."""

    def __init__(
        self,
        rules: WindowRules | None,
        default_zone: str = "UTC",
        default_country: str | None = None,
    ) -> None:
        self.rules = rules
        self.default_zone = ZoneInfo(default_zone)
        self.default_country = default_country
        self.calendar = PublicHolidays()

    @classmethod
    def from_settings(cls, settings: Settings) -> Scheduler:
        rules = WindowRules(
            start=settings.send_window_start,
            end=settings.send_window_end,
            gap=timedelta(hours=settings.send_gap_hours),
            max_delay=timedelta(hours=settings.send_max_delay_hours),
        )
        on = settings.send_windows is SendWindows.ON
        return cls(rules if on else None, settings.default_timezone, settings.default_country)

    @property
    def mode(self) -> Override:
        return Override.WINDOWS if self.rules is not None else Override.OFF

    def schedule(
        self,
        person: Person,
        last_interview_at: datetime | None,
        now: datetime,
        *,
        send_now: bool = False,
        latest: datetime | None = None,
    ) -> Schedule:
        """When this person's letter may go; ``latest`` is a deadline it must not miss."""
        if send_now:
            return Schedule(now, Why.SEND_NOW)
        if self.rules is None:
            return Schedule(now, Why.WINDOWS_OFF)
        recipient = Recipient(
            zone=self._zone(person.timezone),
            country=person.country or self.default_country,
            last_interview_at=last_interview_at,
            # A region belongs to the person's own country, never to the default one.
            region=person.region if person.country else None,
        )
        return earliest_send(recipient, self.rules, now, self.calendar, latest)

    def _zone(self, name: str | None) -> ZoneInfo:
        if not name:
            return self.default_zone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            # The import checks zones; one unknown to this machine's tz database falls back.
            return self.default_zone
