"""Read and check an applicant import file (CSV or JSON) before anything touches the database.

All or nothing: every problem in the file is collected and reported together, each with the row
and field a recruiter can find in their spreadsheet, and a file with any problem yields no rows.
Pure: this module reads the one file it is given and nothing else.

Messages name rows and fields but do not repeat names or addresses, so they are safe to log.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fairwell.domain.addresses import clean_name, normalise_address
from fairwell.domain.model import ApplicantRow, Source, Stage
from fairwell.domain.reasons import SUPPORTED_LOCALES
from fairwell.errors import InvalidInput

MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_KEPT = 50
PROBLEMS_IN_MESSAGE = 10
DEFAULT_LOCALE = "en"

COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "job",
    "stage",
    "source",
    "referred_by",
    "referral_aware",
    "locale",
    "country",
    "timezone",
    "applied_at",
    "last_interview_at",
)

# Every character that str.splitlines() breaks on, and NUL: none may hide inside a value.
_LINE_BREAK_OR_NUL = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Only JSON can carry these (as "\ud800" escapes); they cannot be stored or sent as UTF-8.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Files in the zoneinfo directory that are not places.
_NOT_TIME_ZONES = frozenset({"localtime", "factory", "posixrules"})
# ISO 3166-1 alpha-2, the 249 assigned codes (as in tzdata's iso3166.tab).
_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - 249 codes read better as a block
)
# Fields that hold personal data: conflict messages say that they differ, not what they say.
_PRIVATE_FIELDS = frozenset({"email", "first_name", "last_name", "referred_by"})
# One person has one name and one language, whatever jobs they applied for.
_PERSON_FIELDS = ("first_name", "last_name", "locale")
# Rows for the same person and job must agree on these; a value in one row only is kept.
_APPLICATION_FIELDS = (
    "stage",
    "source",
    "referred_by",
    "referral_aware",
    "country",
    "timezone",
    "applied_at",
    "last_interview_at",
)

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One reason a file cannot be imported, with where to find it."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}"


class ImportFileError(InvalidInput):
    """The file cannot be imported and nothing in it was used.

    ``problems`` holds the first :data:`MAX_PROBLEMS_KEPT` problems in row order,
    ``problem_count`` how many were found in all, and ``more_problems`` how many were left out.
    """

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        ordered = sorted(problems, key=lambda problem: problem.row or 0)
        self.problem_count = len(ordered)
        self.problems = ordered[:MAX_PROBLEMS_KEPT]
        self.more_problems = self.problem_count - len(self.problems)
        super().__init__(_summary(ordered))


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The applications in a file that passed every check.

    ``rows`` has one entry per distinct (address, job), in the order each first appears;
    ``duplicates_merged`` counts the rows folded into an earlier row for the same application.
    """

    rows: list[ApplicantRow]
    duplicates_merged: int


def parse_applicant_file(path: Path) -> ParsedFile:
    """Read, check and de-duplicate an applicant file; raise ImportFileError naming every problem.

    The format follows the extension (``.csv`` or ``.json``). Nothing is returned unless the
    whole file is good.
    """
    problems = _Problems(path.name)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise problems.fatal(f"unsupported file type {path.suffix!r}; use a .csv or .json file")
    records = reader(_decode(_read(path, problems), problems), problems)
    if not records and not problems.found:
        raise problems.fatal("no rows: the file holds no applicants")
    rows = [row for row in (_parse_row(record, problems) for record in records) if row]
    parsed = _merge(rows, problems)
    if problems.found:
        raise ImportFileError(problems.found)
    return parsed


# --- problems ---------------------------------------------------------------------------------


class _Problems:
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


def _summary(problems: Sequence[ImportProblem]) -> str:
    lines = [str(problem) for problem in problems[:PROBLEMS_IN_MESSAGE]]
    hidden = len(problems) - len(lines)
    if hidden:
        lines.append(f"... and {hidden} more problems ({len(problems)} in all)")
    return "\n".join(lines)


def _shown(value: object) -> str:
    """Quote a value for a message, cut short so a huge value cannot flood it."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


# --- bytes to text ----------------------------------------------------------------------------


def _read(path: Path, problems: _Problems) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise problems.fatal(_too_large(size))
        with path.open("rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as error:
        raise problems.fatal(f"cannot read the file: {error.strerror or error}") from None
    if len(data) > MAX_IMPORT_BYTES:  # it grew while we looked
        raise problems.fatal(_too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    limit = MAX_IMPORT_BYTES // (1024 * 1024)
    return (
        f"the file is {size / (1024 * 1024):.1f} MB and the limit is {limit} MB; "
        "split it into smaller files"
    )


def _decode(data: bytes, problems: _Problems) -> str:
    """UTF-8 with or without a BOM; anything else is refused, naming the first bad line."""
    if data.startswith(_UTF16_BOMS):
        raise problems.fatal("the file is UTF-16; save it as UTF-8 (in Excel: 'CSV UTF-8')")
    body = data.removeprefix(_UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        raise problems.fatal(
            f"line {line} is not valid UTF-8 (byte {error.start + len(data) - len(body) + 1} "
            "of the file); save the file as UTF-8"
        ) from None


# --- text to records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Record:
    """The raw values of one row, by column name; a column the row lacks is absent."""

    row: int
    values: dict[str, object]


def _csv_records(text: str, problems: _Problems) -> list[_Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[_Record] = []
    columns: dict[str, int] | None = None
    width = number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(cells):
                continue  # a blank row, as spreadsheets leave at the end
            if columns is None:
                columns, width = _csv_header(cells, number, problems), len(cells)
            elif _csv_row_fits(cells, width, number, problems):
                values: dict[str, object] = {name: cells[at] for name, at in columns.items()}
                records.append(_Record(number, values))
    except csv.Error as error:
        raise problems.fatal(f"the CSV cannot be read from here on: {error}", number + 1) from None
    return records


def _csv_header(cells: list[str], number: int, problems: _Problems) -> dict[str, int]:
    """Return the position of each column we read; unknown columns are ignored."""
    columns: dict[str, int] = {}
    repeated: list[str] = []
    for at, cell in enumerate(cells):
        name = cell.strip().lower()
        if name in COLUMNS and columns.setdefault(name, at) != at:
            repeated.append(name)
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        hint = " (the values seem to be separated by ';'; use ',')" if ";" in cells[0] else ""
        problems.add(number, None, f"missing columns: {', '.join(missing)}{hint}")
    if repeated:
        problems.add(number, None, f"columns given more than once: {', '.join(repeated)}")
    if missing or repeated:
        raise ImportFileError(problems.found)
    return columns


def _csv_row_fits(cells: list[str], width: int, number: int, problems: _Problems) -> bool:
    """A row has one value per header column; extra empty values at the end do no harm."""
    if len(cells) < width:
        problems.add(number, None, f"has {len(cells)} values but the header has {width} columns")
        return False
    if any(cells[width:]):
        problems.add(
            number,
            None,
            f"has {len(cells)} values but the header has {width} columns; "
            "does a value with a comma lack its quotes?",
        )
        return False
    return True


class _JsonObject:
    """A JSON object as its key/value pairs, so repeated keys are not silently dropped."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs


def _json_records(text: str, problems: _Problems) -> list[_Record]:
    try:
        document = json.loads(text, object_pairs_hook=_JsonObject)
    except json.JSONDecodeError as error:
        message = f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        raise problems.fatal(message) from None
    except (ValueError, RecursionError) as error:
        raise problems.fatal(f"not valid JSON: {error}") from None
    if not isinstance(document, list):
        raise problems.fatal(f"the file holds {_json_kind(document)}, not a list of applicants")
    records = (_json_record(index, item, problems) for index, item in enumerate(document, 1))
    return [record for record in records if record]


def _json_record(row: int, item: object, problems: _Problems) -> _Record | None:
    if not isinstance(item, _JsonObject):
        problems.add(row, None, f"is {_json_kind(item)}, not an object")
        return None
    values: dict[str, object] = {}
    repeated: list[str] = []
    for key, value in item.pairs:
        name = key.strip().lower()
        if name in COLUMNS:
            if name in values:
                repeated.append(name)
            values[name] = value
    missing = [name for name in COLUMNS if name not in values]
    if missing:
        problems.add(row, None, f"missing keys: {', '.join(missing)}")
    if repeated:
        problems.add(row, None, f"keys given more than once: {', '.join(repeated)}")
        return None
    return _Record(row, values)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


_READERS: dict[str, Callable[[str, _Problems], list[_Record]]] = {
    ".csv": _csv_records,
    ".json": _json_records,
}


# --- one record to one row --------------------------------------------------------------------


class _RowReader:
    """Reads the fields of one record, adding a problem for each bad one."""

    def __init__(self, record: _Record, problems: _Problems) -> None:
        self.record = record
        self.problems = problems
        self.ok = True
        # Nearly every row is plain text throughout: check it once, not field by field.
        texts = [raw for raw in record.values.values() if isinstance(raw, str)]
        self.plain = len(texts) == len(record.values) and not _unusable("".join(texts))

    def required(self, field: str, parse: Callable[[str], T]) -> T | None:
        text = self._text(field)
        if text == "":
            self._problem(field, "is required but empty")
        return self._parse(field, parse, text) if text else None

    def optional(self, field: str, parse: Callable[[str], T]) -> T | None:
        text = self._text(field)
        return self._parse(field, parse, text) if text else None

    def flag(self, field: str) -> bool | None:
        raw = self.record.values.get(field)
        return raw if isinstance(raw, bool) else self.optional(field, _yes_no)

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
            self._problem(field, trouble)
            return None
        return raw.strip() if isinstance(raw, str) else ""

    def _parse(self, field: str, parse: Callable[[str], T], text: str) -> T | None:
        try:
            return parse(text)
        except InvalidInput as error:
            self._problem(field, str(error))
            return None

    def _problem(self, field: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.record.row, field, message)


def _unusable(raw: object) -> str | None:
    """Why a raw value cannot be read as text at all; None (JSON null) reads as empty."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        return f"must be text, not {_json_kind(raw)}"
    if found := _LINE_BREAK_OR_NUL.search(raw):
        char = found.group()
        what = "a NUL character" if char == "\0" else f"a line break (U+{ord(char):04X})"
        return f"contains {what}; every value must be one line"
    if _LONE_SURROGATE.search(raw):
        return "contains an unpaired surrogate, which is not text"
    return None


def _parse_row(record: _Record, problems: _Problems) -> ApplicantRow | None:
    read = _RowReader(record, problems)
    email = read.required("email", normalise_address)
    first_name = read.required("first_name", _name)
    last_name = read.required("last_name", _name)
    job = read.required("job", _name)
    stage = read.required("stage", _stage)
    source = read.required("source", _source)
    referred_by = read.optional("referred_by", _name)
    referral_aware = read.flag("referral_aware")
    locale = read.optional("locale", _locale)
    country = read.optional("country", _country)
    timezone = read.optional("timezone", _timezone)
    applied_at = read.optional("applied_at", _moment)
    last_interview_at = read.optional("last_interview_at", _moment)
    if not read.ok or email is None or first_name is None or last_name is None:
        return None
    if job is None or stage is None or source is None:
        return None
    return ApplicantRow(
        record.row,
        email,
        first_name,
        last_name,
        job,
        stage,
        source,
        referred_by,
        referral_aware,
        locale or "",  # "" until merging: the person's locale may come from another row
        country,
        timezone,
        applied_at,
        last_interview_at,
    )


# --- one value --------------------------------------------------------------------------------
# Each parser takes a stripped, non-empty value and returns it checked, or raises InvalidInput.
# Files repeat the same few stages, jobs and dates many times, hence the caches.


@lru_cache(maxsize=65536)
def _name(text: str) -> str:
    return clean_name(text, "the value")


@lru_cache(maxsize=64)
def _stage(text: str) -> Stage:
    return _member(Stage, text)


@lru_cache(maxsize=64)
def _source(text: str) -> Source:
    return _member(Source, text)


def _member(kind: type[E], text: str) -> E:
    try:
        return kind(text.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{_shown(text)} is not one of: {allowed}") from None


def _yes_no(text: str) -> bool:
    answer = {"yes": True, "no": False}.get(text.lower())
    if answer is None:
        raise InvalidInput(f"{_shown(text)} is not yes, no or empty")
    return answer


@lru_cache(maxsize=256)
def _locale(text: str) -> str:
    """A supported language; a region ("de-AT", "en_GB") is accepted and dropped."""
    tag = text.lower()
    language = tag.replace("_", "-").split("-")[0]
    if _LANGUAGE_TAG.fullmatch(tag) and language in SUPPORTED_LOCALES:
        return language
    supported = ", ".join(SUPPORTED_LOCALES)
    raise InvalidInput(f"{_shown(text)} is not a supported locale; supported: {supported}")


@lru_cache(maxsize=512)
def _country(text: str) -> str:
    code = text.upper()
    if code in _COUNTRIES:
        return code
    hint = "; the United Kingdom is GB" if code == "UK" else " (like DE or GB)"
    raise InvalidInput(f"{_shown(text)} is not an ISO 3166 two-letter country code{hint}")


@lru_cache(maxsize=1024)
def _timezone(text: str) -> str:
    """An IANA time zone, returned in its canonical spelling ("europe/berlin" is accepted)."""
    names = _time_zone_names()
    key = names.get(text.lower()) if names else text  # no database listed: let ZoneInfo judge
    if key is not None and key.lower() not in _NOT_TIME_ZONES:
        try:
            ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return key
    raise InvalidInput(f"{_shown(text)} is not an IANA time zone name (like Europe/Berlin)")


@cache
def _time_zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@lru_cache(maxsize=4096)
def _moment(text: str) -> datetime:
    """ISO 8601 date or date and time, as aware UTC; a date is midnight UTC, naive means UTC."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{_shown(text)} is not an ISO 8601 date or date and time "
            "(like 2024-05-17 or 2024-05-17T14:30:00+02:00)"
        ) from None


# --- rows to applications ---------------------------------------------------------------------


def _merge(rows: list[ApplicantRow], problems: _Problems) -> ParsedFile:
    """Fold rows for the same person and job into one; report rows that contradict each other."""
    people = {
        email: _agreed(group, _PERSON_FIELDS, problems, "the same address")
        for email, group in _grouped(rows, lambda row: row.email).items()
    }
    applications = _grouped(rows, lambda row: (row.email, " ".join(row.job.split()).casefold()))
    merged = [_combined(group, people[group[0].email], problems) for group in applications.values()]
    return ParsedFile(merged, len(rows) - len(merged))


def _grouped(
    rows: list[ApplicantRow], key: Callable[[ApplicantRow], T]
) -> dict[T, list[ApplicantRow]]:
    groups: dict[T, list[ApplicantRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def _combined(
    group: list[ApplicantRow], person: dict[str, Any], problems: _Problems
) -> ApplicantRow:
    first = group[0]
    if len(group) == 1 and not person and first.locale:
        return first
    changes = {**_agreed(group, _APPLICATION_FIELDS, problems, "the same address and job")}
    changes.update(person)
    changes["locale"] = changes.get("locale") or first.locale or DEFAULT_LOCALE
    return replace(first, **changes)


def _agreed(
    group: list[ApplicantRow], fields: Sequence[str], problems: _Problems, scope: str
) -> dict[str, Any]:
    """The value of each field from the first row that has one; later rows must not differ."""
    if len(group) == 1:
        return {}
    chosen: dict[str, Any] = {}
    for field in fields:
        holder: ApplicantRow | None = None
        for row in group:
            value = _comparable(row, field)
            if value is None:
                continue
            if holder is None:
                holder = row
            elif value != _comparable(holder, field):
                problems.add(row.row, field, _conflict(field, holder, row, scope))
        if holder is not None:
            chosen[field] = getattr(holder, field)
    return chosen


def _comparable(row: ApplicantRow, field: str) -> object:
    value: object = getattr(row, field)
    if isinstance(value, str):
        return value.casefold() or None
    return value


def _conflict(field: str, earlier: ApplicantRow, later: ApplicantRow, scope: str) -> str:
    label = field.replace("_", " ")
    if field in _PRIVATE_FIELDS:
        return f"row {earlier.row} has {scope} but a different {label}"
    was, now = getattr(earlier, field), getattr(later, field)
    return f"row {earlier.row} has {scope} but {label} {_shown(was)}, this row {_shown(now)}"
