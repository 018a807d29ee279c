"""Commands for feedback: draft, review, approve, edit, downgrade, and the compliance lint."""

from __future__ import annotations

import sys
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
    feedback_app,
    out,
    reports_errors,
)
from fairwell.runtime import Runtime


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
    items = review_items(runtime.store, runtime.feedback_store, check, job)
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
