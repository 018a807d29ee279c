"""Commands for feedback requests: list them with due dates, record one, answer one."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fairwell.cli.base import (
    ACTOR,
    AsUser,
    _print_json,
    _runtime,
    err,
    job_id_of,
    named_actor,
    out,
    reports_errors,
    requests_app,
)
from fairwell.cli.sending import deliver_batch
from fairwell.domain.users import Permission


@requests_app.callback()
@reports_errors
def requests_list(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Open requests, soonest due first; overdue ones and those due within a day are marked."""
    if context.invoked_subcommand is not None:
        return
    from fairwell.services.requests import open_requests

    runtime = _runtime()
    statuses = open_requests(runtime.request_store, runtime.clock.now())
    if as_json:
        _print_json(
            [
                {
                    "id": s.request.id,
                    "email": s.request.email,
                    "job": s.request.job_title,
                    "received_at": s.request.received_at.isoformat(),
                    "due_at": s.request.due_at.isoformat(),
                    "overdue": s.overdue,
                    "remind": s.remind,
                }
                for s in statuses
            ]
        )
        return
    table = Table("id", "email", "job", "due", "")
    for status in statuses:
        flag = "OVERDUE" if status.overdue else ("due soon" if status.remind else "")
        table.add_row(
            str(status.request.id),
            status.request.email,
            status.request.job_title,
            f"{status.request.due_at:%Y-%m-%d %H:%M} UTC",
            flag,
        )
    out.print(table if statuses else "no open feedback requests")


@requests_app.command("remind")
@reports_errors
def requests_remind(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Requests due within a working day, or overdue. Exit 1 when there are any, so a
    scheduled job (cron, Celery beat) can pass the reminder on; 0 when none."""
    from fairwell.services.requests import open_requests

    runtime = _runtime()
    due = [s for s in open_requests(runtime.request_store, runtime.clock.now()) if s.remind]
    if as_json:
        _print_json(
            [
                {
                    "id": s.request.id,
                    "job": s.request.job_title,
                    "due_at": s.request.due_at.isoformat(),
                    "overdue": s.overdue,
                }
                for s in due
            ]
        )
    for status in [] if as_json else due:
        state = "OVERDUE" if status.overdue else "due"
        out.print(
            f"request {status.request.id} ({status.request.job_title}): {state} "
            f"{status.request.due_at:%Y-%m-%d %H:%M} UTC"
        )
    raise typer.Exit(1 if due else 0)


@requests_app.command("add")
@reports_errors
def requests_add(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the candidate who asked")],
    question: Annotated[
        str | None, typer.Option("--question", help="what they asked, as they wrote it")
    ] = None,
) -> None:
    """Record a candidate's request for more feedback (e.g. a reply to their letter)."""
    from fairwell.services.requests import receive

    runtime = _runtime()
    request = receive(
        runtime.pipeline,
        runtime.request_store,
        job_id_of(runtime, job),
        email,
        question,
        business_days=runtime.settings.request_due_business_days,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    out.print(f"request {request.id} recorded; due {request.due_at:%Y-%m-%d %H:%M} UTC")


@requests_app.command("answer")
@reports_errors
def requests_answer(
    request_id: Annotated[int, typer.Argument(help="the request id")],
    text: Annotated[str, typer.Option("--text", help="the answer the candidate will read")],
    override: Annotated[
        str | None, typer.Option("--override", help="send flagged wording; say why (audited)")
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="queue only; a worker delivers (Celery: kicked now)"),
    ] = False,
    as_user: AsUser = None,
) -> None:
    """Answer a request: the answer goes out as a letter through the guarded outbox. Needs
    --as (a recruiter, an admin, or a hiring manager of the request's job)."""
    from fairwell.services.requests import answer

    runtime = _runtime()
    job_id = runtime.request_store.get(request_id).job_id
    actor = named_actor(runtime, as_user, Permission.ANSWER_REQUESTS, job_id)
    answered = answer(
        runtime.store,
        runtime.request_store,
        runtime.composer,
        runtime.wording_check,
        request_id,
        text.replace("\\n", "\n"),
        override=override,
        actor=actor,
        now=runtime.clock.now(),
        threads=runtime.inbox_store,
    )
    for finding in answered.findings:
        err.print(f"sent with an override: {finding.rule}: {finding.why}")
    out.print(f"request {request_id} answered; the letter is queued (batch {answered.batch_id})")
    if no_wait:
        from fairwell.worker.kick import start_delivery

        out.print(start_delivery(runtime.settings))
    else:
        deliver_batch(runtime, answered.batch_id)
