"""Engines: SQLite with WAL, synchronous=FULL and IMMEDIATE transactions; PostgreSQL by URL."""

from __future__ import annotations

import functools
import sqlite3
import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from fairwell.errors import ConfigurationError

# How a writer waits for the write lock another process holds. SQLite's own busy handler
# sleeps 1, 2, 5, 10 ms and more between its tries, while a delivering process holds the lock
# for well under a millisecond to commit its results: two delivering processes spent about a
# seventh of their time asleep in BEGIN IMMEDIATE, their sessions idle. So the first tries
# are ours, 0.2 ms apart, for up to 50 ms; after that SQLite's handler waits as it always did
# (busy_timeout), so a writer still gives up only after 30 s.
_QUICK_TRIES_FOR = 0.05
_QUICK_TRY_EVERY = 0.0002
_BUSY_TIMEOUT_MS = 30000


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    # The driver's own transaction handling is switched off so that we can say BEGIN IMMEDIATE:
    # a worker that reads, then writes, never fails to upgrade its lock half-way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        f"busy_timeout={_BUSY_TIMEOUT_MS}",
        "secure_delete=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cache_size = str(cursor.execute("PRAGMA cache_size").fetchone()[0])
    cursor.close()
    # What every transaction but a bulk write runs with, and what the connection has now.
    record.info[_USUAL] = {"cache_size": cache_size, "temp_store": "DEFAULT"}
    record.info[_SET] = {"synchronous": "FULL", **record.info[_USUAL]}
    # SQLite's lower() folds ASCII only; searching "MÜLLER" must find "Müller" as PostgreSQL's
    # lower() does.
    dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


# A connection's settings as _begin leaves them (per transaction, below), and as every
# transaction but a bulk write wants them; both kept in the connection's info.
_SET = "fairwell_pragmas"
_USUAL = "fairwell_usual_pragmas"
# A bulk write: an import, hundreds of thousands of one-row statements in one transaction.
_BULK = {
    # New addresses and references go to random places of their unique indexes: with
    # SQLite's default 2 MiB cache, pages were dropped (and spilled to the WAL) to be read
    # again. 16 MiB: a 100,000-row import takes ~12% less CPU for ~16 MiB more at its peak
    # (a million rows still peak under 140 MiB).
    "cache_size": f"-{16 * 1024}",
    # Inside a transaction, each INSERT into a table with triggers or foreign keys first
    # copies the pages it will change to a statement journal, to undo that statement alone.
    # SQLite keeps that journal in memory up to 64 KiB, but once one statement of the
    # transaction outgrows it (a b-tree rebalancing, say), every later statement writes it to
    # a file: 1.5 million pwrite() calls for a 100,000-row import, a fifth of its time in the
    # kernel. In memory it holds only the pages one statement changes (a few). temp_store
    # also decides where sorts that outgrow the page cache go, hence bulk writes only.
    "temp_store": "MEMORY",
}


def _begin(connection: Any) -> None:
    # Writers take the lock up front; readers use a deferred BEGIN so that, in WAL mode, they
    # never wait for a writer (a batch being queued reads while it writes).
    options = connection.get_execution_options()
    write = options.get("fairwell_write", True)
    # Delivery bookkeeping (claims, results) commits without waiting for the disk: a process
    # crash loses none of it (WAL), and a power cut can only make a letter go twice, never
    # lose one. Everything else, queued letters first, waits for the disk (FULL).
    durable = options.get("fairwell_durable", True)
    bulk = options.get("fairwell_bulk", False)
    wanted = {
        "synchronous": "FULL" if durable else "NORMAL",
        **(_BULK if bulk else connection.info[_USUAL]),
    }
    # Settings stay with the database connection, so each is set only when it changes (a
    # worker's claims and results, all NORMAL, then cost one statement fewer each), and
    # before BEGIN: temp_store cannot change inside a transaction.
    current = connection.info[_SET]
    for name, value in wanted.items():
        if current[name] != value:
            connection.exec_driver_sql(f"PRAGMA {name}={value}")
            current[name] = value
    if write:
        _begin_immediate(connection.connection.dbapi_connection)
    else:
        connection.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_connection: Any) -> None:
    deadline = time.monotonic() + _QUICK_TRIES_FOR
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
            if time.monotonic() >= deadline:
                break
            time.sleep(_QUICK_TRY_EVERY)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    dbapi_connection.execute("BEGIN IMMEDIATE")


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """PostgreSQL's connection pool, per process (FAIRWELL_DB_POOL_*).

    Every worker process has its own pool, so the server sees up to
    ``processes x (size + max_overflow)`` connections: size PostgreSQL's max_connections (or a
    PgBouncer in front of it) for that. ``pre_ping`` tests each connection as it is checked
    out, so a server restart or a dropped idle connection costs a reconnect, not a failed
    claim; ``recycle`` replaces connections before a firewall or pooler silently drops them.
    """

    size: int = 5
    max_overflow: int = 10
    recycle_seconds: float = 1800.0


# Every engine this process made and still holds somewhere (weakly: one nobody holds goes as
# it always did), for close_engines.
_made: weakref.WeakSet[Engine] = weakref.WeakSet()


def close_engines() -> None:
    """Close the connections of every engine this process made: as a command ends, not
    whenever the interpreter's teardown would reach them (on SQLite the last connection to
    close copies the WAL into the database and removes it)."""
    for engine in list(_made):
        engine.dispose()


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """Create the engine for a database URL, or raise ConfigurationError (:func:`_engine`)."""
    engine = _engine(url, pool)
    _made.add(engine)
    return engine


@functools.cache
def sqlite_has_json() -> bool:
    """Whether this Python's SQLite has the JSON functions (built in from 3.38; older builds
    may have them too): asked once, of an in-memory database, so that a missing one is a
    configuration error at start, not a failed claim after a batch was queued."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT json_each.value FROM json_each('[1]')").fetchall()
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


def _engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """Create the engine for a database URL, or raise ConfigurationError.

    ``hide_parameters``: SQLAlchemy's errors and logs would otherwise quote statement values,
    which here are names, addresses, letter bodies and password hashes. ``pool`` applies to
    PostgreSQL only: SQLite's file connections are cheap and local.
    """
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ConfigurationError(f"FAIRWELL_DATABASE_URL is not a database URL: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        if not sqlite_has_json():
            raise ConfigurationError(
                f"this Python's SQLite {sqlite3.sqlite_version} has no JSON functions "
                "(a claim reads its letters' ids with json_each): use SQLite 3.38 or newer"
            )
        engine = create_engine(parsed, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        pool = pool or PoolSettings()
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_recycle=int(pool.recycle_seconds),
            hide_parameters=True,
        )
    raise ConfigurationError(
        f"FAIRWELL_DATABASE_URL: unsupported database {parsed.get_backend_name()!r}; "
        "use sqlite or postgresql"
    )


def checkpoint_wal(engine: Engine, attempts: int = 50) -> bool:
    """On SQLite, copy the WAL into the database file and truncate the WAL to zero bytes.

    After an erasure the WAL still holds the pages as they were before it; with
    ``secure_delete`` on, the checkpoint leaves neither file with the erased bytes. A reader
    in the middle of a transaction makes the checkpoint busy, so it is retried briefly.
    Return True when the WAL was truncated; on PostgreSQL there is nothing to do (True).
    """
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()
    try:
        for _ in range(attempts):
            cursor = raw.cursor()
            # The driver's own transactions are off (see _sqlite_pragmas): this runs alone.
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            cursor.close()
            if not busy:
                return True
            time.sleep(0.02)
        return False
    finally:
        raw.close()
