"""Big jobs in bounded memory: a streamed roster of everyone on file, the hashed roster in the
real flow, one roster per process brought up to date with only what changed, plans that do
not grow with the job, and a queue streamed in chunks that is still all or nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from fairwell.domain.model import OutboxState
from fairwell.guard import roster as roster_module
from fairwell.guard.roster import CountedEntries, Roster, RosterEntry, RosterKind
from fairwell.ports import RosterChanges
from fairwell.rendering import LetterTemplates
from fairwell.services import planning
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.services.erasure import erase_person
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.rosters import RosterCache
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.erasure_store import SqlPrivacyStore
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import applicant, import_and_reject_all, people, tamper_with_letter, write_csv

COMPOSER = Composer(LetterTemplates(), Sender("careers@acme.example.com", "Acme", "Acme"))


class RecordingTransport:
    def __init__(self) -> None:
        self.recipients: list[str] = []

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        self.recipients.append(recipient)

    def close(self) -> None:
        return None


def test_the_roster_is_everyone_on_file_counted_then_streamed_in_person_id_order(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    store = any_store
    designers = [applicant("q@example.com", "Quinn", "Roe", job="Designer")]
    again = [applicant("p1@example.com", "Pat", "Doe1", job="Designer")]  # a second application
    rows = [*people(5), *designers, *again]
    import_file(store, write_csv(tmp_path / "a.csv", rows), actor="t", now=clock.now())
    erased = SqlPrivacyStore(store.engine).person_id("p4@example.com")
    assert erased is not None
    erase_person(SqlPrivacyStore(store.engine), erased, "t", clock.now())

    roster = store.roster()

    assert len(roster) == 5, "both jobs, each person once, the erased tombstone aside"
    entries = list(roster)
    assert [e.person_id for e in entries] == sorted(e.person_id for e in entries)
    assert {e.email for e in entries} == {*(f"p{i}@example.com" for i in range(4)), "q@example.com"}
    refs = {e.email: e.application_refs for e in entries}
    assert len(refs["p1@example.com"]) == 2 and len(refs["p0@example.com"]) == 1
    assert list(roster) == entries, "each iteration reads the roster afresh"


def test_a_big_job_is_planned_queued_and_guarded_with_the_hashed_roster(
    store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_module, "COMPACT_FROM", 5)
    import_and_reject_all(store, tmp_path / "a.csv", people(12), clock.now())
    assert Roster(store.roster()).kind is RosterKind.COMPACT

    plan = make_plan(store, COMPOSER, "Data Analyst", clock.now())
    assert plan.ready == 12 and plan.blocked == []
    queued = queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now())
    assert queued.queued == 12
    tamper_with_letter(
        store.engine,
        last=False,
        old=b"Your reference:",
        new=b"Also rejected: Pat Doe5. Your reference:",
    )

    transport = RecordingTransport()
    stats = Deliverer(store, transport, clock, "w", DeliveryPolicy()).run_once()

    assert stats.held == 1 and stats.sent == 0
    held = store.outbox_rows(OutboxState.HELD, None, 1)[0]
    assert held.held_rule == "no-other-candidate"
    assert transport.recipients == []


class RosterCounting(SqlStore):
    """The real store, counting how often the whole roster and how often changes are read."""

    rosters_read = 0
    changes_read = 0

    def roster(self) -> CountedEntries:
        self.rosters_read += 1
        return super().roster()

    def roster_changes(self, since: int, limit: int) -> RosterChanges | None:
        self.changes_read += 1
        return super().roster_changes(since, limit)


def test_the_process_roster_takes_in_only_the_people_changed_since_it_was_built(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both kinds of base: the hashed one too, as a million people on file would make.
    monkeypatch.setattr(roster_module, "COMPACT_FROM", 3)
    counting = RosterCounting(any_store.engine)
    import_file(counting, write_csv(tmp_path / "a.csv", people(4)), actor="t", now=clock.now())
    rosters = RosterCache(counting)
    first = rosters.current()
    assert rosters.current() is first, "nothing changed: the same roster, nothing read"
    assert (counting.rosters_read, counting.changes_read) == (1, 0)

    designer = applicant("noor@example.com", "Noor", "Haddad", job="Designer")
    import_file(counting, write_csv(tmp_path / "b.csv", [designer]), actor="t", now=clock.now())
    renamed = [applicant("p1@example.com", "Robin", "Doe1")]
    import_file(counting, write_csv(tmp_path / "c.csv", renamed), actor="t", now=clock.now())
    gone = SqlPrivacyStore(counting.engine).person_id("p2@example.com")
    assert gone is not None
    erase_person(SqlPrivacyStore(counting.engine), gone, "t", clock.now())
    now = rosters.current()

    assert (counting.rosters_read, counting.changes_read) == (1, 1), "the changes, not everyone"
    assert (rosters.builds, rosters.updates, now.changed, now.size) == (1, 1, 3, 4)
    addressee = first_person(counting, "p0@example.com")
    text = "Dear Pat Doe0, also Noor Haddad, Robin Doe1, Pat Doe1 and Pat Doe2"
    assert sorted(m.person_id for m in now.mentions_of_others(text, addressee)) == sorted(
        [first_person(counting, "noor@example.com"), first_person(counting, "p1@example.com")]
    ), "the newcomer of another job and the new name count; the old name and the erased do not"
    assert rosters.current() is now


def test_the_process_roster_is_built_again_after_too_many_changes(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    counting = RosterCounting(store.engine)
    import_file(counting, write_csv(tmp_path / "a.csv", people(2)), actor="t", now=clock.now())
    rosters = RosterCache(counting, changed_limit=2)
    rosters.current()
    import_file(counting, write_csv(tmp_path / "b.csv", people(5)), actor="t", now=clock.now())

    rebuilt = rosters.current()

    assert (rosters.builds, rosters.updates, rebuilt.changed, rebuilt.size) == (2, 0, 0, 5)
    assert counting.rosters_read == 2


def first_person(store: SqlStore, email: str) -> int:
    person_id = SqlPrivacyStore(store.engine).person_id(email)
    assert person_id is not None
    return person_id


def test_one_process_plans_queues_and_delivers_with_one_roster_until_the_roster_changes(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    counting = RosterCounting(store.engine)
    import_and_reject_all(counting, tmp_path / "a.csv", people(4), clock.now())
    rosters = RosterCache(counting)
    composer = Composer(COMPOSER.templates, COMPOSER.sender, rosters=rosters)

    plan = make_plan(counting, composer, "Data Analyst", clock.now())
    queued = queue_plan(counting, composer, "Data Analyst", actor="t", now=clock.now())
    assert (plan.ready, queued.queued, counting.rosters_read) == (4, 4, 1)

    # Someone applies for another job after the letters were written: delivery needs them on
    # the roster, and a tampered letter now carries their name.
    newcomer = applicant("new@example.com", "Noor", "Haddad", job="Designer")
    import_file(counting, write_csv(tmp_path / "b.csv", [newcomer]), actor="t", now=clock.now())
    tamper_with_letter(
        counting.engine,
        last=False,
        old=b"Your reference:",
        new=b"Also: Noor Haddad. Your reference:",
    )
    transport = RecordingTransport()
    deliverer = Deliverer(counting, transport, clock, "w", DeliveryPolicy(), rosters=rosters)
    stats = deliverer.run_once()

    assert (counting.rosters_read, counting.changes_read) == (1, 1), "the newcomer, not everyone"
    # The leak stops the batch: the other three letters go back to the queue unsent.
    assert (stats.held, stats.released, stats.sent) == (1, 3, 0)
    assert counting.outbox_rows(OutboxState.HELD, None, 1)[0].held_rule == "no-other-candidate"
    without_cache = RosterCounting(store.engine)
    make_plan(without_cache, COMPOSER, "Data Analyst", clock.now())
    # A plan still current is not composed again; an old one is, with a roster read again.
    clock.advance(hours=2)
    make_plan(without_cache, COMPOSER, "Data Analyst", clock.now())
    assert without_cache.rosters_read == 2, "a composer without the cache keeps no roster"


def test_the_roster_version_moves_with_who_is_on_file_and_only_with_it(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    """The process's roster is only as good as what the triggers note: each step names the
    people whose identifiers it changed, and none other."""
    store, engine = any_store, any_store.engine
    now = clock.now()
    designer = applicant("d@example.com", "Dana", "Lee", job="Designer")
    import_file(store, write_csv(tmp_path / "a.csv", [*people(3), designer]), actor="t", now=now)

    def noted(step: Callable[[], object]) -> dict[str, RosterEntry | None]:
        """Who the step changed (by address before the step), and as what."""
        before = store.roster_version()
        emails = {e.person_id: e.email for e in store.roster()}
        step()
        changes = store.roster_changes(before, 100)
        assert changes is not None
        assert (changes.version != before) == bool(changes.people), "version moves with people"
        assert changes.version == store.roster_version()
        return {emails.get(i, "new"): entry for i, entry in changes.people.items()}

    def run(sql: str) -> Callable[[], object]:
        def step() -> None:
            with engine.begin() as conn:
                conn.execute(text(sql))

        return step

    def imported(rows: list[dict[str, str]]) -> Callable[[], object]:
        return lambda: import_file(store, write_csv(tmp_path / "b.csv", rows), actor="t", now=now)

    joined = noted(imported(people(4)))
    assert list(joined) == ["new"] and joined["new"] is not None
    assert joined["new"].full_name == "Pat Doe3" and len(joined["new"].application_refs) == 1
    assert noted(imported(people(4, stage="onsite"))) == {}, "a stage is not on the roster"
    renamed = noted(imported([*people(3), applicant("p3@example.com", "Renamed", "Person")]))
    assert [entry.full_name for entry in renamed.values() if entry] == ["Renamed Person"]
    second = noted(imported([applicant("p0@example.com", "Pat", "Doe0", job="Designer")]))
    assert list(second) == ["p0@example.com"], "a second application is a second reference"
    assert second["p0@example.com"] is not None
    assert len(second["p0@example.com"].application_refs) == 2
    moved = "UPDATE persons SET email = 'x@example.com' WHERE email = 'd@example.com'"
    assert list(noted(run(moved))) == ["d@example.com"]
    assert noted(run("UPDATE persons SET locale = 'de'")) == {}
    assert noted(run("UPDATE jobs SET title = 'Design Lead' WHERE title = 'Designer'")) == {}
    assert list(noted(run("UPDATE applications SET ref = 'FW-NEW' WHERE id = 1"))) == [
        "p0@example.com"
    ]
    assert noted(run("UPDATE applications SET stage = 'screen'")) == {}
    person = SqlPrivacyStore(engine).person_id("p1@example.com")
    assert person is not None
    erasing = lambda: erase_person(SqlPrivacyStore(engine), person, "t", now)  # noqa: E731
    assert noted(erasing) == {"p1@example.com": None}, "erased: off the roster"


def test_a_plan_counts_everyone_it_skips_but_lists_only_the_first_ones(
    store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "SKIPPED_LISTED", 2)
    import_and_reject_all(store, tmp_path / "a.csv", people(5), clock.now())
    queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now())

    again = make_plan(store, COMPOSER, "Data Analyst", clock.now())

    assert again.skipped_counts() == {planning.LETTER_EXISTS: 5}
    assert len(again.skipped) == 2
    shown = again.as_json()
    assert len(shown["skipped"]) == 2  # type: ignore[arg-type]
    assert shown["skipped_not_listed"] == 3


# Queues with a composer that stops for good once two chunks of letters are written.
STALLED_QUEUE = """
import pathlib, sys, time
from fairwell.runtime import open_runtime
from fairwell.config import load_settings
from fairwell.services.planning import compose_pending, queue_plan

runtime = open_runtime(load_settings())
now = runtime.clock.now()

def stalling(job):
    roster = runtime.rosters.current()
    items = compose_pending(runtime.store, runtime.composer, job, roster, now)
    for count, item in enumerate(items):
        if count == int(sys.argv[2]):
            pathlib.Path(sys.argv[1]).write_text("two chunks written")
            time.sleep(600)
        yield item

queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now, composing=stalling)
"""


def test_a_queue_killed_half_way_leaves_no_half_queued_batch(
    any_store: SqlStore, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    store = any_store
    import_and_reject_all(store, tmp_path / "a.csv", people(1100), clock.now())
    marker = tmp_path / "stalled"
    env = {
        **os.environ,
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_SEND_WINDOWS": "off",
    }
    command = [sys.executable, "-c", STALLED_QUEUE, str(marker), "1050"]
    queueing = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert queueing.poll() is None, queueing.stderr.read() if queueing.stderr else ""
            assert time.monotonic() < deadline, "the queue never got half way"
            time.sleep(0.05)
    finally:
        queueing.send_signal(signal.SIGKILL)
        queueing.wait(10)

    assert store.outbox_status().counts == {}
    assert make_plan(store, COMPOSER, "Data Analyst", clock.now()).ready == 1100
    assert queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now()).queued == 1100


def test_on_postgresql_writers_that_change_who_is_on_file_commit_in_the_order_of_their_versions(
    postgres_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """A process that has seen version V must have seen every change up to V: a writer that
    took a later version may not commit before one that took an earlier version."""
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    import_file(store, write_csv(tmp_path / "a.csv", people(1)), actor="t", now=clock.now())
    before = store.roster_version()
    second_done = threading.Event()

    def second_writer() -> None:
        import_file(
            store,
            write_csv(tmp_path / "b.csv", [applicant("b@example.com", "Bo", "Lee")]),
            actor="t",
            now=clock.now(),
        )
        second_done.set()

    with store.engine.connect() as first:
        with first.begin():
            first.execute(
                text("UPDATE persons SET first_name = 'Robin' WHERE email = 'p0@example.com'")
            )
            writer = threading.Thread(target=second_writer)
            writer.start()
            assert not second_done.wait(1.0), "the second writer waits for the first to commit"
            assert store.roster_version() == before, "nothing uncommitted is seen"
        writer.join(30)
    assert second_done.is_set()

    changes = store.roster_changes(before, 10)
    assert changes is not None and changes.version == store.roster_version()
    names = {entry.full_name for entry in changes.people.values() if entry}
    assert names == {"Robin Doe0", "Bo Lee"}, "both changes, at versions in commit order"
    store.engine.dispose()
