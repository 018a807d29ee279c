"""Read and check an interview scorecard file (CSV or JSON) before anything touches the database.

Each row is one interviewer's rating of one competency of one candidate for one job. The rules
are the applicant file's (:mod:`fairwell.services.applicant_file`), and so is the reading, in
:mod:`fairwell.services.tabular`: every problem is collected and reported together, each with
the row and field a recruiter can find in their spreadsheet, and a file with any problem yields
no rows. Messages name rows and fields but never repeat names, addresses or notes.

Pure: this module reads the one file it is given and nothing else. Whether the candidates, jobs
and competencies exist is for the importer to check against the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fairwell.domain.addresses import normalise_address
from fairwell.domain.feedback import MAX_RATING, MIN_RATING
from fairwell.errors import ImportFileError, ImportProblem, InvalidInput
from fairwell.services.tabular import (
    LONE_SURROGATE,
    Problems,
    Record,
    RowReader,
    json_kind,
    parse_file,
    parse_name,
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
    return parse_file(
        path,
        COLUMNS,
        optional=OPTIONAL_COLUMNS,
        noun="scorecards",
        parse_row=_parse_row,
        merge=_merge,
    )


def scorecard_from_options(values: Mapping[str, str]) -> ScorecardRow:
    """One rating given on the command line, checked exactly like a row of a file."""
    problems = Problems("the command line")
    row = _parse_row(Record(1, dict(values)), problems)
    if problems.found or row is None:
        raise ImportFileError(problems.found)
    return row


# --- one record to one row --------------------------------------------------------------------


class _ScorecardReader(RowReader):
    """The shared row reader, plus a rating and a note that may span lines."""

    def rating(self) -> int | None:
        """A whole number on the scale: 3 or "3" in JSON, "3" in CSV; 3.0, "3.0", true are not."""
        raw = self.record.values.get("rating")
        if isinstance(raw, bool) or not isinstance(raw, int | str | None):
            what = repr(raw) if isinstance(raw, float) else json_kind(raw)
            self.problem("rating", f"{_RATING_RULE}, not {what}")
            return None
        if isinstance(raw, int):
            try:
                return _on_scale(raw)
            except InvalidInput as error:
                self.problem("rating", str(error))
                return None
        return self.required("rating", _rating)

    def multiline(self, field: str, parse: Callable[[str], str]) -> str:
        """An optional text that may span lines, "" when empty; ``parse`` refuses what must go."""
        raw = self.record.values.get(field)
        if raw is not None and not isinstance(raw, str):
            self.problem(field, f"must be text, not {json_kind(raw)}")
            return ""
        return (self.parse(field, parse, raw) or "") if raw and raw.strip() else ""


def _parse_row(record: Record, problems: Problems) -> ScorecardRow | None:
    read = _ScorecardReader(record, problems)
    email = read.required("email", normalise_address)
    job = read.required("job", parse_name)
    interviewer = read.required("interviewer", parse_name)
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
    name = parse_name(text)
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
    if LONE_SURROGATE.search(text):
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


def _merge(rows: list[ScorecardRow], problems: Problems) -> ParsedScorecards:
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
