"""`fairwell deadlines`: interviewed applicants who must hear from us, and by when.

`fairwell deadlines notify` queues a status letter for those on the list not decided yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairwell.cli.base import ACTOR, _fail, _print_json, _runtime, app, out, reports_errors

if TYPE_CHECKING:
    from fairwell.runtime import Runtime
    from fairwell.services.deadlines import DeadlineReport, NoticeRules
    from fairwell.services.status_letters import StatusPlan

deadlines_app = typer.Typer(
    help="Notice deadlines: who must hear from us, and status letters.",
    invoke_without_command=True,
)
app.add_typer(deadlines_app, name="deadlines")


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--as-of: {text!r} is not an ISO 8601 date", 2) from None
    if parsed.tzinfo is None:
        # A bare date means the end of that day: what is overdue by then.
        parsed = datetime.combine(parsed.date(), time(23, 59, 59), tzinfo=UTC)
    return parsed.astimezone(UTC)


def _rules(runtime: Runtime) -> NoticeRules:
    from fairwell.services.deadlines import notice_rules

    return notice_rules(runtime.settings)


NO_RULES = (
    "no jurisdiction in the rules has a notice deadline (notice_days, docs/retention.md); "
    "status promises are still tracked"
)


@deadlines_app.callback()
@reports_errors
def deadlines_command(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="as on this date (ISO 8601), e.g. a future one")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="also those told already and those not due yet")
    ] = False,
) -> None:
    """Interviewed applicants not yet told whether a decision was made (alert and overdue),
    and status letters whose promised day passed without a decision.

    The deadline is where each candidate is: notice_days of their country and region in the
    jurisdiction rules (Ontario, CA-ON: 45; docs/retention.md). Exits 1 while anyone is
    overdue or a promise is broken, so a scheduled job can mail its output.
    """
    if context.invoked_subcommand is not None:
        return
    from fairwell.services.deadlines import deadlines

    runtime = _runtime()
    rules = _rules(runtime)
    report = deadlines(runtime.notices, rules, _as_of(as_of), everyone=everyone)
    if as_json:
        _print_json(report.as_json())
    else:
        if not rules.in_force():
            out.print(NO_RULES)
        _print_table(report)
    if report.failing:
        raise typer.Exit(1)


def _print_table(report: DeadlineReport) -> None:
    table = Table(
        "application",
        "job",
        "email",
        "where",
        "last interview",
        "day",
        "due",
        "state",
        "decision promised by",
        title=f"notice deadlines and status promises as of {report.as_of:%Y-%m-%d}",
    )
    for item in report.items:
        record, found, made = item.record, item.notice, item.promise
        promised = f"{made.by:%Y-%m-%d} ({made.state.value})" if made else ""
        table.add_row(
            str(record.application_id),
            record.job_title,
            record.email,
            item.jurisdiction or "",
            f"{record.last_interview_at:%Y-%m-%d}",
            str(found.day) if found else "",
            f"{found.due_at:%Y-%m-%d}" if found else "no notice rule",
            found.state.value if found else "",
            promised.upper() if made and made.broken else promised,
        )
    out.print(table)
    out.print(", ".join(f"{state} {count}" for state, count in report.counts().items()))


@deadlines_app.command("notify")
@reports_errors
def deadlines_notify(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="whose deadline counts as on this date")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="queue without asking")] = False,
    promise_days: Annotated[
        int, typer.Option("--promise-days", min=1, max=365, help="we will decide within")
    ] = 30,
) -> None:
    """Queue a status letter ("no decision yet; we will tell you by ...") for everyone on the
    list (alert or overdue) not decided yet. Sent within their send window, never after the
    deadline; held at send time if a decision was made meanwhile. The worker delivers them."""
    from fairwell.services.status_letters import plan_status_letters, queue_status_letters

    runtime = _runtime()
    rules = _rules(runtime)
    if not rules.in_force():
        raise _fail(NO_RULES, 1)
    notices = runtime.notices
    plan = plan_status_letters(runtime.store, notices, notices, rules, _as_of(as_of))
    _print_plan(plan)
    count = len(plan.ready)
    if count == 0:
        return
    if not yes and not typer.confirm(f"queue {count} status letters?"):
        raise _fail("nothing queued", 1)
    now = runtime.clock.now()
    done = queue_status_letters(
        runtime.store,
        runtime.composer,
        plan,
        expected=count,
        actor=ACTOR,
        now=now,
        promise_days=promise_days,
    )
    out.print(f"queued {done.queued} status letters ({done.later} wait for their send window)")
    for application_id, rule_name in done.blocked:
        out.print(f"blocked by the privacy guard: application {application_id} ({rule_name})")
    if done.blocked:
        raise typer.Exit(1)


def _print_plan(plan: StatusPlan) -> None:
    for candidate in plan.skipped:
        record = candidate.item.record
        out.print(f"skipped application {record.application_id}: {candidate.skip}")
    out.print(f"{len(plan.ready)} status letters to queue, {len(plan.skipped)} skipped")
