"""Commands for operators: the outbox, the worker, the embedded SMTP sink."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fairwell.cli.base import (
    ACTOR,
    _fail,
    _print_json,
    _runtime,
    app,
    err,
    out,
    outbox_app,
    reports_errors,
)
from fairwell.domain.model import OutboxState
from fairwell.runtime import Runtime, make_deliverer


@outbox_app.command("status")
@reports_errors
def outbox_status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    state: Annotated[str | None, typer.Option("--state", help="list letters in this state")] = None,
) -> None:
    """Counts per state; with --state, the letters in that state and why."""
    from fairwell.services import outbox

    store = _runtime().outbox  # the outbox's seam alone: it starts without the other stores
    status = outbox.status(store)
    rows = store.outbox_rows(OutboxState(state), None, 1000) if state else []
    if as_json:
        _print_json(
            {
                "paused": status.paused,
                "counts": status.counts,
                "possible_duplicates": status.possible_duplicates,
                "paused_batches": list(status.paused_batches),
                "letters": [dataclass_dict(row) for row in rows],
            }
        )
        return
    out.print(
        ("[bold red]PAUSED[/bold red] " if status.paused else "")
        + (", ".join(f"{k} {v}" for k, v in sorted(status.counts.items())) or "empty")
    )
    if status.paused_batches:
        out.print(f"paused batches: {', '.join(map(str, status.paused_batches))}")
    if rows:
        table = Table("id", "batch", "email", "attempts", "code", "rule", "why")
        for row in rows:
            table.add_row(
                str(row.id),
                str(row.batch_id),
                row.recipient,
                str(row.attempts),
                str(row.last_code or ""),
                row.held_rule or "",
                row.last_error or "",
            )
        out.print(table)


def dataclass_dict(row: Any) -> dict[str, Any]:
    import dataclasses

    return {
        k: (v.value if isinstance(v, OutboxState) else v)
        for k, v in dataclasses.asdict(row).items()
    }


@outbox_app.command("show")
@reports_errors
def outbox_show(letter_id: Annotated[int, typer.Argument(help="the outbox id")]) -> None:
    """Print one letter's stored bytes, exactly as they went or will go out."""
    body = _runtime().outbox.outbox_body(letter_id)
    sys.stdout.write(body.decode("ascii", errors="replace").replace("\r\n", "\n"))


@outbox_app.command("pause")
@reports_errors
def outbox_pause(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Stop all workers from starting new letters."""
    from fairwell.services import outbox

    runtime = _runtime()
    outbox.pause(runtime.store, actor=ACTOR, now=runtime.clock.now())
    _print_json({"paused": True}) if as_json else out.print("outbox paused")


@outbox_app.command("resume")
@reports_errors
def outbox_resume(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Let workers continue, including batches the guard paused."""
    from fairwell.services import outbox

    runtime = _runtime()
    outbox.resume(runtime.store, actor=ACTOR, now=runtime.clock.now())
    _print_json({"paused": False}) if as_json else out.print("outbox resumed")


@outbox_app.command("stop")
@reports_errors
def outbox_stop(
    batch: Annotated[int, typer.Option("--batch", help="the batch to stop")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Hold a batch's letters that have not gone yet; `outbox requeue` brings them back."""
    from fairwell.services import outbox

    runtime = _runtime()
    held = outbox.stop(runtime.store, batch, actor=ACTOR, now=runtime.clock.now())
    if as_json:
        _print_json({"batch_id": batch, "held": held})
    else:
        out.print(f"batch {batch} stopped: {held} letter(s) held, none of them sent")


@outbox_app.command("requeue")
@reports_errors
def outbox_requeue(
    letter_id: Annotated[list[int] | None, typer.Option("--id", help="only this letter")] = None,
    state: Annotated[
        list[str] | None, typer.Option("--state", help="held, quarantined or failed")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Put held, quarantined or failed letters back in the queue; the guard checks them again."""
    from fairwell.services import outbox

    runtime = _runtime()
    states = [OutboxState(s) for s in state] if state else list(outbox.REQUEUEABLE)
    count = outbox.requeue(
        runtime.store, states=states, ids=letter_id or [], actor=ACTOR, now=runtime.clock.now()
    )
    if as_json:
        _print_json({"requeued": count})
    else:
        out.print(f"requeued {count} letter(s)")


class Engine(StrEnum):
    EMBEDDED = "embedded"
    CELERY = "celery"


@app.command()
@reports_errors
def worker(
    engine: Annotated[
        Engine, typer.Option("--engine", help="embedded: poll the database; celery: a broker")
    ] = Engine.EMBEDDED,
    once: Annotated[bool, typer.Option("--once", help="deliver what is due, then exit")] = False,
    rate: Annotated[float | None, typer.Option("--rate", min=0.01, help="letters a second")] = None,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="idle poll seconds")] = 1.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="celery: worker processes (default 1)")
    ] = 1,
    loglevel: Annotated[str, typer.Option("--loglevel", help="celery: log level")] = "INFO",
) -> None:
    """Run a delivery worker until Ctrl-C: the embedded one, or a Celery worker.

    `--engine celery` consumes FAIRWELL_BROKER_URL's queue with `--concurrency` processes and
    runs delivery, deadlines, retention and consent renewals as `fairwell beat` asks.
    """
    if engine is Engine.CELERY:
        _celery_worker(once, rate, concurrency, loglevel)
        return
    import signal
    import threading

    from fairwell.worker.embedded import run_forever

    runtime = _runtime()
    stop = threading.Event()
    if once:
        from fairwell.worker.embedded import run_due

        stats = run_due(make_deliverer(runtime, rate))
        out.print(
            f"delivered what was due: sent {stats.sent}, retrying {stats.retried}, "
            f"failed {stats.failed}, held {stats.held}, "
            f"possible duplicates {stats.possible_duplicates}"
        )
        _report_other_claims(runtime)
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    err.print("worker running; Ctrl-C stops it after the current letter")
    stats = run_forever(make_deliverer(runtime, rate), stop, poll_seconds=poll)
    out.print(
        f"worker stopped: sent {stats.sent}, retried {stats.retried}, "
        f"failed {stats.failed}, held {stats.held}"
    )


def _report_other_claims(runtime: Runtime) -> None:
    """Letters still claimed by another worker, perhaps one that was killed: they come back
    when its lease ends, so the operator knows when to run again."""
    claimed = runtime.store.outbox_status().counts.get(OutboxState.SENDING.value, 0)
    if claimed:
        out.print(
            f"{claimed} letter(s) are claimed by another worker; if it stopped, they come back "
            f"within {runtime.settings.lease_seconds:g} s (its lease): run this again then"
        )


def _celery_worker(once: bool, rate: float | None, concurrency: int, loglevel: str) -> None:
    if once or rate is not None:
        raise _fail("--once and --rate apply to the embedded worker only", 2)
    from fairwell.config import load_settings

    # Settings only: the database is opened in each Celery process after it has forked.
    settings = load_settings()
    from fairwell.worker.celery_app import run_worker

    run_worker(settings, concurrency, loglevel)


@app.command()
@reports_errors
def beat(
    schedule_file: Annotated[
        Path, typer.Option("--schedule-file", help="where beat keeps its last run times")
    ] = Path("celerybeat-schedule"),
    loglevel: Annotated[str, typer.Option("--loglevel", help="log level")] = "INFO",
) -> None:
    """Run Celery beat: kicks delivery, the deadlines check, retention and consent renewals.

    Run exactly one per installation (two would only double the kicks, never the letters).
    """
    from fairwell.config import load_settings

    settings = load_settings()
    from fairwell.worker.celery_app import run_beat

    run_beat(settings, str(schedule_file), loglevel)


@app.command()
def mailsink(
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1")] = 2525,
    directory: Annotated[Path, typer.Option("--dir", help="where messages are stored")] = Path(
        "mailsink"
    ),
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
) -> None:
    """Run the embedded SMTP sink: every message is stored with its envelope as files."""
    from fairwell.delivery.sink import run_sink_forever

    run_sink_forever(
        host,
        port,
        directory,
        on_ready=lambda sink: err.print(
            f"mailsink listening on {host}:{sink.port}, storing in {directory}; Ctrl-C stops it"
        ),
    )


@app.command()
@reports_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="deliver letters in this process too")
    ] = True,
) -> None:
    """Serve the web app (and, by default, the embedded delivery worker)."""
    import threading

    import uvicorn

    from fairwell.web.app import create_app
    from fairwell.worker.embedded import run_forever

    runtime = _runtime()
    web = create_app(runtime.settings, runtime)
    stop = threading.Event()
    thread = None
    if worker:
        thread = threading.Thread(
            target=run_forever, args=(make_deliverer(runtime), stop), daemon=True
        )
        thread.start()
    err.print(f"serving on http://{host}:{port}" + (" with the delivery worker" if worker else ""))
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
