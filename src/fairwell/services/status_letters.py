"""Status letters from the deadlines list: "no decision yet; we will tell you by ...".

For every interviewed applicant at the alert day or overdue (under the notice rule of where
they are), with no decision yet, a status letter goes through the same guarded path as every
letter: composed from its template, run through the privacy guard, queued in the outbox with
the key ``status:<application_id>:<n>`` (the n-th status letter to that application),
scheduled into their send window but never after the notice deadline. At send time the worker
holds it if a decision was made meanwhile: the decision's own letter will tell them, and two
letters saying opposite things would not.
The day it promises is stored with it (``outbox.decide_by``), and `fairwell deadlines` flags
the promise once that day passes without a decision letter.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fairwell.domain.model import Job, LetterKind
from fairwell.errors import InvalidInput
from fairwell.guard.roster import Roster
from fairwell.ports import ApplicantView, NewLetter, NoticeStore, StatusLetterStore, Store
from fairwell.services.compose import ComposedLetter, Composer, outbox_letter
from fairwell.services.deadlines import DeadlineItem, NoticeRules, deadlines

# What we promise by default: a decision within 30 days of the status letter.
DEFAULT_PROMISE_DAYS = 30

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}


def long_date(moment: datetime, locale: str) -> str:
    """A date as a letter in ``locale`` writes it: "15 January 2027", "15. Januar 2027"."""
    month = _MONTHS.get(locale, _MONTHS["en"]).split()[moment.month - 1]
    dot = "." if locale == "de" else ""
    return f"{moment.day}{dot} {month} {moment.year}"


@dataclass(frozen=True, slots=True)
class StatusCandidate:
    """One line of the deadlines list, and whether a status letter would go (``skip`` None)."""

    item: DeadlineItem
    view: ApplicantView | None
    number: int  # the n of its letter key
    skip: str | None


@dataclass(frozen=True, slots=True)
class StatusPlan:
    as_of: datetime
    candidates: list[StatusCandidate]

    @property
    def ready(self) -> list[StatusCandidate]:
        return [c for c in self.candidates if c.skip is None]

    @property
    def skipped(self) -> list[StatusCandidate]:
        return [c for c in self.candidates if c.skip is not None]


@dataclass(frozen=True, slots=True)
class StatusQueued:
    batch_ids: list[int]
    queued: int
    later: int  # how many wait for their send window
    blocked: list[tuple[int, str]]  # (application id, guard rule) the guard refused
    skipped: list[StatusCandidate]


def plan_status_letters(
    store: Store,
    notices: NoticeStore,
    history: StatusLetterStore,
    rules: NoticeRules,
    as_of: datetime,
) -> StatusPlan:
    """Who on the list (alert or overdue) would get a status letter, and who not and why.

    A broken promise alone brings no new status letter: the decision is what is owed.
    """
    listed = deadlines(notices, rules, as_of).items
    items = [item for item in listed if item.notice is not None and item.notice.needs_action]
    ids = [item.record.application_id for item in items]
    sent = history.status_letters(ids)
    views = _views(store, items)
    candidates = []
    for item in items:
        count, pending = sent.get(item.record.application_id, (0, False))
        view = views.get(item.record.application_id)
        candidates.append(StatusCandidate(item, view, count + 1, _skip(view, pending)))
    return StatusPlan(as_of, candidates)


def _skip(view: ApplicantView | None, pending: bool) -> str | None:
    if view is None:
        return "no longer on file"
    if view.decision is not None:
        return "decided: the decision letter will tell them"
    if pending:
        return "a status letter is already waiting to go"
    return None


def _views(store: Store, items: Sequence[DeadlineItem]) -> dict[int, ApplicantView]:
    """The applicant views of the listed applications, one read per job."""
    jobs: dict[int, set[int]] = defaultdict(set)
    for item in items:
        jobs[item.record.job_id].add(item.record.application_id)
    found: dict[int, ApplicantView] = {}
    for job_id, wanted in jobs.items():
        found.update(
            (v.application.id, v) for v in store.applicants(job_id) if v.application.id in wanted
        )
    return found


def queue_status_letters(
    store: Store,
    composer: Composer,
    plan: StatusPlan,
    *,
    expected: int | None,
    actor: str,
    now: datetime,
    promise_days: int = DEFAULT_PROMISE_DAYS,
) -> StatusQueued:
    """Queue a status letter for everyone ready in ``plan``; one batch per job.

    ``expected`` is the count the recruiter confirmed; a list that changed since is refused.
    """
    ready = plan.ready
    if expected is not None and expected != len(ready):
        raise InvalidInput(f"the list changed: {len(ready)} status letters now, not {expected}")
    by_job: dict[int, list[StatusCandidate]] = defaultdict(list)
    for candidate in ready:
        by_job[candidate.item.record.job_id].append(candidate)
    batch_ids: list[int] = []
    queued = later = 0
    blocked: list[tuple[int, str]] = []
    for job_id, candidates in by_job.items():
        job = store.job_by_id(job_id)
        letters = _compose_all(store, composer, job, candidates, now, promise_days, blocked)
        if not letters:
            continue
        waiting = sum(1 for letter in letters if letter.not_before and letter.not_before > now)
        detail: dict[str, object] = {
            "kind": LetterKind.STATUS.value,
            "send_windows": composer.scheduler.mode.value,
            "later": waiting,
        }
        batch_id, count = store.create_batch(
            job.id, letters, actor, now, None, detail=functools.partial(dict, detail)
        )
        batch_ids.append(batch_id)
        queued, later = queued + count, later + waiting
    return StatusQueued(batch_ids, queued, later, blocked, plan.skipped)


def _compose_all(
    store: Store,
    composer: Composer,
    job: Job,
    candidates: list[StatusCandidate],
    now: datetime,
    promise_days: int,
    blocked: list[tuple[int, str]],
) -> list[NewLetter]:
    roster = composer.roster(store)
    letters = []
    for candidate in candidates:
        assert candidate.view is not None
        letter = _compose(composer, job, roster, candidate, now, promise_days)
        if letter.findings:
            blocked.append((candidate.view.application.id, letter.findings[0].rule))
            continue
        decide_by = promised_day(now, promise_days).date()
        letters.append(_new_letter(composer, candidate, letter, decide_by))
    return letters


def _compose(
    composer: Composer,
    job: Job,
    roster: Roster,
    candidate: StatusCandidate,
    now: datetime,
    promise_days: int,
) -> ComposedLetter:
    assert candidate.view is not None and candidate.item.notice is not None
    locale = candidate.view.person.locale
    promised = long_date(promised_day(now, promise_days), locale)
    # The letter must reach them by the deadline: its send window may not push it past.
    return composer.compose(
        candidate.view,
        job,
        roster,
        now,
        kind=LetterKind.STATUS,
        extra={"promised_by": promised},
        latest=candidate.item.notice.due_at,
    )


def promised_day(now: datetime, promise_days: int) -> datetime:
    """The day a status letter written ``now`` promises a decision by (UTC)."""
    return now + timedelta(days=promise_days)


def _new_letter(
    composer: Composer, candidate: StatusCandidate, letter: ComposedLetter, decide_by: date
) -> NewLetter:
    key = f"status:{letter.view.application.id}:{candidate.number}"
    return outbox_letter(letter, composer.sender, letter_key=key, decide_by=decide_by)
