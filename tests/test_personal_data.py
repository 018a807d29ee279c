"""Personal data never reaches the application log, the audit log or stored error texts.

(The test SMTP server's own aiosmtpd logger prints whole messages at DEBUG; it is the relay's
log, not ours, so only the ``fairwell.*`` loggers are checked.)
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from fairwell.delivery.smtp import SmtpTransport
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import audit_log, outbox
from tests.conftest import FixedClock
from tests.helpers import tamper_with_letter
from tests.smtp_server import ScriptedSmtpServer, Step
from tests.test_delivery_faults import queue

PEOPLE = [(f"p{i}@example.com", f"Doe{i}") for i in range(6)]


def test_a_troubled_send_leaves_no_address_or_name_in_our_logs(
    store: SqlStore, tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    queue(store, tmp_path, clock, len(PEOPLE))
    tamper_with_letter(store.engine, last=True, old=b"Your reference", new=b"Doe0? Pat Doe0")
    with ScriptedSmtpServer() as server:
        server.script(
            Step.refuse("RCPT", "550 5.1.1 <p0@example.com>: no such user"),
            Step.refuse("RCPT", "451 4.3.0 <P1@example.com> try later"),
            Step.drop_after_data(),
        )
        transport = SmtpTransport(host=server.host, port=server.port, security="none", timeout=5)
        Deliverer(store, transport, clock, "w", DeliveryPolicy()).run_once()

    with store.engine.begin() as conn:
        audit = " ".join(str(tuple(row)) for row in conn.execute(select(audit_log)))
        errors = " ".join(str(e) for e in conn.execute(select(outbox.c.last_error)).scalars())
    assert "held" in audit and "failed" in audit, "the audit log saw what happened"
    ours = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("fairwell")
    )
    assert "held by rule" in ours, "our log said what happened"
    for text in (ours, audit, errors):
        lowered = text.lower()
        for address, surname in PEOPLE:
            assert address not in lowered
            assert surname.lower() not in lowered
