"""The import writes new rows through BulkInsert (each distinct value bound once, the compiled
INSERT handed to the driver): what it stores must be exactly what SQLAlchemy's own INSERT of
the same values stores, on SQLite and PostgreSQL; and a reference is still the 50 random
bits read as ten letters, as before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select, text

from fairwell.runtime import init_database
from fairwell.storage import bulk, importer
from fairwell.storage.bulk import BulkInsert, insert_returning_ids
from fairwell.storage.engine import make_engine
from fairwell.storage.importer import application_ref
from fairwell.storage.tables import (
    applications,
    jobs,
    letter_bodies,
    persons,
    plans,
    staged_letters,
)
from tests.conftest import settings_for

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))
# Values that bind differently: aware datetimes in and out of UTC, with and without
# microseconds, None, booleans, text with quotes and non-ASCII letters.
MOMENTS = [NOW, datetime(2025, 12, 31, 23, 59, tzinfo=BERLIN), None]


def _people(number: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"p{index}.{number}@example.org",
            "first_name": "Zoë" if index % 2 else "O'Brien",
            "last_name": "Łukasiewicz",
            "locale": "de" if index % 3 else "en",
            "country": None if index % 4 else "CA",
            "region": None if index % 4 else "CA-ON",
            "timezone": "Europe/Berlin" if index % 2 else None,
            "created_at": MOMENTS[index % 2],
            "updated_at": NOW,
        }
        for index in range(7)
    ]


def _applications(job_id: int, people: list[int], number: int) -> list[dict[str, Any]]:
    return [
        {
            "job_id": job_id,
            "person_id": person_id,
            "ref": f"FW-TEST{number}{index:04d}",
            "stage": ("applied", "screen", "hired")[index % 3],
            "source": "referred" if index % 2 else "applied",
            "referred_by": "Ann" if index % 2 else None,
            "referral_aware": (True, False, None)[index % 3],
            "applied_at": MOMENTS[index % 3],
            "last_interview_at": MOMENTS[(index + 1) % 3],
            "created_at": NOW,
            "updated_at": NOW,
            "stage_changed_at": MOMENTS[index % 3],
        }
        for index, person_id in enumerate(people)
    ]


# Ids differ from one write to the next (PostgreSQL's sequences go on): compared apart.
IDS = frozenset({"id", "job_id", "person_id"})


def _raw(conn: Connection, table: str) -> list[dict[str, Any]]:
    """The stored values as the database holds them, not as SQLAlchemy reads them back."""
    result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
    return [
        {name: value for name, value in row._mapping.items() if name not in IDS} for row in result
    ]


def _write_both_ways(conn: Connection, number: int, bulk: bool) -> None:
    people = _people(number)
    job_id = conn.execute(
        insert(jobs).values(title=f"Job {number}", created_at=NOW)
    ).inserted_primary_key
    assert job_id is not None
    columns = list(people[0])
    if bulk:
        BulkInsert(conn, persons, columns)(tuple(person.values()) for person in people)
    else:
        conn.execute(insert(persons), people)
    emails = [person["email"] for person in people]
    found = dict(conn.execute(select(persons.c.email, persons.c.id)).tuples().all())
    rows = _applications(job_id[0], [found[email] for email in emails], number)
    if bulk:
        BulkInsert(conn, applications, list(rows[0]))(tuple(row.values()) for row in rows)
    else:
        conn.execute(insert(applications), rows)


def test_bulk_insert_stores_what_sqlalchemy_stores(database_url: str) -> None:
    settings = settings_for(database_url, 2525)
    init_database(settings)
    engine = make_engine(settings.database_url)
    try:
        stored = {}
        for bulk in (False, True):
            with engine.begin() as conn:
                _write_both_ways(conn, 1, bulk)
            with engine.begin() as conn:
                stored[bulk] = (_raw(conn, "persons"), _raw(conn, "applications"))
                conn.execute(text("DELETE FROM applications"))
                conn.execute(text("DELETE FROM persons"))
                conn.execute(text("DELETE FROM jobs"))
        assert stored[True] == stored[False]
        # and SQLAlchemy reads them back as it wrote them: aware UTC datetimes, booleans
        with engine.begin() as conn:
            _write_both_ways(conn, 2, bulk=True)
            read = conn.execute(select(applications).order_by(applications.c.id)).all()
        assert [row.applied_at for row in read[:3]] == [
            NOW,
            datetime(2025, 12, 31, 22, 59, tzinfo=UTC),
            None,
        ]
        assert [row.referral_aware for row in read[:3]] == [True, False, None]
    finally:
        engine.dispose()


def test_bulk_insert_writes_in_chunks_of_the_modules_size(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk size is read from storage.bulk: with 3, seven rows take three executemany."""
    monkeypatch.setattr(bulk, "INSERT_CHUNK", 3)
    settings = settings_for(database_url, 2525)
    init_database(settings)
    engine = make_engine(settings.database_url)
    calls: list[int] = []
    try:
        with engine.begin() as conn:
            people = _people(4)
            write = BulkInsert(conn, persons, list(people[0]))
            original = conn.exec_driver_sql

            def counted(sql: str, rows: Any) -> Any:
                calls.append(len(rows))
                return original(sql, rows)

            monkeypatch.setattr(conn, "exec_driver_sql", counted)
            write(tuple(p.values()) for p in people)
    finally:
        engine.dispose()
    assert calls == [3, 3, 1]


def test_insert_returning_ids_gives_each_row_its_own_id_in_order(database_url: str) -> None:
    """Letter bodies come back with their ids in the order given (SQLite: one row at a
    time, its lastrowid; PostgreSQL: INSERT ... RETURNING sorted by the parameters)."""
    settings = settings_for(database_url, 2525)
    init_database(settings)
    engine = make_engine(settings.database_url)
    rows = [(f"letter {n}".encode() * (n + 1), None if n % 2 else f"seal{n}") for n in range(7)]
    try:
        with engine.begin() as conn:
            conn.execute(insert(letter_bodies).values(body=b"someone else's", guard_seal=None))
            ids = insert_returning_ids(conn, letter_bodies, ("body", "guard_seal"), rows)
            stored = {
                row.id: (row.body, row.guard_seal)
                for row in conn.execute(select(letter_bodies)).all()
            }
    finally:
        engine.dispose()
    assert len(set(ids)) == len(rows) and ids == sorted(ids)
    assert [stored[letter_id] for letter_id in ids] == rows


def test_staged_letters_written_in_bulk_are_stored_as_sqlalchemy_stores_them(
    database_url: str,
) -> None:
    """The plan store writes staged letters through BulkInsert: moments, dates, flags and
    None are stored exactly as SQLAlchemy's own insert stores them."""
    from fairwell.storage.plans_store import _STAGED_COLUMNS

    settings = settings_for(database_url, 2525)
    init_database(settings)
    engine = make_engine(settings.database_url)
    stored = {}
    try:
        for use_bulk in (False, True):
            with engine.begin() as conn:
                rows = _staged_rows(conn)
                if use_bulk:
                    BulkInsert(conn, staged_letters, _STAGED_COLUMNS)(rows)
                else:
                    conn.execute(
                        insert(staged_letters),
                        [dict(zip(_STAGED_COLUMNS, row, strict=True)) for row in rows],
                    )
                stored[use_bulk] = _raw(conn, "staged_letters")
                for table in ("staged_letters", "letter_bodies", "plans", "jobs"):
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608
    finally:
        engine.dispose()
    for rows in stored.values():
        for row in rows:
            row.pop("plan_id"), row.pop("body_id")  # ids go on from one write to the next
    assert stored[True] == stored[False]
    assert len(stored[True]) == 3


def _staged_rows(conn: Connection) -> list[tuple[object, ...]]:
    job = conn.execute(insert(jobs).values(title="Staged", created_at=NOW)).inserted_primary_key
    assert job is not None
    plan = conn.execute(
        insert(plans).values(
            job_id=job[0],
            state="composing",
            made_at=NOW,
            made_by="rita",
            send_now=False,
            fingerprint="f",
            change_mark=0,
        )
    ).inserted_primary_key
    assert plan is not None
    bodies = insert_returning_ids(conn, letter_bodies, ("body", "guard_seal"), [(b"x", None)] * 3)
    return [
        (
            plan[0],
            10 + n,
            20 + n if n else None,
            f"decision:{20 + n}",
            ("ready", "blocked", "ready")[n],
            "rejection",
            "de" if n else "en",
            "careers@acme.example.com",
            f"p{n}@example.org",
            f"<m{n}@acme.example.com>",
            "screen",
            MOMENTS[n],
            date(2027, 6, 1) if n != 1 else None,
            date(2026, 4, 15) if n == 2 else None,
            bodies[n],
            "waits for a send window" if n == 1 else None,
            '[["rule", "what", "detail"]]' if n == 1 else None,
            "position-filled",
            n == 0,
            n == 1,
            n == 2,
            bool(n % 2),
        )
        for n in range(3)
    ]


def _ten_letters(bits: int) -> str:
    """The reference as first written: one letter per 5 bits, the highest first."""
    alphabet = importer._REF_ALPHABET
    return "FW-" + "".join(alphabet[(bits >> shift) & 31] for shift in range(45, -1, -5))


@given(st.integers(min_value=0, max_value=2**50 - 1))
def test_a_reference_reads_its_bits_as_before(bits: int) -> None:
    assert application_ref(bits) == _ten_letters(bits)


def test_references_made_together_take_the_highest_50_bits_of_7_random_bytes_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = bytes(range(7)) + b"\xff" * 7 + bytes(7)
    monkeypatch.setattr(importer.secrets, "token_bytes", lambda count: pool[:count])
    refs = list(importer.new_application_refs(3))
    expected = [int.from_bytes(pool[at : at + 7], "big") >> 6 for at in (0, 7, 14)]
    assert refs == [application_ref(bits) for bits in expected]
    assert refs[1:] == ["FW-ZZZZZZZZZZ", "FW-0000000000"]
    assert list(importer.new_application_refs(0)) == []


def test_the_extreme_references() -> None:
    assert application_ref(0) == "FW-0000000000"
    assert application_ref(2**50 - 1) == "FW-ZZZZZZZZZZ"
    assert application_ref(1 << 45) == "FW-1000000000"
