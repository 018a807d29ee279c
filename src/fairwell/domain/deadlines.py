"""Notice deadlines and the promises status letters make.

Ontario's Employment Standards Act, 2000 (as amended by the Working for Workers Four Act,
2024; in force 1 January 2026) requires employers with 25 or more employees to inform an
interviewed applicant, within 45 days of their last interview, whether a hiring decision has
been made (docs/sending-times.md, "Deadlines"). The rule is where the candidate is: the
jurisdiction rules' ``notice_days`` (domain/retention.py). A status letter that says "a
decision by <date>" makes a promise of its own, kept when the decision letter reached them by
that day. Pure: the date is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class NoticeState(StrEnum):
    """Where one interviewed applicant stands against the deadline."""

    TOLD = "told"  # a letter reached them in time
    TOLD_LATE = "told late"  # a letter reached them, after the deadline
    WAITING = "waiting"  # not told yet, before the alert day
    ALERT = "alert"  # not told yet, the alert day has come
    OVERDUE = "overdue"  # not told, and the deadline has passed


@dataclass(frozen=True, slots=True)
class NoticeRule:
    days: int = 45
    alert_days: int = 30


@dataclass(frozen=True, slots=True)
class Notice:
    state: NoticeState
    day: int  # whole days since the last interview, as of the date asked about
    due_at: datetime
    alert_at: datetime

    @property
    def needs_action(self) -> bool:
        return self.state in (NoticeState.ALERT, NoticeState.OVERDUE)


def notice(
    last_interview_at: datetime, told_at: datetime | None, as_of: datetime, rule: NoticeRule
) -> Notice:
    """The applicant's state ``as_of``; "told" means a letter was delivered by then."""
    due_at = last_interview_at + timedelta(days=rule.days)
    alert_at = last_interview_at + timedelta(days=rule.alert_days)
    day = (as_of - last_interview_at).days
    if told_at is not None and told_at <= as_of:
        state = NoticeState.TOLD if told_at <= due_at else NoticeState.TOLD_LATE
    elif as_of > due_at:
        state = NoticeState.OVERDUE
    elif as_of >= alert_at:
        state = NoticeState.ALERT
    else:
        state = NoticeState.WAITING
    return Notice(state, day, due_at, alert_at)


class PromiseState(StrEnum):
    """Where a status letter's "a decision by <date>" stands."""

    PENDING = "pending"  # the day has not passed, no decision letter yet
    KEPT = "kept"  # the decision letter reached them by the day
    KEPT_LATE = "kept late"  # it reached them, after the day
    BROKEN = "broken"  # the day passed without a decision letter


@dataclass(frozen=True, slots=True)
class Promise:
    by: date  # the last day the promise allows (UTC calendar day)
    state: PromiseState

    @property
    def broken(self) -> bool:
        return self.state is PromiseState.BROKEN


def promise(by: date, decided_told_at: datetime | None, as_of: datetime) -> Promise:
    """The promise ``as_of``; kept means the decision letter was delivered by the day."""
    if decided_told_at is not None and decided_told_at <= as_of:
        kept = decided_told_at.date() <= by
        return Promise(by, PromiseState.KEPT if kept else PromiseState.KEPT_LATE)
    return Promise(by, PromiseState.BROKEN if as_of.date() > by else PromiseState.PENDING)
