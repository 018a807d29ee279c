"""A roster brought up to date with the people changed since it was built answers exactly as a
roster built afresh from everyone on file now, in both representations."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.guard.roster import IdentifierKind, Mention, Roster, RosterEntry, fold
from tests.test_compact_roster import SEPARATORS, entry, near_misses, word

People = dict[int, RosterEntry]
Changes = dict[int, RosterEntry | None]

ANN = RosterEntry(1, "ann.lee@example.com", "Ann Lee", ("FW-A1",))
BOB = RosterEntry(2, "bob@example.com", "Bob Stone", ("FW-B2",))
MARY = RosterEntry(3, "mary@example.com", "Mary Ann Lee", ("FW-M3",))


# A huge threshold keeps the automaton; 0 makes every base the hashed one.
@pytest.fixture(params=[10**9, 0], ids=["automaton", "compact"])
def compact_from(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


def ordered(mentions: list[Mention]) -> list[tuple[int, str]]:
    return sorted((m.person_id, m.kind.value) for m in mentions)


def fresh(people: People, compact_from: int) -> Roster:
    """The roster as a full rebuild reads it: everyone on file, in person-id order."""
    return Roster(sorted(people.values(), key=lambda e: e.person_id), compact_from=compact_from)


def apply(people: People, changes: Changes) -> People:
    now = dict(people)
    for person_id, identifiers in changes.items():
        if identifiers is None:
            now.pop(person_id, None)
        else:
            now[person_id] = identifiers
    return now


def _as(person_id: int, identifiers: RosterEntry | None) -> RosterEntry | None:
    return None if identifiers is None else dataclasses.replace(identifiers, person_id=person_id)


# People of the base (ids 1-12) and newcomers: each gets new identifiers or is gone.
changes = st.dictionaries(st.integers(1, 14), st.one_of(st.none(), entry), max_size=6).map(
    lambda found: {person_id: _as(person_id, e) for person_id, e in found.items()}
)


@st.composite
def history(draw: st.DrawFn) -> tuple[People, list[Changes], str, int]:
    base = {e.person_id: e for e in draw(st.lists(entry, min_size=1, max_size=10))}
    steps = draw(st.lists(changes, min_size=1, max_size=3))
    everyone = [*base.values(), *(e for step in steps for e in step.values() if e is not None)]
    pieces = [
        variant
        for e in everyone
        for ident in (e.email, e.full_name, *e.application_refs)
        if ident
        for variant in near_misses(ident)
    ]
    parts = draw(st.lists(st.one_of(st.sampled_from(pieces), word), max_size=14))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(parts) + 1))
    text = "".join(s + p for s, p in zip(separators, [*parts, ""], strict=False))
    addressee = draw(st.sampled_from([e.person_id for e in everyone] + [99]))
    return base, steps, text, addressee


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=history(), compact_from=st.sampled_from([10**9, 0]))
def test_a_roster_brought_up_to_date_finds_what_a_rebuilt_one_finds(
    case: tuple[People, list[Changes], str, int], compact_from: int
) -> None:
    base, steps, text, addressee = case
    roster, now = fresh(base, compact_from), base
    for step in steps:
        roster, now = roster.updated(step), apply(now, step)
    rebuilt = fresh(now, compact_from)
    assert ordered(roster.mentions_of_others(text, addressee)) == ordered(
        rebuilt.mentions_of_others(text, addressee)
    )
    assert roster.size == len(now)


def test_someone_added_after_the_build_is_found(compact_from: int) -> None:
    roster = Roster([ANN, BOB], compact_from=compact_from)
    noor = RosterEntry(7, "noor@example.com", "Noor Haddad", ("FW-N7",))
    assert roster.mentions_of_others("Dear Ann Lee, and Noor Haddad", 1) == []

    updated = roster.updated({7: noor})

    assert updated.mentions_of_others("Dear Ann Lee, and Noor Haddad", 1) == [
        Mention(7, IdentifierKind.FULL_NAME)
    ]
    assert (updated.size, updated.changed, roster.size) == (3, 1, 2), "the old roster is as it was"


def test_a_renamed_persons_old_name_is_theirs_no_longer(compact_from: int) -> None:
    roster = Roster([ANN, BOB], compact_from=compact_from)
    renamed = roster.updated({2: RosterEntry(2, "bob@example.com", "Robert Stone", ("FW-B2",))})

    assert renamed.mentions_of_others("Dear Ann Lee, about Bob Stone", 1) == []
    assert ordered(renamed.mentions_of_others("Dear Ann Lee, about Robert Stone", 1)) == [
        (2, "full name")
    ]
    assert renamed.mentions_of_others("Dear Robert Stone (FW-B2)", 2) == [], "their own letter"


def test_someone_gone_is_no_longer_found_but_a_namesake_still_is(compact_from: int) -> None:
    namesake = RosterEntry(4, "other.ann@example.com", "Ann Lee", ("FW-A4",))
    roster = Roster([ANN, BOB, namesake], compact_from=compact_from)

    gone = roster.updated({1: None})

    assert gone.mentions_of_others("Dear Bob, about ann.lee@example.com", 2) == []
    assert gone.mentions_of_others("Dear Bob, about Ann Lee", 2) == [
        Mention(4, IdentifierKind.FULL_NAME)
    ]
    assert gone.size == 2


def test_a_new_name_that_holds_an_old_one_is_the_addressees_own(compact_from: int) -> None:
    # Ann (in the base) is named inside the new addressee's name (in the layer over it).
    roster = Roster([ANN, BOB], compact_from=compact_from).updated({3: MARY})
    assert roster.mentions_of_others("Dear Mary Ann Lee,", 3) == []
    assert roster.mentions_of_others("Dear Mary, about Ann Lee", 3) == [
        Mention(1, IdentifierKind.FULL_NAME)
    ]


def test_changes_pile_up_in_one_layer_over_the_same_base(compact_from: int) -> None:
    roster = Roster([ANN, BOB], compact_from=compact_from)
    once = roster.updated({3: MARY})
    twice = once.updated({3: None, 2: None})
    assert twice.changed == 2 and twice.size == 1
    assert twice.mentions_of_others("Mary Ann Lee, Bob Stone", 1) == []


def test_sample_people_over_a_roster_are_told_from_the_people_on_file(compact_from: int) -> None:
    roster = Roster([ANN, BOB], compact_from=compact_from)
    sample = RosterEntry(-1, "alex@example.com", "Alex Example", ("FW-SAMPLE",))
    other = RosterEntry(-2, "jordan@example.com", "Jordan Other", ())

    tried = roster.with_people([sample, other])

    assert tried.mentions_of_others("Dear Alex Example (FW-SAMPLE)", -1) == []
    assert ordered(tried.mentions_of_others("Dear Alex, Bob Stone, Jordan Other", -1)) == [
        (-2, "full name"),
        (2, "full name"),
    ]
    assert tried.size == 4 and roster.size == 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=history(), more=st.lists(st.tuples(word, st.integers(1, 14)), max_size=3))
def test_a_roster_brought_up_to_date_answers_letters_searched_together_as_one_by_one(
    case: tuple[People, list[Changes], str, int], more: list[tuple[str, int]]
) -> None:
    base, steps, text, addressee = case
    for compact_from in (10**9, 0):
        roster = fresh(base, compact_from)
        for step in steps:
            roster = roster.updated(step)
        letters = [(fold(text), addressee), *((fold(f"{text} {w}"), who) for w, who in more)]
        texts, addressees = [t for t, _ in letters], [a for _, a in letters]
        one_by_one = [ordered(roster.mentions_in_folded(t, a)) for t, a in letters]
        assert [ordered(m) for m in roster.mentions_in_many(texts, addressees)] == one_by_one
