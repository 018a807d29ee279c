"""Claims: a conditional UPDATE with a lease. Two workers never get the same letter."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, true

from fairwell.domain.model import OutboxState
from fairwell.errors import PlanChanged
from fairwell.ports import Outcome
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.planning import make_plan, queue_plan
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import audit_log, outbox
from tests.conftest import FixedClock
from tests.helpers import import_and_reject_all, people

COMPOSER = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"))


def queued_store(url: str, tmp_path: Path, clock: FixedClock, count: int) -> SqlStore:
    store = migrated_store(url)
    import_and_reject_all(store, tmp_path / "a.csv", people(count), clock.now())
    queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now())
    return store


def migrated_store(url: str) -> SqlStore:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return SqlStore(engine)


def test_two_workers_never_claim_the_same_letter(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    queued_store(database_url, tmp_path, clock, 300)
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def work(owner: str) -> None:
        store = SqlStore(make_engine(database_url))
        now = clock.now()
        while batch := store.claim(owner, now, now + timedelta(minutes=2), 7):
            claimed[owner].extend(letter.id for letter in batch)
        store.engine.dispose()

    threads = [threading.Thread(target=work, args=(owner,)) for owner in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = claimed["a"] + claimed["b"]
    assert len(every) == 300 and len(set(every)) == 300


def test_a_dead_workers_letters_come_back_when_the_lease_ends(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    store = queued_store(database_url, tmp_path, clock, 5)
    now = clock.now()
    first = store.claim("dead", now, now + timedelta(minutes=2), 10)
    assert len(first) == 5
    # It handed two letters to the relay, then died: only those two may go twice.
    store.mark_handed("dead", (first[0].id, first[1].id))
    assert store.claim("alive", now, now + timedelta(minutes=2), 10) == []
    clock.advance(minutes=3)
    later = clock.now()
    again = store.claim("alive", later, later + timedelta(minutes=2), 10)
    assert sorted(letter.id for letter in again) == sorted(letter.id for letter in first)
    assert [letter.recovered for letter in sorted(again, key=lambda x: x.id)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert store.outbox_status().possible_duplicates == 2
    # The new claim starts unmarked: dying again before handing anything counts nothing more.
    clock.advance(minutes=3)
    last = clock.now()
    assert not any(letter.recovered for letter in store.claim("x", last, last, 10))
    assert store.outbox_status().possible_duplicates == 2


def test_a_commit_of_results_writes_what_sqlalchemy_reads_back(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """The statements of each commit of results run as driver SQL (storage/claims.py): their
    times and audit rows must read back exactly as the rest of the store writes them."""
    store = queued_store(database_url, tmp_path, clock, 6)
    now = clock.now()
    claimed = sorted(store.claim("w", now, now + timedelta(minutes=2), 6), key=lambda x: x.id)
    ids = [letter.id for letter in claimed]
    clock.advance(seconds=1.25)  # microseconds too: the stored text must keep them
    later = clock.now()
    sent = [Outcome(letter_id, OutboxState.SENT) for letter_id in ids[:3]]
    store.record_outcomes(sent, "w", later, handing=(ids[3], ids[5]))
    rows = {row.id: row for row in store.outbox_rows(None, None, 10)}
    assert [rows[i].sent_at for i in ids] == [later] * 3 + [None] * 3
    assert {rows[i].state for i in ids[3:]} == {OutboxState.SENDING}
    with store.engine.connect() as conn:
        handed = conn.execute(
            select(outbox.c.id).where(outbox.c.handed == true()).order_by(outbox.c.id)
        ).scalars()
        assert list(handed) == ids[3:]
        audits = conn.execute(
            select(audit_log.c.at, audit_log.c.actor, audit_log.c.entity_id, audit_log.c.detail)
            .where(audit_log.c.action == "letter.sent")
            .order_by(audit_log.c.entity_id)
        ).all()
    assert [tuple(row) for row in audits] == [(later, "w", i, "{}") for i in ids[:3]]
    # Another worker's letter is not written over; the loss is audited, not the letter.
    store.record_outcomes([Outcome(ids[3], OutboxState.SENT)], "someone-else", later)
    assert store.outbox_rows(None, None, 10)[3].state is OutboxState.SENDING
    store.engine.dispose()


def test_a_batch_is_queued_whole_or_not_at_all(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    store = migrated_store(database_url)
    import_and_reject_all(store, tmp_path / "a.csv", people(700), clock.now())
    with pytest.raises(PlanChanged):
        queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now(), expected=699)
    assert store.outbox_status().counts == {}
    assert make_plan(store, COMPOSER, "Data Analyst", clock.now()).ready == 700
    store.engine.dispose()


def test_a_paused_outbox_gives_out_nothing(tmp_path: Path, clock: FixedClock) -> None:
    store = queued_store(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, clock, 3)
    store.set_paused(True, "t", clock.now())
    now = clock.now()
    assert store.claim("w", now, now + timedelta(minutes=1), 10) == []
    store.set_paused(False, "t", clock.now())
    assert len(store.claim("w", now, now + timedelta(minutes=1), 10)) == 3
    assert store.outbox_status().counts == {OutboxState.SENDING.value: 3}


def test_a_claim_reads_only_the_letters_still_to_go_through_the_partial_indexes(
    sqlite_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """Letters not waiting or claimed are in none of the claim's indexes (0026), and the
    statements a real claim runs to pick its candidates use them. PostgreSQL's plan depends
    on its table statistics: not asked."""
    from sqlalchemy import event

    store = queued_store(sqlite_url, tmp_path, clock, 3)
    ran: list[tuple[str, tuple[object, ...]]] = []

    def note(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if sql.lstrip().startswith("SELECT outbox.id \nFROM outbox JOIN batches"):
            ran.append((sql, tuple(params)))  # type: ignore[arg-type]

    event.listen(store.engine, "before_cursor_execute", note)
    store.claim("w", clock.now(), clock.now() + timedelta(minutes=2), 10)
    event.remove(store.engine, "before_cursor_execute", note)
    with store.engine.connect() as conn:
        plans = [
            " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in ran
        ]
    assert len(plans) == 3, ran  # abandoned, queued, retry
    assert "USING INDEX ix_outbox_sending_lease" in plans[0], plans[0]
    assert "USING INDEX ix_outbox_queued_due" in plans[1], plans[1]
    assert "USING INDEX ix_outbox_retry_due" in plans[2], plans[2]
    assert (indexed(store, "queued"), indexed(store, "sending")) == (0, 3)


def indexed(store: SqlStore, state: str) -> int:
    """The letters in a state, counted through that state's partial index."""
    from sqlalchemy import text

    queries = {
        "queued": "SELECT count(*) FROM outbox INDEXED BY ix_outbox_queued_due "
        "WHERE state = 'queued'",
        "sending": "SELECT count(*) FROM outbox INDEXED BY ix_outbox_sending_lease "
        "WHERE state = 'sending'",
    }
    with store.engine.connect() as conn:
        return int(conn.execute(text(queries[state])).scalar_one())
