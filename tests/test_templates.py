"""Templates render in a sandbox with strict undefined; a bad one is refused before any send."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.config import load_settings
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.errors import TemplateCheckError
from fairwell.rendering import LetterTemplates
from fairwell.runtime import wording_check
from tests.helpers import add_cli_user, applicant, write_csv

SUBJECT = "{% block subject %}x{% endblock %}"
GOOD_BODY = (
    "{% block subject %}Hello{% endblock %}{% block body %}Dear {{ first_name }},{% endblock %}"
)


def override(tmp_path: Path, body: str, kind: str = "rejection", locale: str = "en") -> Path:
    folder = tmp_path / "templates" / "letters" / locale
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{kind}.txt.j2").write_text(body, encoding="utf-8")
    return tmp_path / "templates"


def test_the_built_in_templates_pass_the_check() -> None:
    LetterTemplates().check()


@pytest.mark.parametrize(
    "body",
    [
        SUBJECT + "{% block body %}{{ ''.__class__.__mro__ }}{% endblock %}",
        SUBJECT + "{% block body %}{{ salary_offer }}{% endblock %}",
        SUBJECT + "{% block body %}{{ first_name.__init__ }}{% endblock %}",
        "{% block body %}no subject block{% endblock %}",
        SUBJECT + "{% block body %}{{ unclosed {% endblock %}",
    ],
    ids=["mro-escape", "undefined-name", "dunder-attribute", "missing-block", "syntax-error"],
)
def test_a_bad_template_is_refused_with_its_name(tmp_path: Path, body: str) -> None:
    templates = LetterTemplates(override(tmp_path, body))
    with pytest.raises(TemplateCheckError, match=r"letters/en/rejection\.txt\.j2"):
        templates.check()


def test_an_organisations_template_overrides_the_built_in_one(tmp_path: Path) -> None:
    templates = LetterTemplates(override(tmp_path, GOOD_BODY))
    rendered = templates.render("rejection", "en", {"first_name": "Zoë"})
    assert (rendered.subject, rendered.text) == ("Hello", "Dear Zoë,\n")


def test_the_html_part_escapes_what_the_text_says(tmp_path: Path) -> None:
    rendered = LetterTemplates(override(tmp_path, GOOD_BODY)).render(
        "rejection", "en", {"first_name": "<script>x</script>"}
    )
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def test_a_send_with_a_bad_template_sends_nothing(tmp_path: Path) -> None:
    bad = (
        "{% block subject %}x{% endblock %}{% block body %}{{ ''.__class__.__mro__ }}{% endblock %}"
    )
    with MailSink(tmp_path / "mail", port=0) as sink:
        env = {
            "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "FAIRWELL_SMTP_PORT": str(sink.port),
            "FAIRWELL_TEMPLATE_DIR": str(override(tmp_path, bad)),
        }
        runner = CliRunner()
        runner.invoke(app, ["init"], env=env)
        rows = [applicant("a@example.com", "Ann", "Lee")]
        runner.invoke(app, ["import", str(write_csv(tmp_path / "a.csv", rows))], env=env)
        add_cli_user(env, tmp_path, "rita", "recruiter")
        rejected = runner.invoke(
            app,
            ["reject", "--job", "Data Analyst", "--all-except-hired", "--reason", "role-closed"],
            env={**env, "FAIRWELL_USER": "rita"},
        )
        assert rejected.exit_code == 0, rejected.output
        result = runner.invoke(app, ["send", "--job", "Data Analyst", "--yes"], env=env)
        assert result.exit_code == 1
        assert "rejection.txt.j2" in result.stderr
        assert read_sink(sink.directory) == []


def test_a_template_whose_own_words_touch_a_protected_characteristic_is_refused(
    tmp_path: Path,
) -> None:
    body = (
        SUBJECT + "{% block body %}Dear {{ first_name }}, we wanted someone younger.{% endblock %}"
    )
    templates = LetterTemplates(override(tmp_path, body))
    templates.check()  # the sandbox alone has nothing against it
    with pytest.raises(TemplateCheckError, match=r"wording flagged \(age\)"):
        templates.check(wording_check(load_settings()))


def test_the_built_in_templates_pass_the_wording_check() -> None:
    """Templates get the word lists (the meaning classifier reads feedback)."""
    LetterTemplates().check(wording_check(load_settings(), meaning=False))
