"""The send plan: which letters go, who is skipped and why, which letters the guard blocks.

Letters are composed in a stream, a page of applications at a time, and stored as the job's
staged plan (services/sending.py); a plan keeps counts, and lists only the people skipped or
blocked, never the letters. Confirming releases the staged letters to the outbox in one
transaction: a batch is queued whole or not at all, and nothing is composed again.
:func:`make_plan` and :func:`queue_plan` take a job title, for the code and tests that did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fairwell.domain.eligibility import SkipReason, letter_blocked_by, rejection_blocked_by
from fairwell.domain.feedback import NEEDS_WORDING
from fairwell.domain.model import FeedbackState, Job, LetterKind
from fairwell.domain.reasons import agrees_with_feedback
from fairwell.domain.send_windows import Schedule
from fairwell.errors import PlanChanged as PlanChanged
from fairwell.guard.privacy import Finding
from fairwell.guard.roster import Roster
from fairwell.ports import ApplicantView, Store, StoredMerge
from fairwell.ports.plans import PlanRecord
from fairwell.services.compose import ComposedLetter, Composer
from fairwell.services.rosters import RosterSource
from fairwell.services.scheduling import Override
from fairwell.services.skipped import Skipped as Skipped

# A plan counts everyone it skips, but lists only this many of them: a job of a million people
# who all have their letter already is a million counted, not a million views in memory.
SKIPPED_LISTED = 1000
# Merges are listed the same way: a few in real files, but a plan's size must not follow them.
MERGES_LISTED = 1000
# Letters guarded together: the roster is searched for the batch in one pass.
GUARD_BATCH = 100
NO_DECISION = "no decision yet"
AWAITING_APPROVAL = "feedback waiting for approval"
LETTER_EXISTS = "letter already queued or sent"


@dataclass(frozen=True, slots=True)
class Blocked:
    email: str
    kind: LetterKind
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A letter whose reason, chosen for the person, disagrees with their approved feedback."""

    email: str
    reason: str | None


@dataclass(slots=True)
class Later:
    """Letters held for one reason, and the span of their send times."""

    count: int
    first: datetime
    last: datetime


@dataclass(slots=True)
class ScheduleSummary:
    """How many ready letters go at once and how many later, when and why."""

    mode: Override = Override.WINDOWS
    now: int = 0
    later: dict[str, Later] = field(default_factory=dict)

    def add(self, schedule: Schedule, now: datetime) -> None:
        if not schedule.is_later(now):
            self.now += 1
            return
        group = self.later.get(schedule.reason)
        if group is None:
            self.later[schedule.reason] = Later(1, schedule.at, schedule.at)
        else:
            group.count += 1
            group.first, group.last = min(group.first, schedule.at), max(group.last, schedule.at)

    def audit_detail(self) -> dict[str, object]:
        """How the batch was scheduled, for its audit entry: codes and counts only."""
        return {"send_windows": self.mode.value, "later": self.later_count}

    @property
    def later_count(self) -> int:
        return sum(group.count for group in self.later.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "send_windows": self.mode.value,
            "now": self.now,
            "later": self.later_count,
            "groups": [
                {
                    "why": why,
                    "count": g.count,
                    "first": g.first.isoformat(),
                    "last": g.last.isoformat(),
                }
                for why, g in sorted(self.later.items(), key=lambda item: item[1].first)
            ],
        }


@dataclass(slots=True)
class Plan:
    job: Job
    letters: Counter[str] = field(default_factory=Counter)
    with_feedback: int = 0
    # Letters that would go plain because their feedback still waits for approval, and
    # approved feedback the wording check flagged (approved with a written override).
    feedback_waiting: int = 0
    approved_despite_findings: int = 0
    # Letters whose reason the recruiter chose for the person and which does not agree
    # with the approved feedback below it ("position filled" above "skills below the bar").
    reason_contradicts: list[Contradiction] = field(default_factory=list)
    # The first SKIPPED_LISTED people skipped; skipped_counts() counts all of them.
    skipped: list[Skipped] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    schedule: ScheduleSummary = field(default_factory=ScheduleSummary)
    made_at: datetime | None = None
    # Applications an import made of several rows, and what it decided (domain/duplicates.py):
    # the first MERGES_LISTED of them, and how many there are in all.
    merges: list[StoredMerge] = field(default_factory=list)
    merges_total: int = 0
    # The staged plan these letters are stored as, and how many letters making it composed
    # (0: the stored plan was still current).
    plan_id: int | None = None
    composed: int = 0
    _skipped_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def ready(self) -> int:
        return sum(self.letters.values())

    @property
    def held_for_wording(self) -> int:
        """Letters held because a below-bar competency has no words ("needs wording for X")."""
        return sum(n for why, n in self._skipped_by_reason.items() if why.startswith(NEEDS_WORDING))

    @property
    def held_for_language(self) -> int:
        """Letters held because a line of feedback is in another language than the letter's."""
        return sum(n for why, n in self._skipped_by_reason.items() if language_hold(why))

    def skip(self, item: Skipped) -> None:
        self._skipped_by_reason[item.reason] += 1
        if len(self.skipped) < SKIPPED_LISTED:
            self.skipped.append(item)

    def skipped_counts(self) -> Counter[str]:
        return Counter(self._skipped_by_reason)

    def as_json(self) -> dict[str, object]:
        """The plan as plain JSON values (the CLI's `plan --json` and the API)."""
        return {
            "job": self.job.title,
            "plan_id": self.plan_id,
            "composed": self.composed,
            "letters": dict(self.letters),
            "ready": self.ready,
            "with_feedback": self.with_feedback,
            "feedback_waiting": self.feedback_waiting,
            "approved_despite_findings": self.approved_despite_findings,
            "held_for_wording": self.held_for_wording,
            "held_for_language": self.held_for_language,
            "reason_contradicts_feedback": [
                {"email": c.email, "reason": c.reason} for c in self.reason_contradicts
            ],
            "schedule": self.schedule.as_json(),
            "skipped": [
                {
                    "email": s.view.person.email,
                    "stage": s.view.application.stage.value,
                    "reason": s.reason,
                }
                for s in self.skipped
            ],
            "merges": [merge.as_json() for merge in self.merges],
            "merges_not_listed": self.merges_total - len(self.merges),
            "skipped_counts": dict(self.skipped_counts()),
            "skipped_not_listed": self._skipped_by_reason.total() - len(self.skipped),
            "blocked": [
                {
                    "email": b.email,
                    "kind": b.kind.value,
                    "rules": [
                        {"rule": f.rule, "description": f.description, "detail": f.detail}
                        for f in b.findings
                    ],
                }
                for b in self.blocked
            ],
        }


def language_hold(why: str) -> bool:
    return why.endswith("translate or drop") or why.endswith("fix the job's wording")


def _skip_reason(view: ApplicantView) -> str | None:
    """Why this application gets no letter in this plan, or None when it gets one."""
    if view.decision is None:
        reason = rejection_blocked_by(view.application, view.history)
        return str(reason) if reason else NO_DECISION
    if view.letter_state is not None:
        return LETTER_EXISTS
    if view.feedback is not None and view.feedback.state is FeedbackState.DRAFT:
        # A held draft is named by what holds it: "needs wording for Spark".
        return view.feedback.holds[0] if view.feedback.holds else AWAITING_APPROVAL
    blocked = letter_blocked_by(view.application, view.history)
    if blocked is SkipReason.SUPPRESSED and view.suppression:
        return f"address suppressed: {view.suppression}"
    return str(blocked) if blocked else None


def compose_pending(
    store: Store,
    composer: Composer,
    job: Job,
    roster: Roster,
    now: datetime,
    after: int = 0,
    until: int | None = None,
    send_now: bool = False,
) -> Iterator[ComposedLetter | Skipped]:
    """Compose every pending letter of the job (in an id range), or say why it is skipped."""
    views = store.pending_letters(job.id, after, until)
    return compose_views(views, composer, job, roster, now, send_now)


def compose_views(
    views: Iterable[ApplicantView],
    composer: Composer,
    job: Job,
    roster: Roster,
    now: datetime,
    send_now: bool = False,
) -> Iterator[ComposedLetter | Skipped]:
    """Compose the letter of each decided application, or say why it is skipped.

    Letters are guarded GUARD_BATCH at a time: a roster of a million people is searched
    for a batch of letters at once, at a fraction of the cost a letter (guard/privacy.py).
    """
    batch: list[ComposedLetter | Skipped] = []
    for view in views:
        reason = _skip_reason(view)
        if reason is not None:
            batch.append(Skipped(view, reason))
        else:
            batch.append(composer.compose(view, job, roster, now, send_now=send_now, guard=False))
        if len(batch) >= GUARD_BATCH:
            yield from composer.guarded(batch, roster)
            batch = []
    yield from composer.guarded(batch, roster)


def _mode(composer: Composer, send_now: bool) -> Override:
    return Override.NOW if send_now else composer.scheduler.mode


def make_plan(
    store: Store,
    composer: Composer,
    job_title: str,
    now: datetime,
    *,
    send_now: bool = False,
    rosters: RosterSource | None = None,
) -> Plan:
    """Stage the job's plan (services/sending.py) and return its summary; queue nothing.

    The plan says when the ready letters would go if queued ``now`` (``send_now``: at once).
    ``rosters``: the roster of everyone on file to guard with, when not the composer's.
    """
    from fairwell.services import sending

    job = store.job_by_title(job_title)
    staged = sending.make_plan(store, composer, job.id, now, send_now=send_now, rosters=rosters)
    return staged.plan


def skipped_and_merges(store: Store, plan: Plan) -> None:
    """Everyone the plan skips, and why, and the import's merges: read, never composed."""
    job = plan.job
    plan.merges = store.import_merges(job.id, MERGES_LISTED)
    listed = len(plan.merges)
    plan.merges_total = store.import_merge_count(job.id) if listed == MERGES_LISTED else listed
    # Only the applications SQL cannot rule out: a job whose letters are all ready reads none.
    for view in store.maybe_skipped(job.id):
        reason = _skip_reason(view)
        if reason is not None:
            plan.skip(Skipped(view, reason))


def contradicts(view: ApplicantView) -> bool:
    """A reason chosen for this person that says something else than their feedback."""
    decision, feedback = view.decision, view.feedback
    return bool(
        decision is not None
        and decision.reason_chosen
        and feedback is not None
        and feedback.approved
        and feedback.basis is not None
        and not agrees_with_feedback(decision.reason_code, feedback.basis)
    )


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    batch_id: int
    queued: int
    blocked: int
    # Letters waiting for their send window, and when the first of them goes.
    later: int = 0
    first_later: datetime | None = None


Composing = Callable[[Job], Iterable[ComposedLetter | Skipped]]
# Composes a whole plan elsewhere (worker processes), storing each share into the composing
# plan itself (PlanStore.stage_share): returns how many letters were stored.
Staging = Callable[[Job, PlanRecord], int]


def queue_plan(
    store: Store,
    composer: Composer,
    job_title: str,
    *,
    actor: str,
    now: datetime,
    expected: int | None = None,
    rate_per_second: int | None = None,
    composing: Composing | None = None,
    staging: Staging | None = None,
    send_now: bool = False,
    rosters: RosterSource | None = None,
) -> QueuedBatch:
    """Stage the job's plan (composing only what changed since the last one) and release it.

    ``expected`` is the count the user confirmed: if the plan has another, nothing is
    queued. Letters the guard blocks are not queued; they stay in the plan until fixed.
    ``composing`` replaces the in-process composer, e.g. with worker processes for a big job
    (it must honour ``send_now`` itself); ``staging`` also stores what it composes.
    ``rosters``: the roster of everyone on file to
    guard with, when not the composer's.
    """
    from fairwell.services import sending

    job = store.job_by_title(job_title)
    staged = sending.make_plan(
        store,
        composer,
        job.id,
        now,
        actor=actor,
        send_now=send_now,
        rosters=rosters,
        composing=composing,
        staging=staging,
        summary=False,
    )
    return sending.confirm(
        store,
        staged.plan_id,
        staged.plan.ready if expected is None else expected,
        actor=actor,
        now=now,
        windows=composer.scheduler.mode,
        rate_per_second=rate_per_second,
    )
