"""Consent renewal: a letter some days before a "keep me on file" consent ends.

The letter says until when the data is kept and that the portal link keeps it longer or
deletes it now; no answer means the retention run deletes it after that date. It goes through
the guarded compose path like every letter, once per consent (its outbox letter_key is
``consent-renewal:<consent id>``), and is dropped at send time if the consent has lapsed.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from fairwell.config import Settings
from fairwell.domain.model import LetterKind
from fairwell.guard.roster import Roster
from fairwell.ports.outbox import NewLetter
from fairwell.ports.portal import Expiring, RenewalStore, renewal_key
from fairwell.ports.store import Store
from fairwell.services.compose import Composer, outbox_letter
from fairwell.services.status_letters import long_date

ACTOR = "consent-renewals"


class Wiring(Protocol):
    """What a renewal run uses of the runtime (fairwell.runtime.Runtime is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def composer(self) -> Composer: ...
    @property
    def renewals(self) -> RenewalStore: ...


@dataclass(slots=True)
class RenewalReport:
    dry_run: bool
    window_days: int
    due: list[Expiring] = field(default_factory=list)
    queued: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (consent id, why)

    def as_json(self) -> dict[str, object]:
        """The one object ``fairwell retention renewals --json`` prints: ids and dates only."""
        return {
            "dry_run": self.dry_run,
            "window_days": self.window_days,
            "due": [
                {
                    "consent_id": item.consent_id,
                    "application_id": item.application_id,
                    "until": item.until.date().isoformat(),
                }
                for item in self.due
            ],
            "queued": self.queued,
            "refused": [{"consent_id": c, "why": why} for c, why in self.refused],
        }


def renewals(runtime: Wiring, now: datetime, *, dry_run: bool = False) -> RenewalReport:
    """Queue a renewal letter for every consent ending within the renewal window."""
    window = runtime.settings.consent_renewal_days
    report = RenewalReport(dry_run, window)
    report.due = runtime.renewals.due(now, now + timedelta(days=window))
    if dry_run or not report.due:
        return report
    by_job: dict[int, list[NewLetter]] = defaultdict(list)
    roster = runtime.composer.roster(runtime.store)
    for item in report.due:
        letter = _letter(runtime, item, roster, now)
        if isinstance(letter, str):
            report.refused.append((item.consent_id, letter))
        else:
            by_job[item.job_id].append(letter)
    for job_id, letters in by_job.items():
        detail: dict[str, object] = {"kind": LetterKind.CONSENT_RENEWAL.value}
        _, count = runtime.store.create_batch(
            job_id, letters, ACTOR, now, None, detail=functools.partial(dict, detail)
        )
        report.queued += count
    return report


def send_consent_renewals(runtime: Wiring, now: datetime) -> int:
    """How many renewal letters were queued now (none twice for one consent)."""
    return renewals(runtime, now).queued


def _letter(runtime: Wiring, item: Expiring, roster: Roster, now: datetime) -> NewLetter | str:
    """The letter, or why the privacy guard refused it (the rule's name, no personal data)."""
    store, composer = runtime.store, runtime.composer
    view = next(v for v in store.applicants(item.job_id) if v.application.id == item.application_id)
    kept_until = long_date(item.until, view.person.locale)
    letter = composer.compose(
        view,
        store.job_by_id(item.job_id),  # its named sender signs, as on every letter of the job
        roster,
        now,
        kind=LetterKind.CONSENT_RENEWAL,
        extra={"kept_until": kept_until},
        latest=item.until,
    )
    if letter.findings:
        return f"blocked by the privacy guard ({letter.findings[0].rule})"
    return outbox_letter(letter, composer.sender, letter_key=renewal_key(item.consent_id))
