"""Commands for what Fairwell knows: applicants, jobs, reasons, competencies, scorecards."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    reports_errors,
    scorecard_app,
    templates_app,
)
from fairwell.domain.reasons import REASONS, SUPPORTED_LOCALES
from fairwell.runtime import Runtime, init_database

if TYPE_CHECKING:
    from fairwell.domain.duplicates import Merge


@app.command()
@reports_errors
def init() -> None:
    """Create or upgrade the database (Alembic migrations)."""
    from fairwell.config import load_settings

    settings = load_settings()
    init_database(settings)
    out.print(f"database ready: {settings.database_url}")


MERGES_PRINTED = 20


def _profile_help() -> str:
    from fairwell.services.vendors import vendor_names

    return (
        f"read an ATS's candidate export: {', '.join(vendor_names())}, "
        "or your own profile file (custom.toml); see docs/integrations/"
    )


@app.command("import")
@reports_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="a .csv, .xlsx or .json file of applicants")],
    strict: Annotated[
        bool,
        typer.Option("--strict", help="refuse the file when rows for one application disagree"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    profile: Annotated[
        str | None, typer.Option("--profile", help=_profile_help(), metavar="NAME|FILE.toml")
    ] = None,
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            help=f"the language ({' or '.join(SUPPORTED_LOCALES)}) of rows without one: an "
            "empty locale cell, or an export without a language; a row's own locale always "
            "wins (default: FAIRWELL_DEFAULT_LOCALE)",
            metavar="LANG",
        ),
    ] = None,
) -> None:
    """Import applicants (all rows or none). Unknown jobs are created.

    Who applied is what `source` says: `applied` (the person applied, whether or not someone
    also referred them), `referred` or `sourced` (someone else put them in). Referred and
    sourced people get the referral-closed letter, never one that thanks them for applying,
    whatever `applied_at` holds (ATS exports date every record); `referral_aware` only
    changes that letter's wording.

    Rows with the same address (case aside) and job are one application, merged by rule: a
    protected state wins (hired > offer > withdrawn), else the furthest stage (applied <
    screen < phone < onsite < offer; a rejected row loses to any live one); the earliest
    applied_at and the latest last_interview_at; an own application beside a referral means
    applied (the referrer is kept); the person's name and language come from the row of
    their furthest stage. Every merge is listed here and in `fairwell plan`.
    """
    from fairwell.errors import ImportFileError
    from fairwell.services.importing import import_file

    chosen = _locale_option(locale)
    runtime = _runtime()
    try:
        report = import_file(
            runtime.pipeline,
            file,
            actor=ACTOR,
            now=runtime.clock.now(),
            strict=strict,
            profile=profile,
            default_locale=chosen or runtime.settings.default_locale,
        )
    except ImportFileError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"{file}: {len(error.problems)} problem(s); nothing was imported", 1) from None
    if as_json:
        _print_json(report.as_json())
        return
    counts = report.counts
    out.print(
        f"imported {report.rows} application(s) from {file}: "
        f"{counts.applications_created} new, {counts.applications_updated} updated, "
        f"{counts.unchanged} unchanged; {counts.people_created} new people, "
        f"{counts.jobs_created} new jobs; {report.duplicates_merged} duplicate row(s) merged",
        markup=False,
        soft_wrap=True,
    )
    _print_merges(report.merges)
    _point_to_the_pool(runtime, counts.new_jobs)


def _locale_option(locale: str | None) -> str | None:
    """--locale checked as FAIRWELL_DEFAULT_LOCALE is, before anything is read."""
    if locale is None:
        return None
    from fairwell.config import letter_locale

    try:
        return letter_locale(locale)
    except ValueError as error:
        raise _fail(f"--locale: {error}", 2) from None


def _print_merges(merges: list[Merge]) -> None:
    """Each merge with its rows and what was decided; a long list is cut short."""
    for merge in merges[:MERGES_PRINTED]:
        out.print(
            f"merged {merge.email} ({merge.job}): {merge.describe()}", markup=False, soft_wrap=True
        )
    if len(merges) > MERGES_PRINTED:
        out.print(
            f"... and {len(merges) - MERGES_PRINTED} more merge(s): "
            "`fairwell import --json` or `fairwell plan --job TITLE` lists them all",
            markup=False,
        )


def _point_to_the_pool(runtime: Runtime, new_jobs: tuple[str, ...]) -> None:
    """A job has opened: say how many people on file asked to hear of one (never who)."""
    now = runtime.clock.now()
    for title in new_jobs:
        waiting = len(runtime.rediscovery.on_file(runtime.pipeline.job_by_title(title).id, now))
        if waiting:
            out.print(
                f"new job {title!r}: {waiting} person(s) on file agreed to hear of roles that "
                f"may fit them; `fairwell rediscover --job {title!r}` ranks them for you to review",
                markup=False,
            )


@app.command()
@reports_errors
def jobs(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List jobs with their applicants per stage."""
    summaries = _runtime().pipeline.jobs()
    if as_json:
        _print_json(
            [
                {
                    "id": s.job.id,
                    "title": s.job.title,
                    "applicants": s.total,
                    "stages": s.stages,
                    "closed_at": s.job.closed_at.isoformat() if s.job.closed_at else None,
                    "sender_name": s.job.sender_name,
                }
                for s in summaries
            ]
        )
        return
    table = Table("job", "applicants", "by stage", "closed")
    for s in summaries:
        stages = ", ".join(f"{stage} {count}" for stage, count in sorted(s.stages.items()))
        closed = f"{s.job.closed_at:%Y-%m-%d}" if s.job.closed_at else ""
        table.add_row(s.job.title, str(s.total), stages, closed)
    out.print(table)


@app.command()
@reports_errors
def applicants(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List a job's applicants with their stage, decision and letter."""
    pipeline = _runtime().pipeline
    views = pipeline.applicants(pipeline.job_by_title(job).id)
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


@templates_app.command("check")
@reports_errors
def templates_check() -> None:
    """Render every template in every locale in the sandbox; fail on any problem."""
    from fairwell.runtime import wording_check

    runtime = _runtime()
    runtime.templates.check(wording_check(runtime.settings, meaning=False))
    out.print("templates ok")


@app.command()
@reports_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo keeps its files")] = Path(
        "demo-run"
    ),
    serve: Annotated[
        bool, typer.Option("--serve", help="then serve the web app on the demo data")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="port for --serve")] = 8000,
) -> None:
    """Run the whole flow on synthetic data against the embedded sink, and verify it."""
    from fairwell.demo.flow import DemoPortal, run_demo, serve_demo

    # The letters link to the candidate portal of the served demo (same address, same key).
    portal = DemoPortal.on("127.0.0.1", port)
    if not run_demo(directory, out, portal):
        raise _fail("the demo's verification failed", 1)
    if serve:
        serve_demo(directory, out, "127.0.0.1", port, portal)


@app.command("import-scorecards")
@reports_errors
def import_scorecards(
    file: Annotated[Path, typer.Argument(help="a .csv or .json file of ratings")],
) -> None:
    """Import interview scorecards (all rows or none): one rating per row."""
    from fairwell.errors import ImportFileError
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


@scorecard_app.command("add")
@reports_errors
def scorecard_add(
    job: Annotated[str, typer.Option("--job", help="job title")],
    email: Annotated[str, typer.Option("--email", help="the candidate")],
    interviewer: Annotated[str, typer.Option("--interviewer", help="who rated")],
    competency: Annotated[str, typer.Option("--competency", help="a competency of the job")],
    rating: Annotated[str, typer.Option("--rating", help="1 to 4")],
    internal_note: Annotated[
        str, typer.Option("--internal-note", help="for the hiring team only; never sent")
    ] = "",
    note_for_candidate: Annotated[
        str, typer.Option("--note-for-candidate", help="one line the candidate may read")
    ] = "",
) -> None:
    """Record one rating, checked like a row of a scorecard file (a rating given again replaces
    the old one)."""
    from fairwell.errors import ImportFileError
    from fairwell.services.scorecard_file import scorecard_from_options

    runtime = _runtime()
    try:
        row = scorecard_from_options(
            {
                "email": email,
                "job": job,
                "interviewer": interviewer,
                "competency": competency,
                "rating": rating,
                "internal_note": internal_note,
                "note_for_candidate": note_for_candidate,
            }
        )
    except ImportFileError as error:
        raise _fail(str(error.problems[0]), 1) from None
    runtime.feedback_store.save_scorecards([row], ACTOR, runtime.clock.now())
    out.print(f"recorded: {competency} {row.rating}")
