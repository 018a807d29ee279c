"""The language of candidates whose data gives none: FAIRWELL_DEFAULT_LOCALE for the
installation, `fairwell import --locale` for one import; a row's own locale always wins.

A German company imports its Personio export, which has no language column: with the
setting (or the option) its candidates are German and so are their letters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairwell.cli import app
from tests.helpers import add_cli_user, applicant, write_csv

PERSONIO = Path(__file__).parent / "data" / "ats" / "personio.csv"
PERSONIO_JOB = "Werkstudent Marketing"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh database; decisions are taken as rita, a recruiter."""
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "300"}
    assert run(env, "init")[0] == 0
    add_cli_user(env, tmp_path, "rita", "recruiter")
    return {**env, "FAIRWELL_USER": "rita"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def personio_export(tmp_path: Path) -> str:
    path = tmp_path / "export.csv"
    shutil.copy(PERSONIO, path)
    return str(path)


def imported(env: dict[str, str], *args: str) -> None:
    code, out, err = run(env, "import", *args)
    assert code == 0, err or out


def locales(env: dict[str, str], job: str = PERSONIO_JOB) -> dict[str, str]:
    people = json.loads(run(env, "applicants", "--job", job, "--json")[1])
    return {person["email"]: person["locale"] for person in people}


def planned_letter(env: dict[str, str], job: str, email: str) -> str:
    """The stored bytes of the letter `fairwell plan` staged for this person."""
    code, out, err = run(env, "reject", "--job", job, "--email", email, "--reason", "role-closed")
    assert code == 0, err or out
    assert run(env, "plan", "--job", job)[0] == 0
    code, letter, err = run(env, "preview", "--job", job, "--email", email)
    assert code == 0, err
    return letter


def test_a_personio_export_is_german_when_the_installation_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    german = {**env, "FAIRWELL_DEFAULT_LOCALE": "de"}
    imported(german, personio_export(tmp_path), "--profile", "personio")
    assert set(locales(german).values()) == {"de"}
    letter = planned_letter(german, PERSONIO_JOB, "paula.vogt@example.org")
    assert "Content-Language: de" in letter
    assert "Subject: Ihre Bewerbung als Werkstudent Marketing" in letter


def test_without_the_setting_an_export_without_a_language_is_english(
    env: dict[str, str], tmp_path: Path
) -> None:
    imported(env, personio_export(tmp_path), "--profile", "personio")
    assert set(locales(env).values()) == {"en"}
    assert "Content-Language: en" in planned_letter(env, PERSONIO_JOB, "paula.vogt@example.org")


def test_locale_makes_one_import_german(env: dict[str, str], tmp_path: Path) -> None:
    imported(env, personio_export(tmp_path), "--profile", "personio", "--locale", "de")
    assert set(locales(env).values()) == {"de"}
    letter = planned_letter(env, PERSONIO_JOB, "paula.vogt@example.org")
    assert "Content-Language: de" in letter


def test_locale_overrides_the_setting_for_one_import(env: dict[str, str], tmp_path: Path) -> None:
    german = {**env, "FAIRWELL_DEFAULT_LOCALE": "de"}
    imported(german, personio_export(tmp_path), "--profile", "personio", "--locale", "en-GB")
    assert set(locales(german).values()) == {"en"}


def test_a_rows_own_locale_is_kept_under_a_german_default(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Own", locale="en"),
        applicant("bo@example.com", "Bo", "Blank", locale=""),
        # One person, two jobs: one row says en, the other nothing; the person is en.
        applicant("cy@example.com", "Cy", "Twice", locale=""),
        applicant("cy@example.com", "Cy", "Twice", locale="en", job="Support Lead"),
        # One person, two blank rows: the default.
        applicant("di@example.com", "Di", "Twice", locale=""),
        applicant("di@example.com", "Di", "Twice", locale="", job="Support Lead"),
    ]
    german = {**env, "FAIRWELL_DEFAULT_LOCALE": "de"}
    imported(german, str(write_csv(tmp_path / "mixed.csv", rows)))
    assert locales(german, "Data Analyst") == {
        "ann@example.com": "en",
        "bo@example.com": "de",
        "cy@example.com": "en",
        "di@example.com": "de",
    }
    letter = planned_letter(german, "Data Analyst", "ann@example.com")
    assert "Content-Language: en" in letter


def test_an_exports_own_language_column_wins_over_the_default(
    env: dict[str, str], tmp_path: Path
) -> None:
    profile = tmp_path / "ours.toml"
    profile.write_text(
        'extends = "personio"\nname = "ours"\n[columns]\nlocale = "Language"\n', encoding="utf-8"
    )
    lines = PERSONIO.read_text(encoding="utf-8").splitlines()
    languages = ["Language", "en", "", "EN", "", "de"]
    export = tmp_path / "export.csv"
    export.write_text(
        "\n".join(f"{line},{lang}" for line, lang in zip(lines, languages, strict=True)) + "\n",
        encoding="utf-8",
    )
    imported(env, str(export), "--profile", str(profile), "--locale", "de")
    assert locales(env) == {
        "paula.vogt@example.org": "en",
        "quentin.braun@example.org": "de",
        "rosa.klein@example.org": "en",
        "sven.hartmann@example.org": "de",
        "tina.lang@example.org": "de",
    }


# --- a language letters are not written in --------------------------------------------------


def test_an_unknown_default_locale_is_a_configuration_error_on_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = run(
        {**env, "FAIRWELL_DEFAULT_LOCALE": "xx"}, "import", personio_export(tmp_path)
    )
    assert code == 3 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("fairwell: configuration error: invalid settings: default_locale:")
    assert "'xx' is not a language letters are written in (en, de)" in err


def test_an_unknown_locale_option_is_wrong_usage_and_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    export = personio_export(tmp_path)
    code, out, err = run(env, "import", export, "--profile", "personio", "--locale", "xx")
    assert code == 2 and out == ""
    assert err == "fairwell: --locale: 'xx' is not a language letters are written in (en, de)\n"
    assert json.loads(run(env, "jobs", "--json")[1]) == []


def test_import_help_says_locale_is_only_for_rows_without_one() -> None:
    result = CliRunner().invoke(app, ["import", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    help_text = " ".join(result.stdout.replace("│", " ").split())
    assert "--locale" in help_text
    assert "of rows without one" in help_text
