"""The store's roster read: one entry a person, from plain rows read a chunk at a time."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.guard.roster import RosterEntry
from fairwell.services.importing import import_file
from fairwell.storage import roster_store
from fairwell.storage.roster_store import _entries
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import applicant, people, write_csv

Row = tuple[int, str, str, str, str | None]


def grouped(rows: list[Row]) -> list[RosterEntry]:
    """The reading the store did before: groupby on the person id, refs of each group."""
    entries = []
    for person_id, group in groupby(rows, key=lambda row: row[0]):
        first, *rest = list(group)
        refs = tuple(row[4] for row in [first, *rest] if row[4] is not None)
        entries.append(RosterEntry(person_id, first[1], f"{first[2]} {first[3]}", refs))
    return entries


@st.composite
def roster_rows(draw: st.DrawFn) -> list[Row]:
    """Rows as the roster query returns them: in person-id order, one for each reference
    (one with NULL for a person with none)."""
    rows: list[Row] = []
    ids = sorted(draw(st.sets(st.integers(1, 10_000), max_size=20)))
    words = st.text(max_size=6)
    for person_id in ids:
        email, first, last = draw(words), draw(words), draw(words)
        refs: list[str | None] = [*draw(st.lists(st.text(min_size=1, max_size=6), max_size=3))]
        for ref in refs or [None]:
            rows.append((person_id, email, first, last, ref))
    return rows


# No deadline: the machine running the tests may be busy (a timing is no verdict here).
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roster_rows(), st.integers(1, 7))
def test_entries_are_what_grouping_the_rows_gave_across_any_chunking(
    rows: list[Row], size: int
) -> None:
    chunks = [rows[start : start + size] for start in range(0, len(rows), size)]
    assert list(_entries(chunks)) == grouped(rows)


def test_a_roster_read_in_small_chunks_is_the_same_roster(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = [applicant("p1@example.com", "Pat", "Doe1", job="Designer")]  # a second application
    import_file(
        store := any_store,
        write_csv(tmp_path / "a.csv", [*people(7), *again]),
        actor="t",
        now=clock.now(),
    )
    whole = list(store.roster())
    monkeypatch.setattr(roster_store, "ROSTER_CHUNK", 2)
    assert list(store.roster()) == whole
    assert len(whole) == 7 and sum(len(entry.application_refs) for entry in whole) == 8
