"""Rates every worker keeps together: send slots reserved in the database.

No timing here: slots are checked as numbers (a fixed "now" and recorded sleeps). How close
the observed rate comes to the configured one is measured by bench/ratelimit.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairwell.delivery.smtp import SmtpTransport
from fairwell.services.delivery import (
    Deliverer,
    DeliveryPolicy,
    SendRates,
    SharedRateLimit,
)
from fairwell.storage.engine import make_engine
from fairwell.storage.rates_store import SqlSendSlots
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.smtp_server import ScriptedSmtpServer, Step
from tests.test_delivery_faults import queue, states
from tests.test_outbox_claims import migrated_store

NOW = 1_000_000.0


def slots_for(database_url: str) -> SqlSendSlots:
    return SqlSendSlots(migrated_store(database_url).engine)


def test_two_workers_share_one_rate(database_url: str) -> None:
    first, second = slots_for(database_url), SqlSendSlots(make_engine(database_url))
    tenth = [("rate:overall", 0.1)]
    starts = [(first if i % 2 else second).reserve(tenth, NOW) for i in range(6)]
    assert starts == pytest.approx([NOW + 0.1 * i for i in range(6)])


def test_a_domain_rate_spaces_one_domain_and_not_the_others(database_url: str) -> None:
    slots = slots_for(database_url)

    def reserve(domain: str) -> float:
        return slots.reserve([("rate:overall", 0.1), (f"rate:domain:{domain}", 1.0)], NOW)

    assert reserve("a.example") == pytest.approx(NOW)
    assert reserve("b.example") == pytest.approx(NOW + 0.1)
    assert reserve("a.example") == pytest.approx(NOW + 1.0), "a.example waits its second"
    assert reserve("b.example") == pytest.approx(NOW + 1.1)


def test_a_slow_down_delays_every_slot(database_url: str) -> None:
    slots = slots_for(database_url)
    slots.back_off(NOW + 30)
    slots.back_off(NOW + 5)  # an earlier end never shortens a backoff
    assert slots.reserve([("rate:overall", 0.5)], NOW) == pytest.approx(NOW + 30)


def test_concurrent_workers_never_get_the_same_slot(database_url: str) -> None:
    slots_for(database_url)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        mine = SqlSendSlots(make_engine(database_url))
        for _ in range(40):
            start = mine.reserve([("rate:overall", 0.01)], NOW)
            with lock:
                starts.append(start)
        mine.engine.dispose()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(starts) == pytest.approx([NOW + 0.01 * i for i in range(160)])


class FakeWall:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limited(store: SqlStore, rates: SendRates, wall: FakeWall) -> SharedRateLimit:
    return SharedRateLimit(SqlSendSlots(store.engine), rates, wall=wall, sleep=wall.sleep)


def test_a_worker_waits_for_its_slots_and_sends_at_the_rate(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 5)
    wall = FakeWall()
    transport = SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)
    limit = limited(store, SendRates(overall=4.0), wall)
    Deliverer(store, transport, clock, "w", DeliveryPolicy(), rate_limit=limit).run_once()
    assert states(store) == {"sent": 5}
    assert wall.slept == pytest.approx([0.25] * 4), "a quarter second between letters"


def test_letters_whose_slot_comes_after_the_lease_go_back_unsent(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 6)
    wall = FakeWall()
    transport = SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)
    # One letter a minute; a two-minute lease leaves 90 s of usable slots: two letters.
    limit = limited(store, SendRates(per_domain=1 / 60), wall)
    stats = Deliverer(store, transport, clock, "w", DeliveryPolicy(), rate_limit=limit).run_once()
    assert stats.sent == 2 and stats.released == 4
    assert states(store) == {"sent": 2, "queued": 4}
    assert len(server.received) == 2


def test_a_relay_that_says_slow_down_backs_every_worker_off(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 1)
    server.script(Step.refuse("RCPT", "421 4.7.0 slow down"))
    wall = FakeWall()
    transport = SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)
    limit = limited(store, SendRates(overall=10.0, slow_down_seconds=45), wall)
    Deliverer(store, transport, clock, "w", DeliveryPolicy(), rate_limit=limit).run_once()
    assert states(store) == {"retry": 1}
    assert SqlSendSlots(store.engine).backoff_until() == pytest.approx(wall.now + 45)
    other_worker = SqlSendSlots(make_engine(str(store.engine.url)))
    assert other_worker.reserve([("rate:overall", 0.1)], wall.now) >= wall.now + 45


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as running:
        yield running
