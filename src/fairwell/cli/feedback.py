"""Commands for feedback: draft, review, approve, edit, downgrade, and the compliance lint."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from fairwell.cli.base import (
    ACTOR,
    AsUser,
    _fail,
    _print_json,
    _runtime,
    app,
    err,
    feedback_app,
    job_id_of,
    named_actor,
    out,
    reports_errors,
)
from fairwell.domain.users import Permission
from fairwell.errors import ConfigurationError

if TYPE_CHECKING:
    from fairwell.ports.feedback import WordingCheck
    from fairwell.runtime import Runtime


def _feedback_runtime(job: str) -> tuple[Runtime, WordingCheck, int]:
    """The runtime, its wording check, and the id of the job the command names."""
    runtime = _runtime()
    return runtime, runtime.wording_check, job_id_of(runtime, job)


def _reviewer(runtime: Runtime, username: str | None, job_id: int) -> str:
    """The named user, if they may review this job's feedback (as in the web app)."""
    return named_actor(runtime, username, Permission.REVIEW_FEEDBACK, job_id)


@feedback_app.command("draft")
@reports_errors
def feedback_draft(job: Annotated[str, typer.Option("--job", help="job title")]) -> None:
    """Draft feedback from scorecards for every rejected applicant of the job with scorecards,
    in the job's own wording; drafts held for wording the job now has are drafted again."""
    from fairwell.services.feedback import draft_job_feedback, other_kind_notes

    runtime, check, job_id = _feedback_runtime(job)
    report = draft_job_feedback(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        job_id,
        actor=ACTOR,
        now=runtime.clock.now(),
        show_scores=runtime.settings.show_scores,
    )
    out.print(
        f"drafted {report.drafted}, drafted again {report.redrafted} "
        f"(flagged by the wording check: {report.flagged}); "
        f"{report.plain} plain letter(s) without scorecards, "
        f"{report.no_evidence} without evidence for their stage"
    )
    out.print(
        f"held for missing wording: {report.held_for_wording}; held for a note's language: "
        f"{report.held_for_language}; notes dropped as duplicates: {report.duplicate_notes}"
    )
    for note in other_kind_notes(report.other_kind_only):
        out.print(note, markup=False)
    for competency, count in sorted(report.missing_wording.items()):
        out.print(
            f"needs wording for {competency!r} ({count} draft(s)): "
            f"fairwell competency add --job {json.dumps(job)} --name {json.dumps(competency)} "
            "--bar N --lang en|de --gap ... --next-step ... --strength ..."
        )
    _say_meaning_check(check)


def _say_meaning_check(check: Any) -> None:
    """Say plainly whether the meaning classifier ran beside the word lists."""
    status = getattr(check, "meaning_status", None)
    if status:
        err.print(f"wording check: {status}", markup=False, soft_wrap=True)


@feedback_app.command("review")
@reports_errors
def feedback_review(
    job: Annotated[str, typer.Option("--job", help="job title")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the job's feedback with its state, what holds it, and what the wording check found."""
    from fairwell.services.feedback import ReviewCounts, review_items

    runtime, check, job_id = _feedback_runtime(job)
    items = review_items(runtime.pipeline, runtime.feedback_store, check, job_id)
    rows = [_review_row(item) for item in items]
    counts = ReviewCounts.of(items)
    if as_json:  # a list, as before; each row says what holds it
        _print_json(rows)
        return
    table = Table("email", "state", "feedback", "held", "wording check")
    for row in rows:
        found = "; ".join(f"{f['rule']}: {f['why']}" for f in row["findings"]) or "ok"
        table.add_row(row["email"], row["state"], row["text"], "\n".join(row["holds"]), found)
    out.print(table)
    out.print(
        f"{counts.drafts} draft(s); held for missing wording: {counts.held_for_wording}; "
        f"held for language: {counts.held_for_language}; flagged: {counts.flagged}"
    )
    _say_meaning_check(check)


def _review_row(item: Any) -> dict[str, Any]:
    record = item.view.feedback
    return {
        "email": item.view.person.email,
        "state": record.state.value,
        "text": record.text,
        "next_steps": record.next_steps,
        "holds": list(item.holds),
        "basis": record.basis,
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
    as_user: AsUser = None,
) -> None:
    """Approve drafts: all of the job's, or these people's. Needs --as (a recruiter, an admin,
    or a hiring manager of the job)."""
    from fairwell.services.feedback import approve

    runtime, check, job_id = _feedback_runtime(job)
    actor = _reviewer(runtime, as_user, job_id)
    report = approve(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        job_id,
        emails=email or [],
        override=override,
        actor=actor,
        now=runtime.clock.now(),
    )
    out.print(f"approved {report.approved}")
    for item in report.held:
        err.print(f"{item.view.person.email}: held ({'; '.join(item.holds)})", markup=False)
    if report.held:
        raise _fail(
            f"{len(report.held)} draft(s) held: write the job's wording or edit the draft", 1
        )
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
    as_user: AsUser = None,
) -> None:
    """Rewrite one candidate's feedback; it must be approved again. Needs --as."""
    from fairwell.services.feedback import edit

    runtime, check, job_id = _feedback_runtime(job)
    actor = _reviewer(runtime, as_user, job_id)
    findings = edit(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        job_id,
        email,
        text.replace("\\n", "\n"),
        actor=actor,
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
    as_user: AsUser = None,
) -> None:
    """Send this candidate a plain letter, without the feedback. Needs --as."""
    from fairwell.services.feedback import downgrade

    runtime, check, job_id = _feedback_runtime(job)
    actor = _reviewer(runtime, as_user, job_id)
    downgrade(
        runtime.pipeline,
        runtime.feedback_store,
        check,
        job_id,
        email,
        actor=actor,
        now=runtime.clock.now(),
    )
    out.print("downgraded to a plain letter")


def _lint(lines: list[str], lang: str, terms: Path | None) -> tuple[list[Any], str]:
    """The word lists on every line, and the meaning classifier where it is available."""
    from fairwell.config import load_settings
    from fairwell.domain.compliance import Linter, finding_json, lint_lines
    from fairwell.services.wording_classifier import choose, meaning_findings

    results = lint_lines(lines, lang, terms)
    chosen = choose(load_settings().wording_classifier)
    if chosen.classifier is not None:
        linter = Linter.from_files(lang, terms)
        for result, line in zip(results, lines, strict=True):
            listed = linter.lint(line)
            found = meaning_findings(chosen.classifier, linter, line, (), listed)
            result["findings"] += [finding_json(finding) for finding in found]
    return results, chosen.status


@app.command()
def lint(
    file: Annotated[
        Path | None,
        typer.Argument(help="one text per line; standard input without it, or with -"),
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
    from fairwell.domain.compliance import lint_exit_code

    if file == Path("-"):  # as most command-line tools read it
        file = None
    try:
        text = file.read_text(encoding="utf-8") if file else sys.stdin.read()
        results, status = _lint(text.splitlines(), lang, terms)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        where = str(file) if file else "standard input"
        raise _fail(f"{where}: {error}".splitlines()[0], 2) from None
    except ConfigurationError as error:
        raise _fail(f"configuration error: {error}", 3) from None
    err.print(f"wording check: {status}", markup=False, soft_wrap=True)
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
