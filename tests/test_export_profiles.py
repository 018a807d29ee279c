"""Export profiles: an ATS's candidate export imports through Fairwell's own checks, all or none.

Each vendor's sample export in tests/data/ats/ is synthetic, laid out as the profile's cited
documentation describes the vendor's export. Errors name the file, the row and the vendor's
column; a column the profile expects names itself; unknown stage names are listed and stop
the import.
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.domain.model import Source, Stage
from fairwell.errors import ImportFileError, ProfileError
from fairwell.services.export_profiles import load_profile, profile_names
from fairwell.services.importing import import_file
from fairwell.services.vendors import vendor_names
from fairwell.storage.store import SqlStore

SAMPLES = Path(__file__).parent / "data" / "ats"

# What each sample holds once imported: address -> (stage, source).
EXPECTED = {
    "greenhouse": (
        "Data Analyst",
        {
            "ada.quill@example.org": (Stage.APPLIED, Source.APPLIED),
            "ben.rook@example.org": (Stage.REJECTED, Source.REFERRED),
            "dee.fern@example.org": (Stage.SCREEN, Source.SOURCED),
            "eli.moss@example.org": (Stage.HIRED, Source.APPLIED),
            "fay.lark@example.org": (Stage.PHONE, Source.APPLIED),
        },
    ),
    "lever": (
        "Backend Engineer",
        {
            "gus.wren@example.org": (Stage.APPLIED, Source.APPLIED),
            "hana.birch@example.org": (Stage.REJECTED, Source.REFERRED),
            "ivo.cruz@example.org": (Stage.APPLIED, Source.SOURCED),
            "jo.ash@example.org": (Stage.WITHDRAWN, Source.SOURCED),
            "kit.elm@example.org": (Stage.HIRED, Source.APPLIED),
        },
    ),
    "workable": (
        "Product Designer",
        {
            "lea.pine@example.org": (Stage.APPLIED, Source.APPLIED),
            "mo.reed@example.org": (Stage.REJECTED, Source.REFERRED),
            "ned.sage@example.org": (Stage.SCREEN, Source.SOURCED),
            "ola.teak@example.org": (Stage.HIRED, Source.APPLIED),
        },
    ),
    "personio": (
        "Werkstudent Marketing",
        {
            "paula.vogt@example.org": (Stage.APPLIED, Source.APPLIED),
            "quentin.braun@example.org": (Stage.ONSITE, Source.REFERRED),
            "rosa.klein@example.org": (Stage.REJECTED, Source.APPLIED),
            "sven.hartmann@example.org": (Stage.WITHDRAWN, Source.SOURCED),
            "tina.lang@example.org": (Stage.HIRED, Source.APPLIED),
        },
    ),
    "teamtailor": (
        "Support Lead",
        {
            "uma.frost@example.org": (Stage.APPLIED, Source.APPLIED),
            "vic.gale@example.org": (Stage.REJECTED, Source.REFERRED),
            "wyn.hale@example.org": (Stage.SCREEN, Source.SOURCED),
            "xia.isle@example.org": (Stage.HIRED, Source.APPLIED),
        },
    ),
}


def sample(tmp_path: Path, vendor: str, edit: tuple[str, str] | None = None) -> Path:
    """A copy of the vendor's sample export, with one text replaced if asked."""
    path = tmp_path / f"{vendor}.csv"
    shutil.copy(SAMPLES / f"{vendor}.csv", path)
    if edit is not None:
        text = path.read_text(encoding="utf-8")
        assert edit[0] in text
        path.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    return path


def imported(store: SqlStore, job: str) -> dict[str, tuple[Stage, Source]]:
    views = store.applicants(store.job_by_title(job).id)
    return {v.person.email: (v.application.stage, v.application.source) for v in views}


def nothing_imported(store: SqlStore) -> bool:
    return store.jobs() == []


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_each_shipped_profile_reads_its_vendors_sample_export(
    store: SqlStore, tmp_path: Path, vendor: str
) -> None:
    job, expected = EXPECTED[vendor]
    report = import_file(store, sample(tmp_path, vendor), actor="t", now=_now(), profile=vendor)
    assert report.counts.applications_created == len(expected)
    assert imported(store, job) == expected


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_each_vendors_export_saved_as_xlsx_reads_as_its_csv(
    store: SqlStore, tmp_path: Path, vendor: str
) -> None:
    job, expected = EXPECTED[vendor]
    workbook = as_workbook(sample(tmp_path, vendor), tmp_path / f"{vendor}.xlsx")
    report = import_file(store, workbook, actor="t", now=_now(), profile=vendor)
    assert report.counts.applications_created == len(expected)
    assert imported(store, job) == expected


def as_workbook(csv_path: Path, xlsx_path: Path) -> Path:
    """The CSV export as Excel saves it: one sheet, the same rows and cells."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for cells in csv.reader(handle):
            sheet.append(cells)
    book.save(xlsx_path)
    return xlsx_path


def test_there_is_a_sample_and_an_expectation_for_every_shipped_profile() -> None:
    assert profile_names() == vendor_names() == sorted(EXPECTED)
    assert sorted(path.stem for path in SAMPLES.glob("*.csv")) == sorted(EXPECTED)


def test_names_addresses_and_dates_come_through_as_the_vendor_wrote_them(
    store: SqlStore, tmp_path: Path
) -> None:
    import_file(store, sample(tmp_path, "lever"), actor="t", now=_now(), profile="lever")
    import_file(store, sample(tmp_path, "greenhouse"), actor="t", now=_now(), profile="greenhouse")
    lever = {v.person.email: v for v in store.applicants(store.job_by_title("Backend Engineer").id)}
    ivo = lever["ivo.cruz@example.org"].person
    assert (ivo.first_name, ivo.last_name) == ("Ivo", "de la Cruz"), "the first word greets"
    greenhouse = store.applicants(store.job_by_title("Data Analyst").id)
    ben = next(v for v in greenhouse if v.person.first_name == "Ben")
    assert ben.person.email == "ben.rook@example.org", "the first of several addresses"
    assert ben.application.referred_by == "Cara Vale"
    fay = next(v for v in greenhouse if v.person.first_name == "Fay")
    assert fay.application.applied_at is not None
    assert fay.application.applied_at.isoformat() == "2026-05-21T14:30:00+00:00"


def test_import_help_lists_every_profile() -> None:
    result = CliRunner().invoke(app, ["import", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in profile_names():
        assert name in result.stdout


def test_the_cli_imports_an_export_with_a_profile(tmp_path: Path) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "300"}
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    path = str(sample(tmp_path, "personio"))
    result = runner.invoke(app, ["import", path, "--profile", "personio"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "imported 5 application(s)" in result.stdout
    again = runner.invoke(app, ["import", path, "--profile", "personio"], env=env)
    assert "0 new, 0 updated, 5 unchanged" in again.stdout


# --- bad input --------------------------------------------------------------------------------


def test_a_renamed_vendor_column_is_named_as_the_profile_expects_it_and_nothing_is_imported(
    store: SqlStore, tmp_path: Path
) -> None:
    renamed = sample(tmp_path, "personio", ("Email address", "E-Mail-Adresse"))
    with pytest.raises(ImportFileError) as caught:
        import_file(store, renamed, actor="t", now=_now(), profile="personio")
    message = str(caught.value)
    assert "personio.csv, row 1" in message
    assert "missing column the personio profile expects: 'Email address' (or 'Email')" in message
    assert nothing_imported(store)


def test_stage_names_the_profile_does_not_know_are_listed_and_nothing_is_imported(
    store: SqlStore, tmp_path: Path
) -> None:
    path = sample(tmp_path, "greenhouse", ("Application Review", "Panel Chat"))
    text = path.read_text(encoding="utf-8").replace("Phone Interview", "Culture Coffee")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=_now(), profile="greenhouse")
    problems = [str(problem) for problem in caught.value.problems]
    assert problems == [
        "greenhouse.csv, field 'Stage': stage names the greenhouse profile does not know: "
        "'Panel Chat' (row 2), 'Culture Coffee' (row 6); map them in your own profile "
        "(--profile custom.toml, see docs/integrations/)"
    ]
    assert nothing_imported(store)


def test_a_stage_the_status_decides_needs_no_mapping(store: SqlStore, tmp_path: Path) -> None:
    """Ben is rejected whatever stage he was rejected at: "Face to Face" or one of your own."""
    path = sample(tmp_path, "greenhouse", ("Face to Face", "Our Own Panel"))
    import_file(store, path, actor="t", now=_now(), profile="greenhouse")
    assert imported(store, "Data Analyst")["ben.rook@example.org"][0] is Stage.REJECTED


def test_a_bad_value_names_the_file_the_row_and_the_vendors_column(
    store: SqlStore, tmp_path: Path
) -> None:
    path = sample(tmp_path, "personio", ("rosa.klein@example.org", "rosa.klein(at)example.org"))
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=_now(), profile="personio")
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.field) == ("personio.csv", 4, "Email address")
    assert nothing_imported(store)


def test_a_one_word_name_names_the_vendors_name_column(store: SqlStore, tmp_path: Path) -> None:
    path = sample(tmp_path, "lever", ("Gus Wren", "Gus"))
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=_now(), profile="lever")
    [problem] = caught.value.problems
    assert (problem.row, problem.field, problem.message) == (2, "Name", "is required but empty")


def test_a_date_the_profile_cannot_read_is_named(store: SqlStore, tmp_path: Path) -> None:
    path = sample(tmp_path, "personio", ("14.06.2026", "June the 14th"))
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=_now(), profile="personio")
    [problem] = caught.value.problems
    assert (problem.row, problem.field) == (2, "Application date")
    assert "'June the 14th' is not a date the personio profile reads (%d.%m.%Y" in problem.message


def test_an_origin_the_profile_does_not_know_is_listed(store: SqlStore, tmp_path: Path) -> None:
    """Lever's origins are a closed list: a new one is asked about, never guessed."""
    path = sample(tmp_path, "lever", (",agency,", ",walk-in,"))
    with pytest.raises(ImportFileError) as caught:
        import_file(store, path, actor="t", now=_now(), profile="lever")
    [problem] = caught.value.problems
    assert problem.field == "Origin"
    assert "source names the lever profile does not know: 'walk-in' (row 5)" in problem.message


def test_a_json_file_with_a_profile_is_refused_clearly(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ImportFileError, match="export profiles read CSV or Excel"):
        import_file(store, path, actor="t", now=_now(), profile="lever")


# --- custom profiles --------------------------------------------------------------------------


def test_an_organisations_profile_extends_a_shipped_one_with_its_own_stages(
    store: SqlStore, tmp_path: Path
) -> None:
    custom = tmp_path / "acme.toml"
    custom.write_text(
        'extends = "greenhouse"\nname = "acme"\n[stages]\n"Panel Chat" = "onsite"\n',
        encoding="utf-8",
    )
    path = sample(tmp_path, "greenhouse", ("Application Review", "Panel Chat"))
    import_file(store, path, actor="t", now=_now(), profile=str(custom))
    assert imported(store, "Data Analyst")["ada.quill@example.org"] == (
        Stage.ONSITE,
        Source.APPLIED,
    )


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ('extends = "greenhouse"\n[stages]\n"Panel" = "interview"\n', "stages.Panel = 'interview'"),
        ('extends = "greenhouse"\n[columns]\nshoe_size = "Shoe"\n', "'shoe_size' is not a field"),
        ('name = "x"\nvendor = "X"\n[columns]\nemail = "E"\n', "needs first_name and last_name"),
        ('extends = "bamboohr"\n', "extends = 'bamboohr' is not a shipped profile"),
        ("name = [", "not valid TOML"),
    ],
)
def test_a_broken_custom_profile_names_its_file_and_the_key(
    tmp_path: Path, toml: str, complaint: str
) -> None:
    custom = tmp_path / "mine.toml"
    custom.write_text(toml, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(custom))
    assert str(caught.value).startswith(str(custom))
    assert complaint in str(caught.value)


def test_an_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ProfileError, match="the shipped ones are greenhouse, lever, personio"):
        load_profile("bamboohr")


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_every_profile_says_what_it_was_built_from_and_how_to_export(vendor: str) -> None:
    profile = load_profile(vendor)
    assert profile.based_on and all(line.startswith("https://") for line in profile.based_on)
    assert profile.export


def _now() -> datetime:
    return datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
