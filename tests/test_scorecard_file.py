"""The scorecard import file: every problem found, row and field named, nothing half-imported."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.domain.feedback import MAX_RATING, MIN_RATING
from fairwell.errors import ImportFileError, ImportProblem
from fairwell.services.scorecard_file import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    ScorecardRow,
    parse_scorecard_file,
)


def scorecard(**changes: Any) -> dict[str, Any]:
    """A good rating of Alice by Dana; pass changes to spoil one field."""
    row: dict[str, Any] = {
        "email": "Alice@Example.org",
        "job": "Backend Engineer",
        "interviewer": "Dana Lee",
        "competency": "System design",
        "rating": "3",
        "internal_note": "Solid on caching; weak on queues.",
        "note_for_candidate": "Read up on message queues.",
    }
    row.update(changes)
    return row


BOB = scorecard(
    email="bob@example.org",
    job="Designer",
    interviewer="erin@example.com",
    competency="Typography",
    rating="1",
    internal_note="",
    note_for_candidate="",
)


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # CRLF, as Excel writes; it quotes values holding CR or LF
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue()


def write_csv(folder: Path, rows: list[dict[str, Any]], **kwargs: Any) -> Path:
    path = folder / "scorecards.csv"
    path.write_text(csv_text(rows, **kwargs), encoding="utf-8", newline="")
    return path


def write_json(folder: Path, rows: object) -> Path:
    path = folder / "scorecards.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def write_bytes(folder: Path, data: bytes, name: str = "scorecards.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def import_error(path: Path) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        parse_scorecard_file(path)
    return caught.value


def problems_of(path: Path) -> list[ImportProblem]:
    return import_error(path).problems


def only_problem(path: Path) -> ImportProblem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


# --- a good file --------------------------------------------------------------------------------


def test_a_good_csv_and_the_same_json_give_the_same_rows(tmp_path: Path) -> None:
    rows = [scorecard(), BOB]
    from_csv = parse_scorecard_file(write_csv(tmp_path, rows))
    from_json = parse_scorecard_file(write_json(tmp_path, rows))

    # Rows are numbered as a person counts them: the CSV header is row 1, JSON counts from 1.
    assert [row.row for row in from_csv.rows] == [2, 3]
    assert [row.row for row in from_json.rows] == [1, 2]
    assert [replace(row, row=0) for row in from_csv.rows] == [
        replace(row, row=0) for row in from_json.rows
    ]
    assert from_csv.duplicates_merged == from_json.duplicates_merged == 0
    assert from_csv.rows == [
        ScorecardRow(
            2,
            "alice@example.org",
            "Backend Engineer",
            "Dana Lee",
            "System design",
            3,
            "Solid on caching; weak on queues.",
            "Read up on message queues.",
        ),
        ScorecardRow(3, "bob@example.org", "Designer", "erin@example.com", "Typography", 1, "", ""),
    ]


def test_json_takes_a_rating_as_a_number_and_null_notes_as_empty(tmp_path: Path) -> None:
    row = scorecard(rating=4, internal_note=None, note_for_candidate=None)

    parsed = parse_scorecard_file(write_json(tmp_path, [row]))

    assert (parsed.rows[0].rating, parsed.rows[0].internal_note) == (4, "")
    assert parsed.rows[0].note_for_candidate == ""


def test_the_note_columns_may_be_left_out_entirely(tmp_path: Path) -> None:
    columns = tuple(name for name in COLUMNS if name not in OPTIONAL_COLUMNS)
    row = scorecard()
    for name in OPTIONAL_COLUMNS:
        del row[name]

    from_csv = parse_scorecard_file(write_csv(tmp_path, [row], columns=columns)).rows[0]
    from_json = parse_scorecard_file(write_json(tmp_path, [row])).rows[0]

    assert (from_csv.internal_note, from_csv.note_for_candidate) == ("", "")
    assert replace(from_csv, row=0) == replace(from_json, row=0)


def test_header_names_are_case_insensitive_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    header = ",".join(["Panel", *(f" {name.upper()} " for name in COLUMNS)])
    row = csv_text([scorecard()]).splitlines()[1]
    text = f"{header}\nonsite loop,{row}\n"

    parsed = parse_scorecard_file(write_bytes(tmp_path, text.encode()))

    assert (parsed.rows[0].email, parsed.rows[0].rating) == ("alice@example.org", 3)


def test_an_internal_note_may_span_lines_in_a_quoted_csv_value(tmp_path: Path) -> None:
    note = "Strong:\r\n- caching\n- sharding\r\rWeak: queues"
    rows = [scorecard(internal_note=note), BOB]

    parsed = parse_scorecard_file(write_csv(tmp_path, rows))

    assert parsed.rows[0].internal_note == "Strong:\n- caching\n- sharding\n\nWeak: queues"
    # Rows are counted as a spreadsheet shows them, not by lines of the file.
    assert [row.row for row in parsed.rows] == [2, 3]


def test_an_internal_note_may_span_lines_in_json_too(tmp_path: Path) -> None:
    parsed = parse_scorecard_file(write_json(tmp_path, [scorecard(internal_note="a\nb")]))

    assert parsed.rows[0].internal_note == "a\nb"


# --- the shape of the file ----------------------------------------------------------------------


def test_a_missing_column_is_one_problem_naming_the_columns(tmp_path: Path) -> None:
    columns = tuple(name for name in COLUMNS if name not in ("interviewer", "rating"))
    problem = only_problem(write_csv(tmp_path, [scorecard()], columns=columns))

    assert problem.row == 1
    assert problem.message == "missing columns: interviewer, rating"


def test_a_column_given_twice_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [scorecard()], columns=(*COLUMNS, "Rating")))

    assert (problem.row, problem.message) == (1, "columns given more than once: rating")


def test_a_semicolon_separated_header_is_read_as_the_header(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, (";".join(COLUMNS) + "\n").encode())

    assert only_problem(path).message == "no rows: the file holds no scorecards"


def test_a_json_row_without_a_key_is_a_problem_for_that_row(tmp_path: Path) -> None:
    row = scorecard()
    del row["competency"]

    problem = only_problem(write_json(tmp_path, [scorecard(), row]))

    assert (problem.row, problem.message) == (2, "missing keys: competency")


def test_a_json_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = json.dumps([scorecard()])[:-2] + ', "RATING": 1}]'

    problem = only_problem(write_bytes(tmp_path, text.encode(), "scorecards.json"))

    assert (problem.row, problem.message) == (1, "keys given more than once: rating")


def test_a_json_file_that_is_not_a_list_of_objects_is_refused(tmp_path: Path) -> None:
    assert "not a list of scorecards" in only_problem(write_json(tmp_path, {"rows": []})).message
    problem = only_problem(write_json(tmp_path, [scorecard(), "bob@example.org"]))
    assert (problem.row, problem.message) == (2, "is text, not an object")


def test_a_row_with_an_unquoted_comma_is_refused(tmp_path: Path) -> None:
    good = csv_text([scorecard()])
    path = write_bytes(tmp_path, (good + good.splitlines()[1] + ",surplus\r\n").encode())

    problem = only_problem(path)

    assert problem.row == 3
    assert "quotes" in problem.message


@pytest.mark.parametrize("name", ["scorecards.csv", "scorecards.json"])
def test_an_empty_file_is_refused(tmp_path: Path, name: str) -> None:
    problem = only_problem(write_bytes(tmp_path, b"", name))

    assert problem.message.startswith("no rows" if name.endswith(".csv") else "not valid JSON")


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert "no rows" in only_problem(write_csv(tmp_path, [])).message
    assert "no rows" in only_problem(write_json(tmp_path, [])).message


def test_another_file_type_is_refused_by_name(tmp_path: Path) -> None:
    error = import_error(write_bytes(tmp_path, csv_text([scorecard()]).encode(), "cards.ods"))

    assert str(error).startswith("cards.ods: unsupported file type '.ods'")


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused_by_name(tmp_path: Path) -> None:
    error = import_error(write_bytes(tmp_path, csv_text([scorecard()]).encode(), "cards.xlsx"))

    assert str(error).startswith("cards.xlsx: cannot read the spreadsheet")


# --- encodings and line endings -----------------------------------------------------------------


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"\xef\xbb\xbf" + csv_text([scorecard()]).encode())

    assert parse_scorecard_file(path).rows[0].email == "alice@example.org"


def test_a_utf8_bom_is_accepted_in_json(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, b"\xef\xbb\xbf" + json.dumps([scorecard()]).encode(), "s.json")

    assert parse_scorecard_file(path).rows[0].email == "alice@example.org"


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_crlf_and_lf_line_endings_are_accepted(tmp_path: Path, ending: str) -> None:
    text = csv_text([scorecard(), BOB]).replace("\r\n", ending)

    parsed = parse_scorecard_file(write_bytes(tmp_path, text.encode()))

    assert [row.row for row in parsed.rows] == [2, 3]
    assert parsed.rows[1].competency == "Typography"  # no stray CR at the end of a row


def test_non_utf8_bytes_are_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    text = csv_text([scorecard(), BOB]).encode()
    path = write_bytes(tmp_path, text.replace(b"Typography", b"Typo\xe9graphy"))

    error = import_error(path)

    assert str(error).startswith("scorecards.csv: line 3 is not valid UTF-8")


def test_a_utf16_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, csv_text([scorecard()]).encode("utf-16"))

    assert "UTF-16" in only_problem(path).message


# --- ratings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", ["0", "5", "10", "99999999999999999999999"])
def test_a_rating_off_the_scale_names_the_row_and_field(tmp_path: Path, rating: str) -> None:
    problem = only_problem(write_csv(tmp_path, [BOB, scorecard(rating=rating)]))

    assert (problem.row, problem.field) == (3, "rating")
    assert "outside the rating scale of 1 to 4" in problem.message


@pytest.mark.parametrize("rating", [0, 5, -1])
def test_a_json_rating_off_the_scale_is_refused(tmp_path: Path, rating: int) -> None:
    problem = only_problem(write_json(tmp_path, [scorecard(rating=rating)]))

    assert (problem.row, problem.field) == (1, "rating")
    assert problem.message == f"{rating} is outside the rating scale of 1 to 4"


@pytest.mark.parametrize("rating", ["3.5", "3.0", "three", "+3", "-1", "3 of 4", "\u0663", ""])
def test_a_rating_that_is_not_a_whole_number_is_refused(tmp_path: Path, rating: str) -> None:
    problem = only_problem(write_csv(tmp_path, [scorecard(rating=rating)]))

    assert (problem.row, problem.field) == (2, "rating")
    assert problem.message in ("must be a whole number from 1 to 4", "is required but empty")


@pytest.mark.parametrize(
    ("rating", "said"),
    [(True, "a boolean"), (3.0, "3.0"), (3.5, "3.5"), ([3], "a list"), ({"n": 3}, "an object")],
)
def test_a_json_rating_that_is_not_a_whole_number_is_refused(
    tmp_path: Path, rating: object, said: str
) -> None:
    problem = only_problem(write_json(tmp_path, [scorecard(rating=rating)]))

    assert (problem.row, problem.field) == (1, "rating")
    assert problem.message == f"must be a whole number from 1 to 4, not {said}"


def test_a_rating_with_spaces_or_a_leading_zero_is_read(tmp_path: Path) -> None:
    rows = [scorecard(rating=" 2 "), scorecard(competency="Coding", rating="04")]

    assert [row.rating for row in parse_scorecard_file(write_csv(tmp_path, rows)).rows] == [2, 4]


# --- names and notes ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["job", "interviewer", "note_for_candidate"])
@pytest.mark.parametrize("bad", ["\r\n", "\n", "\r", "\u2028"])
def test_a_line_break_in_a_one_line_field_is_refused(tmp_path: Path, field: str, bad: str) -> None:
    value = f"Thanks for your time.{bad}Bcc: mallory@evil.example"
    problem = only_problem(write_csv(tmp_path, [scorecard(**{field: value})]))

    assert (problem.row, problem.field) == (2, field)
    assert "one line" in problem.message
    assert "evil" not in str(problem)


def test_a_line_break_in_an_otherwise_empty_note_for_the_candidate_is_refused(
    tmp_path: Path,
) -> None:
    problem = only_problem(write_json(tmp_path, [scorecard(note_for_candidate="\r\n")]))

    assert (problem.row, problem.field) == (1, "note_for_candidate")


@pytest.mark.parametrize("field", COLUMNS)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_nul_in_any_field_is_refused(tmp_path: Path, field: str, as_json: bool) -> None:
    rows = [scorecard(**{field: "Ali\0ce"})]
    path = write_json(tmp_path, rows) if as_json else write_csv(tmp_path, rows)

    problem = only_problem(path)

    assert (problem.row, problem.field) == (1 if as_json else 2, field)
    assert "NUL" in problem.message


def test_a_nul_alone_in_an_internal_note_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [scorecard(internal_note="\n\0\n")]))

    assert (problem.row, problem.field) == (2, "internal_note")


def test_a_lone_surrogate_in_an_internal_note_is_refused(tmp_path: Path) -> None:
    text = json.dumps([scorecard(internal_note="fine\nbut \ud800")])

    problem = only_problem(write_bytes(tmp_path, text.encode(), "scorecards.json"))

    assert (problem.field, "surrogate" in problem.message) == ("internal_note", True)


def test_a_bad_address_names_the_row_and_field(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [scorecard(), BOB | {"email": "bob at example.org"}])

    error = import_error(path)

    assert str(error).startswith("scorecards.csv, row 3, field 'email': not a single valid address")


def test_a_right_to_left_override_in_an_interviewer_name_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write_csv(tmp_path, [scorecard(interviewer="Dana\u202eeL")]))

    assert problem.field == "interviewer"
    assert "text-direction" in problem.message


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("job", 200),
        ("interviewer", 200),
        ("competency", 100),
        ("internal_note", 5000),
        ("note_for_candidate", 1000),
    ],
)
def test_a_value_one_character_too_long_is_refused(tmp_path: Path, field: str, limit: int) -> None:
    just_right = parse_scorecard_file(write_csv(tmp_path, [scorecard(**{field: "x" * limit})]))
    assert getattr(just_right.rows[0], field) == "x" * limit

    problem = only_problem(write_csv(tmp_path, [scorecard(**{field: "x" * (limit + 1)})]))

    assert (problem.field, problem.message.endswith(f"longer than {limit} characters")) == (
        field,
        True,
    )


@pytest.mark.parametrize("field", ["email", "job", "interviewer", "competency"])
def test_a_required_field_left_empty_is_refused(tmp_path: Path, field: str) -> None:
    problem = only_problem(write_csv(tmp_path, [scorecard(**{field: "  "})]))

    assert (problem.field, problem.message) == (field, "is required but empty")


def test_a_json_text_field_holding_a_number_is_refused(tmp_path: Path) -> None:
    problems = problems_of(write_json(tmp_path, [scorecard(competency=7, internal_note=1)]))

    assert [(p.field, p.message) for p in problems] == [
        ("competency", "must be text, not a number"),
        ("internal_note", "must be text, not a number"),
    ]


# --- duplicates ---------------------------------------------------------------------------------


def test_identical_rows_are_merged_into_the_first(tmp_path: Path) -> None:
    again = scorecard(email="ALICE@example.ORG", interviewer="dana  lee")
    rows = [scorecard(), BOB, again, scorecard()]

    parsed = parse_scorecard_file(write_csv(tmp_path, rows))

    assert [(row.row, row.email) for row in parsed.rows] == [
        (2, "alice@example.org"),
        (3, "bob@example.org"),
    ]
    assert parsed.rows[0].interviewer == "Dana Lee"
    assert parsed.duplicates_merged == 2


def test_one_interviewer_may_rate_several_competencies_and_candidates(tmp_path: Path) -> None:
    rows = [
        scorecard(),
        scorecard(competency="Coding", rating="4"),
        scorecard(interviewer="Frank Ocean", rating="2"),
        scorecard(job="Data Engineer", rating="1"),
    ]

    parsed = parse_scorecard_file(write_csv(tmp_path, rows))

    assert [row.rating for row in parsed.rows] == [3, 4, 2, 1]
    assert parsed.duplicates_merged == 0


def test_two_ratings_of_the_same_competency_by_one_interviewer_are_refused_naming_both_rows(
    tmp_path: Path,
) -> None:
    rows = [scorecard(rating="3"), BOB, scorecard(rating="2", competency="system  DESIGN")]

    problem = only_problem(write_csv(tmp_path, rows))

    assert (problem.row, problem.field) == (4, "rating")
    assert "row 2" in problem.message
    assert "interviewer rates a competency once" in problem.message


def test_the_same_rating_with_different_notes_is_refused_without_quoting_them(
    tmp_path: Path,
) -> None:
    rows = [scorecard(), scorecard(internal_note="Hesitant", note_for_candidate="Practise SQL")]

    problems = problems_of(write_json(tmp_path, rows))

    assert [(p.row, p.field) for p in problems] == [
        (2, "internal_note"),
        (2, "note_for_candidate"),
    ]
    assert all("row 1" in p.message for p in problems)
    text = str(import_error(write_json(tmp_path, rows)))
    for private in ("Hesitant", "SQL", "queues", "Alice", "alice", "Dana"):
        assert private not in text


# --- all or nothing -----------------------------------------------------------------------------


def test_every_problem_in_every_row_is_reported_together(tmp_path: Path) -> None:
    rows = [
        scorecard(email="nope"),
        BOB | {"rating": "5", "note_for_candidate": "a\nb"},
        scorecard(competency=""),
    ]

    problems = problems_of(write_csv(tmp_path, rows))

    assert [(p.row, p.field) for p in problems] == [
        (2, "email"),
        (3, "rating"),
        (3, "note_for_candidate"),
        (4, "competency"),
    ]


# --- the property -------------------------------------------------------------------------------


def _on_scale(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return MIN_RATING <= value <= MAX_RATING
    if isinstance(value, str):
        text = value.strip()
        return text.isascii() and text.isdigit() and MIN_RATING <= int(text) <= MAX_RATING
    return False


OFF_SCALE = st.one_of(
    st.integers().filter(lambda n: not MIN_RATING <= n <= MAX_RATING),
    st.integers().map(str).filter(lambda text: not _on_scale(text)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=12).filter(lambda text: not _on_scale(text)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rating=OFF_SCALE, as_json=st.booleans())
def test_any_rating_outside_the_scale_is_refused_and_never_returned(
    tmp_path_factory: pytest.TempPathFactory, rating: object, as_json: bool
) -> None:
    if not as_json and not isinstance(rating, str):
        rating = "" if rating is None else json.dumps(rating)  # as a spreadsheet would show it
    folder = tmp_path_factory.mktemp("property")
    rows = [BOB, scorecard(rating=rating)]
    path = write_json(folder, rows) if as_json else write_csv(folder, rows)

    with pytest.raises(ImportFileError) as caught:
        parse_scorecard_file(path)

    assert any(
        (p.row, p.field) == (2 if as_json else 3, "rating") for p in caught.value.problems
    ), caught.value.problems
