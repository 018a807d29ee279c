"""Read and check an applicant import file (CSV or JSON) before anything touches the database.

All or nothing: every problem in the file is collected and reported together, each with the row
and field a recruiter can find in their spreadsheet, and a file with any problem yields no rows.
Reading the file up to records is shared with the scorecard file, in
:mod:`fairwell.services.tabular`; here are the columns, the checks of each value and the merging.
Pure: this module reads the one file it is given and nothing else.

Messages name rows and fields but do not repeat names or addresses, so they are safe to log.
"""

from __future__ import annotations

import functools
import pickle
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, lru_cache
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry

from fairwell.domain.addresses import normalise_address
from fairwell.domain.duplicates import Merge, Merged, grouped, job_key, merge_rows
from fairwell.domain.model import ApplicantRow, Source, Stage
from fairwell.domain.reasons import SUPPORTED_LOCALES, supported_language
from fairwell.errors import MAX_PROBLEMS_KEPT, ImportFileError, ImportProblem, InvalidInput
from fairwell.services.tabular import (
    MAX_IMPORT_BYTES,
    MAX_STREAMED_BYTES,
    Problems,
    Record,
    RowReader,
    iter_file_records,
    parse_name,
    parse_records,
    shown,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_LOCALE",
    "MAX_IMPORT_BYTES",
    "MAX_PROBLEMS_KEPT",
    "MAX_STREAMED_BYTES",
    "ApplicantFile",
    "ImportFileError",
    "ImportProblem",
    "Merge",
    "ParsedFile",
    "parse_applicant_file",
    "parse_applicant_records",
    "read_applicant_file",
]

DEFAULT_LOCALE = "en"  # the language of rows that give none, when the caller names no other
SPOOL_CHUNK = 1000  # rows pickled together in the spool of a checked file

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
    "region",
)
# Files from before jurisdictions went down to provinces and states have no region column.
OPTIONAL_COLUMNS = ("region",)

# Files in the zoneinfo directory that are not places.
_NOT_TIME_ZONES = frozenset({"localtime", "factory", "posixrules"})
_SUBDIVISION = re.compile(r"(?:([A-Z]{2})-)?([A-Z0-9]{1,3})")
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
    "region",
    "timezone",
    "applied_at",
    "last_interview_at",
)

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The applications in a file that passed every check.

    ``rows`` has one entry per distinct (address, job), in the order each first appears;
    ``duplicates_merged`` counts the rows folded into an earlier row for the same application;
    ``merges`` says, for each application made of several rows (or whose person's rows
    disagreed), which rows and what was decided.
    """

    rows: list[ApplicantRow]
    duplicates_merged: int
    merges: list[Merge] = field(default_factory=list)


def parse_applicant_file(
    path: Path, *, strict: bool = False, default_locale: str = DEFAULT_LOCALE
) -> ParsedFile:
    """Read, check and de-duplicate an applicant file; raise ImportFileError naming every problem.

    The format follows the extension (``.csv``, ``.xlsx`` or ``.json``). Nothing is returned
    unless the whole file is good. Rows for one application are merged by rule
    (domain/duplicates.py); ``strict`` refuses the file instead when they disagree on any value.
    A person none of whose rows gives a locale gets ``default_locale``.
    Every row in memory: :func:`read_applicant_file` is the same, a row at a time.
    """
    with read_applicant_file(path, strict=strict, default_locale=default_locale) as checked:
        return ParsedFile(list(checked.rows()), checked.duplicates_merged, checked.merges)


class ApplicantFile:
    """An applicant file that passed every check, its applications kept on disk to be read
    back a chunk at a time: what :func:`parse_applicant_file` returns, without a list of rows.

    The rows were checked once and written, as checked, to a temporary file of this process
    (a spool); the rows of addresses that appear more than once are kept in memory, merged.
    ``applications`` counts the rows after merging; ``job_titles`` are the titles they name.
    Close it (or use it in a ``with``) to remove the spool.
    """

    def __init__(
        self,
        file: str,
        spool: IO[bytes],
        shared: frozenset[int],
        merged: Merged,
        counted: _Counted,
        grouped_rows: int,
        default_locale: str,
    ) -> None:
        self.file, self._spool, self._shared = file, spool, shared
        self._default_locale = default_locale
        self._merged = {(row.email, job_key(row.job)): row for row in merged.rows}
        self.merges = merged.merges
        self.duplicates_merged = grouped_rows - len(merged.rows)
        self.applications = counted.rows - self.duplicates_merged
        self.job_titles = frozenset(counted.titles | {row.job for row in merged.rows})

    def rows(self) -> Iterator[ApplicantRow]:
        """One row per application, in the order each first appears, as ParsedFile.rows."""
        given: set[tuple[str, str]] = set()
        for row in _unspooled(self._spool):
            if hash(row.email) not in self._shared:
                yield row if row.locale else replace(row, locale=self._default_locale)
                continue
            key = (row.email, job_key(row.job))
            if key not in given:
                given.add(key)
                yield self._merged[key]

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> ApplicantFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_applicant_file(
    path: Path, *, strict: bool = False, default_locale: str = DEFAULT_LOCALE
) -> ApplicantFile:
    """Check an applicant file as :func:`parse_applicant_file` does, in one pass that keeps a
    number per address in memory, not its row: a file of 300,000 rows fits in a small process.

    Only the rows of addresses that appear more than once are read back into memory, to be
    merged (or, ``strict``, compared). Raise ImportFileError naming every problem.
    """
    _check_default(default_locale)
    form = Problems(path.name)  # the file's layout: alone in the error when reading stops
    problems = Problems(path.name)  # the values of its rows
    records = iter_file_records(path, form, COLUMNS, optional=OPTIONAL_COLUMNS, noun="applicants")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by ApplicantFile, or below)
    try:
        counted = _spool_rows(records, problems, spool)
        if not counted.records and not form.found:
            raise form.fatal("no rows: the file holds no applicants")
        shared = frozenset(counted.shared)
        grouped_rows = [r for r in _unspooled(spool) if hash(r.email) in shared] if shared else []
        if strict:
            _refuse_disagreements(grouped_rows, problems)
        if form.found or problems.found:
            raise ImportFileError([*form.found, *problems.found])
        merged = merge_rows(grouped_rows, default_locale)
        return ApplicantFile(
            path.name, spool, shared, merged, counted, len(grouped_rows), default_locale
        )
    except BaseException:
        spool.close()
        raise


@dataclass(slots=True)
class _Counted:
    records: int = 0
    rows: int = 0
    shared: set[int] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)


def _spool_rows(records: Iterator[Record], problems: Problems, spool: IO[bytes]) -> _Counted:
    """Check each record, write the good rows to ``spool`` in chunks, and count: records,
    rows, the hash() of each address seen more than once, the titles of first rows."""
    counted = _Counted()
    seen: set[int] = set()
    chunk: list[ApplicantRow] = []
    for record in records:
        counted.records += 1
        row = _parse_row(record, problems)
        if row is None:
            continue
        counted.rows += 1
        chunk.append(row)
        if len(chunk) == SPOOL_CHUNK:
            _spool(chunk, spool)
            chunk = []
        address = hash(row.email)
        if address in seen:
            counted.shared.add(address)
        else:
            seen.add(address)
            counted.titles.add(row.job)  # an address's first row: its application's title
    if chunk:
        _spool(chunk, spool)
    return counted


# A row's values in the order ApplicantRow takes them: rows are spooled as plain tuples, which
# pickle takes and gives back in C (a dataclass's own pickling runs Python for every row).
_row_values = attrgetter(*(field.name for field in fields(ApplicantRow)))


def _spool(chunk: list[ApplicantRow], spool: IO[bytes]) -> None:
    pickle.dump([_row_values(row) for row in chunk], spool, pickle.HIGHEST_PROTOCOL)


def _unspooled(spool: IO[bytes]) -> Iterator[ApplicantRow]:
    spool.seek(0)
    while True:
        try:
            # Our own temporary file, written by this process a moment ago.
            chunk: list[tuple[Any, ...]] = pickle.load(spool)  # noqa: S301
        except EOFError:
            return
        for values in chunk:
            yield ApplicantRow(*values)


def parse_applicant_records(
    records: list[Record],
    problems: Problems,
    *,
    strict: bool = False,
    default_locale: str = DEFAULT_LOCALE,
) -> ParsedFile:
    """The same checks and merge for records that came another way: an ATS export read
    through a profile, or an ATS pull (fairwell.integrations). ``problems`` may say where
    each field came from (a vendor's column); nothing is returned unless all is good."""
    _check_default(default_locale)
    merge = functools.partial(_merge, strict=strict, default_locale=default_locale)
    return parse_records(records, problems, noun="applicants", parse_row=_parse_row, merge=merge)


# --- one record to one row --------------------------------------------------------------------


def _parse_row(record: Record, problems: Problems) -> ApplicantRow | None:
    read = RowReader(record, problems)
    email = read.required("email", normalise_address)
    first_name = read.required("first_name", parse_name)
    last_name = read.required("last_name", parse_name)
    job = read.required("job", parse_name)
    stage = read.required("stage", _stage)
    source = read.required("source", _source)
    referred_by = read.optional("referred_by", parse_name)
    referral_aware = read.flag("referral_aware")
    locale = read.optional("locale", _locale)
    country = read.optional("country", _country)
    region = _region_in(read.optional("region", _region), country, record.row, problems)
    if region and not country:
        country = region.split("-", 1)[0]  # "CA-ON" says the country too
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
        region,
    )


# --- one value --------------------------------------------------------------------------------
# Each parser takes a stripped, non-empty value and returns it checked, or raises InvalidInput.
# Files repeat the same few stages, jobs and dates many times, hence the caches.


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
        raise InvalidInput(f"{shown(text)} is not one of: {allowed}") from None


@lru_cache(maxsize=256)
def _locale(text: str) -> str:
    """A supported language; a region ("de-AT", "en_GB") is accepted and dropped."""
    language = supported_language(text)
    if language is not None:
        return language
    supported = ", ".join(SUPPORTED_LOCALES)
    raise InvalidInput(f"{shown(text)} is not a supported locale; supported: {supported}")


@lru_cache(maxsize=512)
def _country(text: str) -> str:
    code = text.upper()
    if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
        return code
    hint = "; the United Kingdom is GB" if code == "UK" else " (like DE or GB)"
    raise InvalidInput(f"{shown(text)} is not an ISO 3166 two-letter country code{hint}")


@lru_cache(maxsize=512)
def _region(text: str) -> tuple[str | None, str]:
    """An ISO 3166-2 subdivision, "CA-ON", or its part after the country, "ON"."""
    match = _SUBDIVISION.fullmatch(text.upper())
    if match is None:
        raise InvalidInput(
            f"{shown(text)} is not an ISO 3166-2 region code (like CA-ON, US-CA or DE-BY)"
        )
    return match.group(1), match.group(2)


def _region_in(
    parsed: tuple[str | None, str] | None, country: str | None, row: int, problems: Problems
) -> str | None:
    """The full subdivision code, if it exists and lies in the row's country."""
    if parsed is None:
        return None
    prefix, local = parsed
    country_of_region = prefix or country
    if country_of_region is None:
        problems.add(row, "region", f"{shown(local)} needs a country (give CC-{local})")
        return None
    code = f"{country_of_region}-{local}"
    if prefix and country and prefix != country:
        problems.add(row, "region", f"{shown(code)} does not belong to country {shown(country)}")
        return None
    if not _is_subdivision(code):
        problems.add(row, "region", f"{shown(code)} is not a region of {country_of_region}")
        return None
    return code


def _is_subdivision(code: str) -> bool:
    return code in _subdivision_codes()


@cache
def _subdivision_codes() -> frozenset[str]:
    """Every ISO 3166-2 code pycountry knows (about 5,000), read once per process."""
    return frozenset(subdivision.code for subdivision in pycountry.subdivisions)


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
    raise InvalidInput(f"{shown(text)} is not an IANA time zone name (like Europe/Berlin)")


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
            f"{shown(text)} is not an ISO 8601 date or date and time "
            "(like 2024-05-17 or 2024-05-17T14:30:00+02:00)"
        ) from None


# --- rows to applications ---------------------------------------------------------------------


def _check_default(default_locale: str) -> None:
    """The edges check the setting and --locale; a service handed another value says so
    before any row is read, rather than letters failing in an unknown language later."""
    if default_locale not in SUPPORTED_LOCALES:
        supported = ", ".join(SUPPORTED_LOCALES)
        raise InvalidInput(
            f"default locale {shown(default_locale)} is not supported; supported: {supported}"
        )


def _merge(
    rows: list[ApplicantRow], problems: Problems, *, strict: bool, default_locale: str
) -> ParsedFile:
    """Fold rows for the same person and job into one by the rules of domain/duplicates.py.

    ``strict``: rows that contradict each other are problems instead (the file is refused).
    """
    if strict:
        _refuse_disagreements(rows, problems)
    merged = merge_rows(rows, default_locale)
    return ParsedFile(merged.rows, len(rows) - len(merged.rows), merged.merges)


def _refuse_disagreements(rows: list[ApplicantRow], problems: Problems) -> None:
    """A problem for each value a later row gives differently; a value in one row only is fine."""
    for group in grouped(rows, lambda row: row.email).values():
        _agreed(group, _PERSON_FIELDS, problems, "the same address")
    for group in grouped(rows, lambda row: (row.email, job_key(row.job))).values():
        _agreed(group, _APPLICATION_FIELDS, problems, "the same address and job")


def _agreed(
    group: list[ApplicantRow], fields: Sequence[str], problems: Problems, scope: str
) -> None:
    """Each field's value comes from the first row that has one; later rows must not differ."""
    if len(group) == 1:
        return
    for name in fields:
        holder: ApplicantRow | None = None
        for row in group:
            value = _comparable(row, name)
            if value is None:
                continue
            if holder is None:
                holder = row
            elif value != _comparable(holder, name):
                problems.add(row.row, name, _conflict(name, holder, row, scope))


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
    return f"row {earlier.row} has {scope} but {label} {shown(was)}, this row {shown(now)}"
