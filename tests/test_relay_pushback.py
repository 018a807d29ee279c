"""The relay's push-back is obeyed, against a local relay scripted with those replies.

452 (too many recipients or messages in this session) closes the session and the next letters
go on a fresh one, instead of being retried on the same session with doubling backoff. 421,
454 or a refused connection make every worker wait FAIRWELL_SLOW_DOWN_SECONDS, whether or
not a rate is set, and the rest of the claim goes back to the queue without spending an
attempt. No timing: waits are recorded by a fake wall clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fairwell.delivery.smtp import SmtpTransport
from fairwell.services.delivery import Deliverer, DeliveryPolicy, SlowDown
from fairwell.storage.engine import make_engine
from fairwell.storage.rates_store import SqlSendSlots
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import outbox
from tests.conftest import FixedClock
from tests.smtp_server import ScriptedSmtpServer, Step, unused_port
from tests.test_delivery_faults import queue, smtp, states
from tests.test_rate_limit import FakeWall


@pytest.fixture(autouse=True, params=[False, True], ids=["one-by-one", "pipelined"])
def _both_ways_of_talking_smtp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScriptedSmtpServer, "pipelining_by_default", request.param)


def attempts(store: SqlStore) -> tuple[int, int]:
    """The fewest and the most attempts any letter took."""
    with store.engine.connect() as conn:
        query = select(func.min(outbox.c.attempts), func.max(outbox.c.attempts))
        low, high = conn.execute(query).one()
    return int(low), int(high)


def deliver_all(worker: Deliverer) -> None:
    while worker.run_once().claimed:
        pass


def slowed_worker(
    store: SqlStore, transport: SmtpTransport, clock: FixedClock, wall: FakeWall
) -> Deliverer:
    slow_down = SlowDown(SqlSendSlots(store.engine), 30.0, wall=wall, sleep=wall.sleep)
    policy = DeliveryPolicy(claim_batch=100)
    return Deliverer(store, transport, clock, "w", policy, slow_down=slow_down)


def test_five_hundred_letters_go_through_a_relay_that_takes_twenty_a_session(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    queue(store, tmp_path, clock, 500)
    with ScriptedSmtpServer(per_session=20) as relay:
        deliver_all(Deliverer(store, smtp(relay), clock, "w", DeliveryPolicy(claim_batch=250)))
    assert states(store) == {"sent": 500}
    assert len(relay.received) == 500
    assert relay.connections == 25, "a fresh session after each 452, never a retry on the old one"
    assert relay.session_full_replies == 24
    assert attempts(store) == (1, 1), "no letter spent an attempt on a full session"


def test_a_452_on_a_fresh_session_is_the_letters_own_temporary_failure(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    queue(store, tmp_path, clock, 1)
    with ScriptedSmtpServer(Step.refuse("RCPT", "452 4.2.2 mailbox full")) as relay:
        Deliverer(store, smtp(relay), clock, "w", DeliveryPolicy()).run_once()
    assert states(store) == {"retry": 1}
    assert relay.connections == 1 and relay.quits == 1, "the session was closed, politely"


@pytest.mark.parametrize("reply", ["421 4.7.0 Try again later", "454 4.7.0 TLS not available"])
def test_after_421_or_454_every_worker_waits_the_slow_down_without_a_rate_limit(
    store: SqlStore, tmp_path: Path, clock: FixedClock, reply: str
) -> None:
    queue(store, tmp_path, clock, 50)
    wall = FakeWall()
    with ScriptedSmtpServer(Step.refuse("MAIL", reply)) as relay:
        stats = slowed_worker(store, smtp(relay), clock, wall).run_once()
        assert (stats.retried, stats.released, stats.sent) == (1, 49, 0)
        assert states(store) == {"retry": 1, "queued": 49}
        assert attempts(store) == (0, 1), "the 49 given back spent no attempt"
        assert SqlSendSlots(store.engine).backoff_until() == pytest.approx(wall.now + 30)
        # Another worker process, its own engine: it waits the same 30 seconds, then sends.
        other = SqlStore(make_engine(str(store.engine.url)))
        other_wall = FakeWall()
        deliver_all(slowed_worker(other, smtp(relay), clock, other_wall))
        other.engine.dispose()
    assert other_wall.slept == pytest.approx([30.0])
    assert states(store) == {"sent": 49, "retry": 1}
    assert len(relay.received) == 49


def test_a_refused_connection_makes_every_worker_wait_too(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    queue(store, tmp_path, clock, 20)
    wall = FakeWall()
    nowhere = SmtpTransport(host="127.0.0.1", port=unused_port(), security="none", timeout=5)
    stats = slowed_worker(store, nowhere, clock, wall).run_once()
    assert (stats.retried, stats.released) == (1, 19)
    assert SqlSendSlots(store.engine).backoff_until() == pytest.approx(wall.now + 30)


def test_without_push_back_nobody_waits(store: SqlStore, tmp_path: Path, clock: FixedClock) -> None:
    queue(store, tmp_path, clock, 5)
    wall = FakeWall()
    with ScriptedSmtpServer() as relay:
        deliver_all(slowed_worker(store, smtp(relay), clock, wall))
    assert wall.slept == [] and states(store) == {"sent": 5}
