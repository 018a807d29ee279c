"""Big jobs in bounded memory: a streamed roster, the hashed roster in the real flow, caches and
plans that do not grow with the job, and a queue streamed in chunks that is still all or nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from fairwell.domain import roster as roster_module
from fairwell.domain.model import OutboxState
from fairwell.domain.roster import CountedEntries, Roster, RosterKind
from fairwell.rendering import LetterTemplates
from fairwell.services import planning
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import Deliverer, DeliveryPolicy, RosterCache
from fairwell.services.erasure import erase_person
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
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


def test_the_roster_is_counted_then_streamed_in_person_id_order(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    import_and_reject_all(store, tmp_path / "a.csv", people(7), clock.now())
    job = store.job_by_title("Data Analyst")
    rows = store.roster(job.id)
    assert len(rows) == 7
    entries = list(rows)
    assert [e.person_id for e in entries] == sorted(e.person_id for e in entries)
    assert {e.email for e in entries} == {f"p{i}@example.com" for i in range(7)}
    assert all(e.full_name.startswith("Pat Doe") and len(e.application_refs) == 1 for e in entries)
    assert list(rows) == entries, "each iteration reads the roster afresh"


def test_a_big_job_is_planned_queued_and_guarded_with_the_hashed_roster(
    store: SqlStore, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster_module, "COMPACT_FROM", 5)
    import_and_reject_all(store, tmp_path / "a.csv", people(12), clock.now())
    job = store.job_by_title("Data Analyst")
    assert Roster(store.roster(job.id)).kind is RosterKind.COMPACT

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


def test_a_worker_keeps_rosters_up_to_a_budget_of_people_and_rebuilds_a_changed_one(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    designers = [
        applicant(f"q{i}@example.com", "Quinn", f"Roe{i}", job="Designer") for i in range(4)
    ]
    import_file(
        store, write_csv(tmp_path / "a.csv", people(3) + designers), actor="t", now=clock.now()
    )
    analyst = store.job_by_title("Data Analyst").id
    designer = store.job_by_title("Designer").id
    cache = RosterCache(store, budget=5)

    first = cache.for_job(analyst)
    assert cache.for_job(analyst) is first
    assert cache.for_job(designer).size == 4  # 3 + 4 people are over the budget of 5
    assert cache.for_job(analyst) is not first, "the least recently used roster was let go"

    kept = cache.for_job(analyst)
    import_file(store, write_csv(tmp_path / "b.csv", people(4)), actor="t", now=clock.now())
    rebuilt = cache.for_job(analyst)
    assert rebuilt is not kept and rebuilt.size == 4


class RosterCounting(SqlStore):
    """The real store, counting how many times a roster is read from the database."""

    rosters_read = 0

    def roster(self, job_id: int) -> CountedEntries:
        self.rosters_read += 1
        return super().roster(job_id)


def test_one_process_plans_queues_and_delivers_with_one_roster_until_the_roster_changes(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    counting = RosterCounting(store.engine)
    import_and_reject_all(counting, tmp_path / "a.csv", people(4), clock.now())
    rosters = RosterCache(counting)

    plan = make_plan(counting, COMPOSER, "Data Analyst", clock.now(), rosters=rosters)
    queued = queue_plan(
        counting, COMPOSER, "Data Analyst", actor="t", now=clock.now(), rosters=rosters
    )
    assert (plan.ready, queued.queued, counting.rosters_read) == (4, 4, 1)

    # Someone joins after the letters were written: delivery needs the new roster, whose
    # name a tampered letter now carries.
    newcomer = applicant("new@example.com", "Noor", "Haddad", job="Data Analyst")
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

    assert counting.rosters_read == 2, "the changed roster was read again, once"
    # The leak stops the batch: the other three letters go back to the queue unsent.
    assert (stats.held, stats.released, stats.sent) == (1, 3, 0)
    assert counting.outbox_rows(OutboxState.HELD, None, 1)[0].held_rule == "no-other-candidate"
    without_cache = RosterCounting(store.engine)
    make_plan(without_cache, COMPOSER, "Data Analyst", clock.now())
    make_plan(without_cache, COMPOSER, "Data Analyst", clock.now())
    assert without_cache.rosters_read == 2, "a caller without the cache keeps no roster"


def test_the_roster_version_changes_with_the_roster_and_only_with_it(
    any_store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    """The worker's cached roster is only as good as this counter: the database keeps it."""
    store, engine = any_store, any_store.engine
    now = clock.now()
    designer = applicant("d@example.com", "Dana", "Lee", job="Designer")
    import_file(store, write_csv(tmp_path / "a.csv", [*people(3), designer]), actor="t", now=now)
    analyst, other = store.job_by_title("Data Analyst").id, store.job_by_title("Designer").id

    def changes(step: Callable[[], object]) -> tuple[bool, bool]:
        """Whether the step changed the analyst's and the designer's roster versions."""
        before = store.roster_version(analyst), store.roster_version(other)
        step()
        return store.roster_version(analyst) != before[0], store.roster_version(other) != before[1]

    def run(sql: str) -> Callable[[], object]:
        def step() -> None:
            with engine.begin() as conn:
                conn.execute(text(sql))

        return step

    def imported(rows: list[dict[str, str]]) -> Callable[[], object]:
        return lambda: import_file(store, write_csv(tmp_path / "b.csv", rows), actor="t", now=now)

    assert changes(imported(people(4))) == (True, False), "someone joined the job"
    assert changes(imported(people(4, stage="onsite"))) == (False, False), "a stage is no name"
    renamed = [*people(3), applicant("p3@example.com", "Renamed", "Person")]
    assert changes(imported(renamed)) == (True, False)
    moved = "UPDATE persons SET email = 'x@example.com' WHERE email = 'd@example.com'"
    assert changes(run(moved)) == (False, True), "only the jobs the person applied to"
    assert changes(run("UPDATE persons SET locale = 'de'")) == (False, False)
    assert changes(run("UPDATE applications SET ref = 'FW-NEW' WHERE id = 1")) == (True, False)
    assert changes(run("UPDATE applications SET stage = 'screen'")) == (False, False)
    person = SqlPrivacyStore(engine).person_id("p0@example.com")
    assert person is not None
    erasing = lambda: erase_person(SqlPrivacyStore(engine), person, "t", now)  # noqa: E731
    assert changes(erasing) == (True, False)


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
from fairwell.domain.roster import Roster
from fairwell.runtime import open_runtime
from fairwell.config import load_settings
from fairwell.services.planning import compose_pending, queue_plan

runtime = open_runtime(load_settings())
now = runtime.clock.now()

def stalling(job):
    roster = Roster(runtime.store.roster(job.id))
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
