"""The compliance lint: wording in candidate-facing text that touches protected characteristics.

Every letter and every piece of feedback a candidate will read is linted before it can be
approved. Each rule is one category of protected characteristic (or its proxies) with a
``name`` and a one-line ``description``; :data:`RULES` lists them in the one place where the
lint is composed. The words themselves are data: ``compliance_terms/<lang>.toml`` holds, per
rule, the phrases that trigger it, the phrases in which they are harmless, a plain-words
``why`` and a job-related ``suggestion``. An organisation extends them with a TOML file of the
same shape (:meth:`Linter.from_files`).

Matching, and the precision/recall trade-off it makes:

* Text and phrases are folded the same way: Unicode NFC, case-folded, every run of white space
  or hyphens made one space (so "culture-fit" and "culture fit" are the same phrase). Spans
  are mapped back to the caller's text, so they point at the words as written.
* One Aho-Corasick automaton per language holds every phrase of every rule, the harmless
  phrases and the job-related cues: one pass over the text, whatever the size of the lists.
* Phrases match whole words only. A ``*`` at the end of a phrase lets the last word go on
  ("schwanger*" matches "Schwangerschaft"), a ``*`` at the start lets the first word begin
  earlier ("*behinderung" matches "Schwerbehinderung"); the finding then spans the whole word.
  Other inflections are listed as forms. Short ambiguous words are listed only inside phrases
  ("your age", not "age"; "disabled person", not "disabled", which also means a feature flag).
* ``allow`` phrases name harmless uses ("young company", "foreign key", "race condition",
  "for children" as a product's audience); a term found inside one is dropped. Gaining
  precision this way costs recall only for the listed phrase itself.
* ``language-proficiency`` depends on the job: "your English was not good enough" is flagged
  unless the job states a requirement for English (a competency or requirement whose name
  names the language, e.g. "English (C1) for client calls"). Languages are named in each terms
  file's ``[languages]`` table; a line that names only required languages, or none when the
  job requires one, is excused. "Native speaker" and accent stay origin proxies whatever the
  job says: the requirement is a level, not where someone learnt it.
* ``culture-fit`` is the other context rule: "not a culture fit" or "gut feeling" is flagged only
  when the same text gives no job-related reason, i.e. none of the ``job_related_cues``
  ("experience", "requirement", "SQL", "code review", ...) appears anywhere in it. A cue that
  is present but does not explain the decision still excuses the phrase: we chose fewer false
  alarms over catching that case.
* Praise is not told apart from judgement: "you were energetic" is flagged like "we need
  someone energetic", and "the hiring manager is on parental leave" like the candidate's leave.
  A reviewer dismisses such a finding in seconds; a missed one reaches the candidate.
* A word for a sector is not a proxy: "energy sector", "health sector", "Energiebranche",
  "Gesundheitswesen" are not terms at all; only "energetic"/"energiegeladen"/"voller Energie"
  and "your health"/"gesundheitlich" are.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import TypedDict

import ahocorasick

from fairwell.errors import TermsFileError as TermsFileError

SUPPORTED_LANGUAGES = ("en", "de")


@dataclass(frozen=True, slots=True)
class LintFinding:
    rule: str
    span: tuple[int, int]  # character offsets in the linted text, end exclusive
    why: str
    suggestion: str


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    excused_by_job_reason: bool = False
    excused_by_job_language: bool = False


RULES: tuple[Rule, ...] = (
    Rule("age", "age and its proxies: young, energetic, overqualified, recent graduate"),
    Rule("sex-and-family", "sex and gender, pregnancy, maternity, parenthood and childcare"),
    Rule("marital-status", "marriage, spouses, partners and relationships"),
    Rule("sexual-orientation", "sexual orientation and gender identity"),
    Rule(
        "origin-and-language",
        "ethnic or national origin and proxies: native speaker, accent, nationality, citizenship",
    ),
    Rule(
        "language-proficiency",
        "proficiency in a language the job states no requirement for",
        excused_by_job_language=True,
    ),
    Rule("religion", "religion or belief, worship, religious dress and holidays"),
    Rule(
        "disability-and-health",
        "disability, illness, sick leave, surgery and medical conditions",
    ),
    Rule("appearance", "looks, body, tattoos, clothes and grooming"),
    Rule("political-opinion", "political opinions, activism and trade-union membership"),
    Rule(
        "culture-fit",
        "an unexplained 'culture fit' or gut feeling, when no job-related reason is given",
        excused_by_job_reason=True,
    ),
)


@dataclass(frozen=True, slots=True)
class RuleTerms:
    """One rule's words in one language."""

    rule: Rule
    why: str
    suggestion: str
    terms: tuple[str, ...]
    allow: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TermSet:
    """Every rule's words in one language, plus the cues that count as a job-related reason
    and the words that name each language (key: the language's English name, lower case)."""

    lang: str
    rules: tuple[RuleTerms, ...]
    job_related_cues: tuple[str, ...]
    languages: tuple[tuple[str, tuple[str, ...]], ...] = ()


# ---------------------------------------------------------------------------------------------
# Folding: one comparable form for text and phrases, with a map back to the original offsets.

_SEPARATORS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2212")
_APOSTROPHES = {"\u2019": "'", "\u02bc": "'", "\u2018": "'"}


@dataclass(frozen=True, slots=True)
class _Folded:
    text: str
    starts: tuple[int, ...]  # for each folded character: where its source begins
    ends: tuple[int, ...]  # ... and where it ends, in the original text


def _clusters(text: str) -> Iterator[tuple[int, int]]:
    """A base character with the combining marks that follow it: the unit NFC composes."""
    begin = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or not unicodedata.combining(text[index]):
            yield begin, index
            begin = index


def _fold_piece(piece: str) -> str:
    if piece.isspace() or piece in _SEPARATORS:
        return " "
    folded = unicodedata.normalize("NFC", piece).casefold()
    return _APOSTROPHES.get(folded, folded)


def _fold(text: str) -> _Folded:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for begin, end in _clusters(text):
        piece = _fold_piece(text[begin:end])
        if piece == " " and chars and chars[-1] == " ":
            ends[-1] = end  # a run of separators is one space
            continue
        for char in piece:
            chars.append(char)
            starts.append(begin)
            ends.append(end)
    return _Folded("".join(chars), tuple(starts), tuple(ends))


# ASCII white space (str.isspace's, as _fold_piece reads it) and the hyphen, in runs.
_ASCII_SEPARATORS = re.compile(r"[\s-]+")


def fold(text: str) -> str:
    """The comparable form of a phrase: NFC, case-folded, white space and hyphens one space."""
    if text.isascii():
        # The same result without the offsets: in ASCII, NFC changes nothing, case folding
        # is lowercasing and every character is a cluster. Term lists are mostly ASCII, and
        # each process that builds the linter folds them all (a fifth of a second).
        return _ASCII_SEPARATORS.sub(" ", text.lower()).strip()
    return _fold(text).text.strip()


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_" or unicodedata.combining(char) != 0


# ---------------------------------------------------------------------------------------------
# Reading terms files.

_RULE_KEYS = frozenset({"terms", "allow", "why", "suggestion", "description"})
_RULE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TermsFileError(f"{where} must be a list of strings")
    for item in value:
        core = fold(item.strip("*"))
        if not core or "*" in core:
            raise TermsFileError(f"{where}: {item!r} is empty or has '*' inside a phrase")
    return tuple(value)


def _text(table: Mapping[str, object], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise TermsFileError(f"{where}.{key} must be a non-empty string")
    return value


def _read_toml(source: str, content: str) -> dict[str, object]:
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise TermsFileError(f"{source}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - {"rules", "job_related_cues", "languages"})
    if unknown:
        raise TermsFileError(f"{source}: unknown top-level key(s) {', '.join(unknown)}")
    if not isinstance(data.get("rules", {}), dict):
        raise TermsFileError(f"{source}: 'rules' must be a table of rules")
    return data


def _rule_table(source: str, name: str, table: object) -> Mapping[str, object]:
    where = f"{source}: rules.{name}"
    if not _RULE_NAME.match(name):
        raise TermsFileError(f"{where}: rule names are lower case words joined by '-'")
    if not isinstance(table, dict):
        raise TermsFileError(f"{where} must be a table")
    unknown = sorted(set(table) - _RULE_KEYS)
    if unknown:
        raise TermsFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return table


def _new_rule(source: str, name: str, table: Mapping[str, object]) -> RuleTerms:
    """A rule the organisation adds: it must say everything a built-in rule says."""
    where = f"{source}: rules.{name}"
    fields = {key: _text(table, key, where) for key in ("description", "why", "suggestion")}
    missing = [key for key, value in fields.items() if value is None]
    if missing or "terms" not in table:
        raise TermsFileError(f"{where} is a new rule and needs {', '.join([*missing, 'terms'])}")
    return RuleTerms(
        rule=Rule(name, fields["description"] or ""),
        why=fields["why"] or "",
        suggestion=fields["suggestion"] or "",
        terms=_strings(table["terms"], f"{where}.terms"),
        allow=_strings(table.get("allow", []), f"{where}.allow"),
    )


def _extended(source: str, base: RuleTerms, table: Mapping[str, object]) -> RuleTerms:
    """A known rule with the file's phrases added and its why/suggestion, when given, used."""
    where = f"{source}: rules.{base.rule.name}"
    if "description" in table:
        raise TermsFileError(f"{where}: the description of a built-in rule cannot be changed")
    return replace(
        base,
        why=_text(table, "why", where) or base.why,
        suggestion=_text(table, "suggestion", where) or base.suggestion,
        terms=base.terms + _strings(table.get("terms", []), f"{where}.terms"),
        allow=base.allow + _strings(table.get("allow", []), f"{where}.allow"),
    )


def _merge(base: TermSet, source: str, content: str) -> TermSet:
    data = _read_toml(source, content)
    rules = {terms.rule.name: terms for terms in base.rules}
    tables = data.get("rules", {})
    assert isinstance(tables, dict)
    for name, raw in tables.items():
        table = _rule_table(source, name, raw)
        known = rules.get(name)
        rules[name] = (
            _new_rule(source, name, table) if known is None else _extended(source, known, table)
        )
    cues = _strings(data.get("job_related_cues", []), f"{source}: job_related_cues")
    languages = dict(base.languages)
    for name, words in _languages(source, data.get("languages", {})).items():
        languages[name] = languages.get(name, ()) + words
    return TermSet(
        base.lang, tuple(rules.values()), base.job_related_cues + cues, tuple(languages.items())
    )


def _languages(source: str, table: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise TermsFileError(f"{source}: 'languages' must be a table of word lists")
    return {
        str(name): _strings(words, f"{source}: languages.{name}") for name, words in table.items()
    }


def _builtin(lang: str) -> TermSet:
    """The shipped terms of ``lang``; every rule in :data:`RULES` must have its why and terms."""
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {SUPPORTED_LANGUAGES}")
    name = f"{lang}.toml"
    content = (
        resources.files("fairwell.domain")
        .joinpath("compliance_terms", name)
        .read_text(encoding="utf-8")
    )
    skeleton = TermSet(lang, tuple(RuleTerms(rule, "", "", ()) for rule in RULES), ())
    merged = _merge(skeleton, name, content)
    incomplete = [t.rule.name for t in merged.rules if not (t.why and t.suggestion and t.terms)]
    if incomplete or len(merged.rules) != len(RULES):
        raise TermsFileError(f"{name}: rules without why, suggestion or terms: {incomplete}")
    return merged


# ---------------------------------------------------------------------------------------------
# Matching.


class _Kind(Enum):
    TERM = "term"
    ALLOW = "allow"
    CUE = "cue"
    LANGUAGE = "language"  # a word naming a language; ``rule`` holds which one


@dataclass(frozen=True, slots=True)
class _Pattern:
    kind: _Kind
    rule: str  # empty for a job-related cue
    open_start: bool  # '*' in front: the first word may begin earlier
    open_end: bool  # '*' behind: the last word may go on


def _whole_words(text: str, start: int, end: int, pattern: _Pattern) -> tuple[int, int] | None:
    """The span of the whole words matched, or None when the match is part of a longer word."""
    if not pattern.open_start and start > 0 and _is_word(text[start - 1]):
        return None
    if not pattern.open_end and end < len(text) and _is_word(text[end]):
        return None
    while pattern.open_start and start > 0 and _is_word(text[start - 1]):
        start -= 1
    while pattern.open_end and end < len(text) and _is_word(text[end]):
        end += 1
    return start, end


def _patterns(term_set: TermSet) -> Iterator[tuple[str, _Pattern]]:
    def compiled(raw: str, kind: _Kind, rule: str) -> tuple[str, _Pattern]:
        stripped = raw.strip()
        pattern = _Pattern(kind, rule, stripped.startswith("*"), stripped.endswith("*"))
        return fold(stripped.strip("*")), pattern

    for terms in term_set.rules:
        yield from (compiled(raw, _Kind.TERM, terms.rule.name) for raw in terms.terms)
        yield from (compiled(raw, _Kind.ALLOW, terms.rule.name) for raw in terms.allow)
    yield from (compiled(raw, _Kind.CUE, "") for raw in term_set.job_related_cues)
    for language, words in term_set.languages:
        yield from (compiled(raw, _Kind.LANGUAGE, language) for raw in words)


def _automaton(term_set: TermSet) -> ahocorasick.Automaton:
    table: dict[str, set[_Pattern]] = {}
    for key, pattern in _patterns(term_set):
        table.setdefault(key, set()).add(pattern)
    automaton = ahocorasick.Automaton()
    for key, patterns in table.items():
        automaton.add_word(key, (len(key), tuple(patterns)))
    automaton.make_automaton()
    return automaton


def _inside(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in others)


def _one_per_place(findings: Iterable[LintFinding]) -> list[LintFinding]:
    """Overlapping findings of one rule become one: "nearing retirement age", not two."""
    merged: list[LintFinding] = []
    for finding in sorted(set(findings), key=lambda f: (f.rule, f.span)):
        last = merged[-1] if merged else None
        if last is not None and last.rule == finding.rule and finding.span[0] < last.span[1]:
            merged[-1] = replace(last, span=(last.span[0], max(last.span[1], finding.span[1])))
        else:
            merged.append(finding)
    return sorted(merged, key=lambda f: (f.span, f.rule))


class Linter:
    """The compliance lint for one language: one automaton over every phrase of every rule."""

    def __init__(self, term_set: TermSet) -> None:
        self.lang = term_set.lang
        self._terms = {terms.rule.name: terms for terms in term_set.rules}
        self._automaton = _automaton(term_set)

    @classmethod
    def from_files(cls, lang: str, extra: Path | None = None) -> Linter:
        """The shipped terms of ``lang``, extended by an organisation's TOML file if given."""
        term_set = _builtin(lang)
        if extra is not None:
            try:
                content = extra.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise TermsFileError(f"{extra}: cannot be read: {error}") from error
            term_set = _merge(term_set, str(extra), content)
        return cls(term_set)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in force: the built-in ones and any the organisation added."""
        return tuple(terms.rule for terms in self._terms.values())

    def _hits(self, text: str) -> Iterator[tuple[tuple[int, int], _Pattern]]:
        for last, (length, patterns) in self._automaton.iter(text):
            for pattern in patterns:
                span = _whole_words(text, last - length + 1, last + 1, pattern)
                if span is not None:
                    yield span, pattern

    def lint(self, text: str, required_languages: Collection[str] = ()) -> list[LintFinding]:
        """Every place in ``text`` that touches a protected characteristic, in text order.

        ``required_languages``: the languages the job states a requirement for (see
        :func:`stated_languages`); proficiency in them is job-related.
        """
        folded = _fold(text)
        hits = list(self._hits(folded.text))
        allowed = [span for span, pattern in hits if pattern.kind is _Kind.ALLOW]
        job_reason = any(pattern.kind is _Kind.CUE for _, pattern in hits)
        named = [(span, pattern.rule) for span, pattern in hits if pattern.kind is _Kind.LANGUAGE]
        findings = []
        for span, pattern in hits:
            if pattern.kind is not _Kind.TERM or _inside(span, allowed):
                continue
            terms = self._terms[pattern.rule]
            if terms.rule.excused_by_job_reason and job_reason:
                continue
            if terms.rule.excused_by_job_language and _job_language(
                folded.text, span, named, required_languages
            ):
                continue
            original = (folded.starts[span[0]], folded.ends[span[1] - 1])
            findings.append(LintFinding(pattern.rule, original, terms.why, terms.suggestion))
        return _one_per_place(findings)

    def explanation(self, rule: str) -> tuple[str, str]:
        """A rule's ``why`` and ``suggestion`` in this linter's language."""
        terms = self._terms[rule]
        return terms.why, terms.suggestion

    def languages_named(self, text: str) -> frozenset[str]:
        """The languages ``text`` names ("German (C1)" names german)."""
        return frozenset(
            pattern.rule
            for _, pattern in self._hits(_fold(text).text)
            if pattern.kind is _Kind.LANGUAGE
        )


def _job_language(
    text: str,
    span: tuple[int, int],
    named: Sequence[tuple[tuple[int, int], str]],
    required: Collection[str],
) -> bool:
    """True when the job requires a language and the line of the finding names no other."""
    if not required:
        return False
    start = text.rfind("\n", 0, span[0]) + 1
    end = text.find("\n", span[1])
    end = len(text) if end == -1 else end
    on_line = {language for (s, e), language in named if start <= s and e <= end}
    return on_line <= set(required)


def stated_languages(names: Iterable[str]) -> frozenset[str]:
    """The languages a job states a requirement for, named in its competencies' names, in
    any supported language ("German (C1)", "Deutsch (C1)" and "Deutschkenntnisse" all name
    german)."""
    texts = list(names)
    return frozenset(
        language
        for lang in SUPPORTED_LANGUAGES
        for text in texts
        for language in _builtin_linter(lang).languages_named(text)
    )


@functools.cache
def _builtin_linter(lang: str) -> Linter:
    """The shipped terms only: a job's languages do not depend on an organisation's file."""
    return Linter(_builtin(lang))


# ---------------------------------------------------------------------------------------------
# The contract of `fairwell lint [FILE] --lang en|de [--json]`.


class FindingJson(TypedDict):
    rule: str
    span: list[int]
    why: str
    suggestion: str


class LineResult(TypedDict):
    line: int  # 1-based
    findings: list[FindingJson]


def finding_json(finding: LintFinding) -> FindingJson:
    return {
        "rule": finding.rule,
        "span": [finding.span[0], finding.span[1]],
        "why": finding.why,
        "suggestion": finding.suggestion,
    }


def lint_lines(lines: Iterable[str], lang: str, extra: Path | None = None) -> list[LineResult]:
    """Lint one text per line; spans are offsets in the line without its line ending."""
    linter = Linter.from_files(lang, extra)
    return [
        {
            "line": number,
            "findings": [finding_json(f) for f in linter.lint(line.rstrip("\r\n"))],
        }
        for number, line in enumerate(lines, start=1)
    ]


def lint_exit_code(results: Sequence[LineResult]) -> int:
    """0 when no line has a finding, 1 when any does."""
    return 1 if any(result["findings"] for result in results) else 0
