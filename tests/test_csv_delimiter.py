"""A CSV file separated by ';' (what Excel writes as "CSV" in German, French and many other
locales) or by a tab imports as a comma file does: the header row decides the separator (the
one of ',', ';' and tab that splits it into the most cells, ',' on a tie) and every row is then
read with it, so a ';' file whose values hold commas imports whole. Problems still name the
file, the row and the field; a comma file reads as it always did.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.domain.model import Source, Stage
from fairwell.errors import ImportFileError
from fairwell.services.applicant_file import COLUMNS
from fairwell.services.importing import import_file
from fairwell.services.tabular import Problems, read_csv_records
from fairwell.services.wording import parse_rubric_file
from fairwell.storage.store import SqlStore

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)

# Every column filled (the 13 required and region); the job title holds a comma, the names
# umlauts.
JUERGEN = {
    "email": "juergen.groess@example.org",
    "first_name": "Jürgen",
    "last_name": "Größ",
    "job": "Werkstudent Marketing, Teilzeit",
    "stage": "onsite",
    "source": "referred",
    "referred_by": "Käthe Löw",
    "referral_aware": "yes",
    "locale": "de",
    "country": "DE",
    "timezone": "Europe/Berlin",
    "applied_at": "2026-06-14",
    "last_interview_at": "2026-07-01T09:30:00+02:00",
    "region": "DE-BE",
}
ANNA = {**JUERGEN, "email": "anna.weiss@example.org", "first_name": "Anna", "last_name": "Weiß"}
ANNA.update(stage="rejected", source="applied", referred_by="", referral_aware="")


def write(
    path: Path,
    rows: list[dict[str, str]],
    delimiter: str,
    *,
    columns: tuple[str, ...] = COLUMNS,
    quoting: int = csv.QUOTE_MINIMAL,
    bom: bool = False,
) -> Path:
    """The rows as a spreadsheet saves them: CRLF, values holding the separator quoted."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting)
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig" if bom else "utf-8", newline="")
    return path


def people(store: SqlStore, job: str) -> dict[str, Any]:
    return {v.person.email: v for v in store.applicants(store.job_by_title(job).id)}


def cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "300"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def import_error(store: SqlStore, path: Path, profile: str | None = None) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=NOW, profile=profile)
    return caught.value


# --- the native import --------------------------------------------------------------------------


def test_a_semicolon_file_as_german_excel_saves_it_imports_every_column(
    store: SqlStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "bewerber.csv", [JUERGEN, ANNA], ";", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfemail;first_name;")

    report = import_file(store, path, actor="t", now=NOW)

    assert report.counts.applications_created == 2
    juergen = people(store, "Werkstudent Marketing, Teilzeit")["juergen.groess@example.org"]
    assert (juergen.person.first_name, juergen.person.last_name) == ("Jürgen", "Größ")
    assert (juergen.person.locale, juergen.person.country, juergen.person.region) == (
        "de",
        "DE",
        "DE-BE",
    )
    assert juergen.person.timezone == "Europe/Berlin"
    assert (juergen.application.stage, juergen.application.source) == (
        Stage.ONSITE,
        Source.REFERRED,
    )
    assert (juergen.application.referred_by, juergen.application.referral_aware) == (
        "Käthe Löw",
        True,
    )
    assert juergen.application.applied_at is not None
    assert juergen.application.applied_at.date().isoformat() == "2026-06-14"
    assert juergen.application.last_interview_at is not None
    assert juergen.application.last_interview_at.isoformat() == "2026-07-01T07:30:00+00:00"


def test_the_cli_imports_a_semicolon_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bewerber.csv", [JUERGEN, ANNA], ";")
    assert cli(tmp_path, "init")[0] == 0

    code, out, err = cli(tmp_path, "import", str(path))

    assert code == 0, err
    assert "imported 2 application(s)" in out


def test_a_tab_separated_file_imports(store: SqlStore, tmp_path: Path) -> None:
    path = write(tmp_path / "applicants.csv", [JUERGEN, ANNA], "\t")

    report = import_file(store, path, actor="t", now=NOW)

    assert report.counts.applications_created == 2
    anna = people(store, "Werkstudent Marketing, Teilzeit")["anna.weiss@example.org"]
    assert (anna.person.last_name, anna.application.stage) == ("Weiß", Stage.REJECTED)


def test_a_quoted_header_decides_as_a_plain_one(store: SqlStore, tmp_path: Path) -> None:
    path = write(tmp_path / "applicants.csv", [JUERGEN], ";", quoting=csv.QUOTE_ALL)
    assert path.read_text(encoding="utf-8").startswith('"email";"first_name";')

    assert import_file(store, path, actor="t", now=NOW).counts.applications_created == 1


def test_a_bad_value_in_a_semicolon_file_names_the_file_row_and_field(tmp_path: Path) -> None:
    bad = {**ANNA, "email": "anna.weiss(at)example.org"}
    path = write(tmp_path / "bewerber.csv", [JUERGEN, bad], ";")
    assert cli(tmp_path, "init")[0] == 0

    code, _, err = cli(tmp_path, "import", str(path))

    assert code == 1
    assert "bewerber.csv, row 3, field 'email'" in err
    assert cli(tmp_path, "jobs", "--json")[1].strip() == "[]"


def test_blank_lines_above_the_header_keep_the_row_numbers_of_the_file(
    store: SqlStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "bewerber.csv", [JUERGEN, {**ANNA, "stage": "interviewing"}], ";")
    path.write_text(";;;\r\n\r\n" + path.read_text(encoding="utf-8"), encoding="utf-8")

    [problem] = import_error(store, path).problems

    assert (problem.file, problem.row, problem.field) == ("bewerber.csv", 5, "stage")


def test_a_row_with_a_value_too_many_asks_about_the_files_own_separator(
    store: SqlStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "bewerber.csv", [JUERGEN], ";")
    extra = ";".join(ANNA.values()) + ";x\r\n"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")

    [problem] = import_error(store, path).problems

    assert problem.row == 3
    assert problem.message == (
        "has 15 values but the header has 14 columns; does a value with a ';' lack its quotes?"
    )


def test_a_comma_file_reads_as_before_whatever_its_values_hold(
    store: SqlStore, tmp_path: Path
) -> None:
    odd = {**JUERGEN, "first_name": "Jürgen;Karl", "last_name": "Größ; von Berg; zu Au"}
    path = write(tmp_path / "applicants.csv", [odd], ",")

    assert import_file(store, path, actor="t", now=NOW).counts.applications_created == 1
    [view] = people(store, "Werkstudent Marketing, Teilzeit").values()
    assert (view.person.first_name, view.person.last_name) == (
        "Jürgen;Karl",
        "Größ; von Berg; zu Au",
    )


def test_a_one_column_comma_file_is_not_read_with_the_separators_its_values_hold() -> None:
    text = "email\r\nann;bob@example.org\r\n\tcarl@example.org\r\n"
    problems = Problems("one.csv")

    records = read_csv_records(text, problems, ["email"])

    assert [record.values for record in records] == [
        {"email": "ann;bob@example.org"},
        {"email": "\tcarl@example.org"},
    ]
    assert [record.row for record in records] == [2, 3]


def test_a_header_no_separator_splits_says_which_separators_are_read(
    store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "applicants.csv"
    path.write_text("|".join(COLUMNS) + "\n" + "|".join(JUERGEN.values()) + "\n", encoding="utf-8")

    [problem] = import_error(store, path).problems

    assert problem.row == 1
    assert problem.message.endswith(
        "(the header reads as one column: separate the values with ',', ';' or a tab)"
    )


def test_a_workbook_is_read_with_commas_whatever_its_header_cells_hold(
    store: SqlStore, tmp_path: Path
) -> None:
    # Our own CSV text of a sheet quotes the cells that hold commas, not those that hold
    # semicolons: this header has more semicolons than cells and must not be split at them.
    notes = "notes;" * (len(COLUMNS) + 1)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*COLUMNS, notes])
    sheet.append([*(JUERGEN.get(column, "") for column in COLUMNS), "a;b"])
    book.save(tmp_path / "applicants.xlsx")

    report = import_file(store, tmp_path / "applicants.xlsx", actor="t", now=NOW)

    assert report.counts.applications_created == 1


# --- an ATS export through a profile -----------------------------------------------------------

PERSONIO_HEADER = (
    "Candidate ID",
    "Candidate name",
    "Email address",
    "Position",
    "Final phase",
    "Final status",
    "Application date",
    "Application channel",
)


def personio_export(path: Path, rows: list[tuple[str, ...]]) -> Path:
    """A Personio export as a German Excel saves it: ';', a BOM, German dates."""
    return write(
        path,
        [dict(zip(PERSONIO_HEADER, row, strict=True)) for row in rows],
        ";",
        columns=PERSONIO_HEADER,
        bom=True,
    )


GERMAN_EXPORT = [
    ("601", "Jürgen Größ", "juergen.groess@example.org", "Vertrieb, Außendienst", "Interview",
     "Processing", "14.06.2026", "Employee referral"),
    ("602", "Zoë Müller-Lüdenscheidt", "zoe.mueller@example.org", "Vertrieb, Außendienst", "",
     "Rejected", "15.06.2026 10:30", "Career page"),
]  # fmt: skip


def test_a_semicolon_personio_export_imports_with_german_dates_umlauts_and_commas(
    store: SqlStore, tmp_path: Path
) -> None:
    path = personio_export(tmp_path / "personio.csv", GERMAN_EXPORT)

    report = import_file(store, path, actor="t", now=NOW, profile="personio")

    assert report.counts.applications_created == 2
    found = people(store, "Vertrieb, Außendienst")
    juergen = found["juergen.groess@example.org"]
    assert (juergen.person.first_name, juergen.person.last_name) == ("Jürgen", "Größ")
    assert (juergen.application.stage, juergen.application.source) == (
        Stage.ONSITE,
        Source.REFERRED,
    )
    zoe = found["zoe.mueller@example.org"]
    assert (zoe.person.first_name, zoe.person.last_name) == ("Zoë", "Müller-Lüdenscheidt")
    assert zoe.application.stage is Stage.REJECTED
    assert zoe.application.applied_at is not None
    assert zoe.application.applied_at.strftime("%d.%m.%Y %H:%M") == "15.06.2026 10:30"


def test_the_cli_imports_a_semicolon_personio_export(tmp_path: Path) -> None:
    path = personio_export(tmp_path / "personio.csv", GERMAN_EXPORT)
    assert cli(tmp_path, "init")[0] == 0

    code, out, err = cli(tmp_path, "import", str(path), "--profile", "personio")

    assert code == 0, err
    assert "imported 2 application(s)" in out


def test_a_bad_date_in_a_semicolon_personio_export_names_the_row_and_the_vendors_column(
    store: SqlStore, tmp_path: Path
) -> None:
    bad = (*GERMAN_EXPORT[1][:6], "15.6.26, vormittags", GERMAN_EXPORT[1][7])
    path = personio_export(tmp_path / "personio.csv", [GERMAN_EXPORT[0], bad])

    [problem] = import_error(store, path, profile="personio").problems

    assert (problem.file, problem.row, problem.field) == ("personio.csv", 3, "Application date")
    assert "'15.6.26, vormittags' is not a date the personio profile reads" in problem.message
    assert store.jobs() == []


# --- the rubric file, read by the same reader ---------------------------------------------------


def test_a_semicolon_rubric_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rubric.csv"
    path.write_text(
        "job;competency;bar;lang;gap\n"
        "Data Engineer;Spark;3;en;Your Spark job shuffled all the data, twice.\n",
        encoding="utf-8",
    )

    [row] = parse_rubric_file(path, language_of=lambda text: "en")

    assert (row.row, row.job, row.name, row.bar) == (2, "Data Engineer", "Spark", 3)
    assert row.wording is not None
    assert row.wording.gap == "Your Spark job shuffled all the data, twice."
