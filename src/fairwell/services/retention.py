"""The retention run: find what is due, respect legal holds, expire the rest.

One policy book (the shipped ``retention/policies.toml`` with the organisation's file laid
over it) answers three questions the same way: what a letter promises, how long "keep me on
file" lasts, and when the run deletes. A person is expired as a whole, once every one of their
applications is due: a newer application keeps the older one's person until it is due too.
"""

from __future__ import annotations

import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from fairwell.config import Settings
from fairwell.domain.retention import Action, PolicyBook, Rule, parse_book, verdict
from fairwell.domain.retention import RetentionFacts as Facts
from fairwell.errors import ConfigurationError, InvalidInput, PolicyError
from fairwell.ports.clock import Clock
from fairwell.ports.privacy import PrivacyStore, RetentionRow, RetentionStore
from fairwell.services.erasure import blocked_by


class Wiring(Protocol):
    """What a retention run uses of the runtime (fairwell.runtime.Runtime is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def privacy(self) -> PrivacyStore: ...
    @property
    def retention(self) -> RetentionStore: ...


def load_book(override: Path | None) -> PolicyBook:
    """The shipped policies and the organisation's override; a bad file is a config error."""
    shipped = files("fairwell.retention").joinpath("policies.toml").read_text(encoding="utf-8")
    try:
        extra = tomllib.loads(override.read_text(encoding="utf-8")) if override else None
        return parse_book(tomllib.loads(shipped), extra)
    except (OSError, tomllib.TOMLDecodeError, PolicyError) as error:
        raise ConfigurationError(f"FAIRWELL_RETENTION_POLICIES: {error}") from None


def facts_of(row: RetentionRow) -> Facts:
    return Facts(
        row.country,
        row.letter_dated,
        row.delivered_at,
        row.consent_until,
        row.promised_until,
        region=row.region,
        stage=row.stage,
        stage_changed_at=row.stage_changed_at,
        decided_at=row.decided_at,
        job_closed_at=row.job_closed_at,
    )


@dataclass(frozen=True, slots=True)
class DueItem:
    application_id: int
    person_id: int
    action: Action
    reason: str
    keep_until: date
    rule: Rule | None = None  # which state's clock ended it


@dataclass(slots=True)
class RetentionReport:
    as_of: date
    dry_run: bool
    due: list[DueItem] = field(default_factory=list)
    held: dict[int, str] = field(default_factory=dict)  # person id: why (hold number only)
    counts: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        """The one object ``fairwell retention run --json`` prints (scripts rely on it)."""
        return {
            "as_of": self.as_of.isoformat(),
            "due": [
                {
                    "application_id": item.application_id,
                    "action": item.action.value,
                    "rule": item.rule.name.lower() if item.rule else None,
                    "reason": item.reason,
                    "keep_until": item.keep_until.isoformat(),
                    "held": item.person_id in self.held,
                }
                for item in self.due
            ],
            "counts": dict(sorted(self.counts.items())),
        }


def end_dates(rows: list[RetentionRow], book: PolicyBook) -> list[DueItem]:
    """Every application's own end date and the rule that set it, in id order.

    Invariant 11: every application has one. A row without one (a caller that gave no
    stage) is left out rather than given an invented date.
    """
    found = []
    for row in rows:
        judged = verdict(book, facts_of(row))
        if judged.keep_until is not None:
            found.append(
                DueItem(
                    row.application_id,
                    row.person_id,
                    judged.action,
                    judged.reason,
                    judged.keep_until,
                    judged.rule,
                )
            )
    return sorted(found, key=lambda item: item.application_id)


def assess(rows: list[RetentionRow], book: PolicyBook, as_of: date) -> list[DueItem]:
    """Every application due on ``as_of``: a person's applications go together, once every
    one of them is due (a newer application keeps the older one's person)."""
    dated = {item.application_id: item for item in end_dates(rows, book)}
    by_person: dict[int, list[RetentionRow]] = defaultdict(list)
    for row in rows:
        by_person[row.person_id].append(row)
    due: list[DueItem] = []
    for own in by_person.values():
        items = [dated.get(row.application_id) for row in own]
        if all(item is not None and as_of > item.keep_until for item in items):
            due += [item for item in items if item is not None]
    return sorted(due, key=lambda item: item.application_id)


def _hold_reason(privacy: PrivacyStore, person_id: int) -> str | None:
    """Why the person must stay, without the hold's own words (they may name people)."""
    holds = privacy.holds(person_id)
    if holds:
        return f"legal hold #{holds[0].id}"
    return "access request pending" if blocked_by(privacy, person_id) else None


def expire_due(
    report: RetentionReport, privacy: PrivacyStore, retention: RetentionStore, runtime: Wiring
) -> None:
    """Expire every due person not held; count what was done."""
    actions = {item.person_id: item.action for item in report.due}
    for person_id, action in actions.items():
        why = _hold_reason(privacy, person_id)
        if why is not None:
            report.held[person_id] = why
            continue
        if not report.dry_run:
            now = runtime.clock.now()
            rows = retention.expire(person_id, action is Action.ANONYMISE, now)
            report.counts.update({f"rows_{name}": n for name, n in rows.items() if n})
    for item in report.due:
        report.counts[_outcome(item, report)] += 1


def _outcome(item: DueItem, report: RetentionReport) -> str:
    if item.person_id in report.held:
        return "held"
    done = {Action.DELETE: "deleted", Action.ANONYMISE: "anonymised"}[item.action]
    return f"would_be_{done}" if report.dry_run else done


def run_retention(runtime: Wiring, as_of: date | None, dry_run: bool) -> RetentionReport:
    """What is due on ``as_of`` (today by default); expired unless ``dry_run``.

    Callable from a scheduler (Celery beat): it needs only the runtime. Legal holds and open
    access requests are reported in ``held``, never a failure. The audit entry of a real run
    holds counts and application ids only.
    """
    privacy, retention = runtime.privacy, runtime.retention
    today = runtime.clock.now().date()
    report = RetentionReport(as_of or today, dry_run)
    if report.as_of > today and not dry_run:
        # Expiring on a future date would delete before the promised day.
        raise InvalidInput("a date after today only with --dry-run: nothing is deleted early")
    book = load_book(runtime.settings.retention_policies)
    report.due = assess(retention.rows(), book, report.as_of)
    report.counts["due"] = len(report.due)
    expire_due(report, privacy, retention, runtime)
    if not dry_run:
        detail: dict[str, object] = {"as_of": report.as_of.isoformat(), **report.counts}
        detail["applications"] = [item.application_id for item in report.due]
        retention.record_run(detail, runtime.clock.now())
    return report


def retention_schedule(retention: RetentionStore, book: PolicyBook) -> tuple[list[DueItem], int]:
    """Every application on file with its end date and rule, and how many have none.

    The second number is invariant 11's check: it must be 0.
    """
    rows = retention.rows()
    dated = end_dates(rows, book)
    return dated, len(rows) - len(dated)
