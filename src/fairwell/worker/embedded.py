"""The embedded worker: polls the database, delivers, sleeps when idle."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from fairwell.domain.model import OutboxState
from fairwell.services.delivery import Deliverer, RunStats

ACTIVE_STATES = (OutboxState.QUEUED.value, OutboxState.SENDING.value)


class Wake(Protocol):
    """An event shared between processes (multiprocessing's Event)."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def run_forever(
    deliverer: Deliverer,
    stop: threading.Event,
    *,
    poll_seconds: float = 1.0,
    on_round: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Deliver until ``stop`` is set; sleep ``poll_seconds`` whenever there is nothing to do."""
    total = RunStats()
    while not stop.is_set():
        before = total.claimed
        deliverer.run_once(total)
        if on_round is not None:
            on_round(total)
        if total.claimed == before:
            stop.wait(poll_seconds)
    deliverer.transport.close()
    return total


def run_due(deliverer: Deliverer) -> RunStats:
    """Deliver everything due now, claim after claim, then return (``fairwell worker --once``).

    Stops at the first claim that comes back empty: letters scheduled later (a retry, a send
    window) and letters another worker holds under a live lease are left for later runs.
    """
    total = RunStats()
    try:
        while True:
            before = total.claimed
            deliverer.run_once(total)
            if total.claimed == before:
                return total
    finally:
        deliverer.transport.close()


def run_batch(
    deliverer: Deliverer,
    batch_id: int,
    *,
    poll_seconds: float = 0.2,
    on_round: Callable[[RunStats], None] | None = None,
    stop: threading.Event | None = None,
    wake: Wake | None = None,
) -> RunStats:
    """Deliver until no letter of the batch is waiting to go now.

    Letters scheduled for a later retry, or queued for a send window that has not opened
    yet, do not keep this waiting; ``fairwell worker`` sends them when they are due. A paused
    batch or outbox ends the wait too, and so does a relay that took no letter in
    ``policy.relay_tries`` claims in a row (down, or answering only 421 or 454): the batch
    stays queued rather than this waiting for it without end.

    ``wake``: set by each process delivering the batch with this one when it stops (a
    worker pool). A wait for letters another process holds then ends as that process ends,
    not up to ``poll_seconds`` later.
    """
    total = RunStats()
    stop = stop or threading.Event()
    refused = 0  # claims in a row the relay failed with none of their letters sent
    try:
        while not stop.is_set():
            before, sent, failures = total.claimed, total.sent, total.relay_failures
            deliverer.run_once(total)
            if on_round is not None:
                on_round(total)
            if total.sent != sent:
                refused = 0
            elif total.relay_failures != failures:
                refused += 1
                if refused >= deliverer.policy.relay_tries:
                    break
            if total.claimed != before:
                continue
            status = deliverer.store.outbox_status(batch_id, deliverer.clock.now())
            active = sum(status.counts.get(state, 0) for state in ACTIVE_STATES)
            waiting = active - status.scheduled
            if not waiting or status.paused or batch_id in status.paused_batches:
                break
            _pause(stop, wake, poll_seconds)
    finally:
        if wake is not None:
            wake.set()
        deliverer.transport.close()
    return total


def _pause(stop: threading.Event, wake: Wake | None, seconds: float) -> None:
    """Wait before looking at the batch again. Another process's end cuts it short once: a
    wake already set is not waited on again (that would spin while letters still wait)."""
    if wake is None or wake.is_set():
        stop.wait(seconds)
    else:
        wake.wait(seconds)
