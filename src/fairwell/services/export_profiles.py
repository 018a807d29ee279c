"""Export profiles: how one vendor's candidate export maps onto Fairwell's import fields.

A profile is data (``<vendor>/profile.toml``, or an organisation's own file): which column
feeds each field (with the other spellings a vendor has used), which stage names mean which
Fairwell stage, which sources mean that someone else put the person in, which date formats
the export writes. Reading an export through a profile yields the same records a Fairwell file
yields, so the rows then go through Fairwell's own checks and merge
(:func:`fairwell.services.applicant_file.parse_applicant_records`): one set of rules, one
all-or-nothing import. Every problem names the vendor's column, never Fairwell's field.

Pure: this module reads the profile and the export it is given, and nothing else.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fairwell.domain.model import Source, Stage
from fairwell.errors import ImportFileError, ImportProblem
from fairwell.errors import ProfileError as ProfileError
from fairwell.services.applicant_file import (
    COLUMNS,
    DEFAULT_LOCALE,
    ParsedFile,
    parse_applicant_records,
)
from fairwell.services.tabular import (
    Problems,
    Record,
    csv_delimiter,
    one_column_hint,
    read_csv_records,
    read_table_text,
    shown,
)
from fairwell.services.vendors import VENDORS_PACKAGE, vendor_names

__all__ = [
    "ColumnProblems",
    "Profile",
    "ProfileError",
    "Translation",
    "load_profile",
    "parse_export",
    "profile_names",
    "vendor_names",
]

# Columns a profile may map besides Fairwell's own: a full name split in two, a status that
# overrides the stage (rejected, hired, withdrew), and yes/no flags that set the source.
EXTRA_FIELDS = ("full_name", "status", "sourced_flag", "referred_flag")
DATE_FIELDS = ("applied_at", "last_interview_at")
_TRUE = frozenset({"yes", "y", "true", "1", "x", "ja", "wahr"})
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
# Rows named in a message about one unknown value, before "…".
_ROWS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Column:
    """The column that feeds ``field``: ``names[0]`` is the one messages name."""

    field: str
    names: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class Profile:
    """One vendor's export, as its ``profile.toml`` describes it (see docs/integrations/)."""

    name: str
    vendor: str
    description: str
    origin: str  # the file the profile came from
    columns: Mapping[str, Column]
    stages: Mapping[str, Stage]  # by casefolded vendor stage name
    statuses: Mapping[str, Stage | None]  # None: the status says nothing about the stage
    sources: Mapping[str, Source]
    default_source: Source | None = None
    unknown_status: Stage | None = None
    date_formats: tuple[str, ...] = ()
    based_on: tuple[str, ...] = ()
    export: str = ""

    def column_name(self, field_name: str) -> str:
        column = self.columns.get(field_name)
        return column.names[0] if column else field_name


# --- finding and loading profiles -------------------------------------------------------------


def profile_names() -> list[str]:
    """The profiles shipped in the package, one per vendor folder."""
    return vendor_names()


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (``greenhouse``), or an organisation's own ``.toml`` file."""
    if name_or_path.lower().endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProfileError(f"{path}: cannot read the profile: {error.strerror}") from None
        return _profile_from_text(text, str(path))
    if name_or_path not in profile_names():
        shipped = ", ".join(profile_names())
        raise ProfileError(
            f"no profile named {name_or_path!r}; the shipped ones are {shipped}, "
            "or give your own .toml file"
        )
    source = resources.files(VENDORS_PACKAGE).joinpath(name_or_path, "profile.toml")
    return _profile_from_text(source.read_text(encoding="utf-8"), f"{name_or_path}/profile.toml")


def _profile_from_text(text: str, origin: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{origin}: not valid TOML: {error}") from None
    base = data.pop("extends", None)
    if base is not None:
        if not isinstance(base, str) or base not in profile_names():
            raise ProfileError(f"{origin}: extends = {base!r} is not a shipped profile")
        data = _laid_over(_shipped_data(base), data)
    return _ProfileReader(origin, data).profile()


def _shipped_data(name: str) -> dict[str, Any]:
    source = resources.files(VENDORS_PACKAGE).joinpath(name, "profile.toml")
    return tomllib.loads(source.read_text(encoding="utf-8"))


def _laid_over(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``own`` over ``base``: tables merge key by key, everything else is replaced."""
    merged = dict(base)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


class _ProfileReader:
    """Checks a profile's TOML strictly, naming the file and the key of every problem."""

    def __init__(self, origin: str, data: dict[str, Any]) -> None:
        self.origin, self.data = origin, data

    def profile(self) -> Profile:
        optional = set(self._strings("optional"))
        columns = {
            name: Column(name, self._names(name, value), name not in optional)
            for name, value in self._table("columns").items()
        }
        self._check_columns(columns, optional)
        return Profile(
            name=self._text("name"),
            vendor=self._text("vendor"),
            description=self._text("description", ""),
            origin=self.origin,
            columns=columns,
            stages={k.casefold(): self._stage(f"stages.{k}", v) for k, v in self._items("stages")},
            statuses={
                k.casefold(): self._stage(f"statuses.{k}", v, blank_ok=True)
                for k, v in self._items("statuses")
            },
            sources={
                k.casefold(): self._source(f"sources.{k}", v) for k, v in self._items("sources")
            },
            default_source=self._optional_source("default_source"),
            unknown_status=self._optional_stage("unknown_status"),
            date_formats=tuple(self._strings("date_formats")),
            based_on=tuple(self._strings("based_on")),
            export=self._text("export", ""),
        )

    def fail(self, message: str) -> ProfileError:
        return ProfileError(f"{self.origin}: {message}")

    def _check_columns(self, columns: Mapping[str, Column], optional: set[str]) -> None:
        known = (*COLUMNS, *EXTRA_FIELDS)
        for name in columns:
            if name not in known:
                raise self.fail(f"[columns] {name!r} is not a field; fields: {', '.join(known)}")
        for name in optional - set(columns):
            raise self.fail(f"optional lists {name!r}, which [columns] does not map")
        named = "full_name" in columns or {"first_name", "last_name"} <= set(columns)
        if not named:
            raise self.fail("[columns] needs first_name and last_name, or full_name")
        for needed in ("email", "job"):
            if needed not in columns:
                raise self.fail(f"[columns] needs {needed}")
        if "stage" not in columns and "status" not in columns:
            raise self.fail("[columns] needs stage or status")

    def _table(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f"{key} must be a table ([{key}])")
        return value

    def _items(self, key: str) -> Iterable[tuple[str, Any]]:
        return self._table(key).items()

    def _text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(f"{key} must be text")
        return value

    def _strings(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{key} must be a list of text")
        return value

    def _names(self, name: str, value: object) -> tuple[str, ...]:
        names = [value] if isinstance(value, str) else value
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise self.fail(f"[columns] {name} must be a column name or a list of them")
        return tuple(n.strip() for n in names)

    def _stage(self, key: str, value: object, blank_ok: bool = False) -> Any:
        if blank_ok and value == "":
            return None
        try:
            return Stage(str(value))
        except ValueError:
            allowed = ", ".join(stage.value for stage in Stage)
            keep = ' or "" (keep the stage)' if blank_ok else ""
            raise self.fail(f"{key} = {value!r} is not a stage ({allowed}{keep})") from None

    def _source(self, key: str, value: object) -> Source:
        try:
            return Source(str(value))
        except ValueError:
            allowed = ", ".join(source.value for source in Source)
            raise self.fail(f"{key} = {value!r} is not a source ({allowed})") from None

    def _optional_source(self, key: str) -> Source | None:
        value = self.data.get(key)
        return None if value is None else self._source(key, value)

    def _optional_stage(self, key: str) -> Stage | None:
        value = self.data.get(key)
        return None if value is None else self._stage(key, value)


# --- problems that name the vendor's columns --------------------------------------------------


class ColumnProblems(Problems):
    """Problems whose field is the vendor's column (or API field), not Fairwell's name.

    ``where`` says how a row is named in messages about many rows ("row 3", or "application
    4001" for a pull); ``label`` gives each problem its file name from the row (a pull names
    the application rather than a line of a file).
    """

    def __init__(
        self,
        file: str,
        columns: Mapping[str, str],
        where: Callable[[int], str] = lambda row: f"row {row}",
        label: Callable[[int | None], tuple[str, int | None]] | None = None,
    ) -> None:
        super().__init__(file)
        self.columns = dict(columns)
        self.where = where
        self._label = label
        # (row, field) already explained by a listed unknown name: no second message.
        self.explained: set[tuple[int | None, str | None]] = set()

    def add(self, row: int | None, field: str | None, message: str) -> None:
        if (row, field) in self.explained:
            return
        shown_field = self.columns.get(field, field) if field else field
        file, shown_row = self._label(row) if self._label else (self.file, row)
        self.found.append(ImportProblem(file, shown_row, shown_field, message))


# --- translating records ----------------------------------------------------------------------


@dataclass
class Translation:
    """Turns a vendor's raw values, by field, into a Fairwell record; collects the stage,
    status and source names the profile does not know, to list each once at the end."""

    profile: Profile
    unknown: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def record(self, row: int, raw: Mapping[str, object], problems: ColumnProblems) -> Record:
        values: dict[str, object] = {name: raw.get(name, "") for name in COLUMNS}
        values["email"] = _first_address(_text(raw.get("email")))
        self._name(raw, values)
        values["stage"] = self._stage(row, raw)
        values["source"] = self._source(row, raw)
        for name in ("stage", "source"):
            if values[name] is None:  # an unknown name, listed once by finish()
                problems.explained.add((row, name))
                values[name] = ""
        for name in DATE_FIELDS:
            values[name] = self._date(row, name, raw.get(name), problems)
        return Record(row, values)

    def finish(self, problems: ColumnProblems) -> None:
        """Report every unknown stage, status and source name once, with its rows."""
        for kind, names in self.unknown.items():
            listed = ", ".join(
                f"{shown(name)} ({_rows(rows, problems.where)})" for name, rows in names.items()
            )
            problems.add(
                None,
                kind,
                f"{kind} names the {self.profile.name} profile does not know: {listed}; map "
                f"them in your own profile (--profile custom.toml, see docs/integrations/)",
            )

    def _name(self, raw: Mapping[str, object], values: dict[str, object]) -> None:
        if _text(raw.get("first_name")) or _text(raw.get("last_name")):
            return
        parts = _text(raw.get("full_name")).split(None, 1)
        if not parts:
            return
        # The first word is what a letter greets; the rest is the family name.
        values["first_name"] = parts[0]
        values["last_name"] = parts[1] if len(parts) > 1 else ""

    def _stage(self, row: int, raw: Mapping[str, object]) -> str | None:
        status = _text(raw.get("status"))
        if status:
            key = status.casefold()
            if key in self.profile.statuses:
                overriding = self.profile.statuses[key]
                if overriding is not None:
                    return overriding.value  # the status decides; the stage name does not matter
            elif self.profile.unknown_status is not None:
                return self.profile.unknown_status.value
            else:
                self._unknown("status", status, row)
                return None
        stage = _text(raw.get("stage"))
        if not stage:
            return ""
        mapped = self.profile.stages.get(stage.casefold())
        if mapped is None:
            self._unknown("stage", stage, row)
            return None
        return mapped.value

    def _source(self, row: int, raw: Mapping[str, object]) -> str | None:
        if _flag(raw.get("referred_flag")):
            return Source.REFERRED.value
        if _flag(raw.get("sourced_flag")):
            return Source.SOURCED.value
        source = _text(raw.get("source"))
        default = self.profile.default_source
        if not source:
            return default.value if default else ""
        mapped = self.profile.sources.get(source.casefold(), default)
        if mapped is None:
            self._unknown("source", source, row)
            return None
        return mapped.value

    def _date(self, row: int, name: str, raw: object, problems: Problems) -> object:
        text = _text(raw)
        if not text:
            return raw if not isinstance(raw, str) else ""
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            pass
        for pattern in self.profile.date_formats:
            try:
                return datetime.strptime(text, pattern).isoformat()
            except ValueError:
                continue
        formats = ", ".join(self.profile.date_formats) or "ISO 8601 only"
        problems.add(
            row,
            name,
            f"{shown(text)} is not a date the {self.profile.name} profile reads ({formats})",
        )
        return ""

    def _unknown(self, kind: str, name: str, row: int) -> None:
        self.unknown.setdefault(kind, {}).setdefault(name, []).append(row)


def _text(raw: object) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def _flag(raw: object) -> bool:
    return raw is True or _text(raw).casefold() in _TRUE


def _first_address(text: str) -> str:
    """Exports put several addresses in one cell; the first is the primary one."""
    return next((part for part in _LIST_SEPARATORS.split(text) if part), "")


def _rows(rows: list[int], where: Callable[[int], str]) -> str:
    named = ", ".join(where(row) for row in rows[:_ROWS_SHOWN])
    return named + (f" and {len(rows) - _ROWS_SHOWN} more" if len(rows) > _ROWS_SHOWN else "")


# --- reading an export ------------------------------------------------------------------------


def parse_export(
    path: Path, profile: Profile, *, strict: bool = False, default_locale: str = DEFAULT_LOCALE
) -> ParsedFile:
    """Read a vendor's export (CSV, or an .xlsx workbook's first sheet) through ``profile``
    and check it as a Fairwell file is checked; raise ImportFileError naming the file, the row
    and the vendor's column. Exports seldom say a candidate's language: a row without one
    is in ``default_locale``."""
    problems = ColumnProblems(path.name, {})
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise problems.fatal(
            f"export profiles read CSV or Excel (.xlsx); save the {profile.vendor} export as "
            f"one of them (this is {path.suffix or 'a file without an extension'})"
        )
    text = read_table_text(path, problems)
    # A CSV export is read with the separator its header uses (',', ';' as a German Excel
    # saves it, or tab); a workbook's text is ours, with commas.
    delimiter = "," if path.suffix.lower() == ".xlsx" else csv_delimiter(text)
    header_row, header = _header(text, delimiter, problems)
    chosen = _choose_columns(profile, header, header_row, problems)
    problems.columns = {**chosen, **_derived_labels(chosen)}
    by_column = {cell.strip().lower(): name for name, cell in chosen.items()}
    records = read_csv_records(text, problems, list(by_column), delimiter=delimiter)
    translation = Translation(profile)
    translated = [
        translation.record(
            record.row,
            {by_column[column]: value for column, value in record.values.items()},
            problems,
        )
        for record in records
    ]
    translation.finish(problems)
    return parse_applicant_records(
        translated, problems, strict=strict, default_locale=default_locale
    )


def _header(text: str, delimiter: str, problems: Problems) -> tuple[int, list[str]]:
    lines = io.StringIO(text, newline="")
    try:
        for number, cells in enumerate(csv.reader(lines, delimiter=delimiter, strict=True), 1):
            if any(cells):
                return number, cells
    except csv.Error as error:
        raise problems.fatal(f"the CSV cannot be read: {error}") from None
    raise problems.fatal("no rows: the file is empty")


def _choose_columns(
    profile: Profile, header: list[str], row: int, problems: Problems
) -> dict[str, str]:
    """Each mapped field's column as the header spells it; every missing required column
    is named the way the profile expects it, and nothing is read."""
    present = {cell.strip().casefold(): cell for cell in header if cell.strip()}
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for column in profile.columns.values():
        found = next((present[n.casefold()] for n in column.names if n.casefold() in present), None)
        if found is not None:
            chosen[column.field] = found
        elif column.required:
            also = (
                f" (or {', '.join(repr(n) for n in column.names[1:])})" if column.names[1:] else ""
            )
            missing.append(f"{column.names[0]!r}{also}")
    if missing:
        problems.add(
            row,
            None,
            f"missing column{'s' if len(missing) > 1 else ''} the {profile.name} profile "
            f"expects: {', '.join(missing)}{one_column_hint(header)}",
        )
        raise ImportFileError(problems.found)
    return chosen


def _derived_labels(chosen: Mapping[str, str]) -> dict[str, str]:
    """Fields computed from another column are named by that column in messages."""
    labels: dict[str, str] = {}
    if "full_name" in chosen and "first_name" not in chosen:
        labels["first_name"] = labels["last_name"] = chosen["full_name"]
    if "stage" not in chosen and "status" in chosen:
        labels["stage"] = chosen["status"]
    if "source" not in chosen:
        flag = chosen.get("referred_flag") or chosen.get("sourced_flag")
        if flag:
            labels["source"] = flag
    return labels
