"""What DKIM signing costs a send: letters per second with and without it, in one run.

    .venv/bin/python bench/dkim_cost.py --n 2000

The same N letters (built as Fairwell builds them) go through the streaming SMTP transport to
the same local sink in another process, first unsigned (the baseline), then each signed
with dkimpy (rsa-sha256, 2048-bit key, relaxed/relaxed) by delivery/dkim.py, as a worker
does with FAIRWELL_DKIM_* set. Also: the signing alone, per letter. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fairwell.delivery.dkim import DkimSigner, signing
from fairwell.delivery.smtp import SmtpTransport
from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.ports import StreamingTransport, Transport
from sinks import SinkProcess, resolve_kind

TEXT = "Dear Pat,\n\nthank you for applying for the Data Analyst role at Acme.\n\n" * 8


def letters(n: int) -> list[tuple[str, bytes]]:
    built = []
    for i in range(n):
        recipient = f"p{i}@example.com"
        letter = OutgoingLetter(
            sender=Mailbox("careers@acme.example.com", "Acme"),
            recipient=Mailbox(recipient, f"Pat Doe{i}"),
            subject="Your application for Data Analyst",
            text=TEXT,
            html=f"<p>{TEXT}</p>",
            locale="en",
            message_id=f"<{i}.bench@acme.example.com>",
            date=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        )
        built.append((recipient, to_bytes(letter)))
    return built


def key_file(directory: Path) -> Path:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "dkim.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


def send_all(transport: Transport, batch: list[tuple[str, bytes]]) -> float:
    """Letters per second through the streaming path the delivery loop uses."""
    assert isinstance(transport, StreamingTransport)
    started = time.perf_counter()
    outcomes = 0
    for key, (recipient, body) in enumerate(batch):
        outcomes += len(transport.submit(key, "careers@acme.example.com", recipient, body))
    outcomes += len(transport.flush())
    elapsed = time.perf_counter() - started
    transport.close()
    assert outcomes == len(batch)
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sink", default="auto", help="postfix (smtp-sink) or fairwell")
    arguments = parser.parse_args()
    batch = letters(arguments.n)
    with tempfile.TemporaryDirectory() as folder:
        signer = DkimSigner("acme.example.com", "fw2026", key_file(Path(folder)))
        started = time.perf_counter()
        for _, body in batch[:200]:
            signer.sign(body)
        per_letter_ms = (time.perf_counter() - started) / 200 * 1000
        sink = SinkProcess(resolve_kind(arguments.sink), Path(folder) / "sink")
        sink.start()
        try:
            plain, signed = [], []
            for _ in range(arguments.rounds):  # alternating, so drift hits both alike
                smtp = SmtpTransport(host=sink.host, port=sink.port, security="none")
                plain.append(send_all(smtp, batch))
                smtp = SmtpTransport(host=sink.host, port=sink.port, security="none")
                signed.append(send_all(signing(smtp, signer), batch))
        finally:
            sink.stop()
    base, with_dkim = statistics.median(plain), statistics.median(signed)
    print(f"{arguments.n} letters, {arguments.rounds} rounds each, sink: {sink.description}")
    print(f"signing alone:          {per_letter_ms:.2f} ms a letter")
    print(f"unsigned (baseline):    {base:8.0f} letters/s")
    print(f"DKIM-signed:            {with_dkim:8.0f} letters/s  ({with_dkim / base:.2f}x baseline)")


if __name__ == "__main__":
    main()
