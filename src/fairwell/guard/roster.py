"""Who else must never appear in a letter: every address, full name and reference on file.

The roster holds everyone on file in the organisation, of every job, past and present. Searching
a letter costs time proportional to the letter and its matches, not to the number of people on
the roster, so a 1,000,000-person roster checks as fast as a 100-person one. A match is a leak
only when it belongs to someone other than the addressee *and* does not sit inside one of the
addressee's own identifiers: "Ann Lee" inside "Mary Ann Lee" is Mary's own name, not Ann's.

Two representations give the same answers: an Aho-Corasick automaton (fast, about 0.84 KiB a
person) and, from :data:`COMPACT_FROM` people on, the hashed roster of compact_roster.py
(about 60 bytes a person). :class:`Roster` picks one by the roster's size.

A roster changes without being rebuilt: :meth:`Roster.updated` lays the people changed since
it was built (added, renamed, gone) over it as a small automaton of their own, and hides
what the base still says about them. Its answers are those of a roster built afresh from the
people on file now.
"""

from __future__ import annotations

import functools
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set, Sized
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


# A match's place in the folded text: [start, end).
Span = tuple[int, int]
# A match of someone else's identifier, where it is.
Found = tuple[int, int, Mention]
NOBODY: frozenset[int] = frozenset()


class _Searcher(Protocol):
    size: int

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]: ...

    def spans_in_folded(
        self, folded: str, addressee_id: int, hidden: Set[int] = NOBODY
    ) -> tuple[list[Span], list[Found]]: ...

    def spans_in_many(
        self, texts: Sequence[str], addressee_ids: Sequence[int], hidden: Set[int] = NOBODY
    ) -> list[tuple[list[Span], list[Found]]]: ...


def outside_own(own: list[Span], foreign: Iterable[Found]) -> list[Mention]:
    """The foreign matches that do not sit inside one of the addressee's own identifiers."""
    return [
        mention
        for start, end, mention in foreign
        if not any(s <= start and end <= e for s, e in own)
    ]


class Roster:
    """Everyone on file, built from entries streamed once, in the representation its size needs.

    ``compact_from`` people or more (default :data:`COMPACT_FROM`, read when called) make a
    hashed roster; fewer make the automaton. Entries that can be counted (a list, the store's
    roster) are read once, straight into the chosen one; others are read up to
    ``compact_from`` first, to decide. In person-id order (the store's), the hashed roster
    finds the addressee's own identifiers by bisection.

    A roster is never changed once built, so threads may share it: :meth:`updated` and
    :meth:`with_people` return a new roster that shares this one's base.
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
        members = _Members()
        stream = members.noting(stream)
        self._base: _Searcher
        if compact:
            # numpy is imported only by a process that meets a roster this large.
            from fairwell.guard.compact_roster import CompactRoster

            self.kind, self._base = RosterKind.COMPACT, CompactRoster(stream, expected)
        else:
            self.kind, self._base = RosterKind.AUTOMATON, AutomatonRoster(stream)
        self._members = members
        self._layers: tuple[_Layer, ...] = ()
        self._searches: tuple[tuple[_Searcher, Set[int]], ...] = ()
        self.size = self._base.size
        # The roster version (services/rosters.py) this roster is everyone on file at, when
        # the process's roster cache built it; None for any other (a sealed letter needs it).
        self.version: int | None = None

    @property
    def changed(self) -> int:
        """How many people the layers over the base hold (0 for a roster just built)."""
        return len(self._people_in_layers())

    def updated(self, changes: Mapping[int, RosterEntry | None]) -> Roster:
        """This roster with ``changes`` applied, each person id to their identifiers now (None:
        no longer on file), without rebuilding the base.

        Everyone changed since the base was built is searched in one automaton of their own,
        built again here (it costs what those people cost, not what the roster does), and the
        base no longer answers for them.
        """
        people = {**self._people_in_layers(), **changes}
        return self._over((_Layer.of(people),))

    def with_people(self, entries: Iterable[RosterEntry]) -> Roster:
        """This roster and ``entries`` besides, e.g. the sample people a template is tried on."""
        extra = _Layer.of({entry.person_id: entry for entry in entries})
        return self._over((*self._layers, extra))

    def _people_in_layers(self) -> dict[int, RosterEntry | None]:
        people: dict[int, RosterEntry | None] = {}
        for layer in self._layers:
            people.update(layer.people)
        return people

    def _over(self, layers: tuple[_Layer, ...]) -> Roster:
        """A roster with this one's base and ``layers`` over it (the last one on top)."""
        roster = object.__new__(Roster)
        roster.kind, roster._base, roster._members = self.kind, self._base, self._members
        roster._layers = layers
        roster.version = None
        # Each searcher ignores the people a layer above it answers for.
        above: set[int] = set()
        searches: list[tuple[_Searcher, Set[int]]] = []
        for layer in reversed(layers):
            searches.append((layer.searcher, frozenset(above)))
            above.update(layer.people)
        searches.append((self._base, frozenset(above)))
        roster._searches = tuple(reversed(searches))
        people = roster._people_in_layers()
        gone = sum(1 for person_id in people if person_id in self._members)
        here = sum(1 for entry in people.values() if entry is not None)
        roster.size = self._base.size - gone + here
        return roster

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        return self.mentions_in_folded(fold(text), addressee_id)

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]:
        """:meth:`mentions_of_others` for a text already folded (:func:`fold`)."""
        if not self._layers:
            return self._base.mentions_in_folded(folded, addressee_id)
        return _merged(
            [
                searcher.spans_in_folded(folded, addressee_id, hidden)
                for searcher, hidden in self._searches
            ]
        )

    def mentions_in_many(
        self, texts: Sequence[str], addressee_ids: Sequence[int]
    ) -> list[list[Mention]]:
        """:meth:`mentions_in_folded` for each folded text and its addressee, searched
        together: the hashed roster's cost per letter then falls with the batch."""
        searches = self._searches or ((self._base, NOBODY),)
        layers = [searcher.spans_in_many(texts, addressee_ids, hid) for searcher, hid in searches]
        return [_merged(list(found)) for found in zip(*layers, strict=True)]


def _merged(layers: list[tuple[list[Span], list[Found]]]) -> list[Mention]:
    """The mentions of one text from each layer's matches: one for each place and kind,
    naming its lowest owner in any layer, none inside the addressee's own identifiers."""
    if len(layers) == 1:
        return outside_own(*layers[0])
    own: list[Span] = []
    found: dict[tuple[int, int, IdentifierKind], int] = {}
    for spans, foreign in layers:
        own += spans
        for start, end, mention in foreign:
            key = (start, end, mention.kind)
            found[key] = min(mention.person_id, found.get(key, mention.person_id))
    return outside_own(
        own, ((start, end, Mention(owner, kind)) for (start, end, kind), owner in found.items())
    )


@dataclass(frozen=True, slots=True)
class _Layer:
    """People changed since the base was built (None: gone), and an automaton of them."""

    people: Mapping[int, RosterEntry | None]
    searcher: AutomatonRoster

    @staticmethod
    def of(people: Mapping[int, RosterEntry | None]) -> _Layer:
        return _Layer(people, AutomatonRoster(e for e in people.values() if e is not None))


class _Members:
    """The person ids a roster was built from: a bitmap while they are dense (database ids
    are: 125 KiB for a million people), a set for the rest."""

    _SLACK = 1 << 16

    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[int] = set()
        self._count = 0  # ids noted, so the bitmap grows only while they stay dense

    def noting(self, entries: Iterable[RosterEntry]) -> Iterator[RosterEntry]:
        """``entries``, each person id noted as it passes."""
        for entry in entries:
            self._add(entry.person_id)
            yield entry

    def _add(self, person_id: int) -> None:
        self._count += 1
        byte, bits = person_id >> 3, self._bits
        if person_id < 0:
            self._others.add(person_id)
            return
        if len(bits) <= byte < 8 * self._count + self._SLACK:
            bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
        if byte < len(bits):
            bits[byte] |= 1 << (person_id & 7)
        else:
            self._others.add(person_id)

    def __contains__(self, person_id: int) -> bool:
        byte = person_id >> 3
        if person_id >= 0 and byte < len(self._bits) and self._bits[byte] & 1 << (person_id & 7):
            return True
        # Ids that came before the bitmap reached them, or beyond it.
        return person_id in self._others


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
        return outside_own(*self.spans_in_folded(folded, addressee_id))

    def spans_in_many(
        self, texts: Sequence[str], addressee_ids: Sequence[int], hidden: Set[int] = NOBODY
    ) -> list[tuple[list[Span], list[Found]]]:
        """:meth:`spans_in_folded` for each text: the automaton gains nothing from more."""
        return [
            self.spans_in_folded(text, addressee, hidden)
            for text, addressee in zip(texts, addressee_ids, strict=True)
        ]

    def spans_in_folded(
        self, folded: str, addressee_id: int, hidden: Set[int] = NOBODY
    ) -> tuple[list[Span], list[Found]]:
        """Where the addressee's own identifiers are, and every other person's, in ``folded``.

        People in ``hidden`` are as if they were not on the roster (a layer above answers for
        them). A match inside one of the addressee's own is for the caller to drop.
        """
        own_spans: list[Span] = []
        foreign: list[Found] = []
        if not self._searchable:
            return own_spans, foreign
        codes, length_mask, kinds = self._codes, (1 << _LENGTH_BITS) - 1, len(_KINDS)
        for end_index, code in self._automaton.iter(folded):
            end = end_index + 1
            if code < 0:
                self._shared_match(folded, end, -code, addressee_id, hidden, own_spans, foreign)
                continue
            # One owner, one kind (nearly every match, mostly the addressee's own identifiers):
            # decoded inline, as _decode does, without building the owners of a shared match.
            packed = codes[code]
            start = end - (packed & length_mask)
            if not _bounded(folded, start, end):
                continue
            owner, kind_index = divmod(packed >> _LENGTH_BITS, kinds)
            if hidden and owner in hidden:
                continue
            if owner == addressee_id:
                own_spans.append((start, end))
            else:
                foreign.append((start, end, Mention(owner, _KINDS[kind_index])))
        return own_spans, foreign

    def _shared_match(
        self,
        folded: str,
        end: int,
        length: int,
        addressee_id: int,
        hidden: Set[int],
        own_spans: list[Span],
        foreign: list[Found],
    ) -> None:
        """Sort a match of an identifier several people share (or a very long one)."""
        start = end - length
        if not _bounded(folded, start, end):
            return
        for kind, people in self._shared[folded[start:end]].items():
            live = people - hidden if hidden else people
            if addressee_id in live:
                own_spans.append((start, end))
            elif live:
                foreign.append((start, end, Mention(min(live), kind)))


def _fold_short(text: str) -> str:
    """:func:`fold`, its ASCII case written out: a roster's build folds every identifier of
    every person, and the calls cost as much as the folding."""
    return " ".join(text.lower().split()) if text.isascii() else fold(text)


def identifiers(entry: RosterEntry) -> Iterator[tuple[str, IdentifierKind]]:
    """The folded identifiers the guard looks for, never empty ones (they match nothing)."""
    email = _fold_short(entry.email)
    if email:
        yield email, IdentifierKind.EMAIL
    name = _fold_short(entry.full_name)
    # A one-word "full name" ("Li") would match ordinary words; only names with a space count.
    if " " in name:
        yield name, IdentifierKind.FULL_NAME
    for ref in map(_fold_short, entry.application_refs):
        if ref:
            yield ref, IdentifierKind.APPLICATION_REF
