"""What Celery tasks do, as plain typed functions over a per-process context.

Tasks carry no arguments at all: no batch, no letter, no address. Each task reads what it
needs from the database, so a message on the broker holds a task name and an id, never
personal data, and a broker that loses, repeats or reorders messages cannot make a letter go
twice: the database lease decides who sends what (see :meth:`SqlStore.claim`).

Registration on the Celery app lives in :mod:`fairwell.worker.celery_app`; these functions
know nothing of Celery, so they are tested without a broker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fairwell.config import Settings
from fairwell.runtime import Runtime, make_deliverer, open_runtime
from fairwell.services.delivery import Deliverer, RunStats

log = logging.getLogger(__name__)

# A deliver task gives its worker slot back after this long, so a warm shutdown (SIGTERM)
# waits at most this plus one claim's letters, and other tasks get their turn.
DELIVER_BUDGET_SECONDS = 30.0


class TaskRuntime(Protocol):
    """What the tasks need from their worker process."""

    settings: Settings

    def runtime(self) -> Runtime: ...

    def deliverer(self) -> Deliverer: ...


@dataclass
class WorkerContext:
    """One worker process's database engine and deliverer, built on first use.

    Built lazily and per process id: Celery's prefork pool forks its children from the
    parent, and a database connection or an SMTP socket must never be shared across a fork.
    """

    settings: Settings
    _pid: int | None = field(default=None, init=False)
    _runtime: Runtime | None = field(default=None, init=False)
    _deliverer: Deliverer | None = field(default=None, init=False)

    def runtime(self) -> Runtime:
        if self._runtime is None or self._pid != os.getpid():
            # After a fork the inherited pool is dropped without closing the parent's sockets.
            if self._runtime is not None:
                self._runtime.engine.dispose(close=False)
            self._runtime, self._deliverer = open_runtime(self.settings), None
            self._pid = os.getpid()
        return self._runtime

    def deliverer(self) -> Deliverer:
        runtime = self.runtime()
        if self._deliverer is None:
            self._deliverer = make_deliverer(runtime)
        return self._deliverer

    def close(self) -> None:
        if self._runtime is not None and self._pid == os.getpid():
            self._runtime.close()
        self._runtime = self._deliverer = None


def deliver(
    context: TaskRuntime,
    more: Callable[[], None] | None = None,
    *,
    budget_seconds: float = DELIVER_BUDGET_SECONDS,
) -> dict[str, int]:
    """Claim and deliver letters until none is due or the budget is spent; return counts.

    The same :meth:`Deliverer.run_once` as the embedded worker. When the first claim comes
    back full, there is more than one claim's work waiting, so ``more`` asks the broker for
    one more deliver task: another worker process joins in, and it may ask for another in
    turn. It asks as soon as the claim is made, not once its letters are delivered, or each
    process would join one claim's sending time after the one before it. A task that finds
    nothing to claim ends at once, so a surplus costs one query.
    """
    deliverer = context.deliverer()
    claim_batch = deliverer.policy.claim_batch
    total = RunStats()
    started = time.monotonic()
    asked = False

    def ask_for_more(claimed: int) -> None:
        nonlocal asked
        if claimed >= claim_batch and not asked and more is not None:
            more()
            asked = True

    try:
        while True:
            before = total.claimed
            deliverer.run_once(total, on_claim=ask_for_more)
            if total.claimed == before or time.monotonic() - started >= budget_seconds:
                break
    finally:
        # A new SMTP connection per task: an idle one may be dropped by the relay between
        # tasks, and a letter must not pay for that with a retry.
        deliverer.transport.close()
    return _counts(total)


def _counts(stats: RunStats) -> dict[str, int]:
    return {
        "claimed": stats.claimed,
        "sent": stats.sent,
        "retried": stats.retried,
        "failed": stats.failed,
        "held": stats.held,
        "quarantined": stats.quarantined,
        "released": stats.released,
        "possible_duplicates": stats.possible_duplicates,
    }


def deadlines(context: TaskRuntime) -> dict[str, int]:
    """Count the interviewed applicants due or overdue a notice, and log the counts only.

    Names and addresses stay in the database; `fairwell deadlines` shows them to a person.
    """
    from fairwell.services.deadlines import deadlines as report_deadlines
    from fairwell.services.deadlines import notice_rules

    rules = notice_rules(context.settings)
    if not rules.in_force():
        log.info("deadlines skipped: no jurisdiction in the rules has a notice deadline")
        return {}
    runtime = context.runtime()
    report = report_deadlines(runtime.notices, rules, runtime.clock.now())
    counts = report.counts()
    log.info("deadlines: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def auto_send(context: TaskRuntime) -> dict[str, object]:
    """Plan and release the letters of the jobs whose auto-send rule is on (ids only)."""
    from datetime import timedelta

    from fairwell.services.auto_send import run_auto_send

    runtime = context.runtime()
    max_age = timedelta(minutes=context.settings.plan_max_age_minutes)
    run = run_auto_send(
        runtime.store,
        runtime.composer,
        runtime.clock.now(),
        windows=runtime.composer.scheduler.mode,
        max_age=max_age,
    )
    log.info("auto-send: %s letters queued, %s jobs waiting", run.queued, len(run.waiting))
    return run.as_json()


def retention(context: TaskRuntime) -> dict[str, object]:
    """Expire what the retention policy says is due today (services/retention.py)."""
    from fairwell.services.retention import run_retention

    report = run_retention(context.runtime(), None, dry_run=False)
    # Counts only: the report's items name applications, which stay out of the broker and logs.
    counts = dict(report.counts)
    log.info("retention done: %s", counts)
    return {"done": "retention", "counts": counts}


def consent_renewals(context: TaskRuntime) -> dict[str, int]:
    """Queue the consent renewal letters that are due (services/consent_renewal.py).

    Counts only: which consents were asked about stays in the database and the audit log.
    """
    from fairwell.services.consent_renewal import renewals

    runtime = context.runtime()
    report = renewals(runtime, runtime.clock.now())
    counts = {"due": len(report.due), "queued": report.queued, "refused": len(report.refused)}
    log.info("consent renewals: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


def inbox(context: TaskRuntime) -> dict[str, int]:
    """Fetch the inbox once (services/inbox.py); counts only, in the log and the result.

    A mailbox that cannot be reached is logged in one line (it names the mailbox, never a
    message) and tried again at the next beat: nothing was taken from it.
    """
    from fairwell.errors import InboxUnavailable
    from fairwell.runtime import inbox_configured, open_inbox
    from fairwell.services.inbox import InboxPolicy, fetch

    settings = context.settings
    if not inbox_configured(settings):
        log.info("inbox skipped: FAIRWELL_INBOX_MAILDIR and FAIRWELL_IMAP_HOST are not set")
        return {}
    runtime = context.runtime()
    policy = InboxPolicy(settings.request_due_business_days, actor="beat")
    try:
        counts = fetch(open_inbox(settings), runtime.inbox_store, policy, runtime.clock.now)
    except InboxUnavailable as error:
        log.warning("inbox not fetched: %s", error)
        return {"unavailable": 1}
    return {**counts.as_json(), "failed": counts.failed}


def ats_sync(context: TaskRuntime) -> dict[str, int]:
    """Write back to the ATSs the decisions whose letters went (services/ats_sync.py).

    Counts only: which applications were written back stays in the database.
    """
    from fairwell.runtime import worker_name
    from fairwell.services.ats_sync import sync

    runtime = context.runtime()
    report = sync(
        runtime.ats_store,
        runtime.ats_connector,
        runtime.reason_map,
        runtime.clock,
        worker_name(),
    )
    counts = report.counts()
    log.info("ats sync: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


def deliver_webhooks(context: TaskRuntime) -> dict[str, int]:
    """Post the outgoing webhooks that are due (services/webhooks_out.py); counts only."""
    from fairwell.runtime import worker_name
    from fairwell.services.webhooks_out import deliver_due

    runtime = context.runtime()
    poster = runtime.webhook_poster()
    try:
        report = deliver_due(runtime.webhook_store, poster, runtime.clock, worker_name())
    finally:
        poster.close()
    counts = report.counts()
    log.info("webhooks: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts
