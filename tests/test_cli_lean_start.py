"""A command named on the command line runs from a group that holds it alone (Typer then
reads one signature, not seventy): it must read and behave exactly as in the whole app."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_group

from fairwell.cli import OWNERS, app, lean_app, main
from tests.helpers import add_cli_user


def _help(group: object, name: str) -> str:
    command = group.commands[name]  # type: ignore[attr-defined]
    top = group.context_class(group, info_name="fairwell")  # type: ignore[attr-defined]
    return str(command.get_help(command.context_class(command, info_name=name, parent=top)))


def test_every_command_alone_reads_as_in_the_whole_app() -> None:
    whole = get_group(app)
    assert len(whole.commands) > 30
    for name in whole.commands:
        lean = lean_app([name])
        assert lean is not None, name
        alone = get_group(lean)
        assert list(alone.commands) == [name]
        assert _help(alone, name) == _help(whole, name), name


@pytest.mark.parametrize("first", [[], ["--help"], ["no-such-command"], ["-x"]])
def test_help_options_and_typos_get_the_whole_app(first: list[str]) -> None:
    assert lean_app(first) is None


@pytest.mark.parametrize("arguments", [["reasons", "--help"], ["outbox"], ["jobz"]])
def test_main_prints_what_the_whole_app_prints(
    arguments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(entry: object) -> tuple[str, object]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                entry()  # type: ignore[operator]
            except SystemExit as done:
                return out.getvalue(), done.code
        return out.getvalue(), 0

    monkeypatch.setattr(sys, "argv", ["fairwell", *arguments])
    assert run(main) == run(app)


def _modules_of(typer_instance: Any) -> set[str]:
    found = {info.callback.__module__ for info in typer_instance.registered_commands}
    if typer_instance.registered_callback:
        found.add(typer_instance.registered_callback.callback.__module__)
    for group in typer_instance.registered_groups:
        found |= _modules_of(group.typer_instance)
    return found


def test_owners_names_the_modules_of_every_command() -> None:
    """main() loads only OWNERS[name]: a command (or a group's command) defined elsewhere
    would be missing, so OWNERS must say where each one is defined."""
    found: dict[str, set[str]] = {}
    for info in app.registered_commands:
        found.setdefault(str(_name_of(info)), set()).add(info.callback.__module__)
    for group in app.registered_groups:
        found.setdefault(str(group.name), set()).update(_modules_of(group.typer_instance))
    defined = {name: {f"fairwell.cli.{m}" for m in modules} for name, modules in OWNERS.items()}
    assert defined == found


def _name_of(info: Any) -> str:
    from typer.main import get_command_name

    return str(info.name or get_command_name(info.callback.__name__))


def test_a_command_starts_without_the_other_command_modules() -> None:
    probe = (
        "import sys, json\nfrom fairwell.cli import main\n"
        "sys.argv = ['fairwell', 'reasons', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('fairwell.cli.'))))"
    )
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "fairwell.cli.records" in loaded
    assert "fairwell.cli.sending" not in loaded
    assert "fairwell.cli.operations" not in loaded


def _loaded(code: str, names: tuple[str, ...], env: dict[str, str] | None = None) -> list[str]:
    """Which of ``names`` a fresh interpreter holds after running ``code``."""
    held = f"sorted(set({names!r}) & set(sys.modules))"
    probe = f"{code}\nimport sys, json\nprint(json.dumps({held}))"
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root, env=env
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_command_line_loads_neither_typer_nor_rich() -> None:
    """Every process a big send spawns imports fairwell.cli (multiprocessing runs the console
    script again as ``__mp_main__``); a worker needs neither."""
    assert _loaded("import fairwell.cli", ("typer", "rich")) == []


# What a send's worker process does before its first letter: the console script's import (as
# ``__mp_main__``), the pool's initializer (open_runtime), and a deliverer with its transport.
WORKER_START = """
import os
import fairwell.cli
from fairwell.config import load_settings
from fairwell.runtime import make_deliverer
from fairwell.worker import pool
pool._start_process(load_settings().model_dump(), os.getppid(), None, None)
make_deliverer(pool._runtime())
"""


def test_a_worker_process_starts_without_what_it_does_not_use(tmp_path: Path) -> None:
    """On SQLite, without DKIM: no PostgreSQL dialect, no dkimpy (it loads dnspython), no
    public holidays (only scheduling looks one up), no Typer or Rich."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FAIRWELL_DKIM", "FAIRWELL_DATABASE_URL"))
    }
    env["FAIRWELL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fairwell.db'}"
    unused = ("dkim", "dns", "holidays", "sqlalchemy.dialects.postgresql", "typer", "rich")
    assert _loaded(WORKER_START, unused, env) == []


def _run_command(arguments: list[str]) -> str:
    """Code that runs ``fairwell ARGUMENTS`` and fails unless it succeeds."""
    return (
        "import contextlib, io, sys\nfrom fairwell.cli import main\n"
        f"sys.argv = ['fairwell', *{arguments!r}]\n"
        "try:\n    with contextlib.redirect_stdout(io.StringIO()):\n        main()\n"
        "except SystemExit as done:\n    assert not done.code, done.code"
    )


def test_import_jobs_and_applicants_load_the_pipeline_store_alone(
    tmp_path: Path, sqlite_url: str, store: object
) -> None:
    """A command reads and writes through the one seam it needs, not the whole SqlStore (which
    loads every store module)."""
    from fairwell.demo.data import JOB_TITLE, write_demo_csv

    write_demo_csv(tmp_path / "applicants.csv")
    env = {**os.environ, "FAIRWELL_DATABASE_URL": sqlite_url}
    for arguments in (
        ["import", str(tmp_path / "applicants.csv")],
        ["jobs"],
        ["applicants", "--job", JOB_TITLE],
    ):
        held = ("fairwell.storage.pipeline_store", "fairwell.storage.store")
        assert _loaded(_run_command(arguments), held, env) == [held[0]], arguments


def test_reject_starts_without_the_letter_composer(
    tmp_path: Path, sqlite_url: str, store: object
) -> None:
    """Rejecting decides and drafts feedback; it composes no letter, so it never loads the
    composer, its templates or the guard's roster (a plan loads them when it needs them)."""
    from fairwell.demo.data import JOB_TITLE, write_demo_csv

    write_demo_csv(tmp_path / "applicants.csv")
    env = {**os.environ, "FAIRWELL_DATABASE_URL": sqlite_url, "FAIRWELL_USER": "rita"}
    importing = _run_command(["import", str(tmp_path / "applicants.csv")])
    subprocess.run([sys.executable, "-c", importing], env=env, check=True)
    add_cli_user(env, tmp_path, "rita", "recruiter")
    reject = ["reject", "--job", JOB_TITLE, "--all-except-hired", "--reason", "role-closed"]
    unused = ("fairwell.services.compose", "fairwell.services.planning", "jinja2")
    assert _loaded(_run_command(reject), unused, env) == []


def test_the_program_closes_its_database_then_ends_without_collecting_garbage(
    tmp_path: Path, sqlite_url: str
) -> None:
    """`fairwell` (run) closes the command's connections as it ends, so SQLite folds the WAL
    back into the database as before, and freezes every object out of the collector, so the
    interpreter's teardown does not walk them all."""
    from fairwell.demo.data import write_demo_csv

    write_demo_csv(tmp_path / "applicants.csv")
    env = {**os.environ, "FAIRWELL_DATABASE_URL": sqlite_url}
    frozen = [
        _run_program(arguments, env)
        for arguments in (["init"], ["import", str(tmp_path / "applicants.csv")])
    ]
    assert min(frozen) > 10_000  # the libraries' objects
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    assert database.exists()
    assert not database.with_name(database.name + "-wal").exists()


def _run_program(arguments: list[str], env: dict[str, str]) -> int:
    """Run ``fairwell ARGUMENTS`` as the program does; the objects it froze as it ended."""
    code = (
        "import contextlib, gc, io, sys\nfrom fairwell.cli import run\n"
        f"sys.argv = ['fairwell', *{arguments!r}]\n"
        "try:\n    with contextlib.redirect_stdout(io.StringIO()):\n        run()\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        "print(gc.get_freeze_count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())
