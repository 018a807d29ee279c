"""The Typer app, its sub-apps, and what every command shares: output, errors, settings.

Light at import time: `fairwell --help` and every command's start read this module and the
command modules, so the settings, SQLAlchemy and the runtime are imported only when a
command runs (bench/cli_startup.py measures it).
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from fairwell.domain.users import Permission
from fairwell.errors import ConfigurationError, FairwellError

if TYPE_CHECKING:
    from fairwell.runtime import Runtime

app = typer.Typer(
    help="Fairwell: private, honest, timely letters to every applicant who is not hired.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
outbox_app = typer.Typer(help="Watch and steer the outbox.", no_args_is_help=True)
templates_app = typer.Typer(help="Check letter templates.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(templates_app, name="templates")
feedback_app = typer.Typer(
    help="Draft, review and approve candidate feedback.", no_args_is_help=True
)
competency_app = typer.Typer(help="What a job needs, and the bar.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
app.add_typer(competency_app, name="competency")
scorecard_app = typer.Typer(help="Interviewers' and screeners' ratings.", no_args_is_help=True)
app.add_typer(scorecard_app, name="scorecard")
requests_app = typer.Typer(
    help="Candidates' requests for more feedback, with due dates.", invoke_without_command=True
)
app.add_typer(requests_app, name="requests")


out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
# The audit log records who acted: the operating-system account that ran the command. A
# command that takes a decision on behalf of a person names a Fairwell user instead (--as).
ACTOR = f"cli:{getpass.getuser()}"
F = TypeVar("F", bound=Callable[..., Any])

AsUser = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="FAIRWELL_USER",
        show_envvar=True,
        help="who decides: your Fairwell username (`fairwell users list`); it must hold a "
        "role allowed to do this, and the audit log names it",
    ),
]


def named_actor(
    runtime: Runtime, username: str | None, permission: Permission, job_id: int | None = None
) -> str:
    """The audit log's name for the user acting, after checking they may (services/users.py)."""
    from fairwell.services.users import acting_user

    user = acting_user(runtime.users, runtime.job_managers, username, permission, job_id=job_id)
    return f"cli:{user.username}"


def job_id_of(runtime: Runtime, title: str) -> int:
    """The job a command names by its title: resolved here, once; services take its id."""
    return runtime.pipeline.job_by_title(title).id


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"fairwell: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


def reports_errors(command: F) -> F:
    """Turn our exceptions into a one-line message on stderr and a reliable exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigurationError as error:
            raise _fail(f"configuration error: {error}", 3) from None
        except FairwellError as error:
            raise _fail(
                str(error).splitlines()[0] if str(error) else type(error).__name__, 1
            ) from (None)
        except Exception as error:
            if not _is_database_error(error):
                raise
            orig = getattr(error, "orig", error)
            hint = "; run `fairwell init` first" if "no such table" in str(error) else ""
            raise _fail(f"database error: {str(orig).splitlines()[0]}{hint}", 1) from None

    return wrapper  # type: ignore[return-value]


def _is_database_error(error: Exception) -> bool:
    """SQLAlchemy's OperationalError (no such table, the server went away), without importing
    SQLAlchemy into commands that never touched the database."""
    exc = sys.modules.get("sqlalchemy.exc")
    return exc is not None and isinstance(error, exc.OperationalError)


def _runtime() -> Runtime:
    from fairwell.config import load_settings
    from fairwell.runtime import open_runtime

    return open_runtime(load_settings())


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
