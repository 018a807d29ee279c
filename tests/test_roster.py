"""The roster: who else is mentioned, whatever the names have in common (both kinds)."""

from __future__ import annotations

import pytest

from fairwell.guard.roster import IdentifierKind, Mention, Roster, RosterEntry

ANN_1 = RosterEntry(1, "ann.lee@example.com", "Ann Lee", ("FW-A1",))
ANN_2 = RosterEntry(2, "ann.lee@example.org", "Ann Lee", ("FW-A2",))
MARY = RosterEntry(3, "mary@example.com", "Mary Ann Lee", ("FW-M3",))
ZOE = RosterEntry(4, "zoe@example.com", "Zoë Ünal", ("FW-Z4",))


# A huge threshold keeps the automaton; 0 makes every roster the hashed one.
@pytest.fixture(params=[10**9, 0], ids=["automaton", "compact"])
def compact_from(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


@pytest.fixture
def roster(compact_from: int) -> Roster:
    return Roster([ANN_1, ANN_2, MARY, ZOE], compact_from=compact_from)


def test_a_name_two_people_share_is_each_ones_own_name(roster: Roster) -> None:
    assert roster.mentions_of_others("Dear Ann Lee,", 1) == []
    assert roster.mentions_of_others("Dear Ann Lee,", 2) == []


def test_a_shared_name_in_a_third_persons_letter_is_a_mention(roster: Roster) -> None:
    found = roster.mentions_of_others("Dear Zoë, we also wrote to Ann Lee.", 4)
    assert {mention.kind for mention in found} == {IdentifierKind.FULL_NAME}
    assert found[0].person_id in (1, 2)


def test_a_name_inside_the_addressees_own_longer_name_is_not_a_mention(roster: Roster) -> None:
    assert roster.mentions_of_others("Dear Mary Ann Lee,", 3) == []
    assert roster.mentions_of_others("Dear Mary, about Ann Lee:", 3) != []


def test_matching_ignores_case_diacritic_composition_and_line_breaks(roster: Roster) -> None:
    decomposed = "Zoe\u0308 U\u0308nal"  # the same name, written with combining marks
    assert roster.mentions_of_others(f"Dear Ann, cc {decomposed}", 1) == [
        Mention(4, IdentifierKind.FULL_NAME)
    ]
    assert roster.mentions_of_others("Dear Ann, cc ZOË\n  ÜNAL", 1) != []


def test_part_of_a_longer_word_or_address_is_not_a_mention(roster: Roster) -> None:
    assert roster.mentions_of_others("see xmary@example.com and FW-M3X", 1) == []


def test_an_empty_roster_finds_nothing(compact_from: int) -> None:
    empty = Roster([], compact_from=compact_from)
    assert empty.mentions_of_others("Ann Lee ann.lee@example.com", 1) == []


@pytest.mark.parametrize("person_id", [699_050, 5_000_000, 3_000_000_000])
def test_people_with_large_database_ids_are_found_and_told_apart(
    person_id: int, compact_from: int
) -> None:
    # pyahocorasick keeps 32-bit values; an id packed with kind and length would overflow
    # them past about 700,000 people in the database.
    roster = Roster(
        [
            RosterEntry(person_id, "rosa.weber@example.com", "Rosa Weber", ("FW-0000000001",)),
            RosterEntry(person_id + 1, "tom.berg@example.com", "Tom Berg", ("FW-0000000002",)),
        ],
        compact_from=compact_from,
    )
    text = "Dear Rosa Weber, about Tom Berg (FW-0000000002)"
    mentions = roster.mentions_of_others(text, person_id)
    assert {m.person_id for m in mentions} == {person_id + 1}
    assert {m.kind for m in mentions} == {IdentifierKind.FULL_NAME, IdentifierKind.APPLICATION_REF}
    assert roster.mentions_of_others("Dear Rosa Weber", person_id) == []
