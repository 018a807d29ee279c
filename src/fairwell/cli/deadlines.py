"""`fairwell deadlines`: interviewed applicants who must hear from us, and by when."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairwell.cli.base import _fail, _print_json, _runtime, app, out, reports_errors
from fairwell.domain.deadlines import NoticeRule
from fairwell.storage.notices import SqlNotices

if TYPE_CHECKING:
    from fairwell.services.deadlines import DeadlineReport


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


@app.command("deadlines")
@reports_errors
def deadlines_command(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="as on this date (ISO 8601), e.g. a future one")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="also those told already and those not due yet")
    ] = False,
) -> None:
    """Interviewed applicants not yet told whether a decision was made: alert and overdue.

    Off unless FAIRWELL_NOTICE_DEADLINE_DAYS is set (Ontario: 45). Exits 1 while anyone is
    overdue, so a scheduled job can mail its output.
    """
    from fairwell.services.deadlines import deadlines

    runtime = _runtime()
    settings = runtime.settings
    rule = (
        NoticeRule(settings.notice_deadline_days, settings.notice_alert_days)
        if settings.notice_deadline_days
        else None
    )
    report = deadlines(SqlNotices(runtime.store.engine), rule, _as_of(as_of), everyone=everyone)
    if as_json:
        _print_json(report.as_json())
    elif rule is None:
        out.print("notice deadlines are off (set FAIRWELL_NOTICE_DEADLINE_DAYS, e.g. 45)")
    else:
        _print_table(report)
    if report.counts().get("overdue"):
        raise typer.Exit(1)


def _print_table(report: DeadlineReport) -> None:
    table = Table(
        "application",
        "job",
        "email",
        "last interview",
        "day",
        "due",
        "state",
        title=f"notice deadlines as of {report.as_of:%Y-%m-%d}",
    )
    for item in report.items:
        record, found = item.record, item.notice
        table.add_row(
            str(record.application_id),
            record.job_title,
            record.email,
            f"{record.last_interview_at:%Y-%m-%d}",
            str(found.day),
            f"{found.due_at:%Y-%m-%d}",
            found.state.value,
        )
    out.print(table)
    out.print(", ".join(f"{state} {count}" for state, count in report.counts().items()))
