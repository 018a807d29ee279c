"""Commands for applicant tracking systems: pull a job, write decisions back, see the state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairwell.cli.base import ACTOR, _fail, _print_json, _runtime, app, err, out, reports_errors
from fairwell.cli.records import _point_to_the_pool

ats_app = typer.Typer(
    help="Pull applications from Greenhouse or Lever; write decisions back (docs/integrations/).",
    no_args_is_help=True,
)

if TYPE_CHECKING:
    from fairwell.ports.pipeline import ImportCounts

app.add_typer(ats_app, name="ats")

# Which option names the job for each vendor: Greenhouse has jobs, Lever has postings.
_JOB_OPTION = {"greenhouse": "--job-id", "lever": "--posting-id"}


@ats_app.command("pull")
@reports_errors
def pull(
    vendor: Annotated[str, typer.Argument(help="greenhouse or lever")],
    job_id: Annotated[str | None, typer.Option("--job-id", help="Greenhouse: the job's id")] = None,
    posting_id: Annotated[
        str | None, typer.Option("--posting-id", help="Lever: the posting's id")
    ] = None,
    as_job: Annotated[
        str | None,
        typer.Option("--as-job", help="the Fairwell job title (default: the ATS's job title)"),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="stage and source names: the vendor's shipped profile, or your own .toml",
            metavar="NAME|FILE.toml",
        ),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="start again from the first page")
    ] = False,
) -> None:
    """Import one job's applications (all checks of `import`; resumes where a pull stopped)."""
    from fairwell.errors import PulledPageError, PullStopped
    from fairwell.services.ats_pull import pull_job
    from fairwell.services.export_profiles import load_profile

    ats_job_id = _job_id(vendor, job_id, posting_id)
    runtime = _runtime()
    connector = runtime.ats_connector(vendor)
    shown = f"{vendor} {'posting' if vendor == 'lever' else 'job'} {ats_job_id}"
    try:
        report = pull_job(
            connector,
            runtime.ats_store,
            load_profile(profile or vendor),
            ats_job_id,
            as_job=as_job,
            restart=restart,
            actor=ACTOR,
            clock=runtime.clock,
            default_locale=runtime.settings.default_locale,
        )
    except PulledPageError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        page = error.pages + 1
        raise _fail(
            f"{shown}: {error.problem_count} problem(s) on page {page}; nothing from that page "
            f"on was imported ({error.pages} page(s) before it were)",
            1,
        ) from None
    except PullStopped as stopped:
        done = stopped.pages
        raise _fail(
            f"{stopped}; {done} page(s) imported; run the same command again to resume at "
            f"page {done + (stopped.resumed_at or 1)}",
            1,
        ) from None
    finally:
        connector.close()
    resumed = f" (resumed at page {report.resumed_at})" if report.resumed_at else ""
    out.print(
        f"imported {report.applications} application(s) from {shown} "
        f"({report.job_title!r}) in {report.pages} page(s){resumed}: "
        f"{_summary(report.counts)}; {report.duplicates_merged} duplicate row(s) merged",
        markup=False,
    )
    _point_to_the_pool(runtime, report.counts.new_jobs)


def _job_id(vendor: str, job_id: str | None, posting_id: str | None) -> str:
    wanted = _JOB_OPTION.get(vendor)
    if wanted is None:
        raise _fail(f"no connector for {vendor!r}; pull from greenhouse or lever", 2)
    given = job_id if wanted == "--job-id" else posting_id
    other = posting_id if wanted == "--job-id" else job_id
    if other is not None or not given:
        raise _fail(f"{vendor} needs {wanted} ID", 2)
    return given


def _summary(counts: ImportCounts) -> str:
    return (
        f"{counts.applications_created} new, {counts.applications_updated} updated, "
        f"{counts.unchanged} unchanged; {counts.people_created} new people, "
        f"{counts.jobs_created} new jobs"
    )


@ats_app.command("sync")
@reports_errors
def sync_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Write back the decisions whose letters went (beat runs this; safe to run any time)."""
    from fairwell.runtime import worker_name
    from fairwell.services.ats_sync import sync

    runtime = _runtime()
    report = sync(
        runtime.ats_store,
        runtime.ats_connector,
        runtime.reason_map,
        runtime.clock,
        worker_name(),
    )
    if as_json:
        _print_json({**report.counts(), "errors": sorted(set(report.errors))})
        return
    counts = report.counts()
    out.print(", ".join(f"{name} {value}" for name, value in counts.items()), markup=False)
    for error in sorted(set(report.errors)):
        err.print(error, markup=False, soft_wrap=True)


@ats_app.command("status")
@reports_errors
def status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    state: Annotated[
        str | None,
        typer.Option("--state", help="pending, sending, retry, done or failed"),
    ] = None,
) -> None:
    """List write-backs: vendor, application, state, attempts and the last error."""
    from fairwell.ports.ats import WriteBackState

    try:
        wanted = WriteBackState(state) if state else None
    except ValueError:
        raise _fail(
            f"--state: {state!r} is not one of pending, sending, retry, done, failed", 2
        ) from None
    rows = _runtime().ats_store.writebacks(wanted)
    listed = [
        {
            "vendor": row.vendor,
            "application": row.application_id,
            "state": row.state.value,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "ats_application": row.ats_application_id,
            "reason": row.reason_code,
        }
        for row in rows
    ]
    if as_json:
        _print_json(listed)
        return
    table = Table("vendor", "application", "ats application", "state", "attempts", "last error")
    for item in listed:
        table.add_row(
            str(item["vendor"]),
            str(item["application"]),
            str(item["ats_application"]),
            str(item["state"]),
            str(item["attempts"]),
            str(item["last_error"] or ""),
        )
    out.print(table)
