"""The command line: every job a recruiter or operator runs (Typer + Rich).

Exit codes, relied on by scripts: 0 ok; 1 refused (bad input, unknown job, a plan that
changed, letters held or failed); 2 wrong usage; 3 configuration error. A failure prints one
line on standard error. Personal data goes to standard output only, never to logs.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from fairwell.config import load_settings
from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.model import FINAL_STATES, OutboxState
from fairwell.domain.reasons import REASONS
from fairwell.errors import ConfigurationError, FairwellError
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime

if TYPE_CHECKING:
    from fairwell.worker.pool import WorkerPool

app = typer.Typer(
    help="Fairwell: private, honest, timely letters to every applicant who is not hired.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
outbox_app = typer.Typer(help="Watch and steer the outbox.", no_args_is_help=True)
templates_app = typer.Typer(help="Check letter templates.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(templates_app, name="templates")
feedback_app = typer.Typer(
    help="Draft, review and approve candidate feedback.", no_args_is_help=True
)
competency_app = typer.Typer(help="What a job needs, and the bar.", no_args_is_help=True)
scorecard_app = typer.Typer(help="Interviewers' ratings.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
app.add_typer(competency_app, name="competency")
app.add_typer(scorecard_app, name="scorecard")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
# The audit log records who acted: the operating-system account that ran the command.
ACTOR = f"cli:{getpass.getuser()}"
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"fairwell: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


def reports_errors(command: F) -> F:
    """Turn our exceptions into a one-line message on stderr and a reliable exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigurationError as error:
            raise _fail(f"configuration error: {error}", 3) from None
        except OperationalError as error:
            hint = "; run `fairwell init` first" if "no such table" in str(error) else ""
            raise _fail(f"database error: {str(error.orig).splitlines()[0]}{hint}", 1) from None
        except FairwellError as error:
            raise _fail(
                str(error).splitlines()[0] if str(error) else type(error).__name__, 1
            ) from (None)

    return wrapper  # type: ignore[return-value]


def _runtime() -> Runtime:
    return open_runtime(load_settings())


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


@app.command()
@reports_errors
def init() -> None:
    """Create or upgrade the database (Alembic migrations)."""
    settings = load_settings()
    init_database(settings)
    out.print(f"database ready: {settings.database_url}")


@app.command("import")
@reports_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="a .csv or .json file of applicants")],
) -> None:
    """Import applicants (all rows or none). Unknown jobs are created."""
    from fairwell.services.applicant_file import ImportFileError
    from fairwell.services.importing import import_file

    runtime = _runtime()
    try:
        report = import_file(runtime.store, file, actor=ACTOR, now=runtime.clock.now())
    except ImportFileError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"{file}: {len(error.problems)} problem(s); nothing was imported", 1) from None
    counts = report.counts
    out.print(
        f"imported {report.rows} application(s) from {file}: "
        f"{counts.applications_created} new, {counts.applications_updated} updated, "
        f"{counts.unchanged} unchanged; {counts.people_created} new people, "
        f"{counts.jobs_created} new jobs; {report.duplicates_merged} duplicate row(s) merged"
    )


@app.command()
@reports_errors
def jobs(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List jobs with their applicants per stage."""
    summaries = _runtime().store.jobs()
    if as_json:
        _print_json(
            [
                {"id": s.job.id, "title": s.job.title, "applicants": s.total, "stages": s.stages}
                for s in summaries
            ]
        )
        return
    table = Table("job", "applicants", "by stage")
    for s in summaries:
        stages = ", ".join(f"{stage} {count}" for stage, count in sorted(s.stages.items()))
        table.add_row(s.job.title, str(s.total), stages)
    out.print(table)


@app.command()
@reports_errors
def applicants(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List a job's applicants with their stage, decision and letter."""
    runtime = _runtime()
    found = runtime.store.job_by_title(job)
    views = runtime.store.applicants(found.id)
    rows = [
        {
            "email": v.person.email,
            "first_name": v.person.first_name,
            "last_name": v.person.last_name,
            "stage": v.application.stage.value,
            "source": v.application.source.value,
            "locale": v.person.locale,
            "ref": v.application.ref,
            "decision": v.decision.reason_code if v.decision else None,
            "letter": v.letter_state.value if v.letter_state else None,
        }
        for v in views
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("email", "name", "stage", "source", "decision", "letter")
    for row in rows:
        table.add_row(
            str(row["email"]),
            f"{row['first_name']} {row['last_name']}",
            str(row["stage"]),
            str(row["source"]),
            str(row["decision"] or ""),
            str(row["letter"] or ""),
        )
    out.print(table)


@app.command()
def reasons(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the reason codes and what the candidate reads for each."""
    if as_json:
        _print_json([{"code": r.code, "summary": r.summary, "wording": r.wording} for r in REASONS])
        return
    table = Table("code", "summary", "candidate reads (en)")
    for reason in REASONS:
        table.add_row(reason.code, reason.summary, "… because " + reason.wording["en"] + ".")
    out.print(table)


def _selection(all_except_hired: bool, stage: str | None, emails: list[str]) -> Any:
    from fairwell.services.decisions import Selection, pick_stage

    return Selection(
        all_except_hired=all_except_hired,
        stage=pick_stage(stage) if stage else None,
        emails=tuple(emails),
    )


def _skipped_table(title: str, skipped: list[Any]) -> Table:
    table = Table("email", "name", "stage", "why", title=title)
    for item in skipped:
        table.add_row(
            item.view.person.email,
            item.view.person.full_name,
            item.view.application.stage.value,
            item.reason,
        )
    return table


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
) -> None:
    """Reject a selection of a job's applicants with a reason code.

    People who must not be rejected (hired, holding an offer, withdrawn, already decided or
    written to) are skipped and listed with the reason.
    """
    from fairwell.services.decisions import reject as reject_service

    runtime = _runtime()
    report = reject_service(
        runtime.store,
        job,
        _selection(all_except_hired, stage, email or []),
        reason,
        note=note,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    if report.skipped:
        out.print(_skipped_table("skipped", report.skipped))
    _draft_feedback_quietly(runtime, job)
    out.print(
        f"rejected {len(report.decided)}, skipped {len(report.skipped)}; "
        f"next: fairwell plan --job {json.dumps(job)}"
    )


def _draft_feedback_quietly(runtime: Runtime, job: str) -> None:
    """Rejecting drafts the feedback of interviewed candidates for the hiring manager."""
    from fairwell.runtime import wording_check
    from fairwell.services.feedback import draft_job_feedback, load_library

    report = draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        load_library(runtime.settings.feedback_library),
        wording_check(runtime.settings),
        job,
        actor=ACTOR,
        now=runtime.clock.now(),
        show_scores=runtime.settings.show_scores,
    )
    if report.drafted:
        out.print(
            f"feedback drafted for {report.drafted} interviewed candidate(s) "
            f"({report.flagged} flagged); approve with `fairwell feedback review/approve`"
        )


def _plan_json(plan: Any) -> dict[str, object]:
    return {
        "job": plan.job.title,
        "letters": dict(plan.letters),
        "ready": plan.ready,
        "with_feedback": plan.with_feedback,
        "skipped": [
            {
                "email": s.view.person.email,
                "stage": s.view.application.stage.value,
                "reason": s.reason,
            }
            for s in plan.skipped
        ],
        "skipped_counts": dict(plan.skipped_counts()),
        "blocked": [
            {
                "email": b.view.person.email,
                "kind": b.kind.value,
                "rules": [
                    {"rule": f.rule, "description": f.description, "detail": f.detail}
                    for f in b.findings
                ],
            }
            for b in plan.blocked
        ],
    }


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
    if plan.blocked:
        blocked = Table("email", "letter", "rule", "why", title="blocked by the privacy guard")
        for item in plan.blocked:
            for finding in item.findings:
                blocked.add_row(
                    item.view.person.email,
                    item.kind.value,
                    finding.rule,
                    f"{finding.description}: {finding.detail}",
                )
        out.print(blocked)


def _make_plan(runtime: Runtime, job: str) -> Any:
    from fairwell.services.planning import make_plan

    runtime.templates.check()
    return make_plan(runtime.store, runtime.composer, job, runtime.clock.now())


@app.command()
@reports_errors
def plan(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show the send plan: letters of each kind, who is skipped and why, what is blocked."""
    result = _make_plan(_runtime(), job)
    if as_json:
        _print_json(_plan_json(result))
    else:
        _print_plan(result)


@app.command()
@reports_errors
def preview(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the addressee")],
) -> None:
    """Print one letter exactly as it will go out (or as it went out, once queued)."""
    from fairwell.services.preview import preview_letter

    runtime = _runtime()
    runtime.templates.check()
    shown = preview_letter(runtime.store, runtime.composer, job, email, runtime.clock.now())
    sys.stdout.write(shown.body.decode("ascii", errors="replace").replace("\r\n", "\n"))
    if not shown.queued:
        err.print("(not queued yet: its Message-ID and Date are set when it is queued)")


def _confirm_count(ready: int, threshold: int) -> None:
    if ready <= threshold:
        if not typer.confirm(f"Send {ready} letter(s)?", default=False):
            raise _fail("not sent: not confirmed", 1)
        return
    typed = typer.prompt(f"Type the number of letters to send ({ready}) to confirm")
    if typed.strip() != str(ready):
        raise _fail(f"not sent: you typed {typed.strip()!r}, the plan has {ready}", 1)


def _send_canary(runtime: Runtime, job: str, canary: str, assume_yes: bool) -> None:
    from fairwell.services.preview import send_canary

    send_canary(
        runtime.store,
        runtime.composer,
        SmtpTransport.from_settings(runtime.settings),
        job,
        canary,
        runtime.clock.now(),
    )
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
        bool, typer.Option("--no-wait", help="queue only; `fairwell worker` delivers")
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes", min=1, help="worker processes (default: every core for big batches)"
        ),
    ] = None,
) -> None:
    """Queue the plan's letters and deliver them, with a progress bar."""
    from fairwell.worker.pool import WORTH_IT, WorkerPool, default_processes

    runtime = _runtime()
    current = _make_plan(runtime, job)
    _print_plan(current)
    if current.ready == 0:
        raise _fail("nothing to send: the plan has no ready letters", 1)
    if canary:
        _send_canary(runtime, job, canary, yes)
    if not yes:
        _confirm_count(current.ready, runtime.settings.confirm_threshold)
    if processes is None:
        processes = default_processes() if current.ready >= WORTH_IT else 1
    if processes == 1:
        _queue_and_deliver(runtime, job, current.ready, rate, no_wait, None)
        return
    with WorkerPool(runtime.settings, processes) as pool:
        _queue_and_deliver(runtime, job, current.ready, rate, no_wait, pool)


def _queue_and_deliver(
    runtime: Runtime,
    job: str,
    expected: int,
    rate: float | None,
    no_wait: bool,
    pool: WorkerPool | None,
) -> None:
    from fairwell.services.planning import queue_plan

    now = runtime.clock.now()
    batch = queue_plan(
        runtime.store,
        runtime.composer,
        job,
        actor=ACTOR,
        now=now,
        expected=expected,
        rate_per_second=int(rate) if rate else None,
        composing=pool.composing(now) if pool else None,
    )
    out.print(f"batch {batch.batch_id}: {batch.queued} letter(s) queued")
    if not no_wait:
        _deliver_with_progress(runtime, batch.batch_id, batch.queued, rate, pool)


def _deliver_with_progress(
    runtime: Runtime, batch_id: int, total: int, rate: float | None, pool: WorkerPool | None
) -> None:
    from fairwell.worker.embedded import run_batch

    columns = (TextColumn("delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("deliver", total=total)

        def show_done() -> None:
            counts = runtime.store.outbox_status(batch_id).counts
            done = sum(counts.get(s.value, 0) for s in FINAL_STATES)
            progress.update(task, completed=done)

        if pool is None:
            run_batch(make_deliverer(runtime, rate), batch_id, on_round=lambda _: show_done())
        else:
            pool.deliver(batch_id, rate, on_progress=show_done)
        show_done()
    _finish_report(runtime, batch_id)


def _finish_report(runtime: Runtime, batch_id: int) -> None:
    status = runtime.store.outbox_status(batch_id)
    counts = status.counts
    out.print(", ".join(f"{state} {count}" for state, count in sorted(counts.items())))
    if status.possible_duplicates:
        out.print(
            f"possible duplicates after lost connections or crashes: {status.possible_duplicates}"
        )
    trouble = sum(
        counts.get(s.value, 0)
        for s in (OutboxState.FAILED, OutboxState.HELD, OutboxState.QUARANTINED)
    )
    if counts.get(OutboxState.RETRY.value):
        out.print("letters waiting to be retried are sent by `fairwell worker`")
    if trouble:
        raise _fail(
            f"{trouble} letter(s) failed, held or quarantined; see `fairwell outbox status`", 1
        )
    if status.paused or batch_id in status.paused_batches:
        raise _fail("the batch is paused; `fairwell outbox resume` continues it", 1)


@outbox_app.command("status")
@reports_errors
def outbox_status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    state: Annotated[str | None, typer.Option("--state", help="list letters in this state")] = None,
) -> None:
    """Counts per state; with --state, the letters in that state and why."""
    from fairwell.services import outbox

    store = _runtime().store
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
    body = _runtime().store.outbox_body(letter_id)
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


@app.command()
@reports_errors
def worker(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due, then exit")] = False,
    rate: Annotated[float | None, typer.Option("--rate", min=0.01, help="letters a second")] = None,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="idle poll seconds")] = 1.0,
) -> None:
    """Run the embedded delivery worker (polls the database) until Ctrl-C."""
    import signal
    import threading

    from fairwell.worker.embedded import run_forever

    runtime = _runtime()
    stop = threading.Event()
    if once:
        stats = make_deliverer(runtime, rate).run_once()
        out.print(
            f"sent {stats.sent}, retrying {stats.retried}, failed {stats.failed}, held {stats.held}"
        )
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    err.print("worker running; Ctrl-C stops it after the current letter")
    stats = run_forever(make_deliverer(runtime, rate), stop, poll_seconds=poll)
    out.print(
        f"worker stopped: sent {stats.sent}, retried {stats.retried}, "
        f"failed {stats.failed}, held {stats.held}"
    )


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


@templates_app.command("check")
@reports_errors
def templates_check() -> None:
    """Render every template in every locale in the sandbox; fail on any problem."""
    _runtime().templates.check()
    out.print("templates ok")


@app.command()
@reports_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo keeps its files")] = Path(
        "demo-run"
    ),
) -> None:
    """Run the whole flow on synthetic data against the embedded sink, and verify it."""
    from fairwell.demo import run_demo

    if not run_demo(directory, out):
        raise _fail("the demo's verification failed", 1)


@competency_app.command("add")
@reports_errors
def competency_add(
    job: Annotated[str, typer.Option("--job", help="job title")],
    name: Annotated[str, typer.Option("--name", help="e.g. SQL, Product sense")],
    bar: Annotated[int, typer.Option("--bar", help="the rating (1-4) the role needs")],
) -> None:
    """Add a competency to a job, or change its bar."""
    runtime = _runtime()
    found = runtime.store.job_by_title(job)
    runtime.feedback_store.add_competency(found.id, name.strip(), bar, ACTOR, runtime.clock.now())
    out.print(f"{job}: {name.strip()} (bar {bar})")


@competency_app.command("list")
@reports_errors
def competency_list(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The job's competencies and their bars."""
    runtime = _runtime()
    found = runtime.feedback_store.competencies(runtime.store.job_by_title(job).id)
    if as_json:
        _print_json([{"name": c.name, "bar": c.bar} for c in found])
        return
    table = Table("competency", "bar")
    for competency in found:
        table.add_row(competency.name, str(competency.bar))
    out.print(table)


@app.command("import-scorecards")
@reports_errors
def import_scorecards(
    file: Annotated[Path, typer.Argument(help="a .csv or .json file of ratings")],
) -> None:
    """Import interview scorecards (all rows or none): one rating per row."""
    from fairwell.services.applicant_file import ImportFileError
    from fairwell.services.scorecard_file import parse_scorecard_file

    runtime = _runtime()
    try:
        parsed = parse_scorecard_file(file)
    except ImportFileError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"{file}: {len(error.problems)} problem(s); nothing was imported", 1) from None
    saved = runtime.feedback_store.save_scorecards(parsed.rows, ACTOR, runtime.clock.now())
    out.print(f"imported {saved} rating(s) from {file}; {parsed.duplicates_merged} duplicate(s)")


def _feedback_runtime() -> tuple[Runtime, Any, Any]:
    from fairwell.runtime import wording_check
    from fairwell.services.feedback import load_library

    runtime = _runtime()
    return runtime, load_library(runtime.settings.feedback_library), wording_check(runtime.settings)


@feedback_app.command("draft")
@reports_errors
def feedback_draft(job: Annotated[str, typer.Option("--job", help="job title")]) -> None:
    """Draft feedback from scorecards for every rejected, interviewed applicant of the job."""
    from fairwell.services.feedback import draft_job_feedback

    runtime, library, check = _feedback_runtime()
    report = draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        library,
        check,
        job,
        actor=ACTOR,
        now=runtime.clock.now(),
        show_scores=runtime.settings.show_scores,
    )
    out.print(
        f"drafted {report.drafted} (flagged by the wording check: {report.flagged}); "
        f"{report.plain} plain letter(s) without scorecards"
    )
    for competency, count in sorted(report.missing_advice.items()):
        out.print(f"the improvement library has no words for {competency!r} ({count} draft(s))")


@feedback_app.command("review")
@reports_errors
def feedback_review(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the job's feedback with its state and what the wording check found."""
    from fairwell.services.feedback import review_items

    runtime, _, check = _feedback_runtime()
    items = review_items(runtime.store, check, job)
    rows = [_review_row(item) for item in items]
    if as_json:
        _print_json(rows)
        return
    table = Table("email", "state", "feedback", "wording check")
    for row in rows:
        found = "; ".join(f"{f['rule']}: {f['why']}" for f in row["findings"]) or "ok"
        table.add_row(row["email"], row["state"], row["text"], found)
    out.print(table)


def _review_row(item: Any) -> dict[str, Any]:
    record = item.view.feedback
    return {
        "email": item.view.person.email,
        "state": record.state.value,
        "text": record.text,
        "next_steps": record.next_steps,
        "findings": [
            {"rule": f.rule, "span": list(f.span), "why": f.why, "suggestion": f.suggestion}
            for f in item.findings
        ],
    }


@feedback_app.command("approve")
@reports_errors
def feedback_approve(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[list[str] | None, typer.Option("--email", help="only this person")] = None,
    override: Annotated[
        str | None,
        typer.Option("--override", help="approve flagged wording; say why (it is audited)"),
    ] = None,
) -> None:
    """Approve drafts: all of the job's, or these people's."""
    from fairwell.services.feedback import approve

    runtime, _, check = _feedback_runtime()
    report = approve(
        runtime.store,
        runtime.feedback_store,
        check,
        job,
        emails=email or [],
        override=override,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    out.print(f"approved {report.approved}")
    if report.need_override:
        for item in report.need_override:
            rules = ", ".join(sorted({f.rule for f in item.findings}))
            err.print(f"{item.view.person.email}: flagged ({rules}); edit it or --override")
        raise _fail(f"{len(report.need_override)} draft(s) flagged by the wording check", 1)


@feedback_app.command("edit")
@reports_errors
def feedback_edit(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the candidate")],
    text: Annotated[str, typer.Option("--text", help="the new feedback; one point a line")],
) -> None:
    """Rewrite one candidate's feedback; it must be approved again."""
    from fairwell.services.feedback import edit

    runtime, _, check = _feedback_runtime()
    findings = edit(
        runtime.store,
        runtime.feedback_store,
        check,
        job,
        email,
        text.replace("\\n", "\n"),
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    for finding in findings:
        err.print(f"{finding.rule}: {finding.why} Try: {finding.suggestion}")
    out.print("saved as a draft" + (" (flagged)" if findings else ""))


@feedback_app.command("downgrade")
@reports_errors
def feedback_downgrade(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the candidate")],
) -> None:
    """Send this candidate a plain letter, without the feedback."""
    from fairwell.services.feedback import downgrade

    runtime, _, check = _feedback_runtime()
    downgrade(
        runtime.store,
        runtime.feedback_store,
        check,
        job,
        email,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    out.print("downgraded to a plain letter")


@app.command()
def lint(
    file: Annotated[
        Path | None, typer.Argument(help="one text per line; standard input without it")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or de")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    terms: Annotated[
        Path | None, typer.Option("--terms", help="extra wording to flag (TOML)")
    ] = None,
) -> None:
    """Check candidate-facing text for wording that touches protected characteristics.

    Exit code 0 when no line has a finding, 1 when any does, 2 when the input or the terms
    cannot be read.
    """
    from fairwell.domain.compliance import lint_exit_code, lint_lines

    try:
        text = file.read_text(encoding="utf-8") if file else sys.stdin.read()
        results = lint_lines(text.splitlines(), lang, terms)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        where = str(file) if file else "standard input"
        raise _fail(f"{where}: {error}".splitlines()[0], 2) from None
    if as_json:
        _print_json(results)
    else:
        for result in results:
            for finding in result["findings"]:
                start, end = finding["span"]
                out.print(
                    f"line {result['line']} [{start}:{end}] {finding['rule']}: "
                    f"{finding['why']} Try: {finding['suggestion']}",
                    markup=False,
                )
    raise typer.Exit(lint_exit_code(results))


def main() -> None:
    app()
