"""The privacy guard: small named rules run over a letter's final bytes.

The guard runs twice: when the send plan is made (on the rendered bytes) and again in the
worker just before the transport, on the very bytes that go on the wire. There, a letter whose
seal (guard/seal.py) proves its bytes, addressee and roster unchanged since the whole guard
passed it has only the send-time facts checked (:func:`inspect_sealed`). Each rule is a small
class with a ``name`` and a one-line ``description``; :data:`RULES` lists them in the one
place where the pipeline is composed. A finding holds the letter; its text never contains
personal data, because findings are stored and shown to operators.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from email.utils import getaddresses
from itertools import chain
from typing import Protocol

from fairwell.domain.mime import forget_lines
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import Stage
from fairwell.guard.roster import Mention, Roster, fold, fold_words, join_folded


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    description: str
    detail: str


@dataclass(frozen=True, slots=True)
class SendTimeFacts:
    """What the database says about the addressee just before sending (None at plan time)."""

    current_stage: Stage
    erased: bool
    suppressed: bool
    decision_active: bool
    already_sent: bool
    # A status letter ("no decision yet") whose application was decided since it was queued.
    decided_since: bool = False
    # A role-opened letter whose person's talent-pool consent was withdrawn or ran out.
    consent_lapsed: bool = False
    # A decision letter whose kind no longer fits how the person came in: a re-import said
    # they were referred after all (or applied after all) once the letter was queued.
    kind_changed: bool = False


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the letter must be: who it is for, in which language, from which plan."""

    envelope_recipient: str
    addressee_id: int
    locale: str
    planned_stage: Stage
    roster: Roster
    facts: SendTimeFacts | None = None


# Joins the pieces of a letter's text: a line that no identifier or placeholder can span.
_PIECE_MARK = "\u2063"
_PIECE_BREAK = f"\n{_PIECE_MARK}\n"


@dataclass(slots=True)
class ParsedLetter:
    """A letter's bytes taken apart once, so every rule reads the same view."""

    raw: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[tuple[str, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    _names: list[str] | None = None
    # Derived views, made on first use: several rules read the same text.
    _all_text: str | None = None
    _folded_pieces: list[str] | None = None
    _part_words: list[list[str]] | None = None
    _folded_text: str | None = None
    # Other people named in the letter, when found for a batch of letters at once.
    mentions: list[Mention] | None = None

    def names(self) -> list[str]:
        """The header names in lower case, in order: a letter has few, so a list is searched
        faster than a dictionary of values is built."""
        if self._names is None:
            self._names = [key.lower() for key, _ in self.headers]
        return self._names

    def header(self, name: str) -> list[str]:
        """Every value of the header ``name`` (lower case), in order."""
        names = self.names()
        if name not in names:
            return []
        return [value for key, (_, value) in zip(names, self.headers, strict=True) if key == name]

    def _pieces(self) -> list[str]:
        return [value for _, value in self.headers] + [text for _, text in self.parts]

    def all_text(self) -> str:
        """Every piece of text a reader could see, header values and decoded parts, joined.

        Pieces are joined by a line that no identifier can span, so one search covers all.
        """
        if self._all_text is None:
            self._all_text = _PIECE_BREAK.join(self._pieces())
        return self._all_text

    def _folded(self) -> list[str]:
        """Each piece of :meth:`all_text`, folded on its own."""
        if self._folded_pieces is None:
            # fold() written out for the dozen short, nearly always ASCII, header values: the
            # calls cost about as much as the folding.
            heads = [
                " ".join(value.lower().split()) if value.isascii() else fold(value)
                for _, value in self.headers
            ]
            self._folded_pieces = [*heads, *[" ".join(words) for words in self._words()]]
        return self._folded_pieces

    def _words(self) -> list[list[str]]:
        """Each part's folded words, kept: words_of_part would split the same text again."""
        if self._part_words is None:
            self._part_words = [part_words(text) for _, text in self.parts]
        return self._part_words

    def folded_text(self) -> str:
        """:func:`~fairwell.guard.roster.fold` of :meth:`all_text`, folded piece by piece."""
        if self._folded_text is None:
            self._folded_text = join_folded(self._folded(), _PIECE_MARK)
        return self._folded_text

    def words_of_part(self, index: int) -> set[str]:
        """The case-folded words of the text part ``index``: ``set(text.casefold().split())``."""
        return set(self.word_list_of_part(index))

    def word_list_of_part(self, index: int) -> list[str]:
        """``text.casefold().split()`` for the text part ``index``.

        Text that NFC leaves alone (all ASCII text, nearly all other) folds to exactly these
        words, so the words kept from folding it serve.
        """
        text = self.parts[index][1]
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            return text.casefold().split()
        return self._words()[index]


def part_words(text: str) -> list[str]:
    """:func:`~fairwell.guard.roster.fold_words` of a text part, a line at a time.

    Folding never joins across a line break (see join_folded), so the words are the same.
    A letter's lines are mostly its template's, the same in every letter of a batch: each
    is folded once, and its words, shared, are hashed once for the language check.
    """
    return list(chain.from_iterable(map(_line_words, text.split("\n"))))


# Bounded, and emptied after each check (_forget_lines): some lines name a person.
@functools.lru_cache(maxsize=1024)
def _line_words(line: str) -> tuple[str, ...]:
    return tuple(fold_words(line))


def _forget_lines() -> None:
    """Every letter is guarded soon after it is built: once a check is done, the lines it
    and the letters' encoding remembered are forgotten, so no person's name stays in a
    long-running process (a web app, a worker) after their letters, erased or not."""
    _line_words.cache_clear()
    forget_lines()


def parse_letter(raw: bytes) -> ParsedLetter:
    """Decode headers and text parts of the final bytes."""
    read = read_letter(raw)
    return ParsedLetter(
        raw=raw,
        headers=read.headers,
        raw_headers=read.raw_headers,
        parts=read.parts,
        defects=read.defects,
    )


class Rule(Protocol):
    name: str
    description: str

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        """Return a detail (free of personal data) when the letter breaks the rule."""


# "Name <address>" with nothing else: the shape we write. Anything else goes to getaddresses.
_ONE_MAILBOX = re.compile(r'^(?:"[^"\\]*"|[^<>,"@]*)\s*<([^<>@\s,]+@[^<>@\s,]+)>$')


def _to_addresses(values: list[str]) -> list[str]:
    if len(values) == 1:
        simple = _ONE_MAILBOX.match(" ".join(values[0].split()))
        if simple:
            return [simple.group(1)]
    return [address for _, address in getaddresses(values)]


class OneRecipient:
    name = "one-recipient"
    description = (
        "exactly one To address, equal to the envelope recipient; no Cc or Bcc; "
        "at most one Reply-To, naming one address"
    )

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        names = letter.names()
        for copy_header in ("cc", "bcc", "resent-to", "resent-cc", "resent-bcc"):
            if copy_header in names:
                return f"the letter has a {copy_header.title()} header"
        # Addresses are counted in the raw header: a decoded display name may hold a comma.
        to_values = [value for key, value in letter.raw_headers if key.lower() == "to"]
        addresses = _to_addresses(to_values)
        if len(to_values) != 1 or len(addresses) != 1:
            return f"the To header names {len(addresses)} addresses"
        if addresses[0].lower() != expect.envelope_recipient.lower():
            return "the To address differs from the envelope recipient"
        return _one_reply_address(letter) if "reply-to" in names else None


def _one_reply_address(letter: ParsedLetter) -> str | None:
    """A reply goes to one mailbox: several would copy the candidate's answer to others."""
    values = [value for key, value in letter.raw_headers if key.lower() == "reply-to"]
    addresses = _to_addresses(values)
    if len(values) != 1 or len(addresses) != 1:
        return f"the Reply-To header names {len(addresses)} addresses"
    return None


class SafeHeaders:
    name = "safe-headers"
    description = "no NUL, bare CR or LF in the header section; every header parses"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        head = letter.raw.split(b"\r\n\r\n", 1)[0]
        if b"\0" in head:
            return "a NUL byte in the headers"
        # Every CRLF holds one CR and one LF; any more of either is bare (counted, not copied).
        pairs = head.count(b"\r\n")
        if head.count(b"\n") != pairs or head.count(b"\r") != pairs:
            return "a bare CR or LF in the headers"
        if letter.defects:
            return "the message has structural defects: " + ", ".join(sorted(set(letter.defects)))
        return None


class NoOtherCandidate:
    name = "no-other-candidate"
    description = "no other person's address, full name or application reference anywhere"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        mentions = letter.mentions
        if mentions is None:
            mentions = expect.roster.mentions_in_folded(letter.folded_text(), expect.addressee_id)
        if mentions:
            kinds = sorted({str(mention.kind) for mention in mentions})
            return f"another person's {' and '.join(kinds)} appears in the letter"
        return None


_PLACEHOLDERS = re.compile(
    r"\{\{|\}\}|\{%|%\}|\{[A-Za-z_][A-Za-z0-9_]*\}|%[A-Z][A-Z_]*%|"
    r"\[(?:first|last|full|candidate|applicant)?[ _]?name\]|\$\{[^}]*\}",
    re.IGNORECASE,
)


# Every placeholder above starts with one of these: text without them has none.
_PLACEHOLDER_STARTS = "{}%[$"


def unrendered_placeholder(text: str) -> str | None:
    """The first thing in ``text`` that looks like a placeholder nobody filled in, if any."""
    # The regular expression is tried at every position; finding no opening character at
    # all is a few fast scans of the text, and most letters hold none.
    if not any(char in text for char in _PLACEHOLDER_STARTS):
        return None
    found = _PLACEHOLDERS.search(text)
    return found.group(0) if found else None


class NoPlaceholder:
    name = "no-placeholder"
    description = "no unrendered placeholder such as {{ x }}, {first_name}, %NAME% or [Name]"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        found = unrendered_placeholder(letter.all_text())
        return None if found is None else f"an unrendered placeholder {found!r}"


_GREETING = (
    r"\s*(dear|hello|hi|hallo|guten tag|liebe|lieber|sehr geehrte[rs]?)\s*"
    r"(mr\.?|ms\.?|mx\.?|herr|frau)?\s*[,!:]?\s*$"
)
_EMPTY_GREETING = re.compile("^" + _GREETING, re.IGNORECASE | re.MULTILINE)
# The same greeting after a line break. A pattern that starts with "^" is tried at every
# position of the text; one that starts with a plain "\n" is tried only where one is found.
_EMPTY_GREETING_AFTER_BREAK = re.compile("\n" + _GREETING, re.IGNORECASE | re.MULTILINE)


def has_empty_greeting(text: str) -> bool:
    """``_EMPTY_GREETING.search(text)`` found something: a line start is the text's start or
    follows a line break, so the two quicker searches cover every place it could match."""
    return bool(_EMPTY_GREETING.match(text) or _EMPTY_GREETING_AFTER_BREAK.search(text))


class NoEmptyGreeting:
    name = "no-empty-greeting"
    description = "the greeting names the addressee; never 'Dear ,'"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        for content_type, text in letter.parts:
            if content_type == "text/plain" and has_empty_greeting(text):
                return "a greeting without a name"
        return None


_COMMON_WORDS = {
    "en": frozenset(
        [
            "the",
            "and",
            "you",
            "your",
            "we",
            "for",
            "to",
            "of",
            "with",
            "this",
            "that",
            "our",
            "thank",
        ]
    ),
    "de": frozenset(
        [
            "und",
            "der",
            "die",
            "das",
            "sie",
            "ihre",
            "wir",
            "für",
            "mit",
            "nicht",
            "ihnen",
            "eine",
            "vielen",
            "dank",
        ]
    ),
}


_ALL_COMMON_WORDS = frozenset().union(*_COMMON_WORDS.values())


def _language_scores(text: str) -> dict[str, int]:
    """How many distinct common words of each language the text uses (as whole words)."""
    return _word_scores(set(text.casefold().split()))


def _word_scores(words: Set[str]) -> dict[str, int]:
    return {lang: len(common.intersection(words)) for lang, common in _COMMON_WORDS.items()}


def reads_as(text: str) -> str | None:
    """The supported language the text clearly reads as, or None when it is too short to say."""
    scores = _language_scores(text)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, runner_up = ranked[0], ranked[1]
    return best[0] if best[1] >= 3 and best[1] >= 2 * runner_up[1] else None


class RightLanguage:
    name = "right-language"
    description = "the letter is in the addressee's language (Content-Language and the text)"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        declared = letter.header("content-language")
        if declared != [expect.locale]:
            return "Content-Language differs from the addressee's locale"
        if expect.locale not in _COMMON_WORDS:
            return None
        for index, (content_type, _) in enumerate(letter.parts):
            if content_type != "text/plain":
                continue
            # Only common words count: picking them from the word list is the same as from
            # the set of all the words, without building that set.
            common = _ALL_COMMON_WORDS.intersection(letter.word_list_of_part(index))
            scores = _word_scores(common)
            best = max(scores, key=scores.__getitem__)
            if best != expect.locale:
                return f"the text reads as {best!r}, not {expect.locale!r}"
        return None


class StillEligible:
    name = "still-eligible"
    description = "at send time: not hired, no offer, not withdrawn, not erased, not sent before"

    def check(self, letter: ParsedLetter, expect: Expectation) -> str | None:
        return self.at_send_time(expect.facts, expect.planned_stage)

    @staticmethod
    def at_send_time(facts: SendTimeFacts | None, planned_stage: Stage) -> str | None:
        """The rule on the database's facts alone: it never reads the letter."""
        if facts is None:
            return None
        problems = (
            (facts.erased, "the person was erased"),
            (facts.suppressed, "the address is suppressed after a bounce"),
            (not facts.decision_active, "the decision was reinstated or withdrawn"),
            (facts.already_sent, "a letter for this decision was already sent"),
            (facts.decided_since, "a decision was made since; its own letter will tell them"),
            (facts.consent_lapsed, "the consent to be kept on file was withdrawn or expired"),
            (
                facts.kind_changed,
                "how the person came in changed after planning (applied or referred)",
            ),
            (facts.current_stage is not planned_stage, "the stage changed after planning"),
        )
        return next((text for broken, text in problems if broken), None)


RULES: tuple[Rule, ...] = (
    SafeHeaders(),
    OneRecipient(),
    NoOtherCandidate(),
    NoPlaceholder(),
    NoEmptyGreeting(),
    RightLanguage(),
    StillEligible(),
)


def inspect_sealed(facts: SendTimeFacts | None, planned_stage: Stage) -> list[Finding]:
    """The guard's findings on a letter whose seal still holds (guard/seal.py): every other
    rule would find what it found on the same bytes, so only the send-time facts are read."""
    rule = StillEligible()
    detail = rule.at_send_time(facts, planned_stage)
    return [] if detail is None else [Finding(rule.name, rule.description, detail)]


def inspect(raw: bytes, expect: Expectation, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Run every rule over the final bytes; an empty list means the letter may go."""
    try:
        return _checked(parse_letter(raw), expect, rules)
    finally:
        _forget_lines()


def inspect_many(
    letters: Sequence[tuple[bytes, Expectation]], rules: Sequence[Rule] = RULES
) -> list[list[Finding]]:
    """:func:`inspect` for each letter, with the roster searched for a batch at once.

    The same findings as one letter at a time; a big (hashed) roster costs a fraction as
    much a letter this way. Letters guarded with the same roster are searched together.
    """
    try:
        return _inspected([parse_letter(raw) for raw, _ in letters], letters, rules)
    finally:
        _forget_lines()


def _inspected(
    parsed: list[ParsedLetter],
    letters: Sequence[tuple[bytes, Expectation]],
    rules: Sequence[Rule],
) -> list[list[Finding]]:
    batches: dict[int, list[int]] = {}
    for number, (_, expect) in enumerate(letters):
        batches.setdefault(id(expect.roster), []).append(number)
    for numbers in batches.values():
        roster = letters[numbers[0]][1].roster
        texts = [parsed[number].folded_text() for number in numbers]
        addressees = [letters[number][1].addressee_id for number in numbers]
        for number, found in zip(numbers, roster.mentions_in_many(texts, addressees), strict=True):
            parsed[number].mentions = found
    return [
        _checked(letter, expect, rules) for letter, (_, expect) in zip(parsed, letters, strict=True)
    ]


def _checked(letter: ParsedLetter, expect: Expectation, rules: Sequence[Rule]) -> list[Finding]:
    findings = []
    for rule in rules:
        detail = rule.check(letter, expect)
        if detail is not None:
            findings.append(Finding(rule.name, rule.description, detail))
    return findings
