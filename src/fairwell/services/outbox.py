"""Operator controls over the outbox: status, pause, resume, stop a batch, requeue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fairwell.domain.model import OutboxState
from fairwell.errors import NotFound
from fairwell.ports import BatchControls, OutboxReads, OutboxStatus, Store

REQUEUEABLE = (OutboxState.HELD, OutboxState.QUARANTINED, OutboxState.FAILED)


def status(store: OutboxReads, batch_id: int | None = None) -> OutboxStatus:
    return store.outbox_status(batch_id)


def pause(store: Store, *, actor: str, now: datetime) -> None:
    """Stop every worker from claiming; letters being sent finish, nothing new starts."""
    store.set_paused(True, actor, now)


def resume(store: Store, *, actor: str, now: datetime) -> None:
    """Let workers claim again, including batches the guard paused."""
    store.set_paused(False, actor, now)


def stop(store: Store, batch_id: int, *, actor: str, now: datetime) -> int:
    """Hold the batch's letters that have not gone; requeue brings them back. Returns how many."""
    if not store.outbox_status(batch_id).counts:
        raise NotFound(f"no batch {batch_id}")
    return store.stop_batch(batch_id, actor, now)


def requeue(
    store: Store,
    *,
    states: Sequence[OutboxState] = REQUEUEABLE,
    ids: Sequence[int] = (),
    actor: str,
    now: datetime,
) -> int:
    """Put letters back in the queue. The guard checks them again before they go."""
    return store.requeue(list(states), list(ids), actor, now)


def pause_batch(batches: BatchControls, batch_id: int, *, actor: str, now: datetime) -> None:
    """Stop workers from starting this batch's letters; other batches go on."""
    batches.set_paused(batch_id, True, actor, now)


def resume_batch(batches: BatchControls, batch_id: int, *, actor: str, now: datetime) -> None:
    """Let workers take this batch's letters again."""
    batches.set_paused(batch_id, False, actor, now)
