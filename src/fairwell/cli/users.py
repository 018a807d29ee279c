"""Commands for local user accounts: ``fairwell users add|list|disable``.

A password is read from a file or typed twice at a hidden prompt; it is never an option, so it
never lands in the shell history or the process list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fairwell.cli.base import ACTOR, _fail, _print_json, _runtime, app, out, reports_errors
from fairwell.domain.users import Role, check_role, check_username

users_app = typer.Typer(help="Local accounts for the web app.", no_args_is_help=True)
app.add_typer(users_app, name="users")

_ROLES = ", ".join(role.value for role in Role)


def _read_password(path: Path | None) -> str:
    """The first line of the file (its line ending dropped), or a hidden prompt, typed twice."""
    if path is None:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        # The reason only: a decoding error's message quotes bytes of the file.
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise _fail(f"{path}: cannot read the password file: {reason}", 1) from None
    return text.split("\n", 1)[0].removesuffix("\r")


@users_app.command("add")
@reports_errors
def users_add(
    username: Annotated[str, typer.Option("--username", help="3-64 of a-z 0-9 . _ - @")],
    role: Annotated[str, typer.Option("--role", help=_ROLES)],
    password_file: Annotated[
        Path | None,
        typer.Option("--password-file", help="read the password from this file's first line"),
    ] = None,
) -> None:
    """Add an account. Without --password-file the password is asked for twice, hidden."""
    from fairwell.services.users import add_user

    # Refuse a bad name or role before asking for a password.
    check_username(username)
    chosen = check_role(role)
    password = _read_password(password_file)
    runtime = _runtime()
    store = runtime.users
    user = add_user(store, username, password, chosen, actor=ACTOR, now=runtime.clock.now())
    out.print(f"added {user.username} ({user.role.value})", markup=False)


@users_app.command("list")
@reports_errors
def users_list(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the accounts: username, role, and whether disabled."""
    from fairwell.services.users import list_users

    found = list_users(_runtime().users)
    rows = [{"username": u.username, "role": u.role.value, "disabled": u.disabled} for u in found]
    if as_json:
        _print_json(rows)
        return
    table = Table("username", "role", "disabled")
    for row in rows:
        table.add_row(str(row["username"]), str(row["role"]), "yes" if row["disabled"] else "")
    out.print(table)


@users_app.command("disable")
@reports_errors
def users_disable(
    username: Annotated[str, typer.Argument(help="the account to disable")],
) -> None:
    """Disable an account: no more sign-ins, and every session of it ends now."""
    from fairwell.services.users import disable_user

    runtime = _runtime()
    disable_user(runtime.users, username, actor=ACTOR, now=runtime.clock.now())
    out.print(f"disabled {username.strip().lower()}; its sessions have ended", markup=False)


@users_app.command("assign")
@reports_errors
def users_assign(
    username: Annotated[str, typer.Option("--username", help="a hiring manager")],
    job: Annotated[str, typer.Option("--job", help="the job they look after")],
) -> None:
    """Let a hiring manager see a job (they see only the jobs assigned to them)."""
    from fairwell.services.users import assign_manager

    runtime = _runtime()
    target = runtime.pipeline.job_by_title(job)
    name = assign_manager(
        runtime.users, runtime.job_managers, username, target.id, ACTOR, runtime.clock.now()
    )
    out.print(f"{name} now looks after {target.title!r}")


@users_app.command("token")
@reports_errors
def users_token(
    username: Annotated[str, typer.Option("--username", help="whose token")],
    name: Annotated[str, typer.Option("--name", help="what uses it")] = "command line",
    read_only: Annotated[
        bool, typer.Option("--read-only", help="the token may read but never change anything")
    ] = False,
) -> None:
    """Create an API bearer token and print it once (revoke it with `users revoke-token`)."""
    from fairwell.domain.users import check_username
    from fairwell.errors import NotFound

    runtime = _runtime()
    found = runtime.users.by_username(check_username(username))
    if found is None or found[0].disabled:
        raise NotFound(f"no active user {username!r}")
    token = runtime.sessions.create_token(
        found[0].id, name, read_only, actor=ACTOR, now=runtime.clock.now()
    )
    out.print(token, soft_wrap=True, markup=False)


@users_app.command("tokens")
@reports_errors
def users_tokens(username: Annotated[str, typer.Argument(help="whose tokens")]) -> None:
    """List an account's API tokens: id, name, scope, last use, revoked."""
    from fairwell.errors import NotFound

    runtime = _runtime()
    found = runtime.users.by_username(check_username(username))
    if found is None:
        raise NotFound(f"no user {username!r}")
    table = Table("id", "name", "may", "last used", "revoked")
    for token in runtime.sessions.tokens_of(found[0].id):
        table.add_row(
            str(token.id),
            token.name,
            "read" if token.read_only else "read and write",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    out.print(table)


@users_app.command("revoke-token")
@reports_errors
def users_revoke_token(
    username: Annotated[str, typer.Option("--username", help="whose token")],
    token_id: Annotated[int, typer.Argument(help="the token's id (`users tokens` lists them)")],
) -> None:
    """Revoke one API token: scripts using it are refused from now on."""
    from fairwell.errors import NotFound

    runtime = _runtime()
    found = runtime.users.by_username(check_username(username))
    sessions = runtime.sessions
    if found is None or not sessions.revoke_token(
        found[0].id, token_id, actor=ACTOR, now=runtime.clock.now()
    ):
        raise NotFound(f"{username!r} has no live token {token_id}")
    out.print(f"revoked token {token_id}")


@users_app.command("interview")
@reports_errors
def users_interview(
    username: Annotated[str, typer.Argument(help="an interviewer")],
    job: Annotated[str, typer.Option("--job", help="the job title")],
    email: Annotated[str, typer.Option("--email", help="the candidate's address")],
) -> None:
    """Assign an interviewer to a candidate: they see that candidate and enter a scorecard."""
    from fairwell.services.interviews import assign_interviewer

    runtime = _runtime()
    new = assign_interviewer(
        runtime.users,
        runtime.interviews,
        runtime.pipeline,
        username,
        runtime.pipeline.job_by_title(job).id,
        email,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
    name = check_username(username)
    out.print(
        f"{name} {'now interviews' if new else 'already interviews'} this candidate for {job!r}",
        markup=False,
    )
