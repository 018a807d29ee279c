"""The command line: every job a recruiter or operator runs (Typer + Rich).

Exit codes, relied on by scripts: 0 ok; 1 refused (bad input, unknown job, a plan that
changed, letters held or failed); 2 wrong usage; 3 configuration error. A failure prints one
line on standard error. Personal data goes to standard output only, never to logs.
"""

from __future__ import annotations

import copy
import sys

import typer
from typer.main import get_command_name
from typer.models import CommandInfo

# Importing the command modules registers their commands on the app.
from fairwell.cli import (  # noqa: F401
    ats,
    competencies,
    deadlines,
    feedback,
    inbox,
    jobs,
    operations,
    privacy,
    records,
    rediscover,
    requests,
    retention,
    sending,
    users,
    webhooks,
)
from fairwell.cli.base import app


def main() -> None:
    """Run the command line. Typer turns every command into a Click command at each start,
    reading each signature (about 70 of them); a command named on the command line is run
    from a group that holds it alone, which reads and behaves the same for that command."""
    lean = lean_app(sys.argv[1:2])
    if lean is None:
        app()
        return
    from typer.main import get_group

    # A group even when it holds one command (Typer would make that the whole program).
    get_group(lean)()


def lean_app(first: list[str]) -> typer.Typer | None:
    """The app with only the command or command group named by ``first`` (the first
    argument), or None when it names none (help, a typo, an option): the whole app then."""
    if not first or first[0].startswith("-"):
        return None
    commands = [info for info in app.registered_commands if _name(info) == first[0]]
    groups = [info for info in app.registered_groups if info.name == first[0]]
    if len(commands) + len(groups) != 1:
        return None
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _name(info: CommandInfo) -> str | None:
    if info.name:
        return info.name
    return get_command_name(info.callback.__name__) if info.callback else None
