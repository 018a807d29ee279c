"""The command line: every job a recruiter or operator runs (Typer + Rich).

Exit codes, relied on by scripts: 0 ok; 1 refused (bad input, unknown job, a plan that
changed, letters held or failed); 2 wrong usage; 3 configuration error. A failure prints one
line on standard error. Personal data goes to standard output only, never to logs.

Importing a command module registers its commands on the app (``fairwell.cli.base.app``).
``fairwell.cli.app`` is the app with every command; ``main`` loads only the modules of the
command it is asked to run (:data:`OWNERS`), so a command starts without the others.

Nothing but the standard library is imported here at start: every worker process a big send
spawns imports this module too (multiprocessing runs the ``fairwell`` console script again, as
``__mp_main__``, in each process it spawns), and a worker needs neither Typer nor Rich.
"""

from __future__ import annotations

import copy
import gc
import importlib
import sys
from typing import TYPE_CHECKING

from fairwell.worker.collector import collect_less

if TYPE_CHECKING:
    import typer
    from typer.models import CommandInfo

COMMAND_MODULES = (
    "ats",
    "competencies",
    "deadlines",
    "feedback",
    "inbox",
    "jobs",
    "operations",
    "privacy",
    "records",
    "rediscover",
    "requests",
    "retention",
    "sending",
    "users",
    "webhooks",
)
# The modules that register each top-level command or command group (a group's commands may
# come from several). tests/test_cli_lean_start.py checks it against what each module registers.
OWNERS: dict[str, tuple[str, ...]] = {
    "applicants": ("records",),
    "ats": ("ats",),
    "beat": ("operations",),
    "competency": ("competencies",),
    "deadlines": ("deadlines",),
    "demo": ("records",),
    "erase": ("privacy",),
    "export": ("privacy",),
    "feedback": ("feedback",),
    "holds": ("privacy",),
    "import": ("records",),
    "import-scorecards": ("records",),
    "inbox": ("inbox",),
    "init": ("records",),
    "job": ("jobs",),
    "jobs": ("records",),
    "lint": ("feedback",),
    "mailsink": ("operations",),
    "outbox": ("operations",),
    "plan": ("sending",),
    "preview": ("sending",),
    "reasons": ("records",),
    "rediscover": ("rediscover",),
    "reject": ("sending",),
    "requests": ("requests",),
    "retention": ("retention",),
    "scorecard": ("records",),
    "send": ("sending",),
    "serve": ("operations",),
    "suppressions": ("inbox",),
    "templates": ("records",),
    "users": ("users",),
    "webhooks": ("webhooks",),
    "worker": ("operations",),
}


def load_commands(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The app with the commands of ``modules`` (every command by default) registered."""
    for module in modules:
        importlib.import_module(f"fairwell.cli.{module}")
    from fairwell.cli.base import app

    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # `from fairwell.cli import app`: every command
        app = load_commands()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run() -> None:
    """The ``fairwell`` program: :func:`main`, then the process ends without collecting its
    garbage (tests and scripts that go on after a command call :func:`main`)."""
    collect_less()
    try:
        main()
    finally:
        _ending()


def main() -> None:
    """Run the command line. Typer turns every command into a Click command at each start,
    reading each signature (about 70 of them); a command named on the command line is
    loaded alone and run from a group that holds it alone, which reads and behaves the same
    for that command. Help, a typo or an option first get the whole app."""
    first = sys.argv[1:2]
    owners = OWNERS.get(first[0]) if first else None
    lean = lean_app(first, load_commands(owners)) if owners else None
    if lean is None:
        load_commands()()
        return
    from typer.main import get_group

    # A group even when it holds one command (Typer would make that the whole program).
    get_group(lean)()


def _ending() -> None:
    """The command is done: its database connections are closed, then every object is
    frozen out of the garbage collector. The interpreter's teardown would otherwise run
    collections over everything the libraries made (about 0.2 s of a 0.8 s `fairwell jobs`
    here); the process ends now and the OS takes the memory back whole."""
    engines = sys.modules.get("fairwell.storage.engine")  # loaded by a database command
    if engines is not None:
        engines.close_engines()
    gc.freeze()


def lean_app(first: list[str], app: typer.Typer | None = None) -> typer.Typer | None:
    """The app with only the command or command group named by ``first`` (the first
    argument), or None when it names none (help, a typo, an option): the whole app then."""
    app = app or load_commands()
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
    from typer.main import get_command_name

    if info.name:
        return info.name
    return get_command_name(info.callback.__name__) if info.callback else None
