"""`fairwell retention run|renewals`: the retention policy carried out."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairwell.cli.base import _fail, _print_json, _runtime, app, out, reports_errors

if TYPE_CHECKING:
    from fairwell.services.consent_renewal import RenewalReport
    from fairwell.services.retention import RetentionReport

retention_app = typer.Typer(
    help="Retention: delete or anonymise what the policy no longer lets us keep.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--as-of: {text!r} is not an ISO 8601 date (YYYY-MM-DD)", 2) from None


@retention_app.command("run")
@reports_errors
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print what is due; change nothing")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="as on this date (YYYY-MM-DD); a future one needs --dry-run"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Anonymise or delete every application whose retention has ended; legal holds stay.

    A person goes once all their applications are due. Held ones are listed, not failed.
    """
    from fairwell.services.retention import run_retention

    runtime = _runtime()
    try:
        report = run_retention(runtime, _as_of(as_of), dry_run)
    finally:
        runtime.close()
    if as_json:
        _print_json(report.as_json())
    else:
        _print_table(report)


def _print_table(report: RetentionReport) -> None:
    verb = "due" if report.dry_run else "expired"
    table = Table(
        "application",
        "action",
        "kept until",
        "rule",
        "reason",
        "held",
        title=f"retention as of {report.as_of:%Y-%m-%d} ({verb})",
    )
    for item in report.due:
        held = report.held.get(item.person_id, "")
        table.add_row(
            str(item.application_id),
            item.action.value,
            f"{item.keep_until:%Y-%m-%d}",
            item.rule.value if item.rule else "",
            item.reason,
            held,
        )
    out.print(table)
    out.print(
        ", ".join(f"{name} {n}" for name, n in sorted(report.counts.items())) or "nothing due"
    )


@retention_app.command("dates")
@reports_errors
def dates_command(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Every application on file with its end date and the rule that sets it.

    Every application has one, whatever its state; exits 1 if any has none.
    """
    from collections import Counter

    from fairwell.services.retention import load_book, retention_schedule

    runtime = _runtime()
    try:
        book = load_book(runtime.settings.retention_policies)
        dated, undated = retention_schedule(runtime.retention, book)
    finally:
        runtime.close()
    by_rule = Counter(item.rule.name.lower() for item in dated if item.rule)
    if as_json:
        _print_json(
            {
                "applications": [
                    {
                        "application_id": item.application_id,
                        "rule": item.rule.name.lower() if item.rule else None,
                        "reason": item.reason,
                        "keep_until": item.keep_until.isoformat(),
                        "action": item.action.value,
                    }
                    for item in dated
                ],
                "by_rule": dict(sorted(by_rule.items())),
                "without_end_date": undated,
            }
        )
    else:
        table = Table("rule", "applications", "first end date", title="end dates by rule")
        for rule, count in sorted(by_rule.items()):
            first = min(i.keep_until for i in dated if i.rule and i.rule.name.lower() == rule)
            table.add_row(rule, str(count), f"{first:%Y-%m-%d}")
        out.print(table)
        out.print(f"{len(dated)} application(s) with an end date, {undated} without")
    if undated:
        raise typer.Exit(1)


@retention_app.command("renewals")
@reports_errors
def renewals_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list the consents that are due; queue nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Queue a renewal letter for each consent ending within FAIRWELL_CONSENT_RENEWAL_DAYS.

    Each consent is asked about once; the worker delivers the letters.
    """
    from fairwell.services.consent_renewal import renewals

    runtime = _runtime()
    try:
        report = renewals(runtime, runtime.clock.now(), dry_run=dry_run)
    finally:
        runtime.close()
    if as_json:
        _print_json(report.as_json())
    else:
        _print_renewals(report)


def _print_renewals(report: RenewalReport) -> None:
    verb = "due" if report.dry_run else "asked"
    table = Table(
        "consent",
        "application",
        "until",
        title=f"consents ending within {report.window_days} days ({verb})",
    )
    for item in report.due:
        table.add_row(str(item.consent_id), str(item.application_id), f"{item.until:%Y-%m-%d}")
    out.print(table)
    refused = f", {len(report.refused)} refused" if report.refused else ""
    out.print(f"{report.queued} renewal letter(s) queued{refused}")
