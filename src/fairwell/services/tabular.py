"""Read a CSV or JSON file of records strictly: encoding, size, row numbers, problems collected.

All or nothing: every problem in the file is collected and reported together, each with the row
and field a recruiter can find in their spreadsheet, and a file with any problem yields no rows.
The import parsers (:mod:`fairwell.services.applicant_file`,
:mod:`fairwell.services.scorecard_file`) say which columns a file has, how one record becomes a
row, and how rows that repeat each other merge; reading the file up to records is here.
Pure: this module reads the one file it is given and nothing else.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from fairwell.domain.addresses import clean_name
from fairwell.errors import MAX_PROBLEMS_KEPT as MAX_PROBLEMS_KEPT
from fairwell.errors import PROBLEMS_IN_MESSAGE as PROBLEMS_IN_MESSAGE
from fairwell.errors import ImportFileError as ImportFileError
from fairwell.errors import ImportProblem as ImportProblem
from fairwell.errors import InvalidInput

__all__ = [
    "LONE_SURROGATE",
    "MAX_IMPORT_BYTES",
    "MAX_PROBLEMS_KEPT",
    "MAX_STREAMED_BYTES",
    "PROBLEMS_IN_MESSAGE",
    "ImportFileError",
    "ImportProblem",
    "JsonObject",
    "Problems",
    "Record",
    "RowReader",
    "csv_delimiter",
    "header_delimiter",
    "iter_csv_records",
    "iter_file_records",
    "json_kind",
    "one_column_hint",
    "parse_file",
    "parse_name",
    "parse_records",
    "read_csv_records",
    "read_file_text",
    "read_json_records",
    "read_table_text",
    "shown",
    "too_large",
]

# A file read whole: a workbook, a JSON document, a CSV parsed at once.
MAX_IMPORT_BYTES = 50 * 1024 * 1024
# A CSV file read line by line (`fairwell import`): an export of a million applicants
# (120 MB) imports in one go, all or nothing, in 137 MiB of memory (what grows with the rows
# is a number per address, and the rows of addresses seen twice).
MAX_STREAMED_BYTES = 128 * 1024 * 1024

# Every character that str.splitlines() breaks on, and NUL: none may hide inside a value.
_LINE_BREAK_OR_NUL = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Only JSON can carry these (as "\ud800" escapes); they cannot be stored or sent as UTF-8.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF16 = "the file is UTF-16; save it as UTF-8 (in Excel: 'CSV UTF-8')"
# The separators a CSV file may use, the standard's first: ',' as RFC 4180 has it, ';' as Excel
# writes "CSV" where the decimal mark is a comma (German, French and many other locales), tab.
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "a comma", ";": "a ';'", "\t": "a tab"}
# A line of nothing but separators is a blank row whatever the separator (it holds no names).
_BLANK = "".join(_DELIMITERS) + "\r\n"

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")


# --- problems ---------------------------------------------------------------------------------


class Problems:
    """Collects the problems of one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[ImportProblem] = []

    def add(self, row: int | None, field: str | None, message: str) -> None:
        self.found.append(ImportProblem(self.file, row, field, message))

    def fatal(self, message: str, row: int | None = None) -> ImportFileError:
        """Return the error for a problem that stops reading, with those found before it."""
        self.add(row, None, message)
        return ImportFileError(self.found)


def shown(value: object) -> str:
    """Quote a value for a message, cut short so a huge value cannot flood it."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


# --- the whole file ---------------------------------------------------------------------------


def parse_file(
    path: Path,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    noun: str,
    parse_row: Callable[[Record, Problems], R | None],
    merge: Callable[[list[R], Problems], P],
) -> P:
    """Read ``path`` into records, each into a row, and merge the rows; raise ImportFileError.

    The format follows the extension (``.csv``, ``.xlsx`` or ``.json``). ``noun`` names what
    the file holds ("applicants") in messages. Nothing is returned unless the whole file is good.
    """
    problems = Problems(path.name)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".json"):
        raise problems.fatal(
            f"unsupported file type {path.suffix!r}; use a .csv, .xlsx or .json file"
        )
    text = read_table_text(path, problems)
    if suffix in (".csv", ".xlsx"):
        delimiter = "," if suffix == ".xlsx" else None  # a sheet's text is ours: commas
        records = read_csv_records(text, problems, columns, optional, delimiter=delimiter)
    else:
        records = read_json_records(text, problems, columns, optional, noun=noun)
    return parse_records(records, problems, noun=noun, parse_row=parse_row, merge=merge)


def parse_records(
    records: list[Record],
    problems: Problems,
    *,
    noun: str,
    parse_row: Callable[[Record, Problems], R | None],
    merge: Callable[[list[R], Problems], P],
) -> P:
    """Check records read by any means (a file, an ATS export profile, an ATS pull) into rows
    and merge them; raise ImportFileError with every problem, including ``problems`` found
    before. Nothing is returned unless every record is good."""
    if not records and not problems.found:
        raise problems.fatal(f"no rows: the file holds no {noun}")
    rows = [row for row in (parse_row(record, problems) for record in records) if row]
    merged = merge(rows, problems)
    if problems.found:
        raise ImportFileError(problems.found)
    return merged


# --- a file read a record at a time, never whole in memory ------------------------------------


def iter_file_records(
    path: Path,
    problems: Problems,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    noun: str,
) -> Iterator[Record]:
    """The records :func:`parse_file` reads, one at a time, adding the problems of the file's
    form (type, size, encoding, CSV layout, JSON document) to ``problems``; raise
    ImportFileError where reading must stop, naming only those, as :func:`parse_file` does.

    A CSV file is checked for UTF-8 first and then read line by line, so it is never whole in
    memory; a workbook's text and a JSON document are (they are read whole anyway).
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".json"):
        raise problems.fatal(
            f"unsupported file type {path.suffix!r}; use a .csv, .xlsx or .json file"
        )
    if suffix == ".csv":
        _check_utf8(path, problems)
        return iter_csv_records(_lines(path), problems, columns, optional)
    text = read_table_text(path, problems)
    if suffix == ".xlsx":  # our own CSV text of the sheet: commas, whatever the cells hold
        return iter_csv_records(_text_lines(text), problems, columns, optional, delimiter=",")
    return iter(read_json_records(text, problems, columns, optional, noun=noun))


def _text_lines(text: str) -> Iterator[str]:
    return iter(io.StringIO(text, newline=""))


def _lines(path: Path) -> Iterator[str]:
    """The file's lines as text (a UTF-8 BOM dropped), split as a spreadsheet does (CR, LF or
    CRLF, kept for the CSV reader); :func:`_check_utf8` checked the bytes before."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from handle
    except (OSError, UnicodeDecodeError):
        message = "the file changed while it was read; nothing was imported: import it again"
        raise Problems(path.name).fatal(message) from None


def _check_utf8(path: Path, problems: Problems) -> None:
    """What :func:`read_file_text` checks, line by line: size, UTF-16, every line UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_STREAMED_BYTES:
            raise problems.fatal(too_large(size, MAX_STREAMED_BYTES))
        with path.open("rb") as handle:
            offset = 0
            for number, line in enumerate(handle, start=1):
                skip = 0
                if number == 1:
                    if line.startswith(_UTF16_BOMS):
                        raise problems.fatal(_UTF16)
                    skip = len(_UTF8_BOM) if line.startswith(_UTF8_BOM) else 0
                _decode_line(line, skip, number, offset, problems)
                offset += len(line)
                if offset > MAX_STREAMED_BYTES:  # it grew while we looked
                    raise problems.fatal(too_large(offset, MAX_STREAMED_BYTES))
    except OSError as error:
        raise problems.fatal(f"cannot read the file: {error.strerror or error}") from None


def _decode_line(line: bytes, skip: int, number: int, offset: int, problems: Problems) -> None:
    try:
        line[skip:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise problems.fatal(_not_utf8(number, offset + skip + error.start + 1)) from None


def _not_utf8(line: int, byte: int) -> str:
    return f"line {line} is not valid UTF-8 (byte {byte} of the file); save the file as UTF-8"


# --- bytes to text ----------------------------------------------------------------------------


def read_table_text(path: Path, problems: Problems) -> str:
    """A CSV or JSON file's text, or an .xlsx workbook's first sheet as CSV text."""
    if path.suffix.lower() == ".xlsx":
        from fairwell.services.spreadsheet import spreadsheet_text

        return spreadsheet_text(path, problems)
    return read_file_text(path, problems)


def read_file_text(path: Path, problems: Problems) -> str:
    """The file's text, if it is small enough and UTF-8; otherwise raise ImportFileError."""
    return _decode(_read(path, problems), problems)


def _read(path: Path, problems: Problems) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise problems.fatal(too_large(size))
        with path.open("rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as error:
        raise problems.fatal(f"cannot read the file: {error.strerror or error}") from None
    if len(data) > MAX_IMPORT_BYTES:  # it grew while we looked
        raise problems.fatal(too_large(len(data)))
    return data


def too_large(size: int, limit_bytes: int = MAX_IMPORT_BYTES) -> str:
    limit = limit_bytes // (1024 * 1024)
    return (
        f"the file is {size / (1024 * 1024):.1f} MB and the limit is {limit} MB; "
        "split it into smaller files"
    )


def _decode(data: bytes, problems: Problems) -> str:
    """UTF-8 with or without a BOM; anything else is refused, naming the first bad line."""
    if data.startswith(_UTF16_BOMS):
        raise problems.fatal(_UTF16)
    body = data.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        byte = error.start + len(data) - len(body) + 1
        raise problems.fatal(_not_utf8(line, byte)) from None


# --- text to records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """The raw values of one row, by column name; a column the row lacks is absent.

    An optional column the file leaves out is there, empty.
    """

    row: int
    values: dict[str, object]


def read_csv_records(
    text: str,
    problems: Problems,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    *,
    delimiter: str | None = None,
) -> list[Record]:
    """The rows under the header as records; a header lacking a required column stops reading.

    Columns not in ``columns`` are ignored; those in ``optional`` may be left out. Values are
    separated by ``delimiter``, or by what the header uses (:func:`header_delimiter`) if None.
    """
    lines = _text_lines(text)
    return list(iter_csv_records(lines, problems, columns, optional, delimiter=delimiter))


def iter_csv_records(
    lines: Iterable[str],
    problems: Problems,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    *,
    delimiter: str | None = None,
) -> Iterator[Record]:
    """The records of :func:`read_csv_records`, one at a time, from lines of text."""
    if delimiter is None:
        delimiter, lines = _with_delimiter(lines)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    positions: dict[str, int] | None = None
    width = number = 0
    try:
        # A quoted value may span lines: rows are counted as a spreadsheet shows them.
        for number, cells in enumerate(reader, start=1):
            if not any(cells):
                continue  # a blank row, as spreadsheets leave at the end
            if positions is None:
                positions = _csv_header(cells, number, problems, columns, optional)
                width = len(cells)
            elif _csv_row_fits(cells, width, number, problems, delimiter):
                values: dict[str, object] = {name: cells[at] for name, at in positions.items()}
                yield Record(number, _with_empty(values, optional))
    except csv.Error as error:
        raise problems.fatal(f"the CSV cannot be read from here on: {error}", number + 1) from None


def csv_delimiter(text: str) -> str:
    """The separator of a CSV file's text, as :func:`iter_csv_records` chooses it."""
    return _with_delimiter(_text_lines(text))[0]


def _with_delimiter(lines: Iterable[str]) -> tuple[str, Iterator[str]]:
    """The separator the header (the first line that is not blank) uses, and every line again.

    Only the header line is held: the blank lines before it come back as empty lines, which
    the reader counts and skips as it did them, so row numbers stay those of the file.
    """
    rest = iter(lines)
    blank = 0
    for line in rest:
        if line.strip(_BLANK):
            restored = itertools.chain(itertools.repeat("\n", blank), (line,), rest)
            return header_delimiter(line), restored
        blank += 1
    return ",", itertools.repeat("\n", blank)


def header_delimiter(line: str) -> str:
    """The separator a header line uses: of ',', ';' and tab, the one that splits it (as the
    csv module reads it, quotes and all) into the most cells; ',' when they tie.

    Only the header decides, so the choice is the same for a file however its values read: a
    ';' file whose values hold commas is read with ';' throughout. Column names hold none of
    the three, so the header's own separator splits it furthest; a one-column header splits
    no way, the tie goes to ',', and such a comma file is read as before, whatever its values.
    """
    return max(_DELIMITERS, key=lambda d: _cells(line, d))  # max keeps the first of equals


def _cells(line: str, delimiter: str) -> int:
    """How many cells the line splits into; a line the csv module cannot read counts none
    (the reader then says why, naming the row)."""
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


def _csv_header(
    cells: list[str],
    number: int,
    problems: Problems,
    columns: Sequence[str],
    optional: Sequence[str],
) -> dict[str, int]:
    """Return the position of each column we read; unknown columns are ignored."""
    names = [cell.strip().lower() for cell in cells]
    hint = one_column_hint(cells)
    missing, repeated = _names_fit(names, number, problems, columns, optional, "columns", hint)
    if missing or repeated:
        raise ImportFileError(problems.found)
    return {name: at for at, name in enumerate(names) if name in columns}


def one_column_hint(header: Sequence[str]) -> str:
    """What to add to "missing columns" when the header read as one column: its separator is
    none of those read (a '|' file, say)."""
    if len(header) != 1:
        return ""
    return " (the header reads as one column: separate the values with ',', ';' or a tab)"


def _csv_row_fits(
    cells: list[str], width: int, number: int, problems: Problems, delimiter: str
) -> bool:
    """A row has one value per header column; extra empty values at the end do no harm."""
    if len(cells) < width:
        problems.add(number, None, f"has {len(cells)} values but the header has {width} columns")
        return False
    if any(cells[width:]):
        separator = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        problems.add(
            number,
            None,
            f"has {len(cells)} values but the header has {width} columns; "
            f"does a value with {separator} lack its quotes?",
        )
        return False
    return True


class JsonObject:
    """A JSON object as its key/value pairs, so repeated keys are not silently dropped."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs


def read_json_records(
    text: str,
    problems: Problems,
    columns: Sequence[str],
    optional: Sequence[str] = (),
    *,
    noun: str,
) -> list[Record]:
    """The objects of a JSON list as records; ``noun`` names them ("applicants") in messages.

    Keys not in ``columns`` are ignored; those in ``optional`` may be left out.
    """
    try:
        document = json.loads(text, object_pairs_hook=JsonObject)
    except json.JSONDecodeError as error:
        message = f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        raise problems.fatal(message) from None
    except (ValueError, RecursionError) as error:
        raise problems.fatal(f"not valid JSON: {error}") from None
    if not isinstance(document, list):
        raise problems.fatal(f"the file holds {json_kind(document)}, not a list of {noun}")
    records = (
        _json_record(index, item, problems, columns, optional)
        for index, item in enumerate(document, 1)
    )
    return [record for record in records if record]


def _json_record(
    row: int, item: object, problems: Problems, columns: Sequence[str], optional: Sequence[str]
) -> Record | None:
    """The object's values; one missing a key is still read, for the problems in the rest."""
    if not isinstance(item, JsonObject):
        problems.add(row, None, f"is {json_kind(item)}, not an object")
        return None
    pairs = [(key.strip().lower(), value) for key, value in item.pairs]
    _, repeated = _names_fit([name for name, _ in pairs], row, problems, columns, optional, "keys")
    if repeated:
        return None
    values = {name: value for name, value in pairs if name in columns}
    return Record(row, _with_empty(values, optional))


def _names_fit(
    names: Sequence[str],
    row: int,
    problems: Problems,
    columns: Sequence[str],
    optional: Sequence[str],
    kind: str,
    hint: str = "",
) -> tuple[bool, bool]:
    """Report required columns (or keys) that are missing and ours given twice.

    A repeat is named each time it comes again, in file order. Returns whether any were
    missing and whether any were repeated.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        if name in columns:
            if name in seen:
                repeated.append(name)
            seen.add(name)
    missing = [name for name in columns if name not in seen and name not in optional]
    if missing:
        problems.add(row, None, f"missing {kind}: {', '.join(missing)}{hint}")
    if repeated:
        problems.add(row, None, f"{kind} given more than once: {', '.join(repeated)}")
    return bool(missing), bool(repeated)


def _with_empty(values: dict[str, object], optional: Sequence[str]) -> dict[str, object]:
    for name in optional:
        values.setdefault(name, "")
    return values


def json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


# --- one record to one row --------------------------------------------------------------------


class RowReader:
    """Reads the fields of one record, adding a problem for each bad one."""

    def __init__(self, record: Record, problems: Problems) -> None:
        self.record = record
        self.problems = problems
        self.ok = True
        # Nearly every row is plain text throughout: check it once, not field by field.
        texts = [raw for raw in record.values.values() if isinstance(raw, str)]
        self.plain = len(texts) == len(record.values) and not _unusable("".join(texts))

    def required(self, field: str, parse: Callable[[str], T]) -> T | None:
        text = self._text(field)
        if text == "":
            self.problem(field, "is required but empty")
        return self.parse(field, parse, text) if text else None

    def optional(self, field: str, parse: Callable[[str], T]) -> T | None:
        text = self._text(field)
        return self.parse(field, parse, text) if text else None

    def flag(self, field: str) -> bool | None:
        raw = self.record.values.get(field)
        return raw if isinstance(raw, bool) else self.optional(field, _yes_no)

    def parse(self, field: str, parse: Callable[[str], T], text: str) -> T | None:
        """``parse(text)``, or None after a problem if it raises InvalidInput."""
        try:
            return parse(text)
        except InvalidInput as error:
            self.problem(field, str(error))
            return None

    def problem(self, field: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.record.row, field, message)

    def _text(self, field: str) -> str | None:
        """The stripped value ("" when empty), or None after a problem."""
        if field not in self.record.values:
            self.ok = False  # already reported with the record
            return None
        raw = self.record.values[field]
        if self.plain and isinstance(raw, str):
            return raw.strip()
        trouble = _unusable(raw)
        if trouble:
            self.problem(field, trouble)
            return None
        return raw.strip() if isinstance(raw, str) else ""


def _unusable(raw: object) -> str | None:
    """Why a raw value cannot be read as text at all; None (JSON null) reads as empty."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        return f"must be text, not {json_kind(raw)}"
    if found := _LINE_BREAK_OR_NUL.search(raw):
        char = found.group()
        what = "a NUL character" if char == "\0" else f"a line break (U+{ord(char):04X})"
        return f"contains {what}; every value must be one line"
    if LONE_SURROGATE.search(raw):
        return "contains an unpaired surrogate, which is not text"
    return None


# --- one value --------------------------------------------------------------------------------
# Each parser takes a stripped, non-empty value and returns it checked, or raises InvalidInput.


@lru_cache(maxsize=65536)
def parse_name(text: str) -> str:
    """A name, job title or the like: one cleaned line (files repeat them, hence the cache)."""
    return clean_name(text, "the value")


def _yes_no(text: str) -> bool:
    answer = {"yes": True, "no": False}.get(text.lower())
    if answer is None:
        raise InvalidInput(f"{shown(text)} is not yes, no or empty")
    return answer
