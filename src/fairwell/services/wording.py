"""A job's competencies and the hiring team's wording for them: the source of every feedback line.

For each competency of a job, per language, the team writes how a gap is named, one concrete
next step and how a strength is named. They do it one at a time (``fairwell competency add
... --lang de --gap ...``, the job's wording page) or many at once from a rubric file
(``fairwell competency import FILE``, TOML or CSV), which is read like every other import:
each problem named with its file, row and field, and nothing saved unless every row is good.

Wording is refused when it reads as another language than the one it is given for (the draft
would hold on it anyway), when it still has a placeholder, or when it is longer than a letter
line should be. The wording check's findings are returned for the writer to see; the draft
carries them to the hiring manager who approves.

The built-in library (templates/feedback/library.toml) is only shown as a suggestion beside
a competency of the same name; nothing from it reaches a letter unless a person saves it here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fairwell.domain.feedback import CompetencyKind, LanguageOf, Wording, language_name
from fairwell.domain.reasons import SUPPORTED_LOCALES
from fairwell.errors import ImportFileError, InvalidInput
from fairwell.guard.privacy import unrendered_placeholder
from fairwell.ports import FeedbackStore, PipelineStore, RubricRow, WordingCheck, WordingFinding
from fairwell.services.feedback import Library, required_languages
from fairwell.services.language import identify_language
from fairwell.services.scorecard_file import MAX_COMPETENCY_LENGTH
from fairwell.services.tabular import (
    Problems,
    Record,
    RowReader,
    parse_name,
    read_csv_records,
    read_file_text,
)

MAX_WORDING_LENGTH = 600
WORDING_PARTS = ("gap", "next_step", "strength")
COLUMNS = ("job", "competency", "bar", "kind", "lang", *WORDING_PARTS)
OPTIONAL_COLUMNS = ("kind", "lang", *WORDING_PARTS)


@dataclass(slots=True)
class WordingReport:
    competencies: int = 0
    wordings: int = 0
    jobs: dict[str, int] = field(default_factory=dict)  # each job's title, and its id
    findings: list[tuple[RubricRow, WordingFinding]] = field(default_factory=list)


def parse_kind(text: str) -> CompetencyKind:
    try:
        return CompetencyKind(text.strip().lower())
    except ValueError:
        raise InvalidInput("must be competency or requirement") from None


def parse_lang(text: str) -> str:
    lang = text.strip().lower()
    if lang not in SUPPORTED_LOCALES:
        raise InvalidInput(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
    return lang


def parse_bar(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 4:
        raise InvalidInput("must be a whole number from 1 to 4")
    return int(text)


def _competency_name(text: str) -> str:
    name = parse_name(text)
    if len(name) > MAX_COMPETENCY_LENGTH:
        raise InvalidInput(f"is longer than {MAX_COMPETENCY_LENGTH} characters")
    return name


def checked_wording(text: str, lang: str, language_of: LanguageOf = identify_language) -> str:
    """One part of the wording, as it may reach a letter line; raise InvalidInput."""
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_WORDING_LENGTH:
        raise InvalidInput(f"is longer than {MAX_WORDING_LENGTH} characters")
    placeholder = unrendered_placeholder(cleaned)
    if placeholder is not None:
        raise InvalidInput(f"still has a placeholder: {placeholder!r}")
    found = language_of(cleaned) if cleaned else None
    if found is not None and found != lang:
        other = f", or give it with --lang {found}" if found in SUPPORTED_LOCALES else ""
        raise InvalidInput(
            f"reads as {language_name(found)}, not {language_name(lang)}: write it in "
            f"{language_name(lang)}{other}"
        )
    return cleaned


def one_row(
    values: Mapping[str, str | None], language_of: LanguageOf = identify_language
) -> RubricRow:
    """A competency (and its wording in one language) given on the command line or in a form,
    checked like a row of a rubric file."""
    problems = Problems("the command line")
    row = _parse_row(
        Record(1, {k: v for k, v in values.items() if v is not None}), problems, language_of
    )
    if problems.found or row is None:
        raise ImportFileError(problems.found)
    return row


def parse_rubric_file(path: Path, language_of: LanguageOf = identify_language) -> list[RubricRow]:
    """Read and check a rubric file (.toml or .csv); raise ImportFileError naming every problem.

    CSV: one row per competency and language, columns job, competency, bar, and optionally
    kind, lang, gap, next_step, strength. TOML: ``[[competency]]`` tables with job, name, bar,
    optional kind, and a sub-table per language (``[competency.de]``) with gap, next_step,
    strength; a problem's "row" is the position of its ``[[competency]]`` in the file.
    """
    problems = Problems(path.name)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".toml"):
        raise problems.fatal(f"unsupported file type {path.suffix!r}; use a .toml or .csv file")
    text = read_file_text(path, problems)
    if suffix == ".csv":
        records = read_csv_records(text, problems, COLUMNS, OPTIONAL_COLUMNS)
    else:
        records = _toml_records(text, problems)
    if not records and not problems.found:
        raise problems.fatal("no rows: the file holds no competencies")
    rows = [row for row in (_parse_row(r, problems, language_of) for r in records) if row]
    _conflicts(rows, problems)
    if problems.found:
        raise ImportFileError(problems.found)
    return rows


def _toml_records(text: str, problems: Problems) -> list[Record]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise problems.fatal(f"not valid TOML: {error}") from None
    entries = data.get("competency")
    if not isinstance(entries, list):
        raise problems.fatal("expected [[competency]] tables")
    records: list[Record] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.add(number, None, "must be a table")
            continue
        records += _entry_records(number, entry, problems)
    return records


def _entry_records(number: int, entry: dict[str, object], problems: Problems) -> list[Record]:
    base = {
        "job": entry.get("job"),
        "competency": entry.get("name"),
        "bar": str(entry["bar"]) if isinstance(entry.get("bar"), int) else entry.get("bar"),
        "kind": entry.get("kind"),
    }
    unknown = sorted(set(entry) - {"job", "name", "bar", "kind", *SUPPORTED_LOCALES})
    for key in unknown:
        problems.add(
            number, key, f"unknown key; use job, name, bar, kind, {'/'.join(SUPPORTED_LOCALES)}"
        )
    languages = [lang for lang in SUPPORTED_LOCALES if isinstance(entry.get(lang), dict)]
    if not languages:
        return [Record(number, base)]
    return [Record(number, {**base, "lang": lang, **_parts(entry[lang])}) for lang in languages]


def _parts(table: object) -> dict[str, object]:
    assert isinstance(table, dict)
    return {part: table.get(part) for part in WORDING_PARTS}


class _RubricReader(RowReader):
    pass


def _parse_row(record: Record, problems: Problems, language_of: LanguageOf) -> RubricRow | None:
    # Every column is read; one a TOML table or the command line leaves out is empty.
    record = Record(record.row, {column: record.values.get(column) for column in COLUMNS})
    read = _RubricReader(record, problems)
    job = read.required("job", parse_name)
    name = read.required("competency", _competency_name)
    bar = read.required("bar", parse_bar)
    kind = read.optional("kind", parse_kind)
    lang = read.optional("lang", parse_lang)
    parts = {
        part: read.optional(part, _wording_parser(lang or "en", language_of)) or ""
        for part in WORDING_PARTS
    }
    if any(parts.values()) and lang is None:
        read.problem("lang", "is needed with gap, next_step or strength")
    if not read.ok or job is None or name is None or bar is None:
        return None
    wording = Wording(parts["gap"], parts["next_step"], parts["strength"]) if lang else None
    return RubricRow(record.row, job, name, bar, kind, lang, wording)


def _wording_parser(lang: str, language_of: LanguageOf) -> Callable[[str], str]:
    return lambda text: checked_wording(text, lang, language_of)


def _conflicts(rows: Sequence[RubricRow], problems: Problems) -> None:
    """The same competency twice must agree on its bar and kind, and a language once."""
    first: dict[tuple[str, str], RubricRow] = {}
    languages: set[tuple[str, str, str]] = set()
    for row in rows:
        key = (row.job.casefold(), row.name.casefold())
        earlier = first.setdefault(key, row)
        if (earlier.bar, earlier.kind) != (row.bar, row.kind) and row.kind is not None:
            problems.add(
                row.row, "bar", f"row {earlier.row} gives this competency another bar or kind"
            )
        if row.locale is not None:
            if (*key, row.locale) in languages:
                problems.add(row.row, "lang", "this competency has wording in this language above")
            languages.add((*key, row.locale))


def save_rows(
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    rows: Sequence[RubricRow],
    *,
    actor: str,
    now: datetime,
) -> WordingReport:
    """Save every row in one transaction (all or none); return what the wording check found.

    A part left empty keeps what was stored for it.
    """
    feedback_store.save_rubric(rows, actor, now)
    report = WordingReport()
    for row in rows:
        if row.job not in report.jobs:  # a file names its jobs by title
            report.jobs[row.job] = store.job_by_title(row.job).id
        report.competencies += 1
        if row.wording is None or row.locale is None:
            continue
        report.wordings += 1
        languages = required_languages(feedback_store.competencies(report.jobs[row.job]))
        for part in row.wording.parts().values():
            report.findings += [(row, f) for f in check(part, row.locale, languages) if part]
    return report


def suggestions(library: Library, name: str) -> dict[str, Wording]:
    """The built-in library's words for a competency of this name, per language: shown to
    whoever writes the job's wording, never used by themselves."""
    folded = name.casefold()
    return {
        locale: wording
        for locale, entries in library.items()
        for key, wording in entries.items()
        if key.casefold() == folded
    }


@dataclass(frozen=True, slots=True)
class WordingStatus:
    """One competency of a job as the wording page and `competency list` show it."""

    name: str
    bar: int
    kind: CompetencyKind
    wording: dict[str, Wording]
    suggested: dict[str, Wording]

    def missing(self) -> list[str]:
        """The languages in which a gap of this competency has no words."""
        return [lang for lang in SUPPORTED_LOCALES if not self.wording.get(lang, Wording()).gap]


def job_wording(
    feedback_store: FeedbackStore, library: Library, job_id: int
) -> list[WordingStatus]:
    wordings = feedback_store.wordings(job_id)
    return [
        WordingStatus(
            c.name,
            c.bar,
            c.kind,
            {lang: found[c.name] for lang, found in wordings.items() if c.name in found},
            suggestions(library, c.name),
        )
        for c in feedback_store.competencies(job_id)
    ]
