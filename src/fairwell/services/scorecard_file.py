"""Read and check an interview scorecard file (CSV or JSON) before anything touches the database.

Each row is one interviewer's rating of one competency of one candidate for one job. The rules
are the applicant file's (:mod:`fairwell.services.applicant_file`), whose problem types and
reading steps this module shares: every problem is collected and reported together, each with
the row and field a recruiter can find in their spreadsheet, and a file with any problem yields
no rows. Messages name rows and fields but never repeat names, addresses or notes.

Pure: this module reads the one file it is given and nothing else. Whether the candidates, jobs
and competencies exist is for the importer to check against the database.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fairwell.domain.addresses import normalise_address
from fairwell.domain.feedback import MAX_RATING, MIN_RATING
from fairwell.errors import InvalidInput
from fairwell.services.applicant_file import (
    _LONE_SURROGATE,
    ImportFileError,
    ImportProblem,
    _csv_row_fits,
    _decode,
    _json_kind,
    _JsonObject,
    _name,
    _Problems,
    _read,
    _Record,
    _RowReader,
)

__all__ = [
    "COLUMNS",
    "MAX_COMPETENCY_LENGTH",
    "MAX_INTERNAL_NOTE_LENGTH",
    "MAX_NOTE_FOR_CANDIDATE_LENGTH",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportFileError",
    "ImportProblem",
    "ParsedScorecards",
    "ScorecardRow",
    "parse_scorecard_file",
]

COLUMNS = (
    "email",
    "job",
    "interviewer",
    "competency",
    "rating",
    "internal_note",
    "note_for_candidate",
)
# A file may leave these columns (or JSON keys) out altogether: the notes are then empty.
OPTIONAL_COLUMNS = ("internal_note", "note_for_candidate")
REQUIRED_COLUMNS = tuple(name for name in COLUMNS if name not in OPTIONAL_COLUMNS)
MAX_COMPETENCY_LENGTH = 100  # the competencies table holds 100 characters
MAX_INTERNAL_NOTE_LENGTH = 5000
MAX_NOTE_FOR_CANDIDATE_LENGTH = 1000

_RATING_RULE = f"must be a whole number from {MIN_RATING} to {MAX_RATING}"
# Rows that agree on the key but differ in one of these contradict each other.
_RATING_FIELDS = ("rating", "internal_note", "note_for_candidate")
_LINE_ENDING = re.compile(r"\r\n?")


@dataclass(frozen=True, slots=True)
class ScorecardRow:
    """One interviewer's rating of one competency, checked; ``row`` is where it is in the file.

    ``internal_note`` may span lines (always ``\\n``) and never reaches the candidate;
    ``note_for_candidate`` is one line. Both are ``""`` when not given.
    """

    row: int
    email: str
    job: str
    interviewer: str
    competency: str
    rating: int
    internal_note: str
    note_for_candidate: str


@dataclass(frozen=True, slots=True)
class ParsedScorecards:
    """The ratings in a file that passed every check.

    ``rows`` has one entry per distinct rating, in the order each first appears;
    ``duplicates_merged`` counts the rows that repeated an earlier row exactly.
    """

    rows: list[ScorecardRow]
    duplicates_merged: int


def parse_scorecard_file(path: Path) -> ParsedScorecards:
    """Read, check and de-duplicate a scorecard file; raise ImportFileError naming every problem.

    The format follows the extension (``.csv`` or ``.json``). Nothing is returned unless the
    whole file is good.
    """
    problems = _Problems(path.name)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise problems.fatal(f"unsupported file type {path.suffix!r}; use a .csv or .json file")
    records = reader(_decode(_read(path, problems), problems), problems)
    if not records and not problems.found:
        raise problems.fatal("no rows: the file holds no scorecards")
    rows = [row for row in (_parse_row(record, problems) for record in records) if row]
    parsed = _merge(rows, problems)
    if problems.found:
        raise ImportFileError(problems.found)
    return parsed


# --- text to records --------------------------------------------------------------------------


def _csv_records(text: str, problems: _Problems) -> list[_Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[_Record] = []
    columns: dict[str, int] | None = None
    width = number = 0
    try:
        # A quoted value may span lines: rows are counted as a spreadsheet shows them.
        for number, cells in enumerate(reader, start=1):
            if not any(cells):
                continue  # a blank row, as spreadsheets leave at the end
            if columns is None:
                columns, width = _csv_header(cells, number, problems), len(cells)
            elif _csv_row_fits(cells, width, number, problems):
                values: dict[str, object] = {name: cells[at] for name, at in columns.items()}
                records.append(_Record(number, _with_empty_notes(values)))
    except csv.Error as error:
        raise problems.fatal(f"the CSV cannot be read from here on: {error}", number + 1) from None
    return records


def _csv_header(cells: list[str], number: int, problems: _Problems) -> dict[str, int]:
    """Return the position of each column we read; unknown columns are ignored."""
    names = [cell.strip().lower() for cell in cells]
    hint = " (the values seem to be separated by ';'; use ',')" if ";" in cells[0] else ""
    if not _columns_fit(names, number, problems, "columns", hint):
        raise ImportFileError(problems.found)
    return {name: at for at, name in enumerate(names) if name in COLUMNS}


def _json_records(text: str, problems: _Problems) -> list[_Record]:
    try:
        document = json.loads(text, object_pairs_hook=_JsonObject)
    except json.JSONDecodeError as error:
        message = f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        raise problems.fatal(message) from None
    except (ValueError, RecursionError) as error:
        raise problems.fatal(f"not valid JSON: {error}") from None
    if not isinstance(document, list):
        raise problems.fatal(f"the file holds {_json_kind(document)}, not a list of scorecards")
    records = (_json_record(index, item, problems) for index, item in enumerate(document, 1))
    return [record for record in records if record]


def _json_record(row: int, item: object, problems: _Problems) -> _Record | None:
    if not isinstance(item, _JsonObject):
        problems.add(row, None, f"is {_json_kind(item)}, not an object")
        return None
    pairs = [(key.strip().lower(), value) for key, value in item.pairs]
    if not _columns_fit([name for name, _ in pairs], row, problems, "keys"):
        return None
    return _Record(row, _with_empty_notes({k: v for k, v in pairs if k in COLUMNS}))


def _columns_fit(
    names: Sequence[str], row: int, problems: _Problems, kind: str, hint: str = ""
) -> bool:
    """Report required columns (or keys) that are missing and ours given twice; True if none."""
    counts = Counter(name for name in names if name in COLUMNS)
    missing = [name for name in REQUIRED_COLUMNS if name not in counts]
    repeated = [name for name in COLUMNS if counts[name] > 1]
    if missing:
        problems.add(row, None, f"missing {kind}: {', '.join(missing)}{hint}")
    if repeated:
        problems.add(row, None, f"{kind} given more than once: {', '.join(repeated)}")
    return not missing and not repeated


def _with_empty_notes(values: dict[str, object]) -> dict[str, object]:
    for name in OPTIONAL_COLUMNS:
        values.setdefault(name, "")
    return values


_READERS: dict[str, Callable[[str, _Problems], list[_Record]]] = {
    ".csv": _csv_records,
    ".json": _json_records,
}


# --- one record to one row --------------------------------------------------------------------


class _ScorecardReader(_RowReader):
    """The applicant file's row reader, plus a rating and a note that may span lines."""

    def rating(self) -> int | None:
        """A whole number on the scale: 3 or "3" in JSON, "3" in CSV; 3.0, "3.0", true are not."""
        raw = self.record.values.get("rating")
        if isinstance(raw, bool) or not isinstance(raw, int | str | None):
            what = repr(raw) if isinstance(raw, float) else _json_kind(raw)
            self._problem("rating", f"{_RATING_RULE}, not {what}")
            return None
        if isinstance(raw, int):
            try:
                return _on_scale(raw)
            except InvalidInput as error:
                self._problem("rating", str(error))
                return None
        return self.required("rating", _rating)

    def multiline(self, field: str, parse: Callable[[str], str]) -> str:
        """An optional text that may span lines, "" when empty; ``parse`` refuses what must go."""
        raw = self.record.values.get(field)
        if raw is not None and not isinstance(raw, str):
            self._problem(field, f"must be text, not {_json_kind(raw)}")
            return ""
        return (self._parse(field, parse, raw) or "") if raw and raw.strip() else ""


def _parse_row(record: _Record, problems: _Problems) -> ScorecardRow | None:
    read = _ScorecardReader(record, problems)
    email = read.required("email", normalise_address)
    job = read.required("job", _name)
    interviewer = read.required("interviewer", _name)
    competency = read.required("competency", _competency)
    rating = read.rating()
    internal_note = read.multiline("internal_note", _internal_note)
    note_for_candidate = read.optional("note_for_candidate", _note_for_candidate) or ""
    if not read.ok or email is None or job is None or interviewer is None:
        return None
    if competency is None or rating is None:
        return None
    return ScorecardRow(
        record.row, email, job, interviewer, competency, rating, internal_note, note_for_candidate
    )


# --- one value --------------------------------------------------------------------------------
# Each parser takes a non-empty value and returns it checked, or raises InvalidInput.


@lru_cache(maxsize=1024)
def _competency(text: str) -> str:
    name = _name(text)
    if len(name) > MAX_COMPETENCY_LENGTH:
        raise InvalidInput(f"the value is longer than {MAX_COMPETENCY_LENGTH} characters")
    return name


def _rating(text: str) -> int:
    """Digits only, so "3.0", "+3", "three" and "٣" are refused; the value is not repeated."""
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput(_RATING_RULE)
    digits = text.lstrip("0") or "0"
    # int() refuses very long digit strings; anything this long is off the scale anyway.
    return _on_scale(int(digits) if len(digits) <= 12 else 10**12)


def _on_scale(value: int) -> int:
    if MIN_RATING <= value <= MAX_RATING:
        return value
    shown = f"{value} " if abs(value) < 10**12 else ""
    raise InvalidInput(f"{shown}is outside the rating scale of {MIN_RATING} to {MAX_RATING}")


def _internal_note(text: str) -> str:
    """Line breaks are kept (as \\n), NUL is not: notes are many lines, but stored as text."""
    if "\0" in text:
        raise InvalidInput("contains a NUL character")
    if _LONE_SURROGATE.search(text):
        raise InvalidInput("contains an unpaired surrogate, which is not text")
    note = _LINE_ENDING.sub("\n", text).strip()
    if len(note) > MAX_INTERNAL_NOTE_LENGTH:
        raise InvalidInput(f"is longer than {MAX_INTERNAL_NOTE_LENGTH} characters")
    return note


def _note_for_candidate(text: str) -> str:
    """One line (the reader has refused line breaks and NUL already), of a letter's length."""
    if len(text) > MAX_NOTE_FOR_CANDIDATE_LENGTH:
        raise InvalidInput(f"is longer than {MAX_NOTE_FOR_CANDIDATE_LENGTH} characters")
    return text


# --- rows to ratings --------------------------------------------------------------------------


def _merge(rows: list[ScorecardRow], problems: _Problems) -> ParsedScorecards:
    """Fold exact repeats into the first row; report rows that rate the same thing differently."""
    kept: dict[tuple[str, str, str, str], ScorecardRow] = {}
    for row in rows:
        first = kept.setdefault(_key(row), row)
        for field in _RATING_FIELDS:
            if getattr(row, field) != getattr(first, field):
                problems.add(row.row, field, _conflict(field, first))
    return ParsedScorecards(list(kept.values()), len(rows) - len(kept))


def _key(row: ScorecardRow) -> tuple[str, str, str, str]:
    """What an interviewer rates once; names compare ignoring case and repeated spaces."""
    return (row.email, _folded(row.job), _folded(row.interviewer), _folded(row.competency))


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _conflict(field: str, earlier: ScorecardRow) -> str:
    # Ratings and notes are about a person: say that they differ, not what they say.
    return (
        f"row {earlier.row} has the same candidate, job, interviewer and competency but a "
        f"different {field.replace('_', ' ')}; an interviewer rates a competency once"
    )
