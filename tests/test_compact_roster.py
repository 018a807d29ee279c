"""The hashed roster finds exactly what the automaton finds, on rosters built to confuse them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.guard import compact_roster
from fairwell.guard.compact_roster import CompactRoster
from fairwell.guard.roster import (
    AutomatonRoster,
    IdentifierKind,
    Mention,
    Roster,
    RosterEntry,
    RosterKind,
    fold,
)

# Few letters, so that names share words and run into each other; characters that fold to
# something else (ß, İ, ς, combining marks), a letter outside the BMP that is alphanumeric
# and one that is not, and every character the boundary rules treat specially.
LETTERS = "anlemAN" + "éßİςΣ\u0301𝔄"
SEPARATORS = " .-'_+@,:;<>()\t\n\u2063😀"
word = st.text(LETTERS, min_size=1, max_size=4)
name = st.lists(word, min_size=1, max_size=3).map(" ".join)
email = st.builds(
    lambda local, joiner, domain: f"{local}{joiner}@{domain}.com",
    st.lists(word, min_size=1, max_size=2).map(".".join),
    st.sampled_from(["", "+jobs", "."]),
    word,
)
ref = st.builds(lambda tail: f"FW-{tail}", st.text("AB12", min_size=1, max_size=3))
entry = st.builds(
    RosterEntry,
    st.integers(1, 12),
    st.one_of(email, st.just(""), name),
    name,
    st.lists(ref, max_size=2).map(tuple),
)


def near_misses(identifier: str) -> list[str]:
    """The identifier itself, and copies glued into something longer or cut short."""
    return [
        identifier,
        identifier.upper(),
        f"x{identifier}",
        f"{identifier}x",
        f"{identifier}.a",
        f"{identifier}.",
        f"@{identifier}",
        f".{identifier}",
        identifier[:-1],
        identifier[1:],
        f"Mary {identifier}",
        f"{identifier} Lee",
    ]


@st.composite
def roster_and_letter(draw: st.DrawFn) -> tuple[list[RosterEntry], str, int]:
    entries = draw(st.lists(entry, min_size=1, max_size=10))
    pieces = [
        ident
        for e in entries
        for ident in (e.email, e.full_name, *e.application_refs)
        for ident in near_misses(ident)
        if ident
    ]
    parts = draw(st.lists(st.one_of(st.sampled_from(pieces), word), max_size=14))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(parts) + 1))
    text = "".join(s + p for s, p in zip(separators, [*parts, ""], strict=False))
    addressee = draw(st.sampled_from([e.person_id for e in entries] + [99]))
    return entries, text, addressee


def ordered(mentions: list[Mention]) -> list[tuple[int, str]]:
    return sorted((m.person_id, m.kind.value) for m in mentions)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=roster_and_letter())
def test_the_hashed_roster_finds_exactly_what_the_automaton_finds(
    case: tuple[list[RosterEntry], str, int],
) -> None:
    entries, text, addressee = case
    expected = ordered(AutomatonRoster(entries).mentions_of_others(text, addressee))
    in_order = sorted(entries, key=lambda e: e.person_id)
    assert ordered(CompactRoster(in_order).mentions_of_others(text, addressee)) == expected
    assert ordered(CompactRoster(entries).mentions_of_others(text, addressee)) == expected


@settings(max_examples=300, deadline=None)
@given(case=roster_and_letter(), block=st.integers(1, 3), window=st.integers(1, 2))
def test_small_blocks_and_narrow_lookups_change_nothing(
    case: tuple[list[RosterEntry], str, int], block: int, window: int
) -> None:
    # Blocks of one to three identifiers spread shared names over many blocks; a lookup
    # window of one or two entries sends most lookups down the bisection path.
    entries, text, addressee = case
    expected = ordered(AutomatonRoster(entries).mentions_of_others(text, addressee))
    defaults = compact_roster.PER_BLOCK, compact_roster._WINDOW
    compact_roster.PER_BLOCK, compact_roster._WINDOW = block, window
    try:
        roster = CompactRoster(sorted(entries, key=lambda e: e.person_id))
        assert ordered(roster.mentions_of_others(text, addressee)) == expected
    finally:
        compact_roster.PER_BLOCK, compact_roster._WINDOW = defaults


def test_a_hash_collision_is_confirmed_against_the_identifier_and_found_to_be_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every identifier and every span of every letter hashed to 0: everything collides, and
    # only the stored identifiers can tell what is what.
    hashed = compact_roster._span_hashes
    monkeypatch.setattr(compact_roster, "_span_hashes", lambda *args: hashed(*args) & 0)
    roster = CompactRoster(
        [
            RosterEntry(1, "ann@example.com", "Ann Lee", ("FW-1",)),
            RosterEntry(3, "cy@example.com", "Cy Do", ()),
        ]
    )
    assert roster.mentions_of_others("Dear Bob Brown, bob@example.com", 2) == []
    assert ordered(roster.mentions_of_others("Dear Cy Do, about Ann Lee", 3)) == [(1, "full name")]


def test_a_name_thousands_share_is_found_and_is_each_ones_own() -> None:
    people = [RosterEntry(i, f"ann.{i}@example.com", "Ann Lee", ()) for i in range(1, 3001)]
    roster = CompactRoster([*people, RosterEntry(5000, "mary@example.com", "Mary Ann Lee", ())])
    assert roster.mentions_of_others("Dear Ann Lee,", 1234) == []
    assert roster.mentions_of_others("Dear Mary Ann Lee,", 5000) == []
    assert roster.mentions_of_others("Dear Mary, about Ann Lee", 5000) == [
        Mention(1, IdentifierKind.FULL_NAME)
    ]


def test_an_identifier_longer_than_the_automaton_packs_is_found_by_both() -> None:
    long_name = "Ann " + "Lee" * 400
    entries = [RosterEntry(1, "a@example.com", long_name, ()), RosterEntry(2, "b@x.com", "B C", ())]
    text = f"about {long_name}."
    assert AutomatonRoster(entries).mentions_of_others(text, 2) != []
    assert ordered(CompactRoster(entries).mentions_of_others(text, 2)) == ordered(
        AutomatonRoster(entries).mentions_of_others(text, 2)
    )


def test_the_roster_is_hashed_from_the_threshold_on() -> None:
    people = [RosterEntry(i, f"p{i}@example.com", f"P {i}", ()) for i in range(1, 6)]
    assert Roster(people, compact_from=6).kind is RosterKind.AUTOMATON
    assert Roster(iter(people), compact_from=5).kind is RosterKind.COMPACT
    assert Roster(iter(people)).kind is RosterKind.AUTOMATON  # COMPACT_FROM is 20,000
    hashed = Roster(iter(people), compact_from=0)
    assert hashed.size == 5
    assert ordered(hashed.mentions_of_others("P 2 and p3@example.com", 1)) == [
        (2, "full name"),
        (3, "email address"),
    ]


def test_an_empty_roster_finds_nothing_either_way() -> None:
    assert Roster([], compact_from=0).mentions_of_others("Ann Lee", 1) == []
    assert CompactRoster([RosterEntry(1, "", "Li", ())]).mentions_of_others("Li", 2) == []


def test_people_with_large_ids_are_told_apart() -> None:
    big = 3_000_000_000
    roster = CompactRoster(
        [
            RosterEntry(big, "rosa.weber@example.com", "Rosa Weber", ("FW-0000000001",)),
            RosterEntry(big + 1, "tom.berg@example.com", "Tom Berg", ("FW-0000000002",)),
        ]
    )
    mentions = roster.mentions_of_others("Dear Rosa Weber, about Tom Berg (FW-0000000002)", big)
    assert {m.person_id for m in mentions} == {big + 1}
    assert len(mentions) == 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(roster_and_letter(), min_size=2, max_size=4))
def test_one_roster_reading_letter_after_letter_answers_as_a_fresh_one_each_time(
    cases: list[tuple[list[RosterEntry], str, int]],
) -> None:
    # The spans of earlier letters the index did not hold are remembered: a later letter
    # that holds an identifier must still find it, whatever was asked before.
    entries = sorted(
        {e.person_id: e for c in cases for e in c[0]}.values(), key=lambda e: e.person_id
    )
    letters = [(text, addressee) for _, text, addressee in cases]
    shared = CompactRoster(entries)
    for text, addressee in letters * 2:
        expected = AutomatonRoster(entries).mentions_of_others(text, addressee)
        assert ordered(shared.mentions_of_others(text, addressee)) == ordered(expected)


def test_threads_sharing_a_roster_each_remember_their_own_answers() -> None:
    people = [
        RosterEntry(i, f"p{i}@example.com", f"Pat Doe{i}", (f"FW-{i}",)) for i in range(1, 50)
    ]
    roster = CompactRoster(people)
    letters = [(f"Dear Pat Doe{i}, not Pat Doe{i % 49 + 1} (FW-{i})", i) for i in range(1, 50)]
    expected = [ordered(roster.mentions_of_others(text, who)) for text, who in letters]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            found = list(pool.map(lambda c: ordered(roster.mentions_of_others(*c)), letters))
            assert found == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(roster_and_letter(), min_size=1, max_size=5))
def test_letters_searched_together_are_answered_as_each_alone(
    cases: list[tuple[list[RosterEntry], str, int]],
) -> None:
    # Joined for one pass, a letter's end and the next one's start must not make a match.
    people = {e.person_id: e for entries, _, _ in cases for e in entries}
    entries = sorted(people.values(), key=lambda e: e.person_id)
    texts = [fold(text) for _, text, _ in cases]
    addressees = [addressee for _, _, addressee in cases]
    expected = [
        ordered(AutomatonRoster(entries).mentions_in_folded(text, addressee))
        for text, addressee in zip(texts, addressees, strict=True)
    ]
    together = Roster(entries, compact_from=0).mentions_in_many(texts, addressees)
    assert [ordered(found) for found in together] == expected


def test_a_name_split_between_two_letters_searched_together_is_in_neither() -> None:
    roster = Roster([RosterEntry(1, "a@example.com", "Ann Lee", ())], compact_from=0)
    assert roster.mentions_in_many(["dear bob, ann", "lee wrote"], [2, 2]) == [[], []]
    assert roster.mentions_in_many(["dear bob, ann lee", "x"], [2, 2]) == [
        [Mention(1, IdentifierKind.FULL_NAME)],
        [],
    ]


def candidates_of_every_pair(
    positions: np.ndarray, pieces: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate spans as they were first found: a 2-D array of every (start, piece
    count) pair, indexed at once; the search's own way must give the same, in the same order."""
    cuts = positions.nonzero()[0]
    at_cuts = positions[cuts]
    first = (at_cuts & compact_roster._START_AFTER).nonzero()[0]
    ends_at = np.zeros(cuts.size + int(pieces[-1]), np.bool_)
    ends_at[: cuts.size] = at_cuts & compact_roster._END_BEFORE
    last = first[:, None] + pieces
    rows, columns = ends_at[last].nonzero()
    return cuts[first[rows]], cuts[last[rows, columns]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(LETTERS + SEPARATORS + "0.", max_size=60),
    counts=st.sets(st.integers(1, 6), min_size=1, max_size=4),
)
def test_candidate_spans_are_every_start_to_end_pair_in_order(text: str, counts: set[int]) -> None:
    searcher = CompactRoster([RosterEntry(1, "a@b.com", "A B")])
    searcher._pieces = np.array(sorted(counts), np.int64)
    codes = compact_roster._codes(fold(text))
    expected = candidates_of_every_pair(
        compact_roster._positions(compact_roster._flags(codes)), searcher._pieces
    )
    starts, ends = searcher._candidates(codes)
    assert starts.tolist() == expected[0].tolist()
    assert ends.tolist() == expected[1].tolist()
