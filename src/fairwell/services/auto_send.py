"""A job's auto-send rule: its letters go without a person confirming each plan.

Off by default. Decisions that arrive from an ATS (a webhook, a pull) or an import only
record what happened; the letter waits for a plan and its confirmation. A recruiter or admin
may turn the rule on for one job, by name (``fairwell job auto-send --on --as USER``); the
audit log says who, and every batch the rule releases is audited in that user's name.

The worker then does what a person confirming the plan would: makes the job's plan (composed
once, guarded, the send windows kept) and releases its ready letters, on the same path as
`fairwell send`. Letters a plan holds (feedback waiting for approval, a competency without
wording, a line in another language) are not ready, so they wait as they would for a person;
the run counts them. A plan with a letter the privacy guard blocked is not released at all:
something in the job's data or templates is wrong, and a person must look first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fairwell.domain.feedback import NEEDS_WORDING
from fairwell.domain.model import Job
from fairwell.domain.users import Permission
from fairwell.errors import PlanChanged, PlanStale
from fairwell.ports import Store
from fairwell.ports.pipeline import PipelineStore
from fairwell.ports.users import JobManagers, UserStore
from fairwell.services.compose import Composer
from fairwell.services.planning import AWAITING_APPROVAL, Plan, language_hold
from fairwell.services.scheduling import Override
from fairwell.services.sending import confirm as confirm_plan
from fairwell.services.sending import make_plan
from fairwell.services.users import acting_user

ACTOR_PREFIX = "auto-send:"


@dataclass(slots=True)
class AutoSendRun:
    """What one run of the rule did: batches released, letters queued, what waits for a person."""

    released: dict[int, int] = field(default_factory=dict)  # job id -> batch id
    queued: int = 0
    # Jobs whose plan was not released at all, and why.
    waiting: dict[int, str] = field(default_factory=dict)
    # Letters the plans hold for a person, per job: "1 feedback waiting for approval".
    held: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "released": [{"job_id": j, "batch_id": b} for j, b in self.released.items()],
            "queued": self.queued,
            "waiting": [{"job_id": j, "why": why} for j, why in self.waiting.items()],
            "held": [{"job_id": j, "why": why} for j, why in self.held.items()],
        }


def turn_auto_send(
    store: PipelineStore,
    users: UserStore,
    managers: JobManagers,
    job_id: int,
    username: str | None,
    on: bool,
    now: datetime,
) -> Job:
    """Turn the rule on in a named user's name (who must be allowed to), or off."""
    user = acting_user(users, managers, username, Permission.AUTO_SEND, job_id=job_id)
    actor = f"user:{user.username}"
    store.set_job_auto_send(job_id, user.username if on else None, actor, now)
    return store.job_by_id(job_id)


def held_for_a_person(plan: Plan) -> str | None:
    """The letters the plan holds until a person acts (approves, words, translates)."""
    held = {
        reason: count
        for reason, count in plan.skipped_counts().items()
        if reason == AWAITING_APPROVAL or reason.startswith(NEEDS_WORDING) or language_hold(reason)
    }
    return "; ".join(f"{count} {reason}" for reason, count in sorted(held.items())) or None


def run_auto_send(
    store: Store,
    composer: Composer,
    now: datetime,
    *,
    windows: Override,
    max_age: timedelta,
) -> AutoSendRun:
    """Plan and release the pending letters of every open job whose rule is on."""
    run = AutoSendRun()
    for job in store.auto_send_jobs():
        assert job.auto_send_by is not None
        actor = ACTOR_PREFIX + job.auto_send_by
        staged = make_plan(store, composer, job.id, now, actor=actor, max_age=max_age)
        plan = staged.plan
        held = held_for_a_person(plan)
        if held is not None:
            run.held[job.id] = held
        if plan.blocked:
            run.waiting[job.id] = f"{len(plan.blocked)} blocked by the privacy guard"
            continue
        if plan.ready == 0:
            continue
        try:
            batch = confirm_plan(
                store,
                staged.plan_id,
                plan.ready,
                actor=actor,
                now=now,
                windows=windows,
                max_age=max_age,
            )
        except (PlanStale, PlanChanged) as error:
            # Something changed between planning and releasing: the next run plans again.
            run.waiting[job.id] = str(error)
            continue
        run.released[job.id] = batch.batch_id
        run.queued += batch.queued
    return run
