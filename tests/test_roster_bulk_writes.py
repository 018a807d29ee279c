"""An import notes the people it adds to the roster itself, a chunk at a time (migration 0028):
the roster's version and change log are what the per-row triggers would have made of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from fairwell.services.importing import import_file
from fairwell.storage import importer
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import applicant, people, write_csv


def _changes(store: SqlStore) -> dict[int, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT person_id, version FROM roster_changes")).tuples()
        return {person: version for person, version in rows}


def _bulk_rows(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM roster_bulk_writes")).scalar_one())


def _person(store: SqlStore, email: str) -> int:
    with store.engine.connect() as conn:
        query = text("SELECT id FROM persons WHERE email = :email")
        return int(conn.execute(query, {"email": email}).scalar_one())


def test_an_import_of_several_chunks_notes_each_person_it_adds_once_at_a_new_version(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = any_store
    import_file(store, write_csv(tmp_path / "a.csv", people(3)), actor="t", now=clock.now())
    before, noted_before = store.roster_version(), _changes(store)
    monkeypatch.setattr(importer, "INSERT_CHUNK", 2)  # three chunks
    rows = [
        *people(3),  # on file, unchanged: not noted
        applicant("p1@example.com", "Pat", "Doe1", job="Designer"),  # a second application
        applicant("new1@example.com", "Noor", "Haddad"),
        applicant("new2@example.com", "Ama", "Owusu", job="Designer"),
    ]
    import_file(store, write_csv(tmp_path / "b.csv", rows), actor="t", now=clock.now())

    after, noted = store.roster_version(), _changes(store)
    changed = {person: version for person, version in noted.items() if version > before}
    added = ("p1@example.com", "new1@example.com", "new2@example.com")
    expected = {_person(store, email) for email in added}
    assert set(changed) == expected, "everyone added or given a reference, nobody else"
    assert all(noted[person] == noted_before[person] for person in noted_before.keys() - expected)
    assert max(changed.values()) == after, "the clock stands at the latest change"
    assert _bulk_rows(store) == 0, "the triggers note inserts again"
    changes = store.roster_changes(before, 100)
    assert changes is not None and changes.version == after
    assert set(changes.people) == expected


def test_after_an_import_a_hand_run_insert_is_noted_by_the_triggers(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    store = any_store
    import_file(store, write_csv(tmp_path / "a.csv", people(2)), actor="t", now=clock.now())
    before = store.roster_version()
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO persons (email, first_name, last_name, locale, created_at, "
                "updated_at) VALUES ('hand@example.com', 'Hand', 'Made', 'en', :day, :day)"
            ),
            {"day": clock.now()},
        )
    assert store.roster_version() == before + 1
    assert _changes(store)[_person(store, "hand@example.com")] == before + 1


def test_a_failed_import_leaves_the_roster_and_its_triggers_as_they_were(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = any_store
    import_file(store, write_csv(tmp_path / "a.csv", people(2)), actor="t", now=clock.now())
    before, noted = store.roster_version(), _changes(store)

    def fails(*_: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(importer.MergeWriter, "write", fails)
    with pytest.raises(RuntimeError):
        import_file(store, write_csv(tmp_path / "b.csv", people(5)), actor="t", now=clock.now())

    assert (store.roster_version(), _changes(store), _bulk_rows(store)) == (before, noted, 0)
    monkeypatch.undo()
    import_file(store, write_csv(tmp_path / "b.csv", people(5)), actor="t", now=clock.now())
    assert store.roster_version() > before


def test_an_import_gives_its_connection_back_with_the_page_cache_it_had(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    import_file(store, write_csv(tmp_path / "a.csv", people(3)), actor="t", now=clock.now())
    with store.engine.connect() as conn:  # the pool's one connection, the import's
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
