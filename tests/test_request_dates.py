"""Feedback requests fall due a number of business days (Monday to Friday) after they arrive."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairwell.domain.requests import RequestState, due_date, remind_at

# Monday 2026-11-23 to Sunday 2026-11-29.
MONDAY, TUESDAY, FRIDAY, SATURDAY, SUNDAY = 23, 24, 27, 28, 29


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def weekdays_after_up_to(start: date, end: date) -> int:
    """Monday-to-Friday days d with start < d <= end, counted one calendar day at a time."""
    days = (start + timedelta(days=k) for k in range(1, (end - start).days + 1))
    return sum(1 for day in days if day.weekday() < 5)


utc_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_five_business_days_after_a_tuesday_is_the_next_tuesday_at_the_same_time() -> None:
    assert due_date(at(TUESDAY, 14, 30), 5) == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


def test_one_business_day_after_a_friday_is_the_monday() -> None:
    assert due_date(at(FRIDAY, 9), 1) == at(30, 9)


@pytest.mark.parametrize("weekend_day", [SATURDAY, SUNDAY], ids=["saturday", "sunday"])
def test_a_request_received_at_the_weekend_counts_from_monday(weekend_day: int) -> None:
    assert due_date(at(weekend_day, 10), 1) == at(30, 10)
    assert due_date(at(weekend_day, 10), 5) == at(4, 10, month=12)


def test_the_due_date_keeps_the_time_of_day_to_the_microsecond() -> None:
    received = datetime(2026, 11, 23, 23, 59, 59, 999_999, tzinfo=UTC)
    assert due_date(received, 3) == datetime(2026, 11, 26, 23, 59, 59, 999_999, tzinfo=UTC)


def test_the_due_date_is_aware_utc() -> None:
    assert due_date(at(MONDAY), 5).tzinfo is UTC


@pytest.mark.parametrize("business_days", [0, -1])
def test_fewer_than_one_business_day_is_refused(business_days: int) -> None:
    with pytest.raises(ValueError, match="business_days"):
        due_date(at(MONDAY), business_days)


@pytest.mark.parametrize(
    "received",
    [datetime(2026, 11, 23, 10), datetime(2026, 11, 23, 10, tzinfo=timezone(timedelta(hours=1)))],
    ids=["naive", "utc+1"],
)
def test_a_naive_or_non_utc_receipt_time_is_refused(received: datetime) -> None:
    with pytest.raises(ValueError, match="received_at"):
        due_date(received, 5)


def test_another_utc_tzinfo_is_accepted_and_returned_as_utc() -> None:
    received = datetime(2026, 11, 23, 10, tzinfo=timezone(timedelta(0)))
    assert due_date(received, 1) == at(TUESDAY) and due_date(received, 1).tzinfo is UTC


def test_the_reminder_comes_one_business_day_before_the_due_date() -> None:
    assert remind_at(at(TUESDAY, 14, 30)) == at(MONDAY, 14, 30)


def test_a_monday_due_date_is_reminded_on_the_friday_before() -> None:
    assert remind_at(at(30, 8)) == at(FRIDAY, 8)


def test_a_naive_due_date_has_no_reminder() -> None:
    with pytest.raises(ValueError, match="due"):
        remind_at(datetime(2026, 11, 24, 10))


def test_a_request_is_open_or_answered() -> None:
    assert [state.value for state in RequestState] == ["open", "answered"]


@given(received=utc_moments, business_days=st.integers(min_value=1, max_value=60))
def test_the_due_date_is_a_later_weekday_exactly_n_weekdays_on(
    received: datetime, business_days: int
) -> None:
    due = due_date(received, business_days)
    assert due.weekday() < 5
    assert due > received
    assert due.time() == received.time() and due.tzinfo is UTC
    assert weekdays_after_up_to(received.date(), due.date()) == business_days


@given(received=utc_moments, business_days=st.integers(min_value=1, max_value=60))
def test_the_reminder_is_the_weekday_just_before_the_due_date(
    received: datetime, business_days: int
) -> None:
    due = due_date(received, business_days)
    reminder = remind_at(due)
    assert reminder.weekday() < 5
    assert reminder < due and reminder.time() == due.time()
    assert weekdays_after_up_to(reminder.date(), due.date()) == 1


def test_a_holiday_where_the_candidate_is_is_no_business_day() -> None:
    christmas = {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)}
    wednesday = datetime(2026, 12, 23, 10, 0, tzinfo=UTC)
    assert due_date(wednesday, 5) == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)
    with_holidays = due_date(wednesday, 5, christmas.__contains__)
    assert with_holidays == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
