"""`fairwell job sender|close|reopen`: one job's own settings."""

from __future__ import annotations

from typing import Annotated

import typer

from fairwell.cli.base import ACTOR, _runtime, app, out, reports_errors

job_app = typer.Typer(
    help="One job's settings: who signs its letters; close or reopen its search.",
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
