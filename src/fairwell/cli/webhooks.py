"""Commands for outgoing webhooks: subscribe a URL to events, deliver what is due, read the log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fairwell.cli.base import ACTOR, _fail, _print_json, _runtime, app, out, reports_errors

webhooks_app = typer.Typer(
    help="Tell other systems when letters go and feedback is asked for (docs/webhooks.md).",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
@reports_errors
def add(
    url: Annotated[str, typer.Option("--url", help="where to POST the events (https)")],
    events: Annotated[
        list[str],
        typer.Option(
            "--event",
            help="letter.sent, letter.bounced, feedback_request.created or "
            "feedback_request.answered (repeat for several)",
        ),
    ],
    secret_file: Annotated[
        Path,
        typer.Option(
            "--secret-file",
            help="a file holding the signing secret (24+ characters), e.g. made with "
            "`openssl rand -hex 32 > secret`; the secret is never printed",
        ),
    ],
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="allow a plain-http receiver on your network")
    ] = False,
) -> None:
    """Subscribe a URL to events; every delivery is signed with the secret."""
    from fairwell.services.webhooks_out import subscribe

    try:
        secret = secret_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise _fail(f"--secret-file: cannot read {secret_file}: {error.strerror}", 1) from None
    runtime = _runtime()
    subscription_id = subscribe(
        runtime.webhook_store,
        url,
        secret,
        events,
        actor=ACTOR,
        now=runtime.clock.now(),
        allow_http=allow_http,
    )
    out.print(f"subscription {subscription_id}: {', '.join(sorted(set(events)))}", markup=False)


@webhooks_app.command("list")
@reports_errors
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The subscriptions (their secrets are not shown)."""

    subscriptions = _runtime().webhook_store.subscriptions()
    rows = [
        {
            "id": sub.id,
            "url": sub.url,
            "events": list(sub.events),
            "active": sub.active,
            "created_by": sub.created_by,
            "created_at": sub.created_at.isoformat(),
        }
        for sub in subscriptions
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "url", "events", "active")
    for row in rows:
        table.add_row(str(row["id"]), str(row["url"]), ", ".join(row["events"]), str(row["active"]))  # type: ignore[arg-type]
    out.print(table)


@webhooks_app.command("remove")
@reports_errors
def remove(subscription_id: Annotated[int, typer.Argument(help="the subscription's id")]) -> None:
    """Stop a subscription; what it has not been sent yet is dropped."""

    runtime = _runtime()
    if not runtime.webhook_store.unsubscribe(subscription_id, ACTOR, runtime.clock.now()):
        raise _fail(f"no active subscription {subscription_id}", 1)
    out.print(f"subscription {subscription_id} stopped", markup=False)


@webhooks_app.command("deliver")
@reports_errors
def deliver(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Post every delivery that is due now (beat runs this)."""
    from fairwell.runtime import worker_name
    from fairwell.services.webhooks_out import deliver_due

    runtime = _runtime()
    poster = runtime.webhook_poster()
    try:
        report = deliver_due(runtime.webhook_store, poster, runtime.clock, worker_name())
    finally:
        poster.close()
    if as_json:
        _print_json(report.counts())
        return
    out.print(", ".join(f"{k} {v}" for k, v in report.counts().items()), markup=False)


@webhooks_app.command("log")
@reports_errors
def log_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    state: Annotated[
        str | None,
        typer.Option("--state", help="pending, sending, retry, delivered or failed"),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="newest first, at most this many")] = 50,
) -> None:
    """The delivery log: each event sent to each URL, its state, attempts and last answer."""
    from fairwell.ports.webhooks import DeliveryState

    try:
        wanted = DeliveryState(state) if state else None
    except ValueError:
        raise _fail(f"--state: {state!r} is not a delivery state", 2) from None
    rows = _runtime().webhook_store.deliveries(limit, wanted)
    listed = [
        {
            "id": row.id,
            "subscription": row.subscription_id,
            "event": row.event,
            "entity": row.entity_id,
            "state": row.state.value,
            "attempts": row.attempts,
            "last_status": row.last_status,
            "last_error": row.last_error,
            "next_attempt_at": row.next_attempt_at.isoformat(),
        }
        for row in rows
    ]
    if as_json:
        _print_json(listed)
        return
    table = Table("id", "event", "state", "attempts", "last answer")
    for item in listed:
        answer = item["last_error"] or (str(item["last_status"]) if item["last_status"] else "")
        table.add_row(
            str(item["id"]),
            f"{item['event']} {item['entity']}",
            str(item["state"]),
            str(item["attempts"]),
            str(answer),
        )
    out.print(table)
