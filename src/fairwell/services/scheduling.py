"""When each letter may go: the send windows (domain/send_windows.py) over a candidate's data.

The candidate's own time zone and country come first (``persons.timezone``/``country`` from
the import); jobs carry no location yet, so a candidate without them falls back to
``FAIRWELL_DEFAULT_TIMEZONE`` and ``FAIRWELL_DEFAULT_COUNTRY``. Public holidays come from the
``holidays`` package, national holidays of the country (not regional ones: we do not know the
candidate's region).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from fairwell.config import SendWindows, Settings
from fairwell.domain.model import Person
from fairwell.domain.send_windows import (
    Recipient,
    Schedule,
    Why,
    WindowRules,
    earliest_send,
)


class Override(StrEnum):
    """How one batch was scheduled; recorded in the audit entry of the batch."""

    WINDOWS = "on"
    OFF = "off"  # FAIRWELL_SEND_WINDOWS=off
    NOW = "now"  # fairwell send --now


class PublicHolidays:
    """National public holidays per country, from the ``holidays`` package, cached per year."""

    def holiday(self, country: str | None, day: date) -> str | None:
        if not country:
            return None
        calendar = _calendar(country.upper(), day.year)
        return None if calendar is None else calendar.get(day)


@functools.lru_cache(maxsize=256)
def _calendar(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:  # a country the package does not know: weekends only
        return None


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
