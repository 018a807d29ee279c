"""A roster for very large jobs: a hash of every identifier in one sorted array.

The automaton (roster.py) keeps a trie node for nearly every character of every address, name
and reference: about 0.84 KiB a person, 840 MiB for a job of a million people. Here each
identifier costs one 8-byte key (40 bits of hash, 24 bits naming the block that stores it),
and the identifiers themselves are kept zlib-compressed, 64 to a block, for confirmation.

A letter is searched with the automaton's exact semantics:

* The folded text is cut wherever a match may start (not after a word character, "." or "@")
  or end (not before a word character or "@", nor before a "." that goes on into a word). The
  cuts inside a match depend on the identifier alone, so an identifier of m pieces can only
  match m consecutive pieces of the text running from a start to an end. Those runs are the
  candidates: a few hundred a letter, whatever the roster's size.
* Every candidate is hashed at once (a polynomial hash over prefix sums) and looked up in the
  sorted keys. A hit is compared with the stored identifier itself, so a hash collision costs
  a little time and never a false block or a miss.
* The addressee's own identifiers come from their block, found by binary search when entries
  arrive in person-id order: a hit equal to one of them is their own, and so is a hit inside
  one ("Ann Lee" inside "Mary Ann Lee").
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import accumulate, pairwise
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from fairwell.domain.roster import (
    IdentifierKind,
    Mention,
    RosterEntry,
    fold,
    identifiers,
    no_end_before,
    no_start_after,
)

U64: TypeAlias = npt.NDArray[np.uint64]
I64: TypeAlias = npt.NDArray[np.int64]
Flags: TypeAlias = npt.NDArray[np.uint8]
# One block, decoded: person ids, kind indexes and folded identifiers, in step.
Block: TypeAlias = tuple[tuple[int, ...], bytes, tuple[str, ...]]

_KINDS = tuple(IdentifierKind)
K = TypeVar("K")
V = TypeVar("V")
PER_BLOCK = 64  # identifiers per compressed block: ~7 µs to decode, ~30 bytes a person
_BLOCK_BITS = 24  # the low bits of a key: up to 16.7 million blocks, a billion identifiers
_SHIFT = np.uint64(_BLOCK_BITS)
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_HASH_CHUNK = 1024  # identifiers hashed together while building
_CACHED_BLOCKS = 64

# Character flags, from the same predicates the automaton's boundary check uses. The first
# two are also the flags of a text position: "a match may start here", "a match may end here".
_START_AFTER = 1  # a match may start right after this character
_END_BEFORE = 2  # a match may end right before it (a "." decided by what follows)
_DOT = 4
_ALNUM = 8


def _flag(char: str) -> int:
    return (
        _START_AFTER * (not no_start_after(char))
        | _END_BEFORE * (not no_end_before(char))
        | _DOT * (char == ".")
        | _ALNUM * char.isalnum()
    )


@cache
def _bmp_flags() -> Flags:
    """Flags of every character of the Basic Multilingual Plane (once a process, ~15 ms)."""
    return np.fromiter((_flag(chr(code)) for code in range(0x10000)), np.uint8, 0x10000)


def _codes(text: str) -> npt.NDArray[np.uint32]:
    """One code point per character (lone surrogates included), as an array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _flags(codes: npt.NDArray[np.uint32]) -> Flags:
    if not codes.size or int(codes.max()) <= 0xFFFF:
        return _bmp_flags()[codes]
    flags = _bmp_flags()[np.minimum(codes, 0xFFFF)]
    for index in np.flatnonzero(codes > 0xFFFF).tolist():
        flags[index] = _flag(chr(int(codes[index])))
    return flags


def _positions(flags: Flags) -> Flags:
    """For each position 0..n of the text: _START_AFTER if a match may start there, and
    _END_BEFORE if one may end there."""
    size = flags.size
    positions = np.empty(size + 1, np.uint8)
    positions[0] = _START_AFTER
    positions[1:] = flags & _START_AFTER
    positions[:size] |= flags & _END_BEFORE
    positions[size] |= _END_BEFORE
    # A "." followed by a letter or digit goes on ("ann.lee"): no end before it. _DOT << 1
    # is _ALNUM, and _ALNUM >> 2 is _END_BEFORE, which every "." has: XOR clears it.
    positions[: size - 1] ^= ((flags[:-1] << 1) & flags[1:] & _ALNUM) >> 2
    return positions


class _Powers:
    """_BASE**i and _BASE**-i modulo 2**64 for i up to the longest text seen so far."""

    def __init__(self) -> None:
        # One attribute, replaced whole: a thread never sees powers up and down of two sizes.
        self._both: tuple[U64, U64] = (np.ones(1, np.uint64), np.ones(1, np.uint64))

    def upto(self, size: int) -> tuple[U64, U64]:
        both = self._both
        if both[0].size < size:
            size = max(size, 2 * both[0].size, 4096)
            both = (self._power(_BASE, size), self._power(pow(_BASE, -1, 2**64), size))
            self._both = both
        return both

    @staticmethod
    def _power(base: int, size: int) -> U64:
        powers = np.empty(size, np.uint64)
        powers[0] = 1
        # Unsigned integer arrays wrap around: the products are taken modulo 2**64.
        np.cumprod(np.full(size - 1, base, np.uint64), out=powers[1:])
        return powers


def _prefix_hashes(codes: npt.NDArray[np.uint32], up: U64) -> U64:
    """h[i] = sum of (code[k] + 1) * B**k for k < i; a span's hash is (h[e] - h[s]) / B**s."""
    hashes = np.zeros(codes.size + 1, np.uint64)
    np.cumsum((codes + 1) * up[: codes.size], out=hashes[1:])
    return hashes


def _span_keys(hashes: U64, down: U64, starts: I64, ends: I64) -> U64:
    """The hash of each span text[start:end], in the key's high bits (low bits zero)."""
    spans = (hashes[ends] - hashes[starts]) * down[starts]
    return (spans >> _SHIFT) << _SHIFT


class CompactRoster:
    """Every identifier of every person on a roster as a hash, with the identifiers compressed.

    About 50 bytes a person (24 of keys for three identifiers, the rest compressed
    identifiers) against the automaton's 860. Searching a letter costs 30-80 µs more than the
    automaton; it grows only slowly with the roster, as the keys outgrow the CPU's caches.
    """

    def __init__(self, entries: Iterable[RosterEntry]) -> None:
        build = _Builder()
        for entry in entries:
            build.add(entry)
        build.finish()
        self.size = build.size
        self._keys = build.sorted_keys()
        self._blocks = build.blocks
        self._first_ids: I64 = np.frombuffer(build.first_ids, np.int64)
        self._last_ids: I64 = np.frombuffer(build.last_ids, np.int64)
        self._in_order = build.in_order
        self._piece_counts = sorted(build.piece_counts)
        self._powers = _Powers()
        self._decoded: dict[int, Block] = {}
        self._confirmed: dict[str, list[Mention]] = {}
        self._own: tuple[int, frozenset[str]] | None = None

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        if not self._keys.size:
            return []
        folded = fold(text)
        hits = self._hits(folded)
        if not hits:
            return []
        own = self._own_identifiers(addressee_id)
        own_spans = [(start, end) for start, end, _ in hits if folded[start:end] in own]
        mentions: list[Mention] = []
        for start, end, at in hits:
            piece = folded[start:end]
            if piece in own or any(s <= start and end <= e for s, e in own_spans):
                continue
            mentions.extend(self._owners(piece, at))
        return mentions

    def _hits(self, folded: str) -> list[tuple[int, int, int]]:
        """(start, end, key index) of every candidate span whose hash is a key."""
        codes = _codes(folded)
        starts, ends = self._candidates(codes)
        if not starts.size:
            return []
        up, down = self._powers.upto(codes.size + 1)
        wanted = _span_keys(_prefix_hashes(codes, up), down, starts, ends)
        # Array methods, not numpy's functions: their Python wrappers cost more than the work.
        at = self._keys.searchsorted(wanted)
        found = (self._keys[np.minimum(at, self._keys.size - 1)] >> _SHIFT) == (wanted >> _SHIFT)
        hit = found.nonzero()[0]
        return list(zip(starts[hit].tolist(), ends[hit].tolist(), at[hit].tolist(), strict=True))

    def _candidates(self, codes: npt.NDArray[np.uint32]) -> tuple[I64, I64]:
        """Spans of m pieces from a start to an end, for every piece count m of an identifier."""
        positions = _positions(_flags(codes))
        cuts = positions.nonzero()[0]
        at_cuts = positions[cuts]
        first = (at_cuts & _START_AFTER).nonzero()[0]
        ends_at = (at_cuts & _END_BEFORE) != 0
        spans_from, spans_to = [], []
        for pieces in self._piece_counts:
            fits = first[: first.searchsorted(cuts.size - pieces)]
            last = fits + pieces
            ok = ends_at[last]
            spans_from.append(cuts[fits[ok]])
            spans_to.append(cuts[last[ok]])
        return np.concatenate(spans_from), np.concatenate(spans_to)

    def _own_identifiers(self, person_id: int) -> frozenset[str]:
        """The addressee's folded identifiers, remembered for the next call (the same letter)."""
        if self._own is not None and self._own[0] == person_id:
            return self._own[1]
        own: set[str] = set()
        for number in self._blocks_of(person_id):
            owners, _, texts = self._block(number)
            own.update(
                text for owner, text in zip(owners, texts, strict=True) if owner == person_id
            )
        self._own = (person_id, frozenset(own))
        return self._own[1]

    def _blocks_of(self, person_id: int) -> list[int]:
        if self._in_order:
            low = int(self._last_ids.searchsorted(person_id, "left"))
            high = int(self._first_ids.searchsorted(person_id, "right"))
            return list(range(low, high))
        inside = (self._first_ids <= person_id) & (person_id <= self._last_ids)
        return [int(number) for number in np.flatnonzero(inside)]

    def _owners(self, piece: str, at: int) -> list[Mention]:
        """Who owns ``piece``, one mention per kind (its lowest person id), from the blocks."""
        known = self._confirmed.get(piece)
        if known is not None:
            return known
        owners: dict[IdentifierKind, int] = {}
        for number in self._key_blocks(at):
            for owner, kind, identifier in _rows(self._block(number)):
                if identifier == piece:
                    owners[kind] = min(owner, owners.get(kind, owner))
        found = [Mention(owners[kind], kind) for kind in _KINDS if kind in owners]
        _remember(self._confirmed, piece, found)
        return found

    def _key_blocks(self, at: int) -> list[int]:
        """The blocks of every key that shares the hash of the key at ``at``."""
        wanted = int(self._keys[at]) >> _BLOCK_BITS
        mask = (1 << _BLOCK_BITS) - 1
        blocks: list[int] = []
        for key in _keys_from(self._keys, at):
            if key >> _BLOCK_BITS != wanted:
                break
            if not blocks or blocks[-1] != key & mask:
                blocks.append(key & mask)
        return blocks

    def _block(self, number: int) -> Block:
        block = self._decoded.get(number)
        if block is None:
            block = _unpack(zlib.decompress(self._blocks[number]))
            _remember(self._decoded, number, block)
        return block


def _pack(owners: list[int], kinds: bytearray, texts: list[str]) -> bytes:
    """Count, person ids as differences (mostly 0 and 1: they compress to almost nothing),
    kinds, then the identifiers one a line (a folded identifier holds no white space)."""
    steps = array("q", [owners[0], *(b - a for a, b in pairwise(owners))])
    text = "\n".join(texts).encode("utf-8", "surrogatepass")
    return len(owners).to_bytes(4, "little") + steps.tobytes() + bytes(kinds) + text


def _unpack(data: bytes) -> Block:
    count = int.from_bytes(data[:4], "little")
    steps = array("q")
    steps.frombytes(data[4 : 4 + 8 * count])
    kinds = data[4 + 8 * count : 4 + 9 * count]
    texts = data[4 + 9 * count :].decode("utf-8", "surrogatepass").split("\n")
    return tuple(accumulate(steps)), kinds, tuple(texts)


def _rows(block: Block) -> Iterator[tuple[int, IdentifierKind, str]]:
    owners, kinds, texts = block
    return zip(owners, (_KINDS[k] for k in kinds), texts, strict=True)


def _keys_from(keys: U64, at: int, step: int = 16) -> Iterator[int]:
    """Keys from ``at`` on, read a few at a time (a shared name may have thousands)."""
    for start in range(at, keys.size, step):
        yield from keys[start : start + step].tolist()


def _remember(cache: dict[K, V], key: K, value: V, limit: int = _CACHED_BLOCKS) -> None:
    # Emptied when full: simple, and safe when threads share the roster.
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


class _Builder:
    """Streams entries into keys and compressed blocks; never holds the entries themselves."""

    def __init__(self) -> None:
        self.size = 0
        self.keys = array("Q")
        self.blocks: list[bytes] = []
        self.first_ids, self.last_ids = array("q"), array("q")
        self.in_order = True
        self._last_id: int | None = None
        self.piece_counts: set[int] = set()
        self._owners: list[int] = []
        self._kinds = bytearray()
        self._texts: list[str] = []
        self._pending: list[tuple[str, int]] = []
        self._powers = _Powers()

    def add(self, entry: RosterEntry) -> None:
        self.size += 1
        found = [(text, _KINDS.index(kind)) for text, kind in identifiers(entry)]
        if self._texts and len(self._texts) + len(found) > PER_BLOCK:
            self._close_block()
        # A person's identifiers share one block, so one decode gives all of them.
        if self._last_id is not None and entry.person_id < self._last_id:
            self.in_order = False
        self._last_id = entry.person_id
        for text, kind in found:
            self._owners.append(entry.person_id)
            self._kinds.append(kind)
            self._texts.append(text)
            self._pending.append((text, len(self.blocks)))
        if len(self._pending) >= _HASH_CHUNK:
            self._hash_pending()

    def _close_block(self) -> None:
        if len(self.blocks) >> _BLOCK_BITS:
            raise ValueError("a roster of more than a billion identifiers")
        self.blocks.append(zlib.compress(_pack(self._owners, self._kinds, self._texts), 9))
        self.first_ids.append(min(self._owners))
        self.last_ids.append(max(self._owners))
        self._owners, self._kinds, self._texts = [], bytearray(), []

    def _hash_pending(self) -> None:
        """Hash the waiting identifiers together, and note how many pieces each cuts into."""
        texts = [text for text, _ in self._pending]
        # A line break separates them: it is white space, which folded identifiers never hold.
        codes = _codes("\n".join(texts))
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        ends = np.cumsum(lengths + 1) - 1
        starts = ends - lengths
        cuts_before = np.cumsum(_positions(_flags(codes)) != 0)
        inner_cuts = cuts_before[ends - 1] - cuts_before[starts]
        self.piece_counts.update((inner_cuts + 1).tolist())
        up, down = self._powers.upto(codes.size + 1)
        keys = _span_keys(_prefix_hashes(codes, up), down, starts, ends)
        keys |= np.fromiter((block for _, block in self._pending), np.uint64, len(texts))
        self.keys.frombytes(keys.tobytes())
        self._pending = []

    def finish(self) -> None:
        if self._texts:
            self._close_block()
        if self._pending:
            self._hash_pending()

    def sorted_keys(self) -> U64:
        keys: U64 = np.frombuffer(self.keys, np.uint64)
        keys.sort()  # in place: the array's own buffer, no second copy of the keys
        return keys
