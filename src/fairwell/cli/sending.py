"""Commands that decide and send: reject, plan, preview, send."""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from fairwell.cli.base import (
    ACTOR,
    AsUser,
    _fail,
    _print_json,
    _runtime,
    app,
    err,
    named_actor,
    out,
    reports_errors,
)
from fairwell.domain.model import FINAL_STATES, OutboxState
from fairwell.domain.users import Permission
from fairwell.runtime import Runtime, make_deliverer, wording_check

if TYPE_CHECKING:
    from fairwell.ports.outbox import OutboxStatus
    from fairwell.worker.pool import WorkerPool


def _selection(all_except_hired: bool, stage: str | None, emails: list[str]) -> Any:
    from fairwell.services.decisions import Selection, pick_stage

    return Selection(
        all_except_hired=all_except_hired,
        stage=pick_stage(stage) if stage else None,
        emails=tuple(emails),
    )


# People listed by name when a rejection skips some; a count per reason says the rest.
SKIPPED_SHOWN = 20


def _print_skipped(skipped: list[Any], job: str) -> None:
    """Who was skipped and why: each reason counted, and the first few people by name (a
    second `reject` of a whole job skips everyone: ten thousand rows help nobody)."""
    counts: dict[str, int] = {}
    for item in skipped:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    reasons = Table("skipped because", "people")
    for reason, count in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])):
        reasons.add_row(reason, str(count))
    out.print(reasons)
    people = Table("email", "name", "stage", "why", title="skipped")
    for item in skipped[:SKIPPED_SHOWN]:
        people.add_row(
            item.view.person.email,
            item.view.person.full_name,
            item.view.application.stage.value,
            item.reason,
        )
    out.print(people)
    if len(skipped) > SKIPPED_SHOWN:
        more = len(skipped) - SKIPPED_SHOWN
        out.print(f"and {more} more; `fairwell applicants --job {json.dumps(job)}` lists everyone")


@app.command()
@reports_errors
def reject(
    job: Annotated[str, typer.Option("--job", help="job title")],
    reason: Annotated[str, typer.Option("--reason", help="reason code; see `fairwell reasons`")],
    all_except_hired: Annotated[
        bool, typer.Option("--all-except-hired", help="everyone in the job but the hired")
    ] = False,
    stage: Annotated[str | None, typer.Option("--stage", help="everyone at this stage")] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="this person (repeat for more)")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="internal note, never sent")] = None,
    as_user: AsUser = None,
) -> None:
    """Reject a selection of a job's applicants with a reason code.

    People who must not be rejected (hired, holding an offer, withdrawn, already decided or
    written to) are skipped and listed with the reason. Needs --as (a recruiter or an admin):
    the decision is recorded in their name.
    """
    from fairwell.services.decisions import reject as reject_service

    runtime = _runtime()
    actor = named_actor(runtime, as_user, Permission.REJECT, runtime.store.job_by_title(job).id)
    report = reject_service(
        runtime.store,
        job,
        _selection(all_except_hired, stage, email or []),
        reason,
        note=note,
        actor=actor,
        now=runtime.clock.now(),
    )
    if report.skipped:
        _print_skipped(report.skipped, job)
    _draft_feedback_quietly(runtime, job, actor)
    out.print(
        f"rejected {len(report.decided)}, skipped {len(report.skipped)}; "
        f"next: fairwell plan --job {json.dumps(job)}"
    )


def _draft_feedback_quietly(runtime: Runtime, job: str, actor: str) -> None:
    """Rejecting drafts the feedback of interviewed candidates for the hiring manager."""
    from fairwell.services.feedback import draft_job_feedback, other_kind_notes

    report = draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        wording_check(runtime.settings),
        runtime.store.job_by_title(job).id,
        actor=actor,
        now=runtime.clock.now(),
        show_scores=runtime.settings.show_scores,
        count_plain=False,  # not shown here: a full read of a big job saved
    )
    if report.drafted:
        out.print(
            f"feedback drafted for {report.drafted} candidate(s) with scorecards "
            f"({report.flagged} flagged, {report.held_for_wording} held for missing wording); "
            "approve with `fairwell feedback review/approve`"
        )
    for note in other_kind_notes(report.other_kind_only):
        out.print(note, markup=False)


def _print_feedback_holds(plan: Any) -> None:
    """Letters held for their feedback, and reasons chosen against it (issue 15)."""
    if plan.held_for_wording or plan.held_for_language:
        out.print(
            f"held for missing wording: {plan.held_for_wording}; held for a line in another "
            f"language: {plan.held_for_language} (fairwell feedback review lists them)"
        )
    for item in plan.reason_contradicts:
        out.print(
            f"{item.email}: the reason chosen for this person "
            f"({item.reason}) does not agree with their approved feedback",
            markup=False,
        )


def _print_plan(plan: Any) -> None:
    letters = Table("letter", "count", title=f"send plan: {plan.job.title}")
    for kind, count in sorted(plan.letters.items()):
        letters.add_row(kind, str(count))
    letters.add_row("[bold]ready to send[/bold]", f"[bold]{plan.ready}[/bold]")
    letters.add_row("of which carry approved feedback", str(plan.with_feedback))
    out.print(letters)
    skipped = Table("skipped because", "people")
    for reason, count in sorted(plan.skipped_counts().items()):
        skipped.add_row(reason, str(count))
    out.print(skipped)
    _print_merges(plan)
    _print_feedback_holds(plan)
    _print_schedule(plan)
    if plan.blocked:
        blocked = Table("email", "letter", "rule", "why", title="blocked by the privacy guard")
        for item in plan.blocked:
            for finding in item.findings:
                blocked.add_row(
                    item.email,
                    item.kind.value,
                    finding.rule,
                    f"{finding.description}: {finding.detail}",
                )
        out.print(blocked)


MERGES_PRINTED = 20


def _print_merges(plan: Any) -> None:
    """Applications an import made of several rows: which rows, and what was decided."""
    from fairwell.services.planning import MERGES_LISTED

    if not plan.merges:
        return
    table = Table("email", "file", "rows", "decided", title="merged by the import")
    for merge in plan.merges[:MERGES_PRINTED]:
        decided = "\n".join(choice.describe() for choice in merge.choices) or "the rows agree"
        rows = ", ".join(str(row) for row in merge.rows)
        table.add_row(merge.email, merge.source_file, rows, decided)
    out.print(table)
    if plan.merges_total > MERGES_PRINTED:
        out.print(
            f"... and {plan.merges_total - MERGES_PRINTED} more merge(s); "
            f"`fairwell plan --json` lists up to {MERGES_LISTED}",
            markup=False,
        )


def _print_schedule(plan: Any) -> None:
    """When the ready letters go: at once, or later in each candidate's send window."""
    schedule = plan.schedule
    table = Table("when", "letters", "why", title=f"schedule (send windows {schedule.mode})")
    table.add_row("now", str(schedule.now), _NOW_WHY.get(schedule.mode.value, ""))
    for why, group in sorted(schedule.later.items(), key=lambda item: item[1].first):
        span = _when(group.first)
        if group.last != group.first:
            span += f" to {_when(group.last)}"
        table.add_row(span, str(group.count), why)
    out.print(table)


_NOW_WHY = {
    "on": "in the candidate's business hours",
    "off": "send windows are off (FAIRWELL_SEND_WINDOWS=off)",
    "now": "--now: send windows skipped for this batch",
}


def _when(moment: Any) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M} UTC"


def _make_plan(
    runtime: Runtime, job_id: int, send_now: bool = False, pool: WorkerPool | None = None
) -> Any:
    """The job's staged plan, made or brought up to date (only what changed is composed)."""
    from fairwell.services.sending import make_plan

    runtime.check_templates()
    now = runtime.clock.now()
    # The composer guards with the runtime's roster: `send` plans and delivers with one
    # roster of everyone on file. A big plan is composed by the pool's processes.
    return make_plan(
        runtime.store,
        runtime.composer,
        job_id,
        now,
        actor=ACTOR,
        send_now=send_now,
        staging=pool.staging(now, send_now, runtime.store) if pool else None,
        max_age=_max_age(runtime),
    ).plan


def _max_age(runtime: Runtime) -> Any:
    from datetime import timedelta

    return timedelta(minutes=runtime.settings.plan_max_age_minutes)


def _print_staged(plan: Any) -> None:
    """Which staged plan this is, and whether making it composed anything."""
    if plan.composed:
        err.print(f"plan {plan.plan_id}: {plan.composed} letter(s) composed and stored")
    else:
        err.print(f"plan {plan.plan_id}: nothing changed since it was made; nothing composed")


@app.command()
@reports_errors
def plan(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Compose and store the send plan; show it: letters of each kind, who is skipped and why,
    what is blocked. `fairwell send` then sends exactly these letters unless something changed."""
    runtime = _runtime()
    job_id = runtime.store.job_by_title(job).id
    # A big plan is composed by a pool of processes, as `send` composes it: every core, and
    # no roster of everyone on file in this process. They start only if there is something
    # to compose (a plan with nothing changed starts none).
    with _worker_pool(runtime, job_id, None, planning_only=True) as pool:
        result = _make_plan(runtime, job_id, pool=pool)
    if as_json:
        _print_json(result.as_json())
    else:
        _print_plan(result)
        _print_staged(result)


@app.command()
@reports_errors
def preview(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the addressee")],
) -> None:
    """Print one letter exactly as it will go out (or as it went out, once queued)."""
    from fairwell.services.preview import preview_for_job

    runtime = _runtime()
    runtime.check_templates()
    job_id = runtime.store.job_by_title(job).id
    shown = preview_for_job(runtime.store, runtime.composer, job_id, email, runtime.clock.now())
    sys.stdout.write(shown.body.decode("ascii", errors="replace").replace("\r\n", "\n"))
    if shown.staged:
        err.print("(staged in the send plan: these exact bytes go when you send)")
    elif not shown.queued:
        err.print(
            "(not staged yet: `fairwell plan` stores it; its Message-ID and Date are set then)"
        )


def _confirm_count(ready: int, threshold: int) -> None:
    if ready <= threshold:
        if not typer.confirm(f"Send {ready} letter(s)?", default=False):
            raise _fail("not sent: not confirmed", 1)
        return
    typed = typer.prompt(f"Type the number of letters to send ({ready}) to confirm")
    if typed.strip() != str(ready):
        raise _fail(f"not sent: you typed {typed.strip()!r}, the plan has {ready}", 1)


def _send_canary(runtime: Runtime, job_id: int, canary: str, assume_yes: bool) -> None:
    from fairwell.services.preview import send_canary

    now = runtime.clock.now()
    send_canary(runtime.store, runtime.composer, runtime.transport(), job_id, canary, now)
    out.print(f"canary letter sent to {canary}")
    if not assume_yes and not typer.confirm("Did the canary arrive and read right?", default=False):
        raise _fail("not sent: canary not confirmed", 1)


@app.command()
@reports_errors
def send(
    job: Annotated[str, typer.Option("--job", help="job title")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask; for scripts")] = False,
    canary: Annotated[
        str | None, typer.Option("--canary", help="send a sample letter here first")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.01, help="at most N letters a second")
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="queue only; a worker delivers (Celery: kicked now)"),
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes", min=1, help="worker processes (default: every core for big batches)"
        ),
    ] = None,
    now: Annotated[
        bool,
        typer.Option(
            "--now", help="skip the send windows for this batch: every letter goes now (audited)"
        ),
    ] = False,
) -> None:
    """Queue the plan's letters and deliver them, with a progress bar.

    Letters go in each candidate's send window (docs/sending-times.md): the command returns
    once every letter is delivered, failed, held or scheduled for later; `fairwell worker`
    sends the scheduled ones when their window opens.
    """
    runtime = _runtime()
    job_id = runtime.store.job_by_title(job).id
    with _worker_pool(runtime, job_id, processes) as pool:
        if pool is not None:
            pool.start()  # it composes a big plan, or delivers it
        _plan_confirm_deliver(runtime, job_id, yes, canary, rate, no_wait, pool, now)


@contextlib.contextmanager
def _worker_pool(
    runtime: Runtime, job_id: int, processes: int | None, *, planning_only: bool = False
) -> Iterator[WorkerPool | None]:
    """Worker processes for the job (``processes``; by default every core for a big job:
    bigger when they only compose a plan), or None when this process does the work alone."""
    if processes is None:
        from fairwell.worker.pool import PLAN_WORTH_IT, WORTH_IT, default_processes

        worth_it = PLAN_WORTH_IT if planning_only else WORTH_IT
        big = runtime.store.application_count(job_id) >= worth_it
        processes = default_processes() if big else 1
    if processes == 1:
        yield None
        return
    from fairwell.worker.pool import WorkerPool

    with WorkerPool(runtime.settings, processes, runtime.engine) as pool:
        yield pool


def _plan_confirm_deliver(
    runtime: Runtime,
    job_id: int,
    yes: bool,
    canary: str | None,
    rate: float | None,
    no_wait: bool,
    pool: WorkerPool | None,
    send_now: bool,
) -> None:
    """Make (or bring up to date) the staged plan, show it, confirm, release it, deliver."""
    current = _make_plan(runtime, job_id, send_now, pool)
    _print_plan(current)
    _print_staged(current)
    if current.ready == 0:
        raise _fail("nothing to send: the plan has no ready letters", 1)
    if canary:
        _send_canary(runtime, job_id, canary, yes)
    if not yes:
        _confirm_count(current.ready, runtime.settings.confirm_threshold)
    batch = _release(runtime, current.plan_id, current.ready, rate)
    out.print(f"batch {batch.batch_id}: {batch.queued} letter(s) queued")
    if batch.later and batch.first_later is not None:
        out.print(
            f"{batch.later} of them wait for the candidate's send window "
            f"(the first at {_when(batch.first_later)})"
        )
    if no_wait:
        from fairwell.worker.kick import start_delivery

        out.print(start_delivery(runtime.settings))
    else:
        _deliver_with_progress(runtime, batch.batch_id, batch.queued, rate, pool)


def _release(runtime: Runtime, plan_id: int, expected: int, rate: float | None) -> Any:
    """Release the staged plan the user confirmed; a stale one is refused, saying why."""
    from fairwell.errors import PlanStale
    from fairwell.services.sending import confirm

    try:
        return confirm(
            runtime.store,
            plan_id,
            expected,
            actor=ACTOR,
            now=runtime.clock.now(),
            windows=runtime.composer.scheduler.mode,
            rate_per_second=int(rate) if rate else None,
            max_age=_max_age(runtime),
        )
    except PlanStale as error:
        raise _fail(
            f"not sent: {error}; run `fairwell send` again to see the new plan", 1
        ) from None


def _deliver_with_progress(
    runtime: Runtime, batch_id: int, total: int, rate: float | None, pool: WorkerPool | None
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fairwell.worker.embedded import run_batch

    columns = (TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("deliver", total=total)

        def show_done() -> OutboxStatus:
            status = runtime.store.outbox_status(batch_id, runtime.clock.now())
            done = sum(status.counts.get(s.value, 0) for s in FINAL_STATES) + status.scheduled
            progress.update(task, completed=done)
            return status

        # While letters go, the bar counts what the workers finished (counting the batch's
        # letters by state costs a scan of the batch); at the end the database says.
        watch = _RelayWatch(
            runtime, lambda line: progress.console.print(line, markup=False, soft_wrap=True)
        )

        def show_finished(letters: int) -> None:
            progress.update(task, completed=letters)
            watch.check(letters)

        with _relay_said_here():
            if pool is None:
                deliverer = make_deliverer(runtime, rate)
                run_batch(deliverer, batch_id, on_round=lambda stats: show_finished(stats.finished))
            else:
                pool.deliver(batch_id, rate, on_progress=show_finished)
        # One read of the batch (a scan of its letters) for the bar and the report.
        status = show_done()
    _finish_report(runtime, batch_id, status)


class _RelayWatch:
    """Says, in one line above the bar, why no letter goes while the relay takes none (down,
    or answering 421 or 454), and one more when it takes letters again.

    It reads what every worker reads: the back-off row a worker writes when the relay fails,
    with the failure it met (relay and reply, never an address). So the command's own process
    and its worker processes are watched alike.
    """

    EVERY = 0.5  # seconds between two reads of the back-off

    def __init__(self, runtime: Runtime, say: Callable[[str], None]) -> None:
        self._slots, self._say = runtime.send_slots, say
        self._settings = runtime.settings
        self._shown = ""  # the failure on screen, "" once the relay took letters again
        self._finished = 0  # letters finished when it was shown
        self._until = 0.0  # when the back-off it began ends
        self._read = -math.inf

    def check(self, finished: int) -> None:
        now = time.time()
        if self._shown and now >= self._until and finished > self._finished:
            self._say("the relay takes letters again")
            self._shown = ""
        if now - self._read < self.EVERY:
            return
        self._read = now
        until = self._slots.backoff_until()
        why = self._slots.backoff_reason() if until > now else ""
        if why and why != self._shown:
            seconds = self._settings.slow_down_seconds
            self._say(
                f"{_relay_trouble(self._settings, why)}; every worker tries again in "
                f"{seconds:g} s (Ctrl-C leaves the batch queued)"
            )
            self._shown, self._finished = why, finished
        if why:
            self._until = until


def _relay_trouble(settings: Any, why: str) -> str:
    """The relay's failure as a worker described it, naming the relay once."""
    relay = f"{settings.smtp_host}:{settings.smtp_port}"
    return why if relay in why else f"the relay {relay} answered {why}"


@contextlib.contextmanager
def _relay_said_here() -> Iterator[None]:
    """The deliverer's warning for each outage of the relay is quiet while this command
    delivers: the command says it itself, once, above the bar (its worker processes quiet
    theirs too: worker/pool.py)."""
    import logging

    relay_log = logging.getLogger("fairwell.services.delivery.relay")
    level = relay_log.level
    relay_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        relay_log.setLevel(level)


def _with_scheduled(status: Any) -> dict[str, int]:
    """Counts per state, with queued letters waiting for their window counted as scheduled."""
    counts = {state: count for state, count in status.counts.items() if count}
    if status.scheduled:
        counts["scheduled"] = status.scheduled
        left = counts.get(OutboxState.QUEUED.value, 0) - status.scheduled
        counts.pop(OutboxState.QUEUED.value, None)
        if left:
            counts[OutboxState.QUEUED.value] = left
    return counts


def deliver_batch(runtime: Runtime, batch_id: int) -> None:
    """Deliver one queued batch in this process, with progress and the closing report."""
    total = sum(runtime.store.outbox_status(batch_id).counts.values())
    _deliver_with_progress(runtime, batch_id, total, None, None)


def _finish_report(runtime: Runtime, batch_id: int, status: OutboxStatus) -> None:
    """The batch's letters by state, as ``status`` read them once delivery ended."""
    counts = _with_scheduled(status)
    out.print(", ".join(f"{state} {count}" for state, count in sorted(counts.items())))
    if status.scheduled and status.next_scheduled_at is not None:
        out.print(
            f"{status.scheduled} letter(s) scheduled for the candidate's send window, "
            f"the first at {_when(status.next_scheduled_at)}; `fairwell worker` sends them"
        )
    if status.possible_duplicates:
        out.print(
            f"possible duplicates after lost connections or crashes: {status.possible_duplicates}"
        )
    trouble = sum(
        counts.get(s.value, 0)
        for s in (OutboxState.FAILED, OutboxState.HELD, OutboxState.QUARANTINED)
    )
    if counts.get(OutboxState.QUEUED.value) and not (
        status.paused or batch_id in status.paused_batches
    ):
        # Due now and not sent: the delivery stopped waiting for a relay that took none.
        raise _fail(_relay_gave_up(runtime, batch_id), 1)
    if counts.get(OutboxState.RETRY.value):
        out.print("letters waiting to be retried are sent by `fairwell worker`")
    if trouble:
        raise _fail(
            f"{trouble} letter(s) failed, held or quarantined; see `fairwell outbox status`", 1
        )
    if status.paused or batch_id in status.paused_batches:
        raise _fail("the batch is paused; `fairwell outbox resume` continues it", 1)


def _relay_gave_up(runtime: Runtime, batch_id: int) -> str:
    """Why the command stopped waiting with letters due, who sends them, and from when."""
    from datetime import UTC, datetime

    slots, settings = runtime.send_slots, runtime.settings
    why = slots.backoff_reason() or "it took none"
    resume = datetime.fromtimestamp(max(slots.backoff_until(), time.time()), UTC)
    return (
        f"the relay took no letter in {settings.relay_tries} tries "
        f"({_relay_trouble(settings, why)}); batch {batch_id} stays queued: `fairwell worker` "
        f"delivers the rest once the relay takes letters, trying from {resume:%H:%M:%S} UTC"
    )
