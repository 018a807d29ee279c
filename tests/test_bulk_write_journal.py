"""An import's transaction keeps SQLite's statement journal in memory (storage/engine.py,
``_keep_statement_journal``); every other transaction on the same connection keeps SQLite's
default, so sorts that outgrow the page cache still go to temporary files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from fairwell.services.importing import import_file
from fairwell.storage import importer
from fairwell.storage.base import SqlBase
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore
from tests.helpers import people, write_csv

MEMORY, DEFAULT = 2, 0  # what PRAGMA temp_store reads


def _temp_store(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA temp_store").scalar_one())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    yield made
    made.dispose()


def test_a_bulk_write_keeps_its_statement_journal_in_memory_and_the_next_transaction_does_not(
    engine: Engine,
) -> None:
    base = SqlBase(engine)
    with base._bulk_write() as conn:
        connection = conn.connection.dbapi_connection
        assert _temp_store(conn) == MEMORY
    for transaction in (base._write, base._read, base._bookkeeping):
        with transaction() as conn:
            # The pool hands back the connection the bulk write used: the setting was undone.
            assert conn.connection.dbapi_connection is connection
            assert _temp_store(conn) == DEFAULT
    with base._bulk_write() as conn:
        assert conn.connection.dbapi_connection is connection
        assert _temp_store(conn) == MEMORY


def test_an_import_writes_in_a_bulk_transaction(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    write = importer.ApplicantWriter.write

    def write_and_look(self: importer.ApplicantWriter, *args: Any, **kwargs: Any) -> Any:
        seen.append(_temp_store(self.conn))
        return write(self, *args, **kwargs)

    monkeypatch.setattr(importer.ApplicantWriter, "write", write_and_look)
    report = import_file(
        store,
        write_csv(tmp_path / "a.csv", people(3)),
        actor="t",
        now=datetime(2026, 12, 6, tzinfo=UTC),
    )
    assert report.counts.applications_created == 3
    assert seen == [MEMORY]
