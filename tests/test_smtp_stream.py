"""A stream of letters on one session: each letter's data rides with the next one's envelope.

Against a real scripted SMTP server (tests/smtp_server.py): every letter still reaches exactly
its one recipient, and each failure is judged exactly as SmtpTransport.send judges it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fairwell.delivery import smtp as smtp_module
from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.model import OutboxState
from fairwell.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from fairwell.ports import Outcome
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.services.planning import queue_plan
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import import_and_reject_all, people
from tests.smtp_server import ScriptedSmtpServer, Step

SENDER = "careers@example.com"


def letter(number: int) -> bytes:
    return (
        f"To: Person {number} <p{number}@example.org>\r\nSubject: Letter {number}\r\n\r\n"
        f"Dear Person {number},\r\n.a line that starts with a dot\r\n.\r\nThank you.\r\n"
    ).encode()


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer(pipelining=True) as running:
        yield running


def transport_for(server: ScriptedSmtpServer) -> SmtpTransport:
    return SmtpTransport(host=server.host, port=server.port, security="none", timeout=5.0)


Stream = Callable[[SmtpTransport, int], dict[int, DeliveryError | None]]


@pytest.fixture(params=[False, True], ids=["submit-only", "collect-first"])
def stream(request: pytest.FixtureRequest) -> Stream:
    """Submit letters 0..count-1 (collecting first, as the worker does, or not), flush, and
    return every letter's verdict by number."""

    def send(transport: SmtpTransport, count: int) -> dict[int, DeliveryError | None]:
        results: dict[int, DeliveryError | None] = {}

        def take(sent: list[tuple[int, DeliveryError | None]]) -> None:
            for key, verdict in sent:
                assert key not in results, "each letter comes back once"
                results[key] = verdict

        for number in range(count):
            if request.param:
                take(transport.collect())
            take(transport.submit(number, SENDER, f"p{number}@example.org", letter(number)))
        take(transport.flush())
        assert sorted(results) == list(range(count)), "every letter comes back"
        return results

    return send


def received(server: ScriptedSmtpServer) -> list[tuple[tuple[str, ...], bytes]]:
    return [(message.rcpt_tos, message.data) for message in server.received]


def test_each_letter_reaches_its_one_recipient_with_one_write_a_letter(
    server: ScriptedSmtpServer, monkeypatch: pytest.MonkeyPatch, stream: Stream
) -> None:
    writes: list[bytes | str] = []

    class CountingSMTP(smtplib.SMTP):
        def send(self, s: bytes | str) -> None:
            writes.append(s)
            super().send(s)

    monkeypatch.setattr(smtp_module.smtplib, "SMTP", CountingSMTP)
    with transport_for(server) as transport:
        before = len(writes)
        assert stream(transport, 10) == dict.fromkeys(range(10))
        during = [w for w in writes[before:] if not (isinstance(w, str) and w.startswith("ehlo"))]

    assert received(server) == [((f"p{n}@example.org",), letter(n)) for n in range(10)]
    # One write opens the first letter, one carries each letter's data and the next
    # envelope, one carries the last data: 11 writes for 10 letters (20 one by one).
    assert len(during) == 11
    assert server.connections == 1


def test_a_refused_recipient_fails_only_its_own_letter(
    server: ScriptedSmtpServer, stream: Stream
) -> None:
    server.script(Step.accept(), Step.refuse("RCPT", "550 5.1.1 no such user"), Step.accept())
    with transport_for(server) as transport:
        results = stream(transport, 3)

    refused = results[1]
    assert isinstance(refused, PermanentDeliveryError) and refused.recipient_refused
    assert results[0] is None and results[2] is None
    assert [rcpts for rcpts, _ in received(server)] == [("p0@example.org",), ("p2@example.org",)]
    assert server.connections == 1


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("554 5.6.0 rejected", PermanentDeliveryError),
        ("451 4.3.0 try later", TransientDeliveryError),
    ],
)
def test_a_refusal_after_the_data_fails_only_that_letter(
    server: ScriptedSmtpServer, reply: str, kind: type[DeliveryError], stream: Stream
) -> None:
    server.script(Step.accept(), Step.refuse("DATA", reply), Step.accept())
    with transport_for(server) as transport:
        results = stream(transport, 3)

    assert isinstance(results[1], kind) and results[1].code == int(reply[:3])
    assert not isinstance(results[1], PermanentDeliveryError) or not results[1].recipient_refused
    assert results[0] is None and results[2] is None
    assert len(server.received) == 2 and server.connections == 1


def test_a_hang_up_after_a_letter_flags_it_and_the_next_goes_on_a_new_session(
    server: ScriptedSmtpServer, stream: Stream
) -> None:
    server.script(Step.accept(), Step.drop_after_data())
    with transport_for(server) as transport:
        results = stream(transport, 4)

    lost = results[1]
    assert isinstance(lost, TransientDeliveryError) and lost.possible_duplicate
    assert [results[n] for n in (0, 2, 3)] == [None, None, None]
    assert [rcpts for rcpts, _ in received(server)] == [
        ("p0@example.org",),
        ("p2@example.org",),
        ("p3@example.org",),
    ]
    assert [m.rcpt_tos for m in server.possibly_received] == [("p1@example.org",)]
    assert server.connections == 2


def test_a_421_after_a_letter_retries_it_and_moves_the_next_to_a_new_session(
    server: ScriptedSmtpServer, stream: Stream
) -> None:
    server.script(Step.refuse("DATA", "421 4.3.2 shutting down"))
    with transport_for(server) as transport:
        results = stream(transport, 3)

    closing = results[0]
    assert isinstance(closing, TransientDeliveryError) and closing.code == 421
    assert not closing.possible_duplicate
    assert results[1] is None and results[2] is None
    assert len(server.received) == 2 and server.connections == 2


def test_a_relay_that_hangs_up_after_some_letters_loses_none_and_flags_any_in_doubt(
    stream: Stream,
) -> None:
    # Hanging up without a 421 is against RFC 5321. Here the relay closes after its second
    # 250 while our next letter's data is on its way: that letter may or may not have been
    # taken, so it comes back flagged as a possible duplicate (to be retried and counted);
    # every other letter reaches the relay; none is lost.
    with ScriptedSmtpServer(pipelining=True, close_after=2) as server:
        with transport_for(server) as transport:
            results = stream(transport, 6)
        delivered = {int(rcpts[0][1]) for rcpts, _ in received(server)}

    in_doubt = {n for n, verdict in results.items() if verdict is not None}
    for n in in_doubt:
        verdict = results[n]
        assert isinstance(verdict, TransientDeliveryError) and verdict.possible_duplicate
    assert delivered | in_doubt == set(range(6))
    assert {n for n, verdict in results.items() if verdict is None} <= delivered


def test_without_pipelining_each_letter_is_sent_whole_at_once() -> None:
    with ScriptedSmtpServer(pipelining=False) as server, transport_for(server) as transport:
        assert transport.submit(0, SENDER, "p0@example.org", letter(0)) == [(0, None)]
        assert transport.flush() == []
        assert len(server.received) == 1


def test_an_open_letter_is_never_half_sent_when_the_session_closes(
    server: ScriptedSmtpServer,
) -> None:
    transport = transport_for(server)
    assert transport.submit(0, SENDER, "p0@example.org", letter(0)) == []
    with pytest.raises(RuntimeError):
        transport.send(SENDER, "p1@example.org", letter(1))
    transport.close()

    assert server.received == [] and server.possibly_received == []


def test_a_bad_envelope_is_refused_without_touching_the_open_letter(
    server: ScriptedSmtpServer,
) -> None:
    with transport_for(server) as transport:
        assert transport.submit(0, SENDER, "p0@example.org", letter(0)) == []
        [(key, refused)] = transport.submit(1, SENDER, "a@x.org, b@y.org", letter(1))
        assert key == 1 and isinstance(refused, PermanentDeliveryError)
        assert transport.flush() == [(0, None)]

    assert [rcpts for rcpts, _ in received(server)] == [("p0@example.org",)]


def queue_letters(store: SqlStore, tmp_path: Path, clock: FixedClock, count: int) -> None:
    """``count`` rejected applicants of the Data Analyst job, their letters queued."""
    composer = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"))
    import_and_reject_all(store, tmp_path / "a.csv", people(count), clock.now())
    queue_plan(store, composer, "Data Analyst", actor="t", now=clock.now())


class Watching(SqlStore):
    """A store that notes, at each commit of results, how many letters the server has taken
    that are not yet recorded."""

    def __init__(self, engine: Engine, server: ScriptedSmtpServer) -> None:
        super().__init__(engine)
        self.server = server
        self.recorded: list[int] = []
        self.unrecorded: list[int] = []

    def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        owner: str,
        now: datetime,
        handing: tuple[int, int] | None = None,
    ) -> None:
        self.unrecorded.append(len(self.server.received) - len(self.recorded))
        self.recorded.extend(o.outbox_id for o in outcomes if o.state is OutboxState.SENT)
        super().record_outcomes(outcomes, owner, now, handing)


def test_the_worker_streams_a_claim_and_records_every_outcome(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    queue_letters(store, tmp_path, clock, 12)
    server.script(*[Step.accept()] * 4, Step.refuse("RCPT", "550 5.1.1 no such user"))
    worker = Deliverer(store, transport_for(server), clock, "w", DeliveryPolicy(commit_every=5))

    stats = worker.run_once()
    worker.transport.close()

    assert stats.sent == 11 and stats.failed == 1
    assert store.outbox_status().counts == {"sent": 11, "failed": 1}
    (failed,) = store.outbox_rows(OutboxState.FAILED, None, 10)
    assert failed.recipient == "p4@example.com" and failed.last_code == 550
    assert sorted(m.rcpt_tos[0] for m in server.received) == sorted(
        f"p{n}@example.com" for n in range(12) if n != 4
    )


def test_with_one_result_a_commit_at_most_one_taken_letter_waits_for_its_commit(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    # FAIRWELL_COMMIT_EVERY=1 promises that a crash can resend at most one letter: the
    # stream hands each outcome on before it writes the next letter's data.
    queue_letters(store, tmp_path, clock, 12)
    watching = Watching(store.engine, server)
    worker = Deliverer(watching, transport_for(server), clock, "w", DeliveryPolicy(commit_every=1))

    assert worker.run_once().sent == 12
    worker.transport.close()
    assert len(watching.recorded) == 12, watching.unrecorded
    assert max(watching.unrecorded) <= 1, str(watching.unrecorded)


def test_a_relay_that_closes_with_421_mid_claim_loses_nothing_and_keeps_the_bound(
    store: SqlStore, tmp_path: Path, clock: FixedClock, server: ScriptedSmtpServer
) -> None:
    # A relay with a message limit per session answers the next MAIL with 421 and hangs up:
    # that letter goes whole on a new session, after the letter before it is recorded.
    queue_letters(store, tmp_path, clock, 10)
    server.script(*[Step.accept()] * 3, Step.refuse("MAIL", "421 4.7.0 too many, closing"))
    watching = Watching(store.engine, server)
    worker = Deliverer(watching, transport_for(server), clock, "w", DeliveryPolicy(commit_every=1))

    assert worker.run_once().sent == 10
    worker.transport.close()
    assert store.outbox_status().counts == {"sent": 10}
    assert sorted(m.rcpt_tos[0] for m in server.received) == sorted(
        f"p{n}@example.com" for n in range(10)
    )
    assert server.connections == 2
    assert max(watching.unrecorded) <= 1, str(watching.unrecorded)
