"""Commands for a job's competencies and the hiring team's wording for them.

The wording is what feedback says: per competency and language, how a gap is named, one next
step and how a strength is named (services/wording.py). Saving wording drafts again the
feedback that waited for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fairwell.cli.base import (
    ACTOR,
    _fail,
    _print_json,
    _runtime,
    competency_app,
    err,
    job_id_of,
    out,
    reports_errors,
)
from fairwell.runtime import Runtime


@competency_app.command("add")
@reports_errors
def competency_add(
    job: Annotated[str, typer.Option("--job", help="job title")],
    name: Annotated[str, typer.Option("--name", help="e.g. SQL, Product sense")],
    bar: Annotated[int, typer.Option("--bar", help="the rating (1-4) the role needs")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="competency (rated in interviews; the default) or requirement (checked by "
            "a screener)",
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="en or de: the language of the wording")
    ] = None,
    gap: Annotated[
        str | None, typer.Option("--gap", help="how a gap is named to the candidate")
    ] = None,
    next_step: Annotated[
        str | None, typer.Option("--next-step", help="one concrete next step for a gap")
    ] = None,
    strength: Annotated[
        str | None, typer.Option("--strength", help="how a strength is named")
    ] = None,
) -> None:
    """Add a competency to a job or change its bar; with --lang, write its wording in that
    language (repeat with another --lang for each language). A part not given keeps what was
    written before."""
    from fairwell.errors import ImportFileError
    from fairwell.services.wording import one_row

    given = {"gap": gap, "next_step": next_step, "strength": strength}
    if lang is None and any(value is not None for value in given.values()):
        raise _fail("--gap, --next-step and --strength need --lang en|de", 2)
    runtime = _runtime()
    values = {"job": job, "competency": name, "bar": str(bar), "kind": kind, "lang": lang}
    try:
        row = one_row({**values, **given})
    except ImportFileError as error:
        raise _fail(_said(error.problems[0]), 1) from None
    _save(runtime, [row])
    out.print(f"{job}: {row.name} (bar {row.bar}{', ' + row.kind.value if row.kind else ''})")
    if row.locale is None:
        _suggest(runtime, job, row.name)


def _said(problem: Any) -> str:
    """A problem with a command-line value, named by its option rather than a file's row."""
    option = {"competency": "name"}.get(problem.field, problem.field or "")
    return f"--{option.replace('_', '-')}: {problem.message}" if option else problem.message


@competency_app.command("import")
@reports_errors
def competency_import(
    file: Annotated[Path, typer.Argument(help="a rubric file: .toml or .csv")],
) -> None:
    """Import competencies and their wording for many jobs at once (all rows or none).

    CSV columns: job, competency, bar, and optionally kind, lang, gap, next_step, strength
    (one row per competency and language). TOML: [[competency]] tables with job, name, bar,
    kind, and [competency.en] / [competency.de] tables with gap, next_step, strength.
    """
    from fairwell.errors import ImportFileError
    from fairwell.services.wording import parse_rubric_file

    runtime = _runtime()
    try:
        rows = parse_rubric_file(file)
    except ImportFileError as error:
        for problem in error.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        raise _fail(f"{file}: {len(error.problems)} problem(s); nothing was imported", 1) from None
    report = _save(runtime, rows)
    out.print(
        f"imported {report.competencies} competency row(s), {report.wordings} with wording, "
        f"for {len(report.jobs)} job(s) from {file}"
    )


def _save(runtime: Runtime, rows: list[Any]) -> Any:
    """Save the rows, show what the wording check finds, and draft again what waited."""
    from fairwell.services.feedback import draft_job_feedback
    from fairwell.services.wording import save_rows

    check = runtime.wording_check
    now = runtime.clock.now()
    report = save_rows(runtime.pipeline, runtime.feedback_store, check, rows, actor=ACTOR, now=now)
    for row, finding in report.findings:
        err.print(
            f"{row.job} / {row.name} [{row.locale}] {finding.rule}: {finding.why} "
            f"Try: {finding.suggestion}",
            markup=False,
            soft_wrap=True,
        )
    if any(row.wording for row in rows):
        for title, job_id in sorted(report.jobs.items()):
            drafted = draft_job_feedback(
                runtime.pipeline,
                runtime.feedback_store,
                check,
                job_id,
                actor=ACTOR,
                now=now,
                show_scores=runtime.settings.show_scores,
            )
            if drafted.redrafted:
                out.print(
                    f"{title}: {drafted.redrafted} draft(s) that waited for wording drafted "
                    f"again; {drafted.held_for_wording} still need wording"
                )
    return report


def _suggest(runtime: Runtime, job: str, name: str) -> None:
    """Show the built-in library's words for this name: a suggestion, never used by itself."""
    from fairwell.services.feedback import load_library
    from fairwell.services.wording import suggestions

    found = suggestions(load_library(runtime.settings.feedback_library), name)
    for lang, wording in sorted(found.items()):
        out.print(
            f"suggested {lang} wording from the library (not used until you write it): "
            f"fairwell competency add --job {json.dumps(job)} --name {json.dumps(name)} "
            f"--bar N --lang {lang} --gap {json.dumps(wording.gap, ensure_ascii=False)} "
            f"--next-step {json.dumps(wording.next_step, ensure_ascii=False)} "
            f"--strength {json.dumps(wording.strength, ensure_ascii=False)}",
            markup=False,
            soft_wrap=True,
        )


@competency_app.command("list")
@reports_errors
def competency_list(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The job's competencies, their bars and kinds, and which languages have wording."""
    from fairwell.services.feedback import load_library
    from fairwell.services.wording import job_wording

    runtime = _runtime()
    library = load_library(runtime.settings.feedback_library)
    found = job_wording(runtime.feedback_store, library, job_id_of(runtime, job))
    if as_json:
        _print_json([_status_json(status) for status in found])
        return
    table = Table("competency", "bar", "kind", "wording", "needs wording in")
    for status in found:
        written = ", ".join(sorted(status.wording)) or "none"
        table.add_row(
            status.name,
            str(status.bar),
            status.kind.value,
            written,
            ", ".join(status.missing()) or "-",
        )
    out.print(table)


def _status_json(status: Any) -> dict[str, Any]:
    return {
        "name": status.name,
        "bar": status.bar,
        "kind": status.kind.value,
        "wording": {
            lang: {"gap": w.gap, "next_step": w.next_step, "strength": w.strength}
            for lang, w in sorted(status.wording.items())
        },
        "needs_wording_in": status.missing(),
        "suggested": sorted(status.suggested),
    }
