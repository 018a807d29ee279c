"""A roster for very large jobs: a hash of every identifier in one sorted array.

The automaton (roster.py) keeps a trie node for nearly every character of every address, name
and reference: about 0.84 KiB a person, 840 MiB for a job of a million people. Here each
identifier costs a 4-byte entry in a sorted index (part of a 40-bit hash, and the number of
the block that stores the identifier) and a share of a small directory, and the identifiers
themselves are kept zlib-compressed, 64 to a block, for confirmation.

A letter is searched with the automaton's exact semantics:

* The folded text is cut wherever a match may start (not after a word character, "." or "@")
  or end (not before a word character or "@", nor before a "." that goes on into a word). The
  cuts inside a match depend on the identifier alone, so an identifier of m pieces can only
  match m consecutive pieces of the text running from a start to an end. Those runs are the
  candidates: a few hundred a letter, whatever the roster's size.
* Every candidate is hashed at once (a polynomial hash over prefix sums) and looked up in the
  index. A hit is compared with the stored identifier itself, so a hash collision costs a
  little time and never a false block or a miss.
* The addressee's own identifiers come from their block, found by binary search when entries
  arrive in person-id order: a hit equal to one of them is their own, and so is a hit inside
  one ("Ann Lee" inside "Mary Ann Lee").
"""

from __future__ import annotations

import threading
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence, Set
from functools import cache
from itertools import accumulate, pairwise
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from fairwell.guard.roster import (
    NOBODY,
    Found,
    IdentifierKind,
    Mention,
    RosterEntry,
    Span,
    fold,
    identifiers,
    no_end_before,
    no_start_after,
    outside_own,
)

U32: TypeAlias = npt.NDArray[np.uint32]
U64: TypeAlias = npt.NDArray[np.uint64]
I64: TypeAlias = npt.NDArray[np.int64]
Bools: TypeAlias = npt.NDArray[np.bool_]
Flags: TypeAlias = npt.NDArray[np.uint8]
# A candidate span whose hash the index may hold: start, end, hash, where in the index.
Hit: TypeAlias = tuple[int, int, int, int]
# One block, decoded: person ids, kind indexes and folded identifiers, in step.
Block: TypeAlias = tuple[tuple[int, ...], bytes, tuple[str, ...]]

_KINDS = tuple(IdentifierKind)
_KIND_NUMBER = {kind: number for number, kind in enumerate(_KINDS)}
NOBODY_SAID: frozenset[str] = frozenset()
# Between the letters of a batch searched together: no identifier spans it (see roster.py).
_BETWEEN = " \u2063 "
K = TypeVar("K")
V = TypeVar("V")
PER_BLOCK = 64  # identifiers per compressed block: ~7 µs to decode, ~20 bytes a person
_HASH_BITS = 40  # of a span's 64-bit hash, the top 40 are kept
_BLOCK_BITS = 24  # a key while building: hash << 24 | block, so up to 16.7 million blocks
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_HASH_CHUNK = 1024  # identifiers hashed together while building
_CACHED_BLOCKS = 64
_WINDOW = 16  # index entries a lookup reads at once; wider buckets are searched one by one
_PACK_CHUNK = 1 << 16
_SEGMENT = 1 << 20
_DICT_BLOCKS = 32  # blocks whose identifiers teach the compressor (about 2,000 identifiers)
_DICT_BYTES = 8 * 1024  # the dictionary's tail; see _Blocks.learn
# How a block is compressed: level 6, a 16 KiB window (it holds the dictionary and a block)
# and a smaller match table. A compressor is set up for every block, and level 9's full-size
# tables cost more to set up than the compressing: at 100,000 people (4,762 blocks, built by
# every composing process) 53 -> 45 us a block, and the blocks take 2% more (2.06 -> 2.11 MB).
_DEFLATE: tuple[int, int, int, int] = (6, zlib.DEFLATED, 14, 6)


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


def _span_hashes(hashes: U64, down: U64, starts: I64, ends: I64) -> U64:
    """The 40-bit hash of each span text[start:end]."""
    spans = (hashes[ends] - hashes[starts]) * down[starts]
    return spans >> np.uint64(64 - _HASH_BITS)


class CompactRoster:
    """Every identifier of every person on a roster as a hash, with the identifiers compressed.

    About 35 bytes a person (13 of index for three identifiers, the rest compressed
    identifiers; real addresses compress less well than synthetic ones) against the
    automaton's 860. Searching a letter costs 30-80 µs more than the automaton; it grows only
    slowly with the roster, as the index outgrows the CPU's caches.
    """

    def __init__(self, entries: Iterable[RosterEntry], expected: int | None = None) -> None:
        build = _Builder(expected)
        for entry in entries:
            build.add(entry)
        build.finish()
        self.size = build.size
        self._index = _KeyIndex(build.keys, build.blocks.count)
        self._blocks = build.blocks
        self._first_ids: I64 = np.frombuffer(build.first_ids, np.int64)
        self._last_ids: I64 = np.frombuffer(build.last_ids, np.int64)
        # The same ids as plain arrays, for bisect: a letter asks for one person's blocks,
        # and two searchsorted calls on numpy arrays cost more than the search.
        self._first_list, self._last_list = build.first_ids, build.last_ids
        self._in_order = build.in_order
        self._pieces: I64 = np.array(sorted(build.piece_counts), np.int64)
        self._powers = _Powers()
        self._absent = _KnownAbsent()
        self._confirmed: dict[str, dict[IdentifierKind, tuple[int, ...]]] = {}
        self._own: tuple[int, frozenset[str]] | None = None

    def mentions_of_others(self, text: str, addressee_id: int) -> list[Mention]:
        """Return every identifier in ``text`` that belongs to someone but the addressee."""
        return self.mentions_in_folded(fold(text), addressee_id)

    def mentions_in_folded(self, folded: str, addressee_id: int) -> list[Mention]:
        """:meth:`mentions_of_others` for a text already folded (:func:`fold`)."""
        return outside_own(*self.spans_in_folded(folded, addressee_id))

    def spans_in_folded(
        self, folded: str, addressee_id: int, hidden: Set[int] = NOBODY
    ) -> tuple[list[Span], list[Found]]:
        """Where the addressee's own identifiers are, and every other person's, in ``folded``.

        People in ``hidden`` are as if they were not on the roster (a layer above answers for
        them). A match inside one of the addressee's own is for the caller to drop.
        """
        if not self._index.size:
            return [], []
        return self._sorted(folded, self._hits(folded), addressee_id, hidden)

    def spans_in_many(
        self, texts: Sequence[str], addressee_ids: Sequence[int], hidden: Set[int] = NOBODY
    ) -> list[tuple[list[Span], list[Found]]]:
        """:meth:`spans_in_folded` for each of ``texts`` (folded), searched in one pass.

        A letter's search is some 80 numpy calls whose fixed cost outweighs the work on a
        letter's 2 KB; joined, a batch of letters pays it once. The letters are joined by a
        mark that no identifier spans (as a letter's own pieces are), and a match that runs
        from one letter into the next is an artefact of the joining, so it is dropped.
        """
        found: list[list[Hit]] = [[] for _ in texts]
        if self._index.size and texts:
            starts = list(accumulate((len(text) + len(_BETWEEN) for text in texts), initial=0))
            for start, end, hashed, at in self._hits(_BETWEEN.join(texts)):
                number = bisect_right(starts, start) - 1
                offset = starts[number]
                if end <= offset + len(texts[number]):
                    found[number].append((start - offset, end - offset, hashed, at))
        return [
            self._sorted(text, hits, addressee, hidden) if hits else ([], [])
            for text, hits, addressee in zip(texts, found, addressee_ids, strict=True)
        ]

    def _sorted(
        self,
        folded: str,
        hits: list[tuple[int, int, int, int]],
        addressee_id: int,
        hidden: Set[int],
    ) -> tuple[list[Span], list[Found]]:
        """The hits in ``folded``: the addressee's own, and everyone else's with their owner."""
        if not hits:
            return [], []
        own = NOBODY_SAID if addressee_id in hidden else self._own_identifiers(addressee_id)
        own_spans = [(start, end) for start, end, _, _ in hits if folded[start:end] in own]
        foreign: list[Found] = []
        for start, end, hashed, at in hits:
            piece = folded[start:end]
            if piece in own:
                continue
            for kind, owners in self._owners(piece, hashed, at).items():
                owner = next((o for o in owners if o not in hidden), None) if hidden else owners[0]
                if owner is not None:
                    foreign.append((start, end, Mention(owner, kind)))
        return own_spans, foreign

    def _hits(self, folded: str) -> list[Hit]:
        """(start, end, hash, index position) of every candidate span whose hash is known."""
        codes = _codes(folded)
        starts, ends = self._candidates(codes)
        if not starts.size:
            return []
        up, down = self._powers.upto(codes.size + 1)
        hashes = _span_hashes(_prefix_hashes(codes, up), down, starts, ends)
        table = self._absent.table()
        slots = (hashes & np.uint64(_KnownAbsent.MASK)).astype(np.intp)
        marks = hashes + np.uint64(1)  # 0 is an empty slot
        ask = (table[slots] != marks).nonzero()[0]
        if not ask.size:
            return []
        found, at = self._index.find(hashes[ask])
        missing = ask[~found]
        table[slots[missing]] = marks[missing]
        hit = ask[found]
        columns = (starts[hit], ends[hit], hashes[hit], at[found])
        return list(zip(*(column.tolist() for column in columns), strict=True))

    def _candidates(self, codes: npt.NDArray[np.uint32]) -> tuple[I64, I64]:
        """Spans of m pieces from a start to an end, for every piece count m of an identifier,
        in order of their start, then of m."""
        positions = _positions(_flags(codes))
        # Array methods, not numpy's functions: their Python wrappers cost more than the work.
        # nonzero() of a boolean array is several times quicker than of the flags themselves.
        cuts = (positions != 0).nonzero()[0]
        at_cuts = positions[cuts]
        first = ((at_cuts & _START_AFTER) != 0).nonzero()[0]
        # Whether a span may end at each cut, then False far enough for the longest span
        # from the last start.
        counts = self._pieces.tolist()
        ends_at = np.zeros(cuts.size + counts[-1], np.bool_)
        ends_at[: cuts.size] = at_cuts & _END_BEFORE
        if len(counts) == 1:
            ending = first[ends_at[first + counts[0]]]
            return cuts[ending], cuts[ending + counts[0]]
        # Every (start, piece count) pair at once: one column a count, filled column by
        # column (a 2-D index array of every pair cost more than the search).
        may_end = np.empty((first.size, len(counts)), np.bool_)
        for column, count in enumerate(counts):
            may_end[:, column] = ends_at[first + count]
        rows, columns = may_end.nonzero()
        ending = first[rows]
        return cuts[ending], cuts[ending + self._pieces[columns]]

    def _own_identifiers(self, person_id: int) -> frozenset[str]:
        """The addressee's folded identifiers, remembered for the next call (the same letter)."""
        if self._own is not None and self._own[0] == person_id:
            return self._own[1]
        own: set[str] = set()
        for number in self._blocks_of(person_id):
            owners, _, texts = self._blocks.get(number)
            if self._in_order:
                # A block's owners are in order too: the person's rows are one run of them.
                low = bisect_left(owners, person_id)
                own.update(texts[low : bisect_right(owners, person_id, low)])
            else:
                own.update(t for owner, t in zip(owners, texts, strict=True) if owner == person_id)
        self._own = (person_id, frozenset(own))
        return self._own[1]

    def _blocks_of(self, person_id: int) -> list[int]:
        if self._in_order:
            low = bisect_left(self._last_list, person_id)
            high = bisect_right(self._first_list, person_id)
            return list(range(low, high))
        inside = (self._first_ids <= person_id) & (person_id <= self._last_ids)
        return [int(number) for number in inside.nonzero()[0]]

    def _owners(self, piece: str, hashed: int, at: int) -> dict[IdentifierKind, tuple[int, ...]]:
        """Who owns ``piece``, for each kind its owners' ids in order, from the blocks."""
        known = self._confirmed.get(piece)
        if known is not None:
            return known
        owners: dict[IdentifierKind, set[int]] = {}
        for number in self._index.blocks_with(hashed, at):
            for owner, kind, identifier in _rows(self._blocks.get(number)):
                if identifier == piece:
                    owners.setdefault(kind, set()).add(owner)
        found = {kind: tuple(sorted(owners[kind])) for kind in _KINDS if kind in owners}
        _remember(self._confirmed, piece, found)
        return found


class _KnownAbsent:
    """Hashes of spans the index does not hold, remembered per thread in a small table.

    A batch's letters share most of their words (the template's): after its first letter,
    nearly every candidate span is answered here, from a table that stays in the CPU's
    cache, and only the rest (the names, addresses and references of this letter) are
    looked up in the index, each a read of main memory at a million people. A roster never
    changes, so an answer never goes stale; a thread has its own table, so none is torn. A
    slot holds one hash (plus one, so 0 is empty): a collision forgets, never invents.
    """

    SLOTS = 1 << 14  # 128 KiB a thread
    MASK = SLOTS - 1

    def __init__(self) -> None:
        self._local = threading.local()

    def table(self) -> U64:
        table: U64 | None = getattr(self._local, "table", None)
        if table is None:
            table = self._local.table = np.zeros(self.SLOTS, np.uint64)
        return table


class _KeyIndex:
    """The 40-bit hashes of every identifier, sorted, with the block each one is stored in.

    The top ``dir_bits`` of a hash pick a bucket of the directory (about 6 entries each); an
    entry keeps the next hash bits and the block number in 32 bits. Built in place from the
    builder's 64-bit keys (hash << 24 | block), whose array is then cut to half its size.
    """

    def __init__(self, keys: array[int], blocks: int) -> None:
        self.size = count = len(keys)
        if count >> 32:
            raise ValueError("a roster of more than four billion identifiers")
        self.dir_bits = max(0, count.bit_length() - 3)
        self.block_bits = max(1, (blocks - 1).bit_length())
        self.rest_bits = min(32 - self.block_bits, _HASH_BITS - self.dir_bits)
        wide: U64 = np.frombuffer(keys, np.uint64)
        wide.sort()  # in place: the array's own buffer, no second copy of the keys
        self.directory = self._directory_of(wide)
        self._pack(wide)
        del wide  # no view left: the array may shrink
        self.window = max(1, min(self._widest(), _WINDOW))
        # The packed entries, then a window's worth of padding, so a lookup never reads past
        # the end: the rest of the array goes back to the system.
        slots = (count + self.window + 1) // 2
        del keys[slots:]
        if len(keys) < slots:
            keys.extend(array("Q", bytes(8 * (slots - len(keys)))))
        self.entries: U32 = np.frombuffer(keys, np.uint32, count + self.window)
        self.entries[count:] = np.uint32(0xFFFFFFFF)

    def _directory_of(self, wide: U64) -> U32:
        """Where each bucket starts in the sorted keys, and the end."""
        buckets = 1 << self.dir_bits
        directory = np.empty(buckets + 1, np.uint32)
        shift = np.uint64(64 - self.dir_bits) if self.dir_bits else None
        for start in range(0, buckets, _PACK_CHUNK):
            bounds = np.arange(start, min(start + _PACK_CHUNK, buckets), dtype=np.uint64)
            directory[start : start + bounds.size] = (
                wide.searchsorted(bounds << shift) if shift is not None else 0
            )
        directory[buckets] = wide.size
        return directory

    def _pack(self, wide: U64) -> None:
        """Rewrite each key as 32 bits into the front half of its own buffer, chunk by chunk.

        Chunk i is written over keys that chunk i and the ones before have already read.
        """
        packed = wide.view(np.uint32)
        rest_shift = np.uint64(_BLOCK_BITS + _HASH_BITS - self.dir_bits - self.rest_bits)
        rest_mask, block_mask = (1 << self.rest_bits) - 1, (1 << _BLOCK_BITS) - 1
        for start in range(0, wide.size, _PACK_CHUNK):
            keys = wide[start : start + _PACK_CHUNK]
            rest = (keys >> rest_shift) & np.uint64(rest_mask)
            entries = (rest << np.uint64(self.block_bits)) | (keys & np.uint64(block_mask))
            packed[start : start + keys.size] = entries

    def _widest(self) -> int:
        """The most entries in one bucket (read in pieces: no copy of the directory)."""
        widest = 1
        for start in range(0, self.directory.size - 1, _PACK_CHUNK):
            piece = self.directory[start : start + _PACK_CHUNK + 1]
            widest = max(widest, int((piece[1:] - piece[:-1]).max()))
        return widest

    def _locate(self, hashes: U64) -> tuple[U32, U32, U64]:
        """Each hash's bucket as [low, high) of the entries, and the hash bits entries keep."""
        bucket = (hashes >> np.uint64(_HASH_BITS - self.dir_bits)).astype(np.int64)
        shift = np.uint64(_HASH_BITS - self.dir_bits - self.rest_bits)
        rest = (hashes >> shift) & np.uint64((1 << self.rest_bits) - 1)
        return self.directory[bucket], self.directory[bucket + 1], rest

    def find(self, hashes: U64) -> tuple[Bools, I64]:
        """For each hash: may it be in the index, and where its entries would start.

        A window of entries is read from the start of each hash's bucket. It may run into the
        next bucket, whose entries can share a hash's kept bits: such a hit finds no block of
        its own (see blocks_with) and is confirmed to be nothing, like any hash collision.
        """
        low, high, rest = self._locate(hashes)
        where = low[:, None] + np.arange(self.window)
        match = (self.entries[where] >> np.uint32(self.block_bits)) == rest[:, None]
        found = match.any(axis=1)
        at = low + match.argmax(axis=1)
        # A bucket wider than the window (a name thousands share): searched all, by bisection.
        for i in (high - low > self.window).nonzero()[0].tolist():
            position = self._bisect(int(low[i]), int(high[i]), int(rest[i]))
            found[i], at[i] = position is not None, position or 0
        return found, at

    def _bisect(self, low: int, high: int, rest: int) -> int | None:
        # Entries of a bucket are in order of their hash bits (then block): bisection works.
        segment = self.entries[low:high]
        position = int(segment.searchsorted(np.uint32(rest << self.block_bits)))
        if position < segment.size and int(segment[position]) >> self.block_bits == rest:
            return low + position
        return None

    def blocks_with(self, hashed: int, at: int) -> list[int]:
        """The blocks of every entry with this hash, the first of them at ``at``."""
        _, high, rest = self._locate(np.array([hashed], np.uint64))
        wanted, end = int(rest[0]), int(high[0])
        mask = (1 << self.block_bits) - 1
        blocks: list[int] = []
        for start in range(at, end, _WINDOW):
            for entry in self.entries[start : min(start + _WINDOW, end)].tolist():
                if entry >> self.block_bits != wanted:
                    return blocks
                if not blocks or blocks[-1] != entry & mask:
                    blocks.append(entry & mask)
        return blocks


class _Blocks:
    """The identifiers, compressed 64 to a block, in buffers of 1 MiB.

    No Python object per block (47,000 small ones at a million people fragment the heap),
    and no single buffer so big that growing it copies tens of megabytes. Every block is
    compressed with a preset dictionary learnt from the roster's first identifiers: a block
    of 64 is too short for zlib to learn what rosters repeat (mail domains, name parts,
    the reference prefix) on its own; with the dictionary they take a third less memory.
    """

    def __init__(self) -> None:
        self.segments: list[bytearray] = [bytearray()]
        self.starts = array("Q")  # segment << 32 | offset in it
        self.sizes = array("I")
        self._decoded: dict[int, Block] = {}
        self._zdict: bytes | None = None
        # The first blocks wait, uncompressed, until the dictionary is learnt from them.
        self._held: list[bytes] = []
        self._sample: list[str] = []

    @property
    def count(self) -> int:
        return len(self.sizes) + len(self._held)

    def append(self, owners: list[int], kinds: bytearray, texts: list[str]) -> None:
        packed = _pack(owners, kinds, texts)
        if self._zdict is not None:
            self._store(packed)
            return
        self._held.append(packed)
        self._sample.extend(texts)
        if len(self._held) >= _DICT_BLOCKS:
            self.learn()

    def learn(self) -> None:
        """Take the dictionary from the blocks held so far, and store them (once)."""
        if self._zdict is not None:
            return
        # Every decode sets the dictionary up again: 8 KiB gave nearly all of the saving
        # (blocks of a 300,000-person roster: 5.6 MiB plain, 4.0 with 8 KiB, 3.7 with 32).
        self._zdict = "\n".join(self._sample).encode("utf-8", "surrogatepass")[-_DICT_BYTES:]
        held, self._held, self._sample = self._held, [], []
        for packed in held:
            self._store(packed)

    def _store(self, packed: bytes) -> None:
        level, method, window, memory = _DEFLATE
        if self._zdict:
            compressor = zlib.compressobj(level, method, window, memory, zdict=self._zdict)
        else:
            compressor = zlib.compressobj(level, method, window, memory)
        data = compressor.compress(packed) + compressor.flush()
        if self.segments[-1] and len(self.segments[-1]) + len(data) > _SEGMENT:
            self.segments.append(bytearray())
        segment = self.segments[-1]
        self.starts.append((len(self.segments) - 1) << 32 | len(segment))
        self.sizes.append(len(data))
        segment += data

    def get(self, number: int) -> Block:
        block = self._decoded.get(number)
        if block is None:
            where, size = self.starts[number], self.sizes[number]
            offset = where & 0xFFFFFFFF
            data = memoryview(self.segments[where >> 32])[offset : offset + size]
            zdict = self._zdict
            decompressor = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
            block = _unpack(decompressor.decompress(data) + decompressor.flush())
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


def _remember(cache: dict[K, V], key: K, value: V, limit: int = _CACHED_BLOCKS) -> None:
    # Emptied when full: simple, and safe when threads share the roster.
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


class _Builder:
    """Streams entries into keys and compressed blocks; never holds the entries themselves.

    With the number of entries known, the keys get their array at once (three identifiers an
    entry): grown step by step, a 24 MiB array is copied at each step once the allocator
    keeps big blocks on its heap, which it starts to after the first big one is freed.
    """

    def __init__(self, expected: int | None) -> None:
        self.size = 0
        self.keys = array("Q", [0]) * (3 * expected) if expected else array("Q")
        self._filled = 0
        self.blocks = _Blocks()
        self.first_ids, self.last_ids = array("q"), array("q")
        self.in_order = True
        self._last_id: int | None = None
        self.piece_counts: set[int] = set()
        self._owners: list[int] = []
        self._kinds = bytearray()
        self._texts: list[str] = []
        # Identifiers waiting to be hashed, and the number of the block each one is in.
        self._pending: list[str] = []
        self._pending_blocks = array("Q")
        self._powers = _Powers()

    def add(self, entry: RosterEntry) -> None:
        self.size += 1
        found = list(identifiers(entry))
        texts = self._texts
        if texts and len(texts) + len(found) > PER_BLOCK:
            self._close_block()
            texts = self._texts
        # A person's identifiers share one block, so one decode gives all of them.
        person_id = entry.person_id
        if self._last_id is not None and person_id < self._last_id:
            self.in_order = False
        self._last_id = person_id
        block = self.blocks.count
        for text, kind in found:
            self._owners.append(person_id)
            self._kinds.append(_KIND_NUMBER[kind])
            texts.append(text)
            self._pending.append(text)
            self._pending_blocks.append(block)
        if len(self._pending) >= _HASH_CHUNK:
            self._hash_pending()

    def _close_block(self) -> None:
        if self.blocks.count >> _BLOCK_BITS:
            raise ValueError("a roster of more than a billion identifiers")
        self.blocks.append(self._owners, self._kinds, self._texts)
        self.first_ids.append(min(self._owners))
        self.last_ids.append(max(self._owners))
        self._owners, self._kinds, self._texts = [], bytearray(), []

    def _hash_pending(self) -> None:
        """Hash the waiting identifiers together, and note how many pieces each cuts into."""
        texts = self._pending
        # A line break separates them: it is white space, which folded identifiers never hold.
        codes = _codes("\n".join(texts))
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        ends = np.cumsum(lengths + 1) - 1
        starts = ends - lengths
        cuts_before = np.cumsum(_positions(_flags(codes)) != 0)
        inner_cuts = cuts_before[ends - 1] - cuts_before[starts]
        self.piece_counts.update((inner_cuts + 1).tolist())
        up, down = self._powers.upto(codes.size + 1)
        keys = _span_hashes(_prefix_hashes(codes, up), down, starts, ends) << np.uint64(_BLOCK_BITS)
        keys |= np.frombuffer(self._pending_blocks, np.uint64)
        if self._filled + keys.size <= len(self.keys):
            np.frombuffer(self.keys, np.uint64)[self._filled : self._filled + keys.size] = keys
        else:
            del self.keys[self._filled :]
            self.keys.frombytes(keys.tobytes())
        self._filled += keys.size
        self._pending, self._pending_blocks = [], array("Q")

    def finish(self) -> None:
        if self._texts:
            self._close_block()
        self.blocks.learn()
        if self._pending:
            self._hash_pending()
        del self.keys[self._filled :]
