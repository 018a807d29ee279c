"""`fairwell rediscover`: rank the people on file against a job that opened; write to those
a recruiter picks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fairwell.cli.base import (
    AsUser,
    _fail,
    _print_json,
    _runtime,
    app,
    named_actor,
    out,
    reports_errors,
)
from fairwell.domain.users import Permission

if TYPE_CHECKING:
    from fairwell.services.rediscovery import RediscoveryReport


@app.command("rediscover")
@reports_errors
def rediscover_command(
    job: Annotated[str, typer.Option("--job", help="the job that opened (its title)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    invite: Annotated[
        list[str] | None,
        typer.Option("--invite", help="write 'a role that may fit you' to this address"),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="queue without asking")] = False,
    as_user: AsUser = None,
) -> None:
    """People on file with valid consent, best match first, each explained. No ranking ever
    rejects anyone. With --invite, a role-opened letter is queued for the people picked, in
    the name of the user given with --as (a recruiter or an admin)."""
    from fairwell.services import rediscovery, semantic

    runtime = _runtime()
    pool = runtime.rediscovery
    opened = runtime.pipeline.job_by_title(job)
    meaning = semantic.choose(runtime.settings.rediscovery_semantic)
    now = runtime.clock.now()
    report = rediscovery.rediscover(pool, opened, now, meaning)
    if as_json and not invite:
        _print_json(report.as_json())
        return
    if not invite:
        _print_report(report)
        return
    actor = named_actor(runtime, as_user, Permission.INVITE_FROM_POOL, opened.id)
    picked = _picked(report, invite)
    if not yes and not typer.confirm(f"write to {len(picked)} people about {job!r}?"):
        raise _fail("nothing queued", 1)
    done = rediscovery.invite(
        runtime.store, pool, runtime.composer, opened, picked, actor=actor, now=now
    )
    out.print(f"queued {done.queued} role-opened letters")
    for person_id, why in done.refused:
        out.print(f"not written to: person {person_id}: {why}")
    if done.refused:
        raise typer.Exit(1)


def _picked(report: RediscoveryReport, emails: list[str]) -> list[int]:
    by_email = {r.person.email: r.person.person_id for r in report.ranked}
    from fairwell.domain.addresses import normalise_address

    wanted = [normalise_address(e) for e in emails]
    missing = [e for e in wanted if e not in by_email]
    if missing:
        raise _fail(f"not on file with valid consent: {', '.join(missing)}", 1)
    return [by_email[e] for e in wanted]


def _print_report(report: RediscoveryReport) -> None:
    out.print(f"semantic similarity: {report.semantic}")
    table = Table("#", "email", "score", "met", "why", title=f"on file for {report.job.title}")
    for position, ranked in enumerate(report.ranked, start=1):
        found = ranked.match
        met = f"{len(found.met)}/{len(found.competencies)}"
        why = "\n".join(found.explanation())
        table.add_row(str(position), ranked.person.email, f"{found.score:.2f}", met, why)
    out.print(table if report.ranked else "nobody on file with valid consent")
