"""The runtime is the one composition root: it builds every store once, typed by its seam, and
the checks once per process; the CLI starts without what a command does not use; every
exception is defined in errors.py."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import fairwell
from fairwell.delivery.sink import MailSink
from fairwell.runtime import Runtime, init_database, open_runtime, wording_check
from tests.conftest import FixedClock, settings_for
from tests.helpers import import_and_reject_all, people

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


SEAMS = (
    "store",
    "pipeline",
    "outbox",
    "audit_log",
    "roster_store",
    "batches",
    "feedback_store",
    "request_store",
    "users",
    "job_managers",
    "interviews",
    "privacy",
    "portal",
    "retention",
    "inbox_store",
    "suppressions",
    "ats_store",
    "webhook_store",
)


def test_each_store_is_built_once_over_the_runtimes_engine(runtime: Runtime) -> None:
    first = [getattr(runtime, seam) for seam in SEAMS]
    again = [getattr(runtime, seam) for seam in SEAMS]
    assert all(store is same for store, same in zip(first, again, strict=True))
    assert {store.engine for store in first} == {runtime.engine}


def test_the_seams_and_the_whole_store_read_one_database(runtime: Runtime, tmp_path: Path) -> None:
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(3), runtime.clock.now())
    [summary] = runtime.pipeline.jobs()
    assert (summary.job.title, summary.total) == ("Data Analyst", 3)
    assert runtime.pipeline.job_by_title("Data Analyst") == runtime.store.job_by_id(summary.job.id)
    assert runtime.outbox.outbox_status().counts == {}, "rejected, nothing queued yet"


def test_the_wording_check_is_built_once_per_process(runtime: Runtime) -> None:
    assert runtime.wording_check is runtime.wording_check
    assert runtime.wording_check is wording_check(runtime.settings)
    assert runtime.template_wording_check is wording_check(runtime.settings, meaning=False)
    assert runtime.template_wording_check is not runtime.wording_check


def test_a_template_check_that_passed_runs_again_only_after_an_edit(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[tuple[str, str]] = []
    check_one = runtime.templates.check_one

    def counted(kind: str, locale: str, wording: object = None) -> None:
        checked.append((kind, locale))
        check_one(kind, locale, wording)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.templates, "check_one", counted)
    runtime.check_templates()
    every_template = len(checked)
    assert every_template > 0

    runtime.check_templates()
    runtime.check_templates()
    assert len(checked) == every_template, "nothing changed: nothing is rendered again"

    editor = runtime.letter_editor
    source = editor.template("en-rejection")[1]
    edited = source.replace("We know this is not", "We understand this is not")
    assert edited != source
    editor.save_template("en-rejection", edited, "web:ada", runtime.clock.now())
    runtime.check_templates()
    assert len(checked) == 2 * every_template, "an edit is checked again, every template"


def _imported_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport sys, json\n"
        "heavy = ('sqlalchemy', 'pydantic_settings', 'fairwell.storage', 'fairwell.config',"
        " 'jinja2', 'fastapi', 'celery', 'httpx', 'fairwell.guard', 'fairwell.rendering')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_line_starts_without_the_database_or_the_settings() -> None:
    assert _imported_after("import fairwell.cli") == []


def test_fairwell_help_imports_neither_the_database_nor_the_web_app() -> None:
    code = (
        "import contextlib, io\nfrom fairwell.cli import app\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    app(['--help'])"
    )
    assert _imported_after(code) == []


# Deliberately not in errors.py (errors.py says why): a Jinja SecurityError, and exceptions
# private to one module that never leave it.
KEPT_APART = {
    "fairwell.template_limits.TemplateLimitError",
    "fairwell.delivery.smtp._ClosedBeforeMail",
    "fairwell.delivery.smtp._SessionFull",
    "fairwell.domain.mimeread._Unusual",
}


def test_every_exception_fairwell_raises_on_purpose_is_defined_in_errors() -> None:
    defined_elsewhere = set()
    for found in pkgutil.walk_packages(fairwell.__path__, "fairwell."):
        if ".migrations" in found.name:
            continue
        module = importlib.import_module(found.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == found.name
                and found.name != "fairwell.errors"
            ):
                defined_elsewhere.add(f"{found.name}.{name}")
    assert defined_elsewhere == KEPT_APART
