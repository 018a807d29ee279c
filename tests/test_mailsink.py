"""The embedded SMTP sink: real SMTP clients in, files out."""

from __future__ import annotations

import json
import signal
import smtplib
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.delivery.smtp import SmtpTransport

SENDER = "careers@example.com"
ANNA = "anna.schmidt@example.org"


def letter(number: int, recipient: str = ANNA) -> bytes:
    return (
        f"From: careers@example.com\r\nTo: {recipient}\r\nSubject: Letter {number}\r\n\r\n"
        f"Dear applicant {number},\r\nthank you.\r\n"
    ).encode()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "sink") as running:
        yield running


def connect(sink: MailSink) -> smtplib.SMTP:
    return smtplib.SMTP(sink.host, sink.port, local_hostname="client.test", timeout=10)


def test_it_listens_on_the_free_port_it_picked_and_reports_it(sink: MailSink) -> None:
    assert sink.port > 0
    with connect(sink) as client:
        assert client.noop()[0] == 250


def test_it_keeps_the_exact_bytes_and_the_envelope_of_a_message(sink: MailSink) -> None:
    before = datetime.now(UTC)
    with connect(sink) as client:
        client.sendmail(SENDER, [ANNA], letter(1))

    [message] = read_sink(sink.directory)
    assert message.number == 1
    assert message.mail_from == SENDER
    assert message.rcpt_tos == [ANNA]
    assert message.data == letter(1)
    assert before - timedelta(seconds=1) <= message.received_at <= datetime.now(UTC)
    envelope = json.loads((sink.directory / "00000001.json").read_text())
    assert envelope["peer"][0] == "127.0.0.1"
    assert (sink.directory / "00000001.eml").read_bytes() == letter(1)


@pytest.mark.parametrize(
    "data",
    [
        b".\r\n",
        b"..\r\n",
        b"first\r\n.\r\nlast line after a lone dot\r\n",
        b"...three dots\r\n.\r\n..\r\nends with a dot.\r\n",
        b"Sentence.\r\n" * 300,
        b"a very long line " * 2000 + b"\r\n",
        (b"x" * 998 + b"\r\n") * 200,
    ],
    ids=[
        "lone-dot",
        "two-dots",
        "dot-line-inside",
        "many-dots",
        "lines-ending-in-dots",
        "long-line",
        "200kB",
    ],
)
def test_it_undoes_dot_stuffing_exactly(sink: MailSink, data: bytes) -> None:
    with connect(sink) as client:
        client.sendmail(SENDER, [ANNA], data)

    assert [message.data for message in read_sink(sink.directory)] == [data]


def test_it_stores_two_hundred_messages_sent_over_one_connection(sink: MailSink) -> None:
    with SmtpTransport(
        host=sink.host, port=sink.port, security="none", local_hostname="client.test"
    ) as transport:
        for number in range(200):
            transport.send(SENDER, f"applicant{number}@example.org", letter(number))

    messages = read_sink(sink.directory)
    assert [message.number for message in messages] == list(range(1, 201))
    assert [message.data for message in messages] == [letter(n) for n in range(200)]


def test_numbering_stays_unique_with_two_clients_at_once(sink: MailSink) -> None:
    def send_batch(client_name: str) -> None:
        with connect(sink) as client:
            for number in range(100):
                recipient = f"{client_name}-{number}@example.org"
                client.sendmail(SENDER, [recipient], letter(number, recipient))

    threads = [threading.Thread(target=send_batch, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    messages = read_sink(sink.directory)
    assert [message.number for message in messages] == list(range(1, 201))
    for message in messages:
        # Each .eml belongs to its own .json: the To: header names the envelope recipient.
        assert f"To: {message.rcpt_tos[0]}\r\n".encode() in message.data
    assert len({message.rcpt_tos[0] for message in messages}) == 200


def test_numbering_continues_after_a_restart(tmp_path: Path) -> None:
    for round_number in (1, 2):
        with MailSink(tmp_path) as sink, connect(sink) as client:
            client.sendmail(SENDER, [ANNA], letter(round_number))

    assert [message.number for message in read_sink(tmp_path)] == [1, 2]


def test_a_reader_sees_only_complete_messages(sink: MailSink) -> None:
    with connect(sink) as client:
        client.sendmail(SENDER, [ANNA], letter(1))
    # What a crash between the two renames would leave behind, and a half-written file.
    (sink.directory / "00000002.eml").write_bytes(letter(2))
    (sink.directory / ".00000003.json.tmp").write_text("{")

    assert [message.number for message in read_sink(sink.directory)] == [1]


def test_it_refuses_a_message_over_the_size_limit_and_carries_on(tmp_path: Path) -> None:
    with MailSink(tmp_path, max_message_size=1000) as sink, connect(sink) as client:
        # Plain commands, so no SIZE parameter lets the sink refuse before the data.
        client.ehlo()
        assert client.docmd("MAIL", f"FROM:<{SENDER}>")[0] == 250
        assert client.docmd("RCPT", f"TO:<{ANNA}>")[0] == 250
        assert client.data(b"x" * 5000 + b"\r\n")[0] == 552
        client.sendmail(SENDER, [ANNA], letter(1))

    assert [message.data for message in read_sink(tmp_path)] == [letter(1)]


def test_run_sink_forever_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from fairwell.delivery.sink import run_sink_forever\n"
        "run_sink_forever('127.0.0.1', 0, sys.argv[1],"
        " on_ready=lambda sink: print(sink.port, flush=True))\n"
        "print('stopped', flush=True)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        try:
            port = int(process.stdout.readline())
            with smtplib.SMTP("127.0.0.1", port, local_hostname="c.test", timeout=10) as client:
                client.sendmail(SENDER, [ANNA], letter(1))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert process.stdout.read() == "stopped\n"
        finally:
            if process.poll() is None:
                process.kill()

    assert [message.data for message in read_sink(tmp_path)] == [letter(1)]
