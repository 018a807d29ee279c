"""Notice deadlines: which interviewed applicants must hear from us, and by when.

Off unless ``FAIRWELL_NOTICE_DEADLINE_DAYS`` is set (an employer in scope, e.g. Ontario with
25+ employees: 45). "Told" means a letter that tells them whether a decision was made
(rejection, referral closed, or a status letter) was delivered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from fairwell.domain.deadlines import Notice, NoticeRule, NoticeState, notice
from fairwell.ports import InterviewedRecord, NoticeStore


@dataclass(frozen=True, slots=True)
class DeadlineItem:
    record: InterviewedRecord
    notice: Notice


@dataclass(frozen=True, slots=True)
class DeadlineReport:
    as_of: datetime
    rule: NoticeRule | None  # None: deadlines are off for this installation
    items: list[DeadlineItem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted = Counter(item.notice.state.value for item in self.items)
        return {state.value: counted.get(state.value, 0) for state in NoticeState}

    def as_json(self) -> dict[str, object]:
        """One object, as `fairwell deadlines --json` prints it."""
        return {
            "as_of": self.as_of.isoformat(),
            "deadline_days": self.rule.days if self.rule else None,
            "alert_days": self.rule.alert_days if self.rule else None,
            "due": [_item_json(item) for item in self.items],
            "counts": self.counts(),
        }


def _item_json(item: DeadlineItem) -> dict[str, object]:
    record, found = item.record, item.notice
    return {
        "application_id": record.application_id,
        "ref": record.ref,
        "job": record.job_title,
        "email": record.email,
        "last_interview_at": record.last_interview_at.isoformat(),
        "day": found.day,
        "alert_at": found.alert_at.isoformat(),
        "due_at": found.due_at.isoformat(),
        "state": found.state.value,
        "told_at": record.told_at.isoformat() if record.told_at else None,
    }


def deadlines(
    notices: NoticeStore, rule: NoticeRule | None, as_of: datetime, *, everyone: bool = False
) -> DeadlineReport:
    """Who is due or overdue ``as_of`` (``everyone``: the told and the waiting too)."""
    if rule is None:
        return DeadlineReport(as_of, None)
    items = [
        DeadlineItem(record, notice(record.last_interview_at, record.told_at, as_of, rule))
        for record in notices.interviewed()
        if record.last_interview_at <= as_of
    ]
    shown = [item for item in items if everyone or item.notice.needs_action]
    return DeadlineReport(as_of, rule, shown)
