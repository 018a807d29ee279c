"""`fairwell job sender|close|reopen|auto-send|run-auto-send`: one job's own settings."""

from __future__ import annotations

from typing import Annotated

import typer

from fairwell.cli.base import ACTOR, AsUser, _print_json, _runtime, app, out, reports_errors

job_app = typer.Typer(
    help="One job's settings: who signs its letters; close or reopen its search; auto-send.",
    no_args_is_help=True,
)
app.add_typer(job_app, name="job")

JobOption = Annotated[str, typer.Option("--job", help="the job's title")]


@job_app.command("sender")
@reports_errors
def sender_command(
    job: JobOption,
    name: Annotated[
        str | None,
        typer.Option("--name", help='who signs the letters, e.g. "Dana Smith, Hiring Manager"'),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="sign with FAIRWELL_SENDER_NAME (or the organisation)")
    ] = False,
) -> None:
    """Set who signs this job's letters. Without --name or --clear, print who does now."""
    from fairwell.services.job_settings import set_sender

    runtime = _runtime()
    try:
        found = runtime.pipeline.job_by_title(job)
        if name is not None or clear:
            now = runtime.clock.now()
            found = set_sender(runtime.pipeline, found.id, None if clear else name, ACTOR, now)
        signer = runtime.composer.signer(found)
    finally:
        runtime.close()
    origin = "set on the job" if found.sender_name else "the installation's default"
    out.print(f"{found.title!r} letters are signed by {signer} ({origin})", markup=False)


@job_app.command("close")
@reports_errors
def close_command(job: JobOption) -> None:
    """Close the job's search. Applications no letter reached are kept from today for the
    policy's closed_days (docs/retention.md); nothing is sent."""
    _close(job, closed=True)


@job_app.command("reopen")
@reports_errors
def reopen_command(job: JobOption) -> None:
    """Reopen a closed job: its applications are still open again."""
    _close(job, closed=False)


def _close(title: str, *, closed: bool) -> None:
    from fairwell.services.job_settings import close_job

    runtime = _runtime()
    try:
        found = runtime.pipeline.job_by_title(title)
        close_job(runtime.pipeline, found.id, closed, ACTOR, runtime.clock.now())
    finally:
        runtime.close()
    out.print(f"{title!r} is {'closed' if closed else 'open again'}", markup=False)


@job_app.command("auto-send")
@reports_errors
def auto_send_command(
    job: JobOption,
    on: Annotated[
        bool | None,
        typer.Option(
            "--on/--off",
            help="let the worker send this job's letters without confirming each plan "
            "(--on), or wait for a person again (--off)",
        ),
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Turn the job's auto-send rule on or off; without --on/--off, say whether it is on.

    Off by default: decisions from an ATS or an import wait for a plan and its confirmation.
    With the rule on, the worker (`fairwell beat`, or `fairwell job run-auto-send`) plans and
    releases new letters in your name, keeping the send windows; a plan with anything blocked,
    held or waiting for feedback approval is left for a person.
    """
    from fairwell.services.auto_send import turn_auto_send

    runtime = _runtime()
    try:
        found = runtime.pipeline.job_by_title(job)
        if on is not None:
            now = runtime.clock.now()
            found = turn_auto_send(
                runtime.pipeline, runtime.users, runtime.job_managers, found.id, as_user, on, now
            )
    finally:
        runtime.close()
    state = f"on, in {found.auto_send_by}'s name" if found.auto_send_by else "off"
    out.print(f"auto-send for {found.title!r} is {state}", markup=False)


@job_app.command("run-auto-send")
@reports_errors
def run_auto_send_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Plan and release the letters of every job whose auto-send rule is on (what beat runs);
    a worker delivers them."""
    from datetime import timedelta

    from fairwell.services.auto_send import run_auto_send

    runtime = _runtime()
    try:
        titles = {job.id: job.title for job in runtime.pipeline.auto_send_jobs()}
        run = run_auto_send(
            runtime.store,
            runtime.composer,
            runtime.clock.now(),
            windows=runtime.composer.scheduler.mode,
            max_age=timedelta(minutes=runtime.settings.plan_max_age_minutes),
        )
    finally:
        runtime.close()
    if as_json:
        _print_json(run.as_json())
        return
    for job_id, batch_id in run.released.items():
        out.print(f"{titles[job_id]!r}: batch {batch_id} queued", markup=False)
    for job_id, why in run.waiting.items():
        out.print(f"{titles[job_id]!r}: waits for a person ({why})", markup=False)
    out.print(f"{run.queued} letters queued")
