"""Data-protection commands for admins and their scripts: export, erase, legal holds.

``fairwell export --email ADDR`` prints the JSON export on standard output (and answers the
person's open access requests). ``fairwell erase --email ADDR --yes`` exits 0 when the person
was erased, 1 with the reason on one line when a legal hold or a pending access request
blocks it.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from fairwell.cli.base import AsUser, _runtime, app, err, named_actor, out, reports_errors
from fairwell.domain.users import Permission
from fairwell.errors import InvalidInput

holds_app = typer.Typer(
    help="Legal holds: a hold (e.g. a pending claim) blocks erasure.", no_args_is_help=True
)
app.add_typer(holds_app, name="holds")

Email = Annotated[str, typer.Option("--email", help="the person's address")]


@app.command("export")
@reports_errors
def export(email: Email) -> None:
    """Everything held about a person, as JSON on standard output."""
    from fairwell.services import erasure
    from fairwell.services.export import as_json_value, export_person

    runtime = _runtime()
    try:
        privacy = runtime.privacy
        person_id = erasure.person_by_email(privacy, email)
        document = export_person(privacy, person_id, runtime.clock.now())
    finally:
        runtime.close()
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=as_json_value))
    sys.stdout.write("\n")


@app.command("erase")
@reports_errors
def erase(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", help="erase without asking")] = False,
    as_user: AsUser = None,
) -> None:
    """Erase a person: applications, letters, feedback, requests; keeps an anonymous record.
    Needs --as (an admin)."""
    from fairwell.services import erasure

    if not yes:
        raise InvalidInput("erasing cannot be undone: add --yes to confirm")
    runtime = _runtime()
    try:
        actor = named_actor(runtime, as_user, Permission.PRIVACY)
        privacy = runtime.privacy
        person_id = erasure.person_by_email(privacy, email)
        counts = erasure.erase_person(privacy, person_id, actor, runtime.clock.now())
    finally:
        runtime.close()
    rows = sum(counts.values())
    out.print(f"erased: {rows} rows removed or anonymised", markup=False)


@holds_app.command("add")
@reports_errors
def holds_add(
    email: Email,
    reason: Annotated[str, typer.Option("--reason", help="why, e.g. a pending claim")],
    as_user: AsUser = None,
) -> None:
    """Record a legal hold for a person. Needs --as (an admin)."""
    from fairwell.services import erasure

    if len(reason.strip()) < 5:
        raise InvalidInput("give the reason for the hold (a few words at least)")
    runtime = _runtime()
    try:
        actor = named_actor(runtime, as_user, Permission.PRIVACY)
        privacy = runtime.privacy
        person_id = erasure.person_by_email(privacy, email)
        hold_id = privacy.add_hold(person_id, reason.strip(), actor, runtime.clock.now())
    finally:
        runtime.close()
    out.print(f"legal hold #{hold_id} recorded", markup=False)


@holds_app.command("list")
@reports_errors
def holds_list() -> None:
    """Legal holds in force."""
    runtime = _runtime()
    try:
        holds = runtime.privacy.holds()
    finally:
        runtime.close()
    for hold in holds:
        out.print(f"#{hold.id}  {hold.email}  {hold.reason}", markup=False)
    if not holds:
        err.print("no legal holds in force")


@holds_app.command("release")
@reports_errors
def holds_release(hold_id: int, as_user: AsUser = None) -> None:
    """Release a legal hold. Needs --as (an admin)."""
    runtime = _runtime()
    try:
        actor = named_actor(runtime, as_user, Permission.PRIVACY)
        runtime.privacy.release_hold(hold_id, actor, runtime.clock.now())
    finally:
        runtime.close()
    out.print(f"legal hold #{hold_id} released", markup=False)
