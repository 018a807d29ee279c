"""Who else must never appear in a letter: every address, full name and reference of the job.

Searching a letter costs time proportional to the letter and its matches, not to the number
of people on the roster, so a 1,000,000-person roster checks as fast as a 100-person one.
A match is a leak only when it belongs to someone other than the addressee *and* does not sit
inside one of the addressee's own identifiers: "Ann Lee" inside "Mary Ann Lee" is Mary's
own name, not Ann's.

Two representations give the same answers: an Aho-Corasick automaton (fast, about 0.84 KiB a
person) and, from :data:`COMPACT_FROM` people on, the hashed roster of compact_roster.py
(about 60 bytes a person). :class:`Roster` picks one by the roster's size.
"""

from __future__ import annotations

import functools
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain, islice
from typing import Protocol

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
    return " ".join(fold_words(text))


def fold_words(text: str) -> list[str]:
    """The words of :func:`fold`, for a caller that needs them as well as the folded text."""
    if text.isascii():
        # ASCII text is already NFC and case-folds as it lowers; this skips both Unicode
        # passes, which cost more than the split on a letter's worth of text.
        return text.lower().split()
    return unicodedata.normalize("NFC", text).casefold().split()


def join_folded(folded: Iterable[str], separator: str) -> str:
    """``fold(("\\n" + separator + "\\n").join(pieces))`` from each piece's own fold.

    ``separator`` must be one character that is neither white space nor changed by folding.
    Folding is per character once NFC has composed, and a line break never composes with its
    neighbours, so pieces fold alike apart and together; apart, the mostly ASCII ones take
    the fast path of :func:`fold`. Empty pieces vanish, as the joined text's white space would.
    """
    pieces = list(folded)
    if all(pieces):
        # Nothing vanishes: the separator between single spaces, in one join.
        return f" {separator} ".join(pieces)
    words: list[str] = []
    for index, piece in enumerate(pieces):
        if index:
            words.append(separator)
        if piece:
            words.append(piece)
    return " ".join(words)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_-+"


def no_start_after(char: str) -> bool:
    """A match may not start right after this character (it would be inside a word or address)."""
    return _is_word_char(char) or char in ".@"


def no_end_before(char: str) -> bool:
    """A match may not end right before this character (a "." is decided by what follows it)."""
    return _is_word_char(char) or char == "@"


# The two predicates, remembered per character: _bounded asks them for every match, and a
# letter's text uses a few dozen distinct characters.
_no_start_after = functools.lru_cache(maxsize=4096)(no_start_after)
_no_end_before = functools.lru_cache(maxsize=4096)(no_end_before)


def _bounded(text: str, start: int, end: int) -> bool:
    """True when the match is a whole token, not a piece of a longer word or address."""
    if start > 0 and _no_start_after(text[start - 1]):
        return False
    if end < len(text):
        after = text[end]
        if _no_end_before(after):
            return False
        if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
            return False
    return True


_KINDS = tuple(IdentifierKind)
# A letter's folded text, its most frequent characters first (measured on English and German
# letters); each makes one probe word, the character and a noncharacter no text should hold.
_COMMON_CHARS = " enratoichlsdpwubfym.20g,vk7x1469:38<@>zjqäöüß-"
_PROBES = tuple(char + "\uffff" for char in _COMMON_CHARS)
_LENGTH_BITS = 10  # longer identifiers (over 1,023 characters) take the shared-pattern path
# From this many people on, a roster is kept hashed (compact_roster.py): the automaton's
# 0.84 KiB a person would outweigh numpy's import (about 16 MiB) and the hashed roster itself.
COMPACT_FROM = 20_000


class RosterKind(StrEnum):
    AUTOMATON = "automaton"
    COMPACT = "compact"


class CountedEntries(Protocol):
    """Entries that can say how many they are before they are read (the store's roster)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[RosterEntry]: ...


class _Searcher(Protocol):
    size: int

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]: ...


class Roster:
    """The job's roster, built from entries streamed once, in the representation its size needs.

    ``compact_from`` people or more (default :data:`COMPACT_FROM`, read when called) make a
    hashed roster; fewer make the automaton. Entries that can be counted (a list, the store's
    roster) are read once, straight into the chosen one; others are read up to
    ``compact_from`` first, to decide. In person-id order (the store's), the hashed roster
    finds the addressee's own identifiers by bisection.
    """

    def __init__(
        self, entries: Iterable[RosterEntry] | CountedEntries, *, compact_from: int | None = None
    ) -> None:
        threshold = COMPACT_FROM if compact_from is None else compact_from
        stream: Iterable[RosterEntry] = entries
        expected = len(entries) if isinstance(entries, Sized) else None
        if expected is not None:
            compact = expected >= threshold
        else:
            rest = iter(entries)
            first = list(islice(rest, threshold))
            compact, stream = len(first) >= threshold, chain(first, rest)
        self._searcher: _Searcher
        if compact:
            # numpy is imported only by a process that meets a roster this large.
            from fairwell.domain.compact_roster import CompactRoster

            self.kind, self._searcher = RosterKind.COMPACT, CompactRoster(stream, expected)
        else:
            self.kind, self._searcher = RosterKind.AUTOMATON, AutomatonRoster(stream)
        self.size = self._searcher.size

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        return self._searcher.mentions_in_folded(fold(text), addressee_id)

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]:
        """:meth:`mentions_of_others` for a text already folded (:func:`fold`)."""
        return self._searcher.mentions_in_folded(folded, addressee_id)


class AutomatonRoster:
    """An automaton over every identifier of every person on a roster.

    Each identifier's owner, kind and length are packed into one 64-bit integer in an array,
    not a Python object, so a roster costs under a kilobyte a person. The automaton stores only
    the position in that array: pyahocorasick keeps 32-bit values, too small for a person id
    packed with the rest once the database holds some 700,000 people. The few identifiers that
    several people share (two people called Ann Lee) are kept in a dictionary; their value in
    the automaton is minus their length.

    pyahocorasick finds a node's child by a linear scan of the children in the order they were
    added, and most characters of a letter (every space) are looked up at the root. Words of
    :data:`_PROBES` go in first, so the root lists a letter's common characters first. They
    belong to nobody: a probe that does occur is a shared identifier with no owners, and any
    person's identifier equal to one is shared as usual. Matches of other words are the same
    whatever else the automaton holds, so the answers do not change.
    """

    def __init__(self, entries: Iterable[RosterEntry]) -> None:
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        self._codes = array("q")
        self._shared: dict[str, dict[IdentifierKind, set[int]]] = {}
        for probe in _PROBES:
            self._shared[probe] = {}
            self._automaton.add_word(probe, -len(probe))
        self.size, words = 0, 0
        for entry in entries:
            self.size += 1
            for pattern, kind in identifiers(entry):
                self._add(pattern, kind, entry.person_id)
                words += 1
        # People with nothing to look for (no address, a one-word name) add no words.
        self._searchable = words > 0
        if self._searchable:
            self._automaton.make_automaton()

    def _add(self, pattern: str, kind: IdentifierKind, person_id: int) -> None:
        code = ((person_id * len(_KINDS) + _KINDS.index(kind)) << _LENGTH_BITS) | len(pattern)
        existing = self._automaton.get(pattern, None)
        if existing is None and len(pattern) < 1 << _LENGTH_BITS:
            self._automaton.add_word(pattern, len(self._codes))
            self._codes.append(code)
            return
        if existing is None:
            # Too long to pack its length with its owner: kept like a shared identifier.
            self._shared[pattern] = {}
            self._automaton.add_word(pattern, -len(pattern))
        elif existing >= 0:
            if self._codes[existing] == code:
                return
            owner, old_kind = self._decode(self._codes[existing])
            self._shared[pattern] = {old_kind: {owner}}
            self._automaton.add_word(pattern, -len(pattern))
        self._shared[pattern].setdefault(kind, set()).add(person_id)

    @staticmethod
    def _decode(code: int) -> tuple[int, IdentifierKind]:
        owner, kind_index = divmod(code >> _LENGTH_BITS, len(_KINDS))
        return owner, _KINDS[kind_index]

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        return self.mentions_in_folded(fold(text), addressee_id)

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]:
        """:meth:`mentions_of_others` for a text already folded (:func:`fold`)."""
        if not self._searchable:
            return []
        own_spans: list[tuple[int, int]] = []
        foreign: list[tuple[int, int, Mention]] = []
        codes, length_mask, kinds = self._codes, (1 << _LENGTH_BITS) - 1, len(_KINDS)
        for end_index, code in self._automaton.iter(folded):
            end = end_index + 1
            if code < 0:
                self._shared_match(folded, end, -code, addressee_id, own_spans, foreign)
                continue
            # One owner, one kind (nearly every match, mostly the addressee's own identifiers):
            # decoded inline, as _decode does, without building the owners of a shared match.
            packed = codes[code]
            start = end - (packed & length_mask)
            if not _bounded(folded, start, end):
                continue
            owner, kind_index = divmod(packed >> _LENGTH_BITS, kinds)
            if owner == addressee_id:
                own_spans.append((start, end))
            else:
                foreign.append((start, end, Mention(owner, _KINDS[kind_index])))
        return [
            mention
            for start, end, mention in foreign
            if not any(s <= start and end <= e for s, e in own_spans)
        ]

    def _shared_match(
        self,
        folded: str,
        end: int,
        length: int,
        addressee_id: int,
        own_spans: list[tuple[int, int]],
        foreign: list[tuple[int, int, Mention]],
    ) -> None:
        """Sort a match of an identifier several people share (or a very long one)."""
        start = end - length
        if not _bounded(folded, start, end):
            return
        for kind, people in self._shared[folded[start:end]].items():
            if addressee_id in people:
                own_spans.append((start, end))
            else:
                foreign.append((start, end, Mention(min(people), kind)))


def identifiers(entry: RosterEntry) -> Iterator[tuple[str, IdentifierKind]]:
    """The folded identifiers the guard looks for, never empty ones (they match nothing)."""
    email = fold(entry.email)
    if email:
        yield email, IdentifierKind.EMAIL
    name = fold(entry.full_name)
    # A one-word "full name" ("Li") would match ordinary words; only names with a space count.
    if " " in name:
        yield name, IdentifierKind.FULL_NAME
    for ref in map(fold, entry.application_refs):
        if ref:
            yield ref, IdentifierKind.APPLICATION_REF
