"""Several SMTP sessions per worker (FAIRWELL_SMTP_CONNECTIONS): same letters, same checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairwell.delivery.sessions import SessionPerThread
from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.model import OutboxState
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.services.planning import queue_plan
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import import_and_reject_all, people, tamper_with_letter
from tests.smtp_server import ScriptedSmtpServer

CONNECTIONS = 4
COMPOSER = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"))


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer(pipelining=True) as running:
        yield running


def queue(store: SqlStore, tmp_path: Path, clock: FixedClock, count: int) -> int:
    import_and_reject_all(store, tmp_path / "a.csv", people(count), clock.now())
    return queue_plan(store, COMPOSER, "Data Analyst", actor="t", now=clock.now()).batch_id


def sessions(server: ScriptedSmtpServer) -> SessionPerThread:
    return SessionPerThread(
        lambda: SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)
    )


def deliverer(store: SqlStore, clock: FixedClock, transport: SessionPerThread) -> Deliverer:
    policy = DeliveryPolicy(commit_every=5)
    return Deliverer(store, transport, clock, "w", policy, connections=CONNECTIONS)


def test_every_letter_goes_once_to_its_one_recipient_over_several_sessions(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue(store, tmp_path, clock, 40)
    transport = sessions(server)

    stats = deliverer(store, clock, transport).run_once()
    transport.close()

    assert stats.sent == 40 and store.outbox_status().counts == {"sent": 40}
    recipients = Counter(tuple(message.rcpt_tos) for message in server.received)
    assert recipients == Counter((f"p{i}@example.com",) for i in range(40))
    assert 1 <= transport.sessions <= CONNECTIONS and server.connections == transport.sessions


def test_a_held_letter_stops_every_letter_not_yet_started(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    batch_id = queue(store, tmp_path, clock, 12)
    tampered = tamper_with_letter(
        store.engine,
        last=False,
        old=b"Your reference:",
        new=b"Also rejected: p11@example.com. Your reference:",
    )

    stats = deliverer(store, clock, sessions(server)).run_once()

    # Letters already on another session when the first was held may finish; none after.
    assert stats.held == 1 and stats.sent <= CONNECTIONS - 1
    assert stats.sent + stats.released == 11
    assert store.outbox_status().paused_batches == (batch_id,)
    (held,) = store.outbox_rows(OutboxState.HELD, None, 10)
    assert held.id == tampered and held.held_rule == "no-other-candidate"
    assert all(b"Also rejected" not in message.data for message in server.received)
