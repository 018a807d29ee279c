"""Notice deadlines and status promises: which interviewed applicants must hear from us, by when.

The deadline is where the candidate is: ``notice_days`` of their jurisdiction in the rules
table (``retention/policies.toml``: CA-ON 45, nowhere else by default), so a candidate in
France never gets Ontario's rule and one in Canada without a region is not Ontario's. "Told"
means a letter that tells them whether a decision was made (rejection, referral closed, or a
status letter) was delivered. A status letter's own promise ("a decision by <date>") is
tracked too: it is broken when the day passes without a decision letter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from fairwell.config import Settings
from fairwell.domain.deadlines import (
    Notice,
    NoticeRule,
    NoticeState,
    Promise,
    PromiseState,
    notice,
    promise,
)
from fairwell.domain.retention import PolicyBook, jurisdiction
from fairwell.ports import InterviewedRecord, NoticeStore
from fairwell.services.retention import load_book


@dataclass(frozen=True, slots=True)
class NoticeRules:
    """The notice deadline of each jurisdiction, and the installation's alert day."""

    book: PolicyBook
    alert_days: int = 30

    def rule_for(self, country: str | None, region: str | None) -> NoticeRule | None:
        """The rule where the candidate is; None where no notice deadline applies. The alert
        comes on the deadline at the latest."""
        days = self.book.policy_for(country, region).notice_days
        return NoticeRule(days, min(self.alert_days, days)) if days else None

    def in_force(self) -> dict[str, int]:
        """Every jurisdiction with a notice deadline, and its days."""
        return self.book.notice_keys()


def notice_rules(settings: Settings) -> NoticeRules:
    """The rules table (shipped, with the organisation's file over it) and the alert day."""
    return NoticeRules(load_book(settings.retention_policies), settings.notice_alert_days)


@dataclass(frozen=True, slots=True)
class DeadlineItem:
    record: InterviewedRecord
    notice: Notice | None  # None: no notice rule where the candidate is
    rule: NoticeRule | None = None
    promise: Promise | None = None  # the latest status letter's "a decision by"

    @property
    def needs_action(self) -> bool:
        overdue = self.notice is not None and self.notice.needs_action
        return overdue or (self.promise is not None and self.promise.broken)

    @property
    def jurisdiction(self) -> str | None:
        return jurisdiction(self.record.country, self.record.region)


@dataclass(frozen=True, slots=True)
class DeadlineReport:
    as_of: datetime
    rules: NoticeRules
    items: list[DeadlineItem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        notices = Counter(item.notice.state.value for item in self.items if item.notice)
        promises = Counter(item.promise.state.value for item in self.items if item.promise)
        return {
            **{state.value: notices.get(state.value, 0) for state in NoticeState},
            **{f"promise {state.value}": promises.get(state.value, 0) for state in PromiseState},
        }

    @property
    def failing(self) -> bool:
        """Someone is overdue, or a promise was broken: a scheduled job should say so."""
        counts = self.counts()
        return bool(counts["overdue"] or counts[f"promise {PromiseState.BROKEN.value}"])

    def as_json(self) -> dict[str, object]:
        """One object, as `fairwell deadlines --json` prints it."""
        return {
            "as_of": self.as_of.isoformat(),
            "notice_rules": self.rules.in_force(),
            "alert_days": self.rules.alert_days,
            "due": [_item_json(item) for item in self.items],
            "counts": self.counts(),
        }


def _item_json(item: DeadlineItem) -> dict[str, object]:
    record, found, made = item.record, item.notice, item.promise
    return {
        "application_id": record.application_id,
        "ref": record.ref,
        "job": record.job_title,
        "email": record.email,
        "jurisdiction": item.jurisdiction,
        "deadline_days": item.rule.days if item.rule else None,
        "last_interview_at": record.last_interview_at.isoformat(),
        "day": (found.day if found else None),
        "alert_at": found.alert_at.isoformat() if found else None,
        "due_at": found.due_at.isoformat() if found else None,
        "state": found.state.value if found else None,
        "told_at": record.told_at.isoformat() if record.told_at else None,
        "promised_by": made.by.isoformat() if made else None,
        "promise": made.state.value if made else None,
    }


def deadline_item(record: InterviewedRecord, rules: NoticeRules, as_of: datetime) -> DeadlineItem:
    rule = rules.rule_for(record.country, record.region)
    found = notice(record.last_interview_at, record.told_at, as_of, rule) if rule else None
    made = (
        promise(record.promised_by, record.decided_told_at, as_of) if record.promised_by else None
    )
    return DeadlineItem(record, found, rule, made)


def deadlines(
    notices: NoticeStore, rules: NoticeRules, as_of: datetime, *, everyone: bool = False
) -> DeadlineReport:
    """Who is due or overdue, or was promised a decision that did not come, ``as_of``
    (``everyone``: also the told, the waiting and the promises kept or pending)."""
    items = [
        deadline_item(record, rules, as_of)
        for record in notices.interviewed()
        if record.last_interview_at <= as_of
    ]
    tracked = [item for item in items if item.notice is not None or item.promise is not None]
    shown = [item for item in tracked if everyone or item.needs_action]
    return DeadlineReport(as_of, rules, shown)
