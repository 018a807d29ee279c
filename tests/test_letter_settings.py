"""Edited reason wording and letter templates: checked before save, used by the next letter.

Runs on a real SQLite file and on the real PostgreSQL server; the end-to-end tests deliver
through the real worker to the embedded SMTP sink and read the letters it received.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.reasons import reason_for
from fairwell.errors import EditProblem, EditRefused
from fairwell.rendering import SAMPLE_CONTEXT
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.letter_settings import LetterEditor
from fairwell.services.planning import make_plan, queue_plan
from fairwell.storage.tables import audit_log
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import import_and_reject_all, people

NEW_REASON = "the opening now needs on-call experience with our payment systems"
NEW_REASON_DE = "die Stelle jetzt Bereitschaftserfahrung mit unseren Zahlungssystemen verlangt"
NEW_CLOSING = "Thank you for the care you put into your application."


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


@pytest.fixture
def editor(runtime: Runtime) -> LetterEditor:
    return runtime.letter_editor


def rejection_source(editor: LetterEditor) -> str:
    return editor.template("en-rejection")[1]


def checks(problems: tuple[EditProblem, ...] | list[EditProblem]) -> set[str]:
    return {problem.check for problem in problems}


def refused(action: object) -> EditRefused:
    with pytest.raises(EditRefused) as caught:
        action()  # type: ignore[operator]
    return caught.value


def plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("the letter has no text part")


def rendered_reason(runtime: Runtime, code: str = "role-closed", locale: str = "en") -> str:
    return runtime.overrides.wording(code, locale)


# -- reason wording ---------------------------------------------------------------------------


def test_an_edited_wording_wins_and_a_reset_restores_the_built_in_one(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    saved = editor.save_wordings("role-closed", {"en": NEW_REASON}, "web:ada", clock.now())
    assert saved == ["en"]
    assert rendered_reason(runtime) == NEW_REASON
    assert rendered_reason(runtime, locale="de") == reason_for("role-closed").for_locale("de")
    row = editor.reason("role-closed")
    assert [w.edited is not None for w in row.wordings] == [True, False]

    assert editor.reset_wording("role-closed", "en", "web:ada", clock.now())
    assert rendered_reason(runtime) == reason_for("role-closed").for_locale("en")
    assert not editor.reset_wording("role-closed", "en", "web:ada", clock.now()), "nothing left"


@pytest.mark.parametrize(
    ("wording", "check", "named"),
    [
        ("we were looking for someone younger and more energetic", "wording", "energetic"),
        ("the role needs {first_name} to have more SQL experience", "placeholder", "{first_name}"),
        ("too short", "length", "at least"),
        ("x" * 401, "length", "under 400"),
        ("the role needs more SQL experience.", "shape", "full stop"),
        ("the role needs more SQL\nexperience", "shape", "one line"),
    ],
)
def test_a_wording_with_a_finding_is_refused_and_the_reason_named(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock, wording: str, check: str, named: str
) -> None:
    error = refused(lambda: editor.save_wordings("role-closed", {"en": wording}, "t", clock.now()))
    assert check in checks(error.problems)
    assert any(named in problem.message for problem in error.problems)
    assert rendered_reason(runtime) == reason_for("role-closed").for_locale("en"), "not saved"


def test_a_wording_that_equals_the_built_in_one_removes_the_edit(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    editor.save_wordings("role-closed", {"en": NEW_REASON}, "t", clock.now())
    builtin = reason_for("role-closed").for_locale("en")
    editor.save_wordings("role-closed", {"en": builtin}, "t", clock.now())
    assert runtime.letter_settings.overrides().wordings == {}


def test_saves_and_resets_are_audited_with_codes_never_the_text(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    editor.save_wordings("role-closed", {"en": NEW_REASON}, "web:ada", clock.now())
    editor.reset_wording("role-closed", "en", "web:ada", clock.now())
    source = rejection_source(editor).replace("We know this is not", "We understand this is not")
    editor.save_template("en-rejection", source, "web:ada", clock.now())
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    entries = [(r.actor, r.action, json.loads(r.detail)) for r in rows]
    assert entries == [
        ("web:ada", "reason_wording.saved", {"code": "role-closed", "locale": "en"}),
        ("web:ada", "reason_wording.reset", {"code": "role-closed", "locale": "en"}),
        ("web:ada", "template.saved", {"name": "letters/en/rejection.txt.j2"}),
    ]
    assert not any("payment" in r.detail or "understand" in r.detail for r in rows)


# -- templates --------------------------------------------------------------------------------


def test_an_edited_template_wins_and_a_reset_restores_the_built_in_one(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    builtin = rejection_source(editor)
    edited = builtin.replace("Kind regards,", f"{NEW_CLOSING}\n\nKind regards,")
    editor.save_template("en-rejection", edited, "web:ada", clock.now())
    sample = {**SAMPLE_CONTEXT}
    assert NEW_CLOSING in runtime.templates.render("rejection", "en", sample).text
    assert NEW_CLOSING not in runtime.templates.render("rejection", "de", sample).text
    assert rejection_source(editor) == edited

    assert editor.reset_template("en-rejection", "web:ada", clock.now())
    assert NEW_CLOSING not in runtime.templates.render("rejection", "en", sample).text
    assert rejection_source(editor) == builtin


@pytest.mark.parametrize(
    ("change", "check", "named"),
    [
        (("{{ job_title }}", "{{ job_titel }}"), "unknown-placeholder", "job_titel"),
        (("{% endblock %}", "{% endblok %}"), "syntax", "endblok"),
        (("{{ org_name }}", "{{ org_name.__class__ }}"), "render", "unsafe"),
        (("{% block subject %}", "{% block subjekt %}"), "blocks", "subject"),
        (("Dear {{ first_name }},", "Dear ,"), "privacy", "no-empty-greeting"),
        (("Dear {{ first_name }},", "Dear {first_name},"), "privacy", "no-placeholder"),
        (("Kind regards,", "We wanted a younger team. Kind regards,"), "wording", "younger"),
        (("Kind regards,", "Jordan Other was hired. Kind regards,"), "privacy", "another"),
    ],
)
def test_an_invalid_template_is_refused_and_the_reason_named(
    runtime: Runtime,
    editor: LetterEditor,
    clock: FixedClock,
    change: tuple[str, str],
    check: str,
    named: str,
) -> None:
    builtin = rejection_source(editor)
    broken = builtin.replace(*change, 1)
    assert broken != builtin
    error = refused(lambda: editor.save_template("en-rejection", broken, "t", clock.now()))
    assert check in checks(error.problems)
    assert any(named in problem.message for problem in error.problems), error.problems
    assert runtime.letter_settings.overrides().templates == {}, "nothing was saved"


def test_the_check_names_unknown_placeholders_and_offers_the_known_ones(
    editor: LetterEditor,
) -> None:
    source = rejection_source(editor).replace("{{ first_name }}", "{{ frist_name }}")
    report = editor.check_template("en-rejection", source)
    assert report.unknown == ("frist_name",)
    assert "first_name" in report.available and "job_title" in report.available
    assert report.problems[0].suggestion == "did you mean {{ first_name }}?"


def test_a_valid_template_gets_a_preview_of_a_sample_letter(editor: LetterEditor) -> None:
    report = editor.check_template("de-referral_closed", editor.template("de-referral_closed")[1])
    assert report.ok
    assert report.preview_subject == "Zur Stelle als Sample Role bei Example Corp"
    assert report.preview_text.startswith("Guten Tag Alex Example,")


def test_the_layout_must_keep_the_letter_and_is_checked_like_the_rest(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    layout = editor.template("layout")[1]
    error = refused(
        lambda: editor.save_template(
            "layout", layout.replace("{{ body_html }}", ""), "t", clock.now()
        )
    )
    assert checks(error.problems) == {"blocks"}
    edited = layout.replace("{{ body_html }}", "{{ body_html }}\n<p>Acme careers</p>")
    editor.save_template("layout", edited, "t", clock.now())
    html = runtime.templates.render("rejection", "en", {**SAMPLE_CONTEXT}).html
    assert "<p>Acme careers</p>" in html


def test_the_check_before_planning_covers_the_edited_templates(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    from fairwell.runtime import wording_check

    source = rejection_source(editor).replace("Kind regards,", f"{NEW_CLOSING}\n\nKind regards,")
    editor.save_template("en-rejection", source, "t", clock.now())
    runtime.templates.check(wording_check(runtime.settings, meaning=False))


# -- end to end: edit, queue, deliver, read what the relay received ---------------------------


def delivered(runtime: Runtime, tmp_path: Path, sink: MailSink, count: int = 3) -> list[str]:
    now = runtime.clock.now()
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), now, "role-closed")
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", now)
    batch = queue_plan(
        runtime.store, runtime.composer, "Data Analyst", actor="t", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)
    return [plain_text(message_from_bytes(m.data)) for m in read_sink(sink.directory)]


def test_an_edited_wording_reaches_the_letters_in_the_smtp_sink(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock, tmp_path: Path, sink: MailSink
) -> None:
    editor.save_wordings("role-closed", {"en": NEW_REASON}, "web:ada", clock.now())
    letters = delivered(runtime, tmp_path, sink)
    assert len(letters) == 3
    assert all(f"because {NEW_REASON}." in text for text in letters)


def test_an_edited_template_reaches_the_letters_in_the_smtp_sink(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock, tmp_path: Path, sink: MailSink
) -> None:
    source = rejection_source(editor).replace("Kind regards,", f"{NEW_CLOSING}\n\nKind regards,")
    editor.save_template("en-rejection", source, "web:ada", clock.now())
    letters = delivered(runtime, tmp_path, sink)
    assert len(letters) == 3
    assert all(NEW_CLOSING in text for text in letters)


def test_another_process_uses_an_edit_saved_elsewhere(
    runtime: Runtime, editor: LetterEditor, clock: FixedClock
) -> None:
    """A second runtime on the same database stands for the CLI or another web process."""
    other = open_runtime(runtime.settings)
    try:
        sample = {**SAMPLE_CONTEXT}
        assert NEW_CLOSING not in other.templates.render("rejection", "en", sample).text
        source = rejection_source(editor).replace(
            "Kind regards,", f"{NEW_CLOSING}\n\nKind regards,"
        )
        editor.save_template("en-rejection", source, "web:ada", clock.now())
        editor.save_wordings("role-closed", {"de": NEW_REASON_DE}, "web:ada", clock.now())
        time.sleep(1.1)  # the other process re-reads the edits at most a second later
        assert NEW_CLOSING in other.templates.render("rejection", "en", sample).text
        assert other.overrides.wording("role-closed", "de") == NEW_REASON_DE
    finally:
        other.close()
