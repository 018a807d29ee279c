"""Send windows, the pure rule: when a letter may reach one candidate, across zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairwell.domain.send_windows import (
    NoHolidays,
    Recipient,
    Why,
    WindowRules,
    earliest_send,
)
from fairwell.services.scheduling import PublicHolidays

RULES = WindowRules()
HOLIDAYS = PublicHolidays()
LONDON, BERLIN, TORONTO = (
    ZoneInfo(z) for z in ("Europe/London", "Europe/Berlin", "America/Toronto")
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def send(
    now: datetime, zone: ZoneInfo = LONDON, country: str | None = "GB", **facts: object
) -> tuple[datetime, Why]:
    rules = facts.pop("rules", RULES)
    latest = facts.pop("latest", None)
    recipient = Recipient(zone, country, **facts)  # type: ignore[arg-type]
    schedule = earliest_send(recipient, rules, now, HOLIDAYS, latest)  # type: ignore[arg-type]
    return schedule.at, schedule.why


def test_a_letter_in_business_hours_goes_now() -> None:
    thursday = utc(2026, 11, 26, 10, 0)
    assert send(thursday) == (thursday, Why.NOW)


def test_a_friday_evening_letter_waits_for_monday_morning() -> None:
    assert send(utc(2026, 11, 27, 18, 0)) == (utc(2026, 11, 30, 9, 0), Why.AFTER_HOURS)


def test_a_letter_before_opening_time_waits_for_it() -> None:
    assert send(utc(2026, 11, 26, 6, 30)) == (utc(2026, 11, 26, 9, 0), Why.BEFORE_HOURS)


def test_a_weekend_letter_waits_for_monday() -> None:
    assert send(utc(2026, 11, 28, 11, 0)) == (utc(2026, 11, 30, 9, 0), Why.WEEKEND)


def test_the_same_moment_is_business_hours_for_one_candidate_and_night_for_another() -> None:
    moment = utc(2026, 11, 26, 15, 0)  # 15:00 London, 16:00 Berlin, 10:00 Toronto
    assert send(moment, LONDON) == (moment, Why.NOW)
    assert send(moment, BERLIN, "DE") == (moment, Why.NOW)
    assert send(moment, TORONTO, "CA") == (moment, Why.NOW)
    tokyo = send(moment, ZoneInfo("Asia/Tokyo"), "JP")  # 00:00 on Friday in Tokyo
    assert tokyo == (utc(2026, 11, 27, 0, 0), Why.BEFORE_HOURS)
    sydney = send(moment, ZoneInfo("Australia/Sydney"), "AU")  # 02:00 Friday, AEDT (+11)
    assert sydney == (utc(2026, 11, 26, 22, 0), Why.BEFORE_HOURS)


def test_christmas_in_england_holds_a_letter_until_after_boxing_day_observed() -> None:
    at, why = send(utc(2026, 12, 25, 10, 0))
    # 25 Dec is a Friday, then a weekend, then Boxing Day observed on Monday 28 Dec.
    assert (at, why) == (utc(2026, 12, 29, 9, 0), Why.HOLIDAY)
    schedule = earliest_send(Recipient(LONDON, "GB"), RULES, utc(2026, 12, 25, 10), HOLIDAYS)
    assert schedule.detail == "Christmas Day"


def test_family_day_holds_a_letter_in_ontario_and_not_in_canada_without_a_region() -> None:
    family_day = utc(2026, 2, 16, 15, 0)  # Monday 10:00 in Toronto
    ontario = send(family_day, TORONTO, "CA", region="CA-ON")
    assert ontario == (utc(2026, 2, 17, 14, 0), Why.HOLIDAY), "Tuesday 09:00 in Toronto"
    assert send(family_day, TORONTO, "CA") == (family_day, Why.NOW), "no national holiday"
    quebec = send(family_day, TORONTO, "CA", region="CA-QC")
    assert quebec == (family_day, Why.NOW), "Quebec has no Family Day"


def test_epiphany_holds_a_letter_in_bavaria_and_a_region_the_package_lacks_has_national_ones() -> (
    None
):
    epiphany = utc(2026, 1, 6, 9, 0)  # Tuesday 10:00 in Berlin
    assert send(epiphany, BERLIN, "DE", region="DE-BY")[1] is Why.HOLIDAY
    assert send(epiphany, BERLIN, "DE", region="DE-BE") == (epiphany, Why.NOW)
    assert HOLIDAYS.holiday("GB", date(2026, 12, 25), "GB-ZZZ") == "Christmas Day"
    assert HOLIDAYS.holiday("US", date(2026, 3, 31), "US-CA") == "Cesar Chavez Day"
    assert HOLIDAYS.holiday("US", date(2026, 3, 31)) is None


def test_a_candidates_region_reaches_the_schedule_and_never_joins_the_default_country() -> None:
    from fairwell.domain.model import Person
    from fairwell.services.scheduling import Scheduler

    scheduler = Scheduler(RULES, "UTC", default_country="GB")
    family_day = utc(2026, 2, 16, 15, 0)
    ontarian = Person(1, "o@example.com", "O", "N", "en", False, "CA", "America/Toronto", "CA-ON")
    assert scheduler.schedule(ontarian, None, family_day).why is Why.HOLIDAY
    nowhere = Person(2, "n@example.com", "N", "W", "en", False, None, "America/Toronto", "CA-ON")
    assert scheduler.schedule(nowhere, None, family_day).why is Why.NOW, "GB has no Family Day"


def test_german_unity_day_is_a_holiday_in_germany_and_not_in_england() -> None:
    friday = utc(2025, 10, 3, 8, 0)  # 10:00 in Berlin, 09:00 in London
    assert send(friday, BERLIN, "DE") == (utc(2025, 10, 6, 7, 0), Why.HOLIDAY)
    assert send(friday, LONDON, "GB") == (friday, Why.NOW)


@pytest.mark.parametrize(
    ("zone", "country", "friday_evening", "monday_morning"),
    [
        # Autumn: clocks go back on Sunday; Monday 09:00 is an hour later in UTC.
        (LONDON, "GB", utc(2026, 10, 23, 17, 0), utc(2026, 10, 26, 9, 0)),
        (BERLIN, "DE", utc(2026, 10, 23, 16, 0), utc(2026, 10, 26, 8, 0)),
        (TORONTO, "CA", utc(2026, 10, 30, 22, 0), utc(2026, 11, 2, 14, 0)),
        # Spring: clocks go forward on Sunday; Monday 09:00 is an hour earlier in UTC.
        (LONDON, "GB", utc(2026, 3, 27, 18, 0), utc(2026, 3, 30, 8, 0)),
        (BERLIN, "DE", utc(2026, 3, 27, 17, 0), utc(2026, 3, 30, 7, 0)),
        (TORONTO, "CA", utc(2026, 3, 6, 23, 0), utc(2026, 3, 9, 13, 0)),
    ],
)
def test_monday_morning_is_local_time_across_a_dst_change(
    zone: ZoneInfo, country: str, friday_evening: datetime, monday_morning: datetime
) -> None:
    at, why = send(friday_evening, zone, country)
    assert (at, why) == (monday_morning, Why.AFTER_HOURS)
    assert at.astimezone(zone).time() == time(9, 0)


def test_a_window_that_opens_inside_the_dst_gap_opens_as_long_after_it() -> None:
    rules = WindowRules(start=time(1, 30), end=time(17, 0), weekend=frozenset())
    # 29 Mar 2026: London skips from 01:00 to 02:00, so 01:30 does not exist that day; read
    # with the offset before the change (PEP 495) it is 02:30 BST, an hour of wall time on.
    at, _ = send(utc(2026, 3, 28, 18, 0), rules=rules, country=None)
    assert at == utc(2026, 3, 29, 1, 30)
    assert at.astimezone(LONDON).time() == time(2, 30)


def test_no_letter_within_a_day_of_the_last_interview() -> None:
    interview = utc(2026, 11, 26, 9, 0)
    assert send(utc(2026, 11, 26, 11, 0), last_interview_at=interview) == (
        utc(2026, 11, 27, 9, 0),
        Why.INTERVIEW_GAP,
    )


def test_a_gap_ending_on_friday_evening_waits_for_monday() -> None:
    interview = utc(2026, 11, 26, 17, 30)
    at, why = send(utc(2026, 11, 26, 18, 0), last_interview_at=interview)
    assert (at, why) == (utc(2026, 11, 30, 9, 0), Why.INTERVIEW_GAP)


def test_an_interview_long_ago_does_not_delay_anything() -> None:
    now = utc(2026, 11, 26, 10, 0)
    assert send(now, last_interview_at=now - timedelta(days=3)) == (now, Why.NOW)


def test_the_maximum_delay_caps_a_long_holiday() -> None:
    rules = WindowRules(max_delay=timedelta(days=2))
    now = utc(2026, 12, 24, 18, 0)
    assert send(now, rules=rules) == (now + timedelta(days=2), Why.MAX_DELAY)


def test_the_maximum_delay_never_shortens_the_interview_gap() -> None:
    rules = WindowRules(gap=timedelta(hours=72), max_delay=timedelta(hours=24))
    now = utc(2026, 11, 23, 10, 0)
    at, _ = send(now, rules=rules, last_interview_at=now)
    assert at >= now + timedelta(hours=72)


def test_a_deadline_is_never_passed_for_a_window() -> None:
    now = utc(2026, 11, 27, 18, 0)
    deadline = utc(2026, 11, 28, 12, 0)  # a Saturday
    assert send(now, latest=deadline) == (deadline, Why.DEADLINE)


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="start before"):
        WindowRules(start=time(17, 0), end=time(9, 0))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        earliest_send(Recipient(LONDON), RULES, datetime(2026, 1, 1), NoHolidays())


# --- properties ---------------------------------------------------------------------------

ZONES = [
    "Europe/London",
    "Europe/Berlin",
    "America/Toronto",
    "America/St_Johns",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "UTC",
]
COUNTRIES = ["GB", "DE", "CA", "US", "IN", "AU", None]
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
rules_strategy = st.builds(
    lambda start, hours, gap, delay: WindowRules(
        start=time(start),
        end=time(min(start + hours, 23), 59 if start + hours >= 23 else 0),
        gap=timedelta(hours=gap),
        max_delay=timedelta(hours=delay),
    ),
    st.integers(0, 20),
    st.integers(1, 10),
    st.sampled_from([0, 12, 24, 48]),
    st.sampled_from([24, 72, 168, 720]),
)


@settings(max_examples=300, deadline=None)
@given(
    now=moments,
    zone=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
    interview_hours_ago=st.none() | st.integers(0, 24 * 10),
    rules=rules_strategy,
)
def test_every_schedule_is_in_a_window_or_at_a_bound_it_names(
    now: datetime,
    zone: str,
    country: str | None,
    interview_hours_ago: int | None,
    rules: WindowRules,
) -> None:
    interview = None if interview_hours_ago is None else now - timedelta(hours=interview_hours_ago)
    recipient = Recipient(ZoneInfo(zone), country, interview)
    schedule = earliest_send(recipient, rules, now, HOLIDAYS)
    at, gap_end = schedule.at, (interview + rules.gap if interview else now)
    assert at >= now and at >= gap_end, "never early, never inside the interview gap"
    assert at <= max(now + rules.max_delay, gap_end), "never beyond the maximum delay"
    if schedule.why is Why.MAX_DELAY:
        return
    local = at.astimezone(ZoneInfo(zone))
    assert rules.start <= local.time() < rules.end or _in_dst_gap(local, rules), local
    assert local.weekday() < 5
    assert HOLIDAYS.holiday(country, local.date()) is None
    if schedule.why is Why.NOW:
        assert at == now
    again = earliest_send(recipient, rules, at, HOLIDAYS)
    assert again.at == at and again.why is Why.NOW, "a scheduled time is itself in a window"


def _in_dst_gap(local: datetime, rules: WindowRules) -> bool:
    """A window opening at a wall time the DST change skips opens at the first real moment."""
    opening = datetime.combine(local.date(), rules.start, tzinfo=local.tzinfo)
    return opening.astimezone(UTC).astimezone(local.tzinfo) == local


@given(day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
def test_without_a_country_only_weekends_count(day: date) -> None:
    assert PublicHolidays().holiday(None, day) is None
