"""Who else must never appear in a letter: the job's roster as one Aho-Corasick automaton.

Searching a letter costs time proportional to the letter and its matches, not to the number
of people on the roster, so a 1,000,000-person roster checks as fast as a 100-person one.
A match is a leak only when it belongs to someone other than the addressee *and* does not sit
inside one of the addressee's own identifiers: "Ann Lee" inside "Mary Ann Lee" is Mary's
own name, not Ann's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick


class IdentifierKind(StrEnum):
    EMAIL = "email address"
    FULL_NAME = "full name"
    APPLICATION_REF = "application reference"


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """The identifiers of one person on the roster."""

    person_id: int
    email: str
    full_name: str
    application_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mention:
    """Another person's identifier found in a text. Carries no personal data itself."""

    person_id: int
    kind: IdentifierKind


def fold(text: str) -> str:
    """Comparable form: NFC, case-folded, runs of white space made one space."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_-+"


def _bounded(text: str, start: int, end: int) -> bool:
    """True when the match is a whole token, not a piece of a longer word or address."""
    if start > 0 and (_is_word_char(text[start - 1]) or text[start - 1] in ".@"):
        return False
    if end < len(text):
        after = text[end]
        if _is_word_char(after) or after == "@":
            return False
        if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
            return False
    return True


class Roster:
    """An automaton over every identifier of every person on a roster."""

    def __init__(self, entries: Iterable[RosterEntry]) -> None:
        owners: dict[tuple[str, IdentifierKind], set[int]] = {}
        self.size = 0
        for entry in entries:
            self.size += 1
            for pattern, kind in _identifiers(entry):
                owners.setdefault((pattern, kind), set()).add(entry.person_id)
        automaton = ahocorasick.Automaton()
        merged: dict[str, list[tuple[IdentifierKind, frozenset[int]]]] = {}
        for (pattern, kind), people in owners.items():
            merged.setdefault(pattern, []).append((kind, frozenset(people)))
        for pattern, values in merged.items():
            automaton.add_word(pattern, (len(pattern), tuple(values)))
        if merged:
            automaton.make_automaton()
        self._automaton = automaton if merged else None

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        if self._automaton is None:
            return []
        folded = fold(text)
        own_spans: list[tuple[int, int]] = []
        foreign: list[tuple[int, int, Mention]] = []
        for end_index, (length, values) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            for kind, people in values:
                if not _bounded(folded, start, end):
                    continue
                if addressee_id in people:
                    own_spans.append((start, end))
                else:
                    foreign.append((start, end, Mention(min(people), kind)))
        return [
            mention
            for start, end, mention in foreign
            if not any(s <= start and end <= e for s, e in own_spans)
        ]


def _identifiers(entry: RosterEntry) -> Iterable[tuple[str, IdentifierKind]]:
    if entry.email:
        yield fold(entry.email), IdentifierKind.EMAIL
    name = fold(entry.full_name)
    # A one-word "full name" ("Li") would match ordinary words; only names with a space count.
    if " " in name:
        yield name, IdentifierKind.FULL_NAME
    for ref in entry.application_refs:
        yield fold(ref), IdentifierKind.APPLICATION_REF
