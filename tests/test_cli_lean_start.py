"""A command named on the command line runs from a group that holds it alone (Typer then
reads one signature, not seventy): it must read and behave exactly as in the whole app."""

from __future__ import annotations

import contextlib
import io
import sys

import pytest
from typer.main import get_group

from fairwell.cli import app, lean_app, main


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
