"""The applicant import file: every problem found, row and field named, nothing half-imported."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from fairwell.domain.model import Source, Stage
from fairwell.errors import MAX_PROBLEMS_KEPT, ImportFileError, ImportProblem
from fairwell.services.applicant_file import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_STREAMED_BYTES,
    parse_applicant_file,
)


def applicant(**changes: Any) -> dict[str, Any]:
    """A good row for Alice; pass changes to spoil one field."""
    row: dict[str, Any] = {
        "email": "Alice@Example.org",
        "first_name": "Alice",
        "last_name": "Liddell",
        "job": "Backend Engineer",
        "stage": "rejected",
        "source": "applied",
        "referred_by": "",
        "referral_aware": "",
        "locale": "",
        "country": "",
        "timezone": "",
        "applied_at": "2024-05-17",
        "last_interview_at": "",
    }
    row.update(changes)
    return row


BOB = applicant(
    email="bob@example.org",
    first_name="Bob",
    last_name="Builder",
    job="Designer",
    stage="onsite",
    source="referred",
    referred_by="Carol Chen",
    referral_aware="Yes",
    locale="DE",
    country="de",
    timezone="Europe/Berlin",
    applied_at="2024-05-17T14:30:00+02:00",
    last_interview_at="2024-06-01T09:00:00",
)


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # CRLF, as Excel writes; it quotes values holding CR or LF
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue()


def write_csv(folder: Path, rows: list[dict[str, Any]], **kwargs: Any) -> Path:
    path = folder / "applicants.csv"
    path.write_text(csv_text(rows, **kwargs), encoding="utf-8", newline="")
    return path


def write_json(folder: Path, rows: object) -> Path:
    path = folder / "applicants.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def write_bytes(folder: Path, data: bytes, name: str = "applicants.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def import_error(path: Path, *, strict: bool = False) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        parse_applicant_file(path, strict=strict)
    return caught.value


def problems_of(path: Path, *, strict: bool = False) -> list[ImportProblem]:
    return import_error(path, strict=strict).problems


def only_problem(path: Path, *, strict: bool = False) -> ImportProblem:
    problems = problems_of(path, strict=strict)
    assert len(problems) == 1, problems
    return problems[0]


# --- a good file --------------------------------------------------------------------------------


def test_a_good_csv_and_the_same_json_give_the_same_rows(tmp_path: Path) -> None:
    rows = [applicant(), BOB]
    from_csv = parse_applicant_file(write_csv(tmp_path, rows))
    from_json = parse_applicant_file(write_json(tmp_path, rows))

    # Rows are numbered as a person counts them: the CSV header is row 1, JSON counts from 1.
    assert [row.row for row in from_csv.rows] == [2, 3]
    assert [row.row for row in from_json.rows] == [1, 2]
    assert [replace(row, row=0) for row in from_csv.rows] == [
        replace(row, row=0) for row in from_json.rows
    ]
    assert from_csv.duplicates_merged == 0
    alice, bob = from_csv.rows
    assert (alice.row, alice.email, alice.stage, alice.source) == (
        2,
        "alice@example.org",
        Stage.REJECTED,
        Source.APPLIED,
    )
    assert alice.locale == "en"
    assert (alice.referred_by, alice.referral_aware, alice.country, alice.timezone) == (None,) * 4
    assert alice.applied_at == datetime(2024, 5, 17, tzinfo=UTC)
    assert (bob.referred_by, bob.referral_aware, bob.locale) == ("Carol Chen", True, "de")
    assert (bob.country, bob.timezone) == ("DE", "Europe/Berlin")
    assert bob.applied_at == datetime(2024, 5, 17, 12, 30, tzinfo=UTC)
    assert bob.last_interview_at == datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def test_json_rows_are_numbered_from_one_and_accept_booleans_and_nulls(tmp_path: Path) -> None:
    row = applicant(referral_aware=False, country=None, timezone=None, last_interview_at=None)

    parsed = parse_applicant_file(write_json(tmp_path, [row]))

    assert parsed.rows[0].row == 1
    assert parsed.rows[0].referral_aware is False


def test_header_names_are_case_insensitive_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    header = ",".join(["Notes", *(f" {name.upper()} " for name in COLUMNS)])
    row = csv_text([applicant()]).splitlines()[1]
    text = f'{header}\n"met at a fair,\nsee CV",{row}\n'

    parsed = parse_applicant_file(write_bytes(tmp_path, text.encode()))

    assert parsed.rows[0].email == "alice@example.org"


def test_dates_become_aware_utc_datetimes(tmp_path: Path) -> None:
    rows = [
        applicant(job="A", applied_at="2024-05-17"),
        applicant(job="B", applied_at="2024-05-17T10:00:00"),
        applicant(job="C", applied_at="2024-05-17T10:00:00Z"),
        applicant(job="D", applied_at="2024-05-17T10:00:00-04:00"),
    ]

    moments = [row.applied_at for row in parse_applicant_file(write_csv(tmp_path, rows)).rows]

    assert moments == [
        datetime(2024, 5, 17, tzinfo=UTC),
        datetime(2024, 5, 17, 10, tzinfo=UTC),
        datetime(2024, 5, 17, 10, tzinfo=UTC),
        datetime(2024, 5, 17, 14, tzinfo=UTC),
    ]


# --- the shape of the file ----------------------------------------------------------------------


def test_a_missing_column_is_one_problem_naming_the_columns(tmp_path: Path) -> None:
    columns = tuple(name for name in COLUMNS if name not in ("stage", "timezone"))
    problem = only_problem(write_csv(tmp_path, [applicant()], columns=columns))

    assert problem.row == 1
    assert "missing columns: stage, timezone" in problem.message


def test_a_semicolon_separated_header_is_read_as_the_header(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, (";".join(COLUMNS) + "\n").encode())

    assert only_problem(path).message == "no rows: the file holds no applicants"


def test_a_json_row_without_a_key_is_a_problem_for_that_row(tmp_path: Path) -> None:
    row = applicant()
    del row["country"]

    problem = only_problem(write_json(tmp_path, [applicant(), row]))

    assert (problem.row, problem.message) == (2, "missing keys: country")


def test_a_json_file_that_is_not_a_list_of_objects_is_refused(tmp_path: Path) -> None:
    assert "not a list" in only_problem(write_json(tmp_path, {"rows": []})).message
    problem = only_problem(write_json(tmp_path, [applicant(), "bob@example.org"]))
    assert (problem.row, problem.message) == (2, "is text, not an object")


def test_a_json_text_field_holding_a_number_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_json(tmp_path, [applicant(last_name=42)]))

    assert (problem.field, problem.message) == ("last_name", "must be text, not a number")


def test_a_json_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = json.dumps([applicant()])[:-2] + ', "EMAIL": "mallory@example.org"}]'

    problem = only_problem(write_bytes(tmp_path, text.encode(), "applicants.json"))

    assert (problem.row, problem.message) == (1, "keys given more than once: email")


def test_a_lone_surrogate_from_a_json_escape_is_refused(tmp_path: Path) -> None:
    text = json.dumps([applicant(first_name="Al\ud800ice")])

    problem = only_problem(write_bytes(tmp_path, text.encode(), "applicants.json"))

    assert problem.field == "first_name"


def test_an_unterminated_quote_stops_reading_at_its_row(tmp_path: Path) -> None:
    text = csv_text([applicant()]) + '"bob@example.org,Bob\r\n'

    problem = only_problem(write_bytes(tmp_path, text.encode()))

    assert problem.row == 3
    assert "unexpected end of data" in problem.message


def test_a_row_with_an_unquoted_comma_is_refused(tmp_path: Path) -> None:
    good = csv_text([applicant()])
    path = write_bytes(tmp_path, (good + good.splitlines()[1] + ",surplus\r\n").encode())

    problem = only_problem(path)

    assert problem.row == 3
    assert "quotes" in problem.message


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    assert "no rows" in only_problem(write_bytes(tmp_path, b"")).message


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert "no rows" in only_problem(write_csv(tmp_path, [])).message
    assert "no rows" in only_problem(write_json(tmp_path, [])).message


def test_another_file_type_is_refused_by_name(tmp_path: Path) -> None:
    error = import_error(tmp_path / "applicants.xls")

    assert str(error).startswith("applicants.xls: unsupported file type '.xls'")


@pytest.mark.parametrize(
    ("name", "limit", "said"),
    [
        ("applicants.csv", MAX_STREAMED_BYTES, "128 MB"),
        ("applicants.json", MAX_IMPORT_BYTES, "50 MB"),
    ],
)
def test_a_file_above_the_limit_is_refused_before_reading(
    tmp_path: Path, name: str, limit: int, said: str
) -> None:
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(limit + 1)

    assert f"the limit is {said}" in only_problem(path).message


def test_a_csv_is_read_a_line_at_a_time_past_the_limit_of_a_file_read_whole(
    tmp_path: Path,
) -> None:
    """A CSV over the whole-file limit is not refused for its size: it is streamed (a sparse
    file of that size is read as far as its first line, which is not UTF-8 text)."""
    path = tmp_path / "applicants.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)

    message = only_problem(path).message
    assert "the limit" not in message


# --- encodings and line endings -----------------------------------------------------------------


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"\xef\xbb\xbf" + csv_text([applicant()]).encode())

    assert parse_applicant_file(path).rows[0].email == "alice@example.org"


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_crlf_and_lf_line_endings_are_accepted(tmp_path: Path, ending: str) -> None:
    text = csv_text([applicant(), BOB]).replace("\r\n", ending)

    parsed = parse_applicant_file(write_bytes(tmp_path, text.encode()))

    assert [row.row for row in parsed.rows] == [2, 3]
    assert parsed.rows[1].timezone == "Europe/Berlin"


def test_non_utf8_bytes_are_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    text = csv_text([applicant(), BOB]).encode()
    path = write_bytes(tmp_path, text.replace(b"Builder", b"Bu\xefilder"))

    error = import_error(path)

    assert str(error).startswith("applicants.csv: line 3 is not valid UTF-8")


def test_a_utf16_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, csv_text([applicant()]).encode("utf-16"))

    assert "UTF-16" in only_problem(path).message


def test_a_10_mb_file_imports_whole(tmp_path: Path) -> None:
    # How fast is measured in bench/, not here: a busy machine must not fail a test.
    lines = [",".join((*(column for column in COLUMNS if column != "region"), "notes"))]
    for n in range(62_000):
        lines.append(
            f"person.{n}@example.org,Person{n % 997},Family{n % 1009},Engineer {n % 50},"
            f"rejected,applied,,no,de,DE,Europe/Berlin,2024-05-{n % 28 + 1:02d},"
            f"2024-06-{n % 28 + 1:02d}T10:00:00+02:00,{'x' * 40}"
        )
    path = write_bytes(tmp_path, "\n".join(lines).encode())
    assert path.stat().st_size >= 10 * 1024 * 1024

    parsed = parse_applicant_file(path)

    assert len(parsed.rows) == 62_000
    assert parsed.rows[-1].email == "person.61999@example.org"


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Alice\r\nBcc: x@evil.example", "Alice\nBcc: x@evil.example", "Alice\rX", "Ali\0ce"],
)
def test_a_line_break_or_nul_inside_a_name_is_refused(tmp_path: Path, name: str) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(first_name=name)]))

    assert (problem.row, problem.field) == (2, "first_name")
    assert "evil" not in problem.message


def test_a_line_break_in_an_otherwise_empty_optional_field_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(timezone="\r\n")]))

    assert problem.field == "timezone"


def test_unicode_line_separators_are_refused_too(tmp_path: Path) -> None:
    problem = only_problem(write_json(tmp_path, [applicant(job="Engineer\u2028Bcc")]))

    assert problem.field == "job"


def test_a_right_to_left_override_in_a_name_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(last_name="Liddell\u202egpj.exe")]))

    assert problem.field == "last_name"
    assert "text-direction" in problem.message


def test_a_5000_character_name_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(first_name="A" * 5000)]))

    assert problem.field == "first_name"
    assert "longer than 200" in problem.message


def test_emoji_in_names_are_fine(tmp_path: Path) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    path = write_csv(tmp_path, [applicant(first_name="Alice 🎉", last_name=f"Liddell {family}")])

    row = parse_applicant_file(path).rows[0]

    assert (row.first_name, row.last_name) == ("Alice 🎉", f"Liddell {family}")


def test_a_bad_address_names_the_row_and_field(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [applicant(), BOB | {"email": "bob at example.org"}])

    error = import_error(path)

    assert str(error).startswith("applicants.csv, row 3, field 'email': not a single valid address")


@pytest.mark.parametrize("address", ["alice@example.org)<bob@example.org>", "a@b, c@d"])
def test_an_address_that_smuggles_a_second_one_is_refused(tmp_path: Path, address: str) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(email=address)]))

    assert (problem.row, problem.field) == (2, "email")


def test_an_internationalised_domain_comes_back_idna_encoded(tmp_path: Path) -> None:
    parsed = parse_applicant_file(write_csv(tmp_path, [applicant(email="user@Bücher.example")]))

    assert parsed.rows[0].email == "user@xn--bcher-kva.example"


def test_a_non_ascii_local_part_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(email="jürgen@bücher.example")]))

    assert problem.field == "email"


def test_an_unknown_stage_lists_the_allowed_ones(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(stage="intervewing")]))

    assert problem.field == "stage"
    assert "applied, screen, phone, onsite, offer, hired, rejected, withdrawn" in problem.message


def test_stage_and_source_ignore_case_and_spaces(tmp_path: Path) -> None:
    row = parse_applicant_file(write_csv(tmp_path, [applicant(stage=" Hired ", source="SOURCED")]))

    assert (row.rows[0].stage, row.rows[0].source) == (Stage.HIRED, Source.SOURCED)


def test_a_bad_date_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(applied_at="17/05/2024")]))

    assert problem.field == "applied_at"
    assert "ISO 8601" in problem.message


def test_a_bad_time_zone_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(timezone="Europe/Atlantis")]))

    assert problem.field == "timezone"


@pytest.mark.parametrize("zone", ["../../etc/passwd", "/etc/localtime", "localtime", "Europe"])
def test_a_path_is_not_a_time_zone(tmp_path: Path, zone: str) -> None:
    assert only_problem(write_csv(tmp_path, [applicant(timezone=zone)])).field == "timezone"


def test_a_time_zone_in_other_case_comes_back_canonical(tmp_path: Path) -> None:
    row = parse_applicant_file(write_csv(tmp_path, [applicant(timezone="europe/berlin")])).rows[0]

    assert row.timezone == "Europe/Berlin"


def test_an_unsupported_locale_lists_the_supported_ones(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(locale="fr")]))

    assert problem.field == "locale"
    assert "supported: en, de" in problem.message


def test_a_locale_with_a_region_keeps_the_language(tmp_path: Path) -> None:
    assert (
        parse_applicant_file(write_csv(tmp_path, [applicant(locale="de_AT")])).rows[0].locale
        == "de"
    )


def test_a_country_must_be_an_iso_code(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(country="UK")]))

    assert (problem.field, "GB" in problem.message) == ("country", True)


def test_every_country_of_the_system_tz_database_is_accepted() -> None:
    table = Path("/usr/share/zoneinfo/iso3166.tab")
    if not table.exists():
        pytest.skip("no tzdata iso3166.tab on this system")
    from fairwell.services.applicant_file import _country

    codes = {line.split("\t")[0] for line in table.read_text().splitlines() if line[:1] != "#"}
    # Kosovo's XK is a user-assigned code, not an ISO 3166-1 country.
    assert {_country(code.lower()) for code in codes - {"XK"}} == codes - {"XK"}


# --- Excel workbooks ----------------------------------------------------------------------------


def write_xlsx(folder: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for cells in rows:
        sheet.append(cells)
    path = folder / "applicants.xlsx"
    book.save(path)
    return path


def test_an_xlsx_file_reads_like_its_csv_with_dates_as_cells(tmp_path: Path) -> None:
    alice = applicant(applied_at=datetime(2024, 5, 17), last_interview_at="")
    bob = {**BOB, "applied_at": datetime(2024, 5, 17, 12, 30)}
    path = write_xlsx(
        tmp_path, [list(COLUMNS), *([row.get(c, "") for c in COLUMNS] for row in (alice, bob))]
    )

    from_xlsx = parse_applicant_file(path)
    from_csv = parse_applicant_file(write_csv(tmp_path, [applicant(), BOB]))

    assert [replace(row, applied_at=None) for row in from_xlsx.rows] == [
        replace(row, applied_at=None) for row in from_csv.rows
    ]
    assert [row.applied_at for row in from_xlsx.rows] == [
        datetime(2024, 5, 17, tzinfo=UTC),
        datetime(2024, 5, 17, 12, 30, tzinfo=UTC),
    ]


def test_an_xlsx_problem_names_the_row_the_spreadsheet_shows(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(COLUMNS), [applicant().get(c, "") for c in COLUMNS], []]
    rows.append([applicant(email="not an address").get(c, "") for c in COLUMNS])

    problem = only_problem(write_xlsx(tmp_path, rows))

    assert (problem.file, problem.row, problem.field) == ("applicants.xlsx", 4, "email")


def test_a_file_that_only_says_it_is_xlsx_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "applicants.xlsx"
    path.write_bytes(b"email,first_name\nnot,a workbook\n")

    problem = only_problem(path)

    assert problem.message.startswith("cannot read the spreadsheet:")
    assert "\n" not in problem.message


# --- regions ------------------------------------------------------------------------------------


def test_a_region_is_stored_as_its_full_iso_3166_2_code(tmp_path: Path) -> None:
    rows = [
        applicant(country="CA", region="ca-on"),
        applicant(email="b@example.org", country="US", region="CA"),
        applicant(email="c@example.org", country="", region="DE-BY"),
    ]

    parsed = parse_applicant_file(write_csv(tmp_path, rows, columns=(*COLUMNS,)))

    assert [(row.country, row.region) for row in parsed.rows] == [
        ("CA", "CA-ON"),
        ("US", "US-CA"),
        ("DE", "DE-BY"),  # the region names its country
    ]


def test_a_region_of_another_country_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(country="FR", region="CA-ON")]))

    assert (problem.row, problem.field) == (2, "region")
    assert "does not belong to country 'FR'" in problem.message


def test_a_region_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(country="CA", region="ZZ")]))

    assert (problem.field, "'CA-ZZ' is not a region of CA" in problem.message) == ("region", True)


def test_a_bare_region_without_a_country_asks_for_one(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [applicant(country="", region="ON")]))

    assert (problem.field, "CC-ON" in problem.message) == ("region", True)


def test_a_file_without_the_region_column_still_imports(tmp_path: Path) -> None:
    without = tuple(column for column in COLUMNS if column != "region")

    parsed = parse_applicant_file(write_csv(tmp_path, [applicant(country="CA")], columns=without))

    assert (parsed.rows[0].country, parsed.rows[0].region) == ("CA", None)


# --- duplicates ---------------------------------------------------------------------------------


def test_the_same_address_in_other_case_for_the_same_job_is_merged(tmp_path: Path) -> None:
    rows = [applicant(), BOB, applicant(email="ALICE@example.ORG", country="GB")]

    parsed = parse_applicant_file(write_csv(tmp_path, rows))

    assert [row.email for row in parsed.rows] == ["alice@example.org", "bob@example.org"]
    assert parsed.duplicates_merged == 1
    assert parsed.rows[0].row == 2
    assert parsed.rows[0].country == "GB"  # a value only the later row had is kept


def test_strict_refuses_duplicates_that_disagree_on_the_stage_naming_both_rows(
    tmp_path: Path,
) -> None:
    rows = [applicant(stage="hired"), BOB, applicant(stage="rejected")]

    problem = only_problem(write_csv(tmp_path, rows), strict=True)

    assert (problem.row, problem.field) == (4, "stage")
    assert "row 2" in problem.message
    assert "'hired'" in problem.message and "'rejected'" in problem.message


def test_one_person_may_apply_for_two_jobs(tmp_path: Path) -> None:
    rows = [applicant(locale="de"), applicant(job="Data Engineer", first_name="ALICE")]

    parsed = parse_applicant_file(write_csv(tmp_path, rows))

    assert [row.job for row in parsed.rows] == ["Backend Engineer", "Data Engineer"]
    assert {row.first_name for row in parsed.rows} == {"Alice"}  # one spelling per person
    assert {row.locale for row in parsed.rows} == {"de"}  # one language per person
    assert parsed.duplicates_merged == 0


def test_strict_refuses_one_address_with_two_names(tmp_path: Path) -> None:
    rows = [applicant(), applicant(job="Data Engineer", last_name="Smith")]

    problem = only_problem(write_csv(tmp_path, rows), strict=True)

    assert (problem.row, problem.field) == (3, "last_name")
    assert "row 2" in problem.message
    assert "Smith" not in problem.message


# --- all or nothing -----------------------------------------------------------------------------


def test_every_problem_in_every_row_is_reported_together(tmp_path: Path) -> None:
    rows = [applicant(email="nope"), BOB | {"stage": "hmm", "locale": "fr"}, applicant(job="")]

    problems = problems_of(write_csv(tmp_path, rows))

    assert [(p.row, p.field) for p in problems] == [
        (2, "email"),
        (3, "stage"),
        (3, "locale"),
        (4, "job"),
    ]


def test_a_flood_of_problems_is_capped_and_counted(tmp_path: Path) -> None:
    rows = [applicant(email=f"bad{n}", job=f"Job {n}") for n in range(120)]

    error = import_error(write_csv(tmp_path, rows))

    assert len(error.problems) == MAX_PROBLEMS_KEPT
    assert (error.problem_count, error.more_problems) == (120, 70)
    assert str(error).endswith("... and 110 more problems (120 in all)")


# --- the property -------------------------------------------------------------------------------

# CR, LF and NUL, and the other characters str.splitlines() breaks on.
LINE_BREAKS_AND_NUL = st.sampled_from(["\r", "\n", "\0", "\r\n", "\x0b", "\x85", "\u2028"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(COLUMNS),
    before=st.text(max_size=20),
    bad=LINE_BREAKS_AND_NUL,
    after=st.text(max_size=20),
    as_json=st.booleans(),
)
def test_any_value_with_cr_lf_or_nul_is_refused_and_never_returned(
    tmp_path_factory: pytest.TempPathFactory,
    field: str,
    before: str,
    bad: str,
    after: str,
    as_json: bool,
) -> None:
    folder = tmp_path_factory.mktemp("property")
    value = before + bad + after
    rows = [BOB, applicant(**{field: value})]
    path = write_json(folder, rows) if as_json else write_csv(folder, rows)

    with pytest.raises(ImportFileError) as caught:
        parse_applicant_file(path)

    problems = caught.value.problems
    assert any(
        (p.row, p.field) == (3 if not as_json else 2, field) and "one line" in p.message
        for p in problems
    ), problems
    assert not any(bad in str(p) for p in problems)
