"""Sending a job's letters, one function per user action: make the plan, confirm it.

The plan is the batch. :func:`make_plan` composes, guards and stores every pending letter
of a job once, as its *staged* plan, and summarises it from the stored rows; what the plan,
the preview and the web show are those stored bytes. :func:`confirm` releases the staged
letters to the outbox in one transaction, composing nothing. Database triggers note anything
that would change a staged letter (storage migration 0022); a stale plan is refused with
what changed, and the next plan recomposes only the applications that changed (everything,
after a change of every letter: a template, a wording, the job's signer, or its age).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from fairwell.domain.model import FeedbackState, Job, LetterKind
from fairwell.errors import PlanChanged, PlanStale
from fairwell.guard.privacy import Finding
from fairwell.ports import Store
from fairwell.ports.plans import BLOCKED, READY, PlanChanges, PlanRecord, StagedLetter
from fairwell.services.compose import ComposedLetter, Composer, outbox_letter
from fairwell.services.planning import (
    Blocked,
    Composing,
    Contradiction,
    Later,
    Plan,
    QueuedBatch,
    ScheduleSummary,
    Skipped,
    Staging,
    compose_pending,
    compose_views,
    contradicts,
    skipped_and_merges,
)
from fairwell.services.rosters import RosterSource, roster_for
from fairwell.services.scheduling import Override

DEFAULT_MAX_AGE = timedelta(minutes=60)
# Compose every letter again (not only the changed ones).
EVERYTHING = None


@dataclass(frozen=True, slots=True)
class StagedPlan:
    plan: Plan
    plan_id: int
    composed: int  # letters composed by this call; 0 when the stored plan was current


@dataclass(slots=True)
class _Counted:
    """Counts the letters a stream composes (ready or blocked), as they pass."""

    composed: int = 0


def windows_of(composer: Composer, send_now: bool) -> Override:
    return Override.NOW if send_now else composer.scheduler.mode


def fingerprint(composer: Composer, send_now: bool) -> str:
    """What a staged letter was composed with besides the data: the sender, the send windows
    and their rules, the retention policies a letter promises from, whether referrers are
    named, the portal's address. A plan made with other settings is composed again.

    Template files on disk are not in it (edits in the settings pages are: the database
    notes them); a deploy that changes them is caught by the plan's age.
    """
    scheduler = composer.scheduler
    portal = getattr(composer.portal, "base_url", None)
    parts = (
        composer.sender,
        windows_of(composer, send_now).value,
        getattr(scheduler, "rules", None),
        str(getattr(scheduler, "default_zone", "")),
        getattr(scheduler, "default_country", None),
        composer.retention,
        composer.name_referrer,
        portal,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def make_plan(
    store: Store,
    composer: Composer,
    job_id: int,
    now: datetime,
    *,
    actor: str = "cli",
    send_now: bool = False,
    rosters: RosterSource | None = None,
    composing: Composing | None = None,
    staging: Staging | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    summary: bool = True,
) -> StagedPlan:
    """The job's staged plan, made or brought up to date, and its summary.

    A staged plan with no change since it was made is shown as it is (nothing composed);
    changes of some applications recompose those; anything else composes every letter.
    ``composing`` replaces the in-process composer for a whole plan (worker processes; it
    must honour ``send_now``); ``staging`` composes and stores it there, each process its
    share (PlanStore.stage_share), so the letters need not come back through this one.
    ``summary=False`` leaves out who is skipped (a queue).
    """
    job = store.job_by_id(job_id)
    print_ = fingerprint(composer, send_now)
    staged = store.open_plan(job.id)
    scope = _scope(store, staged, print_, send_now, now, max_age)
    if staged is not None and scope == frozenset():
        return StagedPlan(_summary(store, job, staged, composer, 0, summary), staged.id, 0)
    plan = store.begin_plan(job.id, actor, now, send_now, print_)
    counted = _Counted()
    try:
        if (scope is EVERYTHING or staged is None) and staging is not None:
            counted.composed = staging(job, plan)
            store.stage(plan, ())
        elif scope is EVERYTHING or staged is None:
            items = _compose_all(store, composer, job, now, send_now, rosters, composing)
            store.stage(plan, _staged(items, composer, now, counted))
        else:
            roster = roster_for(store, rosters, composer.rosters)
            views = store.pending_letters_among(job.id, sorted(scope))
            items = compose_views(views, composer, job, roster, now, send_now)
            store.stage(plan, _staged(items, composer, now, counted), staged, scope)
    except BaseException:
        store.abandon_plan(plan.id)
        raise
    record = store.plan_record(plan.id)
    made = _summary(store, job, record, composer, counted.composed, summary)
    return StagedPlan(made, plan.id, counted.composed)


def _scope(
    store: Store,
    staged: PlanRecord | None,
    print_: str,
    send_now: bool,
    now: datetime,
    max_age: timedelta,
) -> frozenset[int] | None:
    """The applications to recompose: none (frozenset()), some, or EVERYTHING."""
    if staged is None or staged.fingerprint != print_ or staged.send_now != send_now:
        return EVERYTHING
    if not (staged.made_at <= now < staged.made_at + max_age):
        return EVERYTHING
    changes = store.plan_changes(staged.job_id, staged.change_mark)
    if changes.whole_job:
        return EVERYTHING
    return changes.applications


def _compose_all(
    store: Store,
    composer: Composer,
    job: Job,
    now: datetime,
    send_now: bool,
    rosters: RosterSource | None,
    composing: Composing | None,
) -> Iterable[ComposedLetter | Skipped]:
    if composing is not None:
        return composing(job)
    roster = roster_for(store, rosters, composer.rosters)
    return compose_pending(store, composer, job, roster, now, send_now=send_now)


def _staged(
    items: Iterable[ComposedLetter | Skipped], composer: Composer, now: datetime, counted: _Counted
) -> Iterator[StagedLetter]:
    """Each composed letter as it is stored; skipped applications are not stored."""
    for item in items:
        if isinstance(item, Skipped):
            continue
        counted.composed += 1
        yield staged_letter(item, composer, now)


def staged_letters(
    items: Iterable[ComposedLetter | Skipped], composer: Composer, now: datetime
) -> Iterator[StagedLetter]:
    """Each composed letter as it is stored (a worker process's share of a plan)."""
    return _staged(items, composer, now, _Counted())


def staged_letter(item: ComposedLetter, composer: Composer, now: datetime) -> StagedLetter:
    """One composed letter as its staged row: the outbox row, and what the plan counts."""
    view = item.view
    assert view.decision is not None
    letter = outbox_letter(item, composer.sender, decision_id=view.decision.id)
    feedback = view.feedback
    approved = feedback is not None and feedback.approved
    return StagedLetter(
        letter=letter,
        status=BLOCKED if item.findings else READY,
        later_reason=item.schedule.reason if item.schedule.is_later(now) else None,
        findings=tuple((f.rule, f.description, f.detail) for f in item.findings),
        reason_code=view.decision.reason_code,
        with_feedback=approved,
        feedback_waiting=feedback is not None and feedback.state is FeedbackState.DRAFT,
        approved_despite_findings=approved and feedback is not None and feedback.lint_findings > 0,
        contradicts=contradicts(view),
    )


def _summary(
    store: Store,
    job: Job,
    record: PlanRecord,
    composer: Composer,
    composed: int,
    with_skipped: bool,
) -> Plan:
    """The plan as the user reads it, from the stored letters: nothing is composed here."""
    schedule = ScheduleSummary(windows_of(composer, record.send_now))
    plan = Plan(job=job, schedule=schedule, made_at=record.made_at)
    plan.plan_id, plan.composed = record.id, composed
    if with_skipped:
        skipped_and_merges(store, plan)
    stored = store.staged_summary(record.id)
    for group in stored.groups:
        if group.status != READY:
            continue
        plan.letters[group.kind] += group.letters
        plan.with_feedback += group.with_feedback
        plan.feedback_waiting += group.feedback_waiting
        plan.approved_despite_findings += group.approved_despite_findings
        _schedule(schedule, group.later_reason, group.letters, group.first, group.last)
    for note in stored.blocked:
        found = tuple(Finding(*finding) for finding in note.findings)
        plan.blocked.append(Blocked(note.recipient, LetterKind(note.kind), found))
    for note in stored.contradicts:
        plan.reason_contradicts.append(Contradiction(note.recipient, note.reason_code))
    return plan


def _schedule(
    schedule: ScheduleSummary,
    why: str | None,
    letters: int,
    first: datetime | None,
    last: datetime | None,
) -> None:
    if why is None or first is None or last is None:
        schedule.now += letters
        return
    group = schedule.later.get(why)
    if group is None:
        schedule.later[why] = Later(letters, first, last)
    else:
        group.count += letters
        group.first, group.last = min(group.first, first), max(group.last, last)


def confirm(
    store: Store,
    plan_id: int,
    expected: int,
    *,
    actor: str,
    now: datetime,
    windows: Override,
    rate_per_second: int | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> QueuedBatch:
    """Release the staged plan the user confirmed (``expected`` ready letters) to the outbox,
    in one transaction and composing nothing; refuse a stale plan and say why.

    ``windows`` is the installation's send-window mode, for the batch's audit entry (a plan
    made with ``send_now`` says so itself).
    """
    record = store.plan_record(plan_id)
    mode = Override.NOW if record.send_now else windows
    release = store.release(
        plan_id, expected, actor, now, now - max_age, rate_per_second, mode.value
    )
    if release.changes is not None:
        raise PlanStale(stale_message(release.changes), release.changes.reasons)
    if release.refused == "too old":
        minutes = int((now - record.made_at).total_seconds() // 60)
        raise PlanStale(
            f"the plan is stale: it was made {minutes} minutes ago, more than the "
            f"{int(max_age.total_seconds() // 60)} allowed (FAIRWELL_PLAN_MAX_AGE_MINUTES)",
            {"too old": 1},
        )
    if release.refused == "count":
        raise PlanChanged(
            f"the plan has {release.ready} letters, not the {expected} confirmed; "
            "nothing was queued"
        )
    if release.refused is not None:
        raise PlanStale(f"the plan cannot be sent: {release.refused}", {release.refused: 1})
    assert release.batch_id is not None
    return QueuedBatch(
        release.batch_id, release.queued, release.blocked, release.later, release.first_later
    )


# How each change reads, counted ("2 decisions changed").
_PLURAL = {
    "a decision changed": "{n} decisions changed",
    "a stage changed": "{n} stages changed",
    "an application changed": "{n} applications changed",
    "feedback changed": "the feedback of {n} candidates changed",
    "an applicant was deleted": "{n} applicants were deleted",
    "an applicant was erased": "{n} applicants were erased",
    "an applicant's details changed": "{n} applicants' details changed",
    "an address was suppressed": "{n} addresses were suppressed",
    "a suppression was lifted": "{n} suppressions were lifted",
}


def stale_message(changes: PlanChanges) -> str:
    """ "the plan is stale: 2 decisions changed, a template changed since it was made"."""
    said = [
        _PLURAL.get(reason, reason).format(n=count) if count > 1 else reason
        for reason, count in sorted(changes.reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return f"the plan is stale: {', '.join(said)} since it was made"


def staged_body(store: Store, job_id: int, decision_id: int) -> bytes | None:
    """The bytes the job's current staged plan holds for a decision; None when the letter is
    not staged or the plan is stale (then they may not be what would go)."""
    staged = store.open_plan(job_id)
    if staged is None or store.plan_changes(job_id, staged.change_mark).any:
        return None
    return store.staged_body(staged.id, decision_id)
