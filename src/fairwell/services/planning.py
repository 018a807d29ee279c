"""The send plan: which letters go, who is skipped and why, which letters the guard blocks.

Letters are composed in a stream, a page of applications at a time; a plan keeps counts, and
lists only the people skipped or blocked, never the letters. The same stream feeds
:func:`queue_plan`, which writes every ready letter to the outbox in one transaction: a batch
is queued whole or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from fairwell.domain.eligibility import letter_blocked_by, rejection_blocked_by
from fairwell.domain.model import FeedbackState, Job, LetterKind
from fairwell.domain.privacy import Finding
from fairwell.domain.roster import Roster
from fairwell.errors import FairwellError
from fairwell.ports import ApplicantView, NewLetter, Store
from fairwell.services.compose import ComposedLetter, Composer

NO_DECISION = "no decision yet"
AWAITING_APPROVAL = "feedback waiting for approval"
LETTER_EXISTS = "letter already queued or sent"


class PlanChanged(FairwellError):
    """The plan no longer matches what the user confirmed; nothing was queued."""


@dataclass(frozen=True, slots=True)
class Skipped:
    view: ApplicantView
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked:
    view: ApplicantView
    kind: LetterKind
    findings: tuple[Finding, ...]


@dataclass(slots=True)
class Plan:
    job: Job
    letters: Counter[str] = field(default_factory=Counter)
    with_feedback: int = 0
    # Letters that would go plain because their feedback still waits for approval, and
    # approved feedback the wording check flagged (approved with a written override).
    feedback_waiting: int = 0
    approved_despite_findings: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)

    @property
    def ready(self) -> int:
        return sum(self.letters.values())

    def skipped_counts(self) -> Counter[str]:
        return Counter(item.reason for item in self.skipped)

    def as_json(self) -> dict[str, object]:
        """The plan as plain JSON values (the CLI's `plan --json` and the API)."""
        return {
            "job": self.job.title,
            "letters": dict(self.letters),
            "ready": self.ready,
            "with_feedback": self.with_feedback,
            "feedback_waiting": self.feedback_waiting,
            "approved_despite_findings": self.approved_despite_findings,
            "skipped": [
                {
                    "email": s.view.person.email,
                    "stage": s.view.application.stage.value,
                    "reason": s.reason,
                }
                for s in self.skipped
            ],
            "skipped_counts": dict(self.skipped_counts()),
            "blocked": [
                {
                    "email": b.view.person.email,
                    "kind": b.kind.value,
                    "rules": [
                        {"rule": f.rule, "description": f.description, "detail": f.detail}
                        for f in b.findings
                    ],
                }
                for b in self.blocked
            ],
        }


def _skip_reason(view: ApplicantView) -> str | None:
    """Why this application gets no letter in this plan, or None when it gets one."""
    if view.decision is None:
        reason = rejection_blocked_by(view.application, view.history)
        return str(reason) if reason else NO_DECISION
    if view.letter_state is not None:
        return LETTER_EXISTS
    if view.feedback is not None and view.feedback.state is FeedbackState.DRAFT:
        return AWAITING_APPROVAL
    blocked = letter_blocked_by(view.application, view.history)
    return str(blocked) if blocked else None


def compose_pending(
    store: Store,
    composer: Composer,
    job: Job,
    roster: Roster,
    now: datetime,
    after: int = 0,
    until: int | None = None,
) -> Iterator[ComposedLetter | Skipped]:
    """Compose every pending letter of the job (in an id range), or say why it is skipped."""
    for view in store.pending_letters(job.id, after, until):
        reason = _skip_reason(view)
        if reason is not None:
            yield Skipped(view, reason)
        else:
            yield composer.compose(view, job, roster, now)


def make_plan(store: Store, composer: Composer, job_title: str, now: datetime) -> Plan:
    """Compose every pending letter of the job, guard it, and summarise; queue nothing."""
    job = store.job_by_title(job_title)
    plan = Plan(job=job)
    for view in store.streamed_applicants(job.id):
        if view.decision is None or view.letter_state is not None:
            reason = _skip_reason(view)
            if reason is not None:
                plan.skipped.append(Skipped(view, reason))
    roster = Roster(store.roster(job.id))
    for item in compose_pending(store, composer, job, roster, now):
        _account(plan, item)
    return plan


def _account(plan: Plan, item: ComposedLetter | Skipped) -> None:
    if isinstance(item, Skipped):
        plan.skipped.append(item)
    elif item.findings:
        plan.blocked.append(Blocked(item.view, item.kind, item.findings))
    else:
        plan.letters[item.kind.value] += 1
        feedback = item.view.feedback
        if feedback is not None:
            plan.with_feedback += feedback.approved
            plan.feedback_waiting += feedback.state is FeedbackState.DRAFT
            plan.approved_despite_findings += feedback.approved and feedback.lint_findings > 0


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    batch_id: int
    queued: int
    blocked: int


Composing = Callable[[Job], Iterable[ComposedLetter | Skipped]]


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
) -> QueuedBatch:
    """Write every ready letter of the plan to the outbox in one transaction.

    ``expected`` is the count the user confirmed: if the plan has changed since, nothing is
    queued. Letters the guard blocks are not queued; they stay in the plan until fixed.
    ``composing`` replaces the in-process composer, e.g. with worker processes for a big job.
    """
    job = store.job_by_title(job_title)
    if composing is None:
        roster = Roster(store.roster(job.id))
        items = compose_pending(store, composer, job, roster, now)
    else:
        items = iter(composing(job))
    tally = _Tally(expected)
    letters = (_new_letter(item, composer) for item in tally.ready(items))
    batch_id, queued = store.create_batch(job.id, letters, actor, now, rate_per_second)
    return QueuedBatch(batch_id=batch_id, queued=queued, blocked=tally.blocked)


class _Tally:
    """Counts what is queued and refuses, mid-stream, a plan that differs from the one confirmed."""

    def __init__(self, expected: int | None) -> None:
        self.expected, self.queued, self.blocked = expected, 0, 0

    def ready(self, items: Iterable[ComposedLetter | Skipped]) -> Iterator[ComposedLetter]:
        for item in items:
            if isinstance(item, Skipped):
                continue
            if item.findings:
                self.blocked += 1
                continue
            self.queued += 1
            if self.expected is not None and self.queued > self.expected:
                raise PlanChanged(
                    f"the plan now has more than the {self.expected} letters confirmed"
                )
            yield item
        if self.expected is not None and self.queued != self.expected:
            raise PlanChanged(
                f"the plan now has {self.queued} letters, not the {self.expected} confirmed; "
                "nothing was queued"
            )


def _new_letter(item: ComposedLetter, composer: Composer) -> NewLetter:
    assert item.view.decision is not None
    return NewLetter(
        decision_id=item.view.decision.id,
        application_id=item.view.application.id,
        kind=item.kind.value,
        locale=item.view.person.locale,
        sender=composer.sender.address,
        recipient=item.view.person.email,
        message_id=item.message_id,
        body=item.body,
        planned_stage=item.view.application.stage,
    )
