"""Delivery against a real SMTP server whose replies are scripted per message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.model import OutboxState
from fairwell.ports import Transport
from fairwell.rendering import LetterTemplates
from fairwell.services import outbox as outbox_service
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.services.planning import queue_plan
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import import_and_reject_all, people, tamper_with_letter
from tests.smtp_server import ScriptedSmtpServer, Step


@pytest.fixture(autouse=True, params=[False, True], ids=["one-by-one", "pipelined"])
def _both_ways_of_talking_smtp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test here runs against a relay without and with PIPELINING (RFC 2920)."""
    monkeypatch.setattr(ScriptedSmtpServer, "pipelining_by_default", request.param)


COMPOSER = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"))


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as running:
        yield running


def queue(store: SqlStore, tmp_path: Path, clock: FixedClock, count: int) -> int:
    import_and_reject_all(store, tmp_path / "a.csv", people(count), clock.now())
    return queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now()).batch_id


def deliverer(store: SqlStore, clock: FixedClock, transport: Transport) -> Deliverer:
    return Deliverer(store, transport, clock, "worker-1", DeliveryPolicy())


def smtp(server: ScriptedSmtpServer) -> SmtpTransport:
    return SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)


def states(store: SqlStore) -> dict[str, int]:
    return store.outbox_status().counts


@pytest.mark.parametrize(
    "reply", ["421 4.3.2 busy", "451 4.3.0 try later", "452 4.3.1 full", "454 4.7.0 tls trouble"]
)
def test_a_temporary_refusal_is_retried_later_and_then_delivered(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer, reply: str
) -> None:
    queue(store, tmp_path, clock, 1)
    server.script(Step.refuse("RCPT", reply))
    worker = deliverer(store, clock, smtp(server))
    worker.run_once()
    assert states(store) == {"retry": 1}
    worker.run_once()
    assert states(store) == {"retry": 1}, "a retry waits for its backoff"
    clock.advance(seconds=31)
    worker.run_once()
    assert states(store) == {"sent": 1}
    assert len(server.received) == 1


@pytest.mark.parametrize("reply", ["550 5.1.1 no such user", "553 5.1.3 bad address"])
def test_a_permanent_refusal_fails_and_suppresses_the_address(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer, reply: str
) -> None:
    queue(store, tmp_path, clock, 2)
    server.script(Step.refuse("RCPT", reply))
    deliverer(store, clock, smtp(server)).run_once()
    assert states(store) == {"failed": 1, "sent": 1}
    failed = store.outbox_rows(OutboxState.FAILED, None, 10)[0]
    assert failed.last_code == int(reply[:3])

    outbox_service.requeue(store, ids=[failed.id], actor="t", now=clock.now())
    deliverer(store, clock, smtp(server)).run_once()
    held = store.outbox_rows(OutboxState.HELD, None, 10)
    assert [row.id for row in held] == [failed.id], "a suppressed address is never written to"
    assert len(server.received) == 1


def test_a_4xx_is_retried_until_the_deadline_then_fails(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 1)
    server.script(*[Step.refuse("MAIL", "451 4.3.0 later")] * 60)
    worker = deliverer(store, clock, smtp(server))
    for _ in range(60):  # the deadline is 48 hours
        worker.run_once()
        clock.advance(hours=1)
    assert states(store) == {"failed": 1}
    assert "gave up" in (store.outbox_rows(OutboxState.FAILED, None, 1)[0].last_error or "")


def test_a_connection_dropped_after_data_is_retried_and_counted_as_possible_duplicate(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 1)
    server.script(Step.drop_after_data())
    worker = deliverer(store, clock, smtp(server))
    worker.run_once()
    assert states(store) == {"retry": 1}
    clock.advance(minutes=1)
    worker.run_once()
    assert states(store) == {"sent": 1}
    assert store.outbox_status().possible_duplicates == 1
    assert len(server.possibly_received) == 1 and len(server.received) == 1


def test_a_server_that_closes_mid_batch_is_reconnected_and_the_batch_resumes(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    queue(store, tmp_path, clock, 10)
    with ScriptedSmtpServer(close_after=3) as server:
        worker = deliverer(store, clock, smtp(server))
        for _ in range(5):
            worker.run_once()
            clock.advance(minutes=1)
        assert states(store) == {"sent": 10}
        assert len(server.received) == 10 and server.connections >= 4


class ExplodingTransport:
    """A transport with a bug: it raises something that is not a delivery error."""

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        raise RuntimeError("bug")

    def close(self) -> None:
        return None


def test_anything_unexpected_is_quarantined_and_requeue_puts_it_back(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 2)
    deliverer(store, clock, ExplodingTransport()).run_once()
    assert states(store) == {"quarantined": 2}
    assert outbox_service.requeue(store, actor="t", now=clock.now()) == 2
    deliverer(store, clock, smtp(server)).run_once()
    assert states(store) == {"sent": 2}


def test_a_letter_tampered_with_after_planning_is_held_and_the_batch_stops(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    batch_id = queue(store, tmp_path, clock, 6)
    tamper_with_letter(
        store.engine,
        last=False,
        old=b"Your reference:",
        new=b"Also rejected: p5@example.com. Your reference:",
    )

    stats = deliverer(store, clock, smtp(server)).run_once()

    assert stats.held == 1 and stats.sent == 0 and stats.released == 5
    assert states(store) == {"held": 1, "queued": 5}
    assert store.outbox_status().paused_batches == (batch_id,)
    assert store.outbox_rows(OutboxState.HELD, None, 1)[0].held_rule == "no-other-candidate"
    assert server.received == []
    assert deliverer(store, clock, smtp(server)).run_once().claimed == 0, "the batch is paused"


def test_resuming_the_outbox_resumes_a_batch_the_guard_paused_not_one_paused_by_hand(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    from sqlalchemy import select

    from fairwell.storage.batches_read import SqlBatches
    from fairwell.storage.tables import batches

    batch_id = queue(store, tmp_path, clock, 3)
    tamper_with_letter(store.engine, last=False, old=b"Your reference:", new=b"p2@example.com")
    deliverer(store, clock, smtp(server)).run_once()

    def state() -> str:
        with store.engine.connect() as conn:
            found = conn.execute(select(batches.c.state).where(batches.c.id == batch_id))
            return str(found.scalar())

    assert store.outbox_status().paused_batches == (batch_id,)
    assert state() == "guard_paused"
    store.set_paused(False, "t", clock.now())
    assert state() == "active", "once the cause is fixed, resuming the outbox resumes it"

    SqlBatches(store.engine).set_paused(batch_id, True, "t", clock.now())
    store.set_paused(True, "t", clock.now())
    store.set_paused(False, "t", clock.now())
    assert state() == "paused", "paused by a person: stays paused until a person resumes it"
    SqlBatches(store.engine).set_paused(batch_id, False, "t", clock.now())
    assert state() == "active"
