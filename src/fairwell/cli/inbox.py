"""Commands for mail that comes back: fetch the inbox, read what nobody matched, suppressions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fairwell.cli.base import ACTOR, _print_json, _runtime, app, err, out, reports_errors

inbox_app = typer.Typer(
    help="Replies and bounces: fetch them, read what nobody could match.", no_args_is_help=True
)
suppressions_app = typer.Typer(
    help="Addresses never written to again (bounced, refused, or added by hand).",
    invoke_without_command=True,
)
app.add_typer(inbox_app, name="inbox")
app.add_typer(suppressions_app, name="suppressions")


@inbox_app.command("fetch")
@reports_errors
def inbox_fetch(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Read the new messages once and exit (for cron or Celery beat): replies become feedback
    requests, bounces mark their letter and suppress the address, auto-replies are counted,
    the rest is kept for `fairwell inbox unmatched`. Exit 1 when the mailbox cannot be read
    or a message could not be handled (it stays new for the next fetch)."""
    from fairwell.services.inbox import InboxPolicy, fetch

    runtime = _runtime()
    policy = InboxPolicy(runtime.settings.request_due_business_days, actor=ACTOR)
    inbox = runtime.open_inbox()
    counts = fetch(inbox, runtime.inbox_store, policy, runtime.clock.now)
    if as_json:
        _print_json(counts.as_json())
    else:
        out.print(
            f"{counts.replies} replies ({counts.requests_created} new feedback requests), "
            f"{counts.bounces} bounces recorded, {counts.auto_replies} auto-replies ignored, "
            f"{counts.unmatched} unmatched (`fairwell inbox unmatched`)"
        )
        if counts.erased:
            out.print(f"{counts.erased} about erased people's letters: deleted unread")
    if counts.failed:
        err.print(f"fairwell: {counts.failed} message(s) could not be handled; left new")
        raise typer.Exit(1)


@inbox_app.command("unmatched")
@reports_errors
def inbox_unmatched(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 200,
) -> None:
    """Mail nobody could match to a letter, newest first. Nothing here is ever answered
    automatically: read it, and record a request by hand (`fairwell requests add`) if it is one."""
    from fairwell.services.inbox import unmatched

    records = unmatched(_runtime().inbox_store, limit)
    if as_json:
        _print_json(
            [
                {
                    "id": r.id,
                    "received_at": r.received_at.isoformat(),
                    "sender": r.sender,
                    "subject": r.subject,
                    "why": r.note,
                    "text": r.text,
                    "attachments_not_kept": r.attachments,
                }
                for r in records
            ]
        )
        return
    if not records:
        out.print("no unmatched mail")
        return
    for record in records:
        out.print(
            f"#{record.id} {record.received_at:%Y-%m-%d %H:%M} UTC "
            f"from {record.sender or '(no valid sender)'}: {record.subject or '(no subject)'}",
            markup=False,
        )
        out.print(f"  why unmatched: {record.note}", markup=False)
        if record.attachments:
            out.print(f"  {record.attachments} attachment(s), not kept", markup=False)
        for line in record.text.splitlines()[:20]:
            out.print(f"  | {line}", markup=False)


@suppressions_app.callback()
@reports_errors
def suppressions_list(
    context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every suppressed address, with the reason and since when."""
    if context.invoked_subcommand is not None:
        return
    from fairwell.services.suppressions import suppressions

    records = suppressions(_runtime().suppressions)
    if as_json:
        _print_json(
            [{"email": r.email, "reason": r.reason, "since": r.since.isoformat()} for r in records]
        )
        return
    if not records:
        out.print("no suppressed addresses")
        return
    table = Table("email", "reason", "since")
    for record in records:
        table.add_row(record.email, record.reason, f"{record.since:%Y-%m-%d %H:%M} UTC")
    out.print(table)


@suppressions_app.command("add")
@reports_errors
def suppressions_add(
    email: Annotated[str, typer.Argument(help="the address never to write to")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="why, for the plan and the list")
    ] = None,
) -> None:
    """Suppress an address: no letter goes to it; the plan shows why."""
    from fairwell.services.suppressions import suppress

    runtime = _runtime()
    added = suppress(runtime.suppressions, email, reason, actor=ACTOR, now=runtime.clock.now())
    out.print("suppressed" if added else "already suppressed; its reason stays")


@suppressions_app.command("remove")
@reports_errors
def suppressions_remove(
    email: Annotated[str, typer.Argument(help="the address to write to again")],
) -> None:
    """Write to the address again (letters held for it can be requeued)."""
    from fairwell.errors import NotFound
    from fairwell.services.suppressions import unsuppress

    runtime = _runtime()
    if not unsuppress(runtime.suppressions, email, actor=ACTOR, now=runtime.clock.now()):
        raise NotFound("that address is not suppressed")
    out.print("no longer suppressed")
