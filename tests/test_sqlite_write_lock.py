"""How a SQLite writer waits for the write lock another connection holds (storage/engine.py):
first its own tries, 0.2 ms apart, for up to 50 ms; then SQLite's busy handler, which waits
up to busy_timeout (30 s) as before."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fairwell.storage import engine as engine_module
from fairwell.storage.engine import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield made
    made.dispose()


def _hold_the_lock(engine: Engine) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection in BEGIN IMMEDIATE."""
    database = engine.url.database
    assert database is not None
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _write(engine: Engine) -> int:
    """One write transaction as the stores make it; the busy_timeout left on its connection."""
    with engine.connect() as conn:
        conn.execution_options(fairwell_write=True)
        with conn.begin():
            conn.execute(text("INSERT INTO t VALUES (1)"))
            return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_writer_tries_again_every_fifth_of_a_millisecond_while_the_lock_is_held(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _hold_the_lock(engine)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            other.execute("COMMIT")  # the other writer is done after the third try

    monkeypatch.setattr(engine_module.time, "sleep", nap)
    try:
        assert _write(engine) == 30000  # SQLite's own wait is set back for what follows
    finally:
        other.close()
    assert naps == [0.0002] * 3


def test_a_lock_held_past_the_quick_tries_is_waited_for_by_sqlite_as_before(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 50 ms of quick tries, SQLite's busy handler waits (here 0.3 s more) and the write
    goes through; nothing fails while the lock is held for less than busy_timeout."""
    monkeypatch.setattr(engine_module, "_QUICK_TRIES_FOR", 0.0)
    other = _hold_the_lock(engine)
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        assert _write(engine) == 30000
    finally:
        release.join()
        other.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1


def test_an_error_other_than_busy_is_not_retried(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    naps: list[float] = []
    monkeypatch.setattr(engine_module.time, "sleep", naps.append)
    with engine.connect() as conn:
        conn.execution_options(fairwell_write=True)
        conn.exec_driver_sql("SELECT 1")  # a transaction is open on this connection now
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
            engine_module._begin_immediate(raw)
    assert naps == []
