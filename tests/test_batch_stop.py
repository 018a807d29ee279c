"""Stopping a batch: what no worker holds yet is held; what a worker holds finishes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fairwell.domain.model import STOPPED_RULE, OutboxState
from fairwell.ports import Outcome
from fairwell.services import outbox as outbox_service
from tests.conftest import FixedClock
from tests.test_outbox_claims import queued_store


def test_stop_holds_the_unclaimed_letters_and_lets_the_claimed_ones_finish(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    store = queued_store(database_url, tmp_path, clock, 40)
    now = clock.now()
    in_flight = store.claim("w1", now, now + timedelta(minutes=2), 10)
    assert outbox_service.stop(store, 1, actor="t", now=now) == 30
    assert store.claim("w2", now, now + timedelta(minutes=2), 100) == [], "nothing more goes"

    store.record_outcomes([Outcome(letter.id, OutboxState.SENT) for letter in in_flight], "w1", now)
    status = store.outbox_status(1)
    assert status.counts == {"sent": 10, "held": 30} and status.stopped == 30
    held = store.outbox_rows(OutboxState.HELD, 1, 100)
    assert {row.held_rule for row in held} == {STOPPED_RULE}

    assert outbox_service.requeue(store, ids=[held[0].id], actor="t", now=now) == 1
    (again,) = store.claim("w2", now, now + timedelta(minutes=2), 100)
    assert again.id == held[0].id, "requeueing a stopped letter lets its batch go again"
