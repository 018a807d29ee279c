"""Write decisions back to the ATS once their letter has gone: durable, like the outbox.

``sync`` first queues a write-back for every sent letter that tells a decision on a pulled
application (one per decision, so never twice), then claims what is due with a lease and
writes each back: Greenhouse rejects the application with the mapped reason and without its
own email; Lever archives the opportunity with the mapped reason. A write-back is retried
with growing pauses while the ATS is down, rate-limits us or refuses our credentials (they
can be fixed), and fails for good only when the ATS says it never can succeed (the
application was deleted, or hired), with that reason recorded. Nothing is lost: a worker
that dies holding a claim gives it back when the lease ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fairwell.errors import (
    AtsAuthError,
    AtsError,
    AtsRefused,
    AtsUnavailable,
    AtsUnknownReason,
    ConfigurationError,
)
from fairwell.ports import Clock
from fairwell.ports.ats import (
    AtsConnector,
    AtsStore,
    ClaimedWriteBack,
    WriteBackOutcome,
    WriteBackState,
)
from fairwell.services.ats_reasons import ReasonMap

log = logging.getLogger(__name__)

# Finds the connector of a vendor; raises ConfigurationError when it is not configured.
ConnectorFor = Callable[[str], AtsConnector]


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    lease: timedelta = timedelta(minutes=5)
    batch: int = 50
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=6)
    # A vendor without credentials is asked again this much later; the claim is not counted.
    unconfigured_pause: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, asked: float | None = None) -> timedelta:
        """1 min, 2 min, 4 min… up to ``retry_max``, and never sooner than the ATS asked."""
        doublings: int = 2 ** min(attempts - 1, 20)
        backoff = min(self.retry_base * doublings, self.retry_max)
        return max(backoff, timedelta(seconds=asked or 0))


@dataclass(slots=True)
class SyncReport:
    queued: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # for a vendor that is not configured
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "done": self.done,
            "retried": self.retried,
            "failed": self.failed,
            "waiting": self.waiting,
        }


def note_for(code: str) -> str:
    """What the ATS records with the rejection: the reason code, nothing personal."""
    return (
        f"Rejected in Fairwell (reason code {code}). Fairwell sent the candidate's letter; "
        "no email from the ATS."
    )


def sync(
    store: AtsStore,
    connector_for: ConnectorFor,
    reasons: ReasonMap,
    clock: Clock,
    owner: str,
    policy: SyncPolicy | None = None,
) -> SyncReport:
    """Queue what is due, then write back every claimable row; return what happened."""
    policy = policy or SyncPolicy()
    report = SyncReport(queued=store.enqueue_writebacks(clock.now()))
    connectors: dict[str, AtsConnector | ConfigurationError] = {}
    try:
        while True:
            now = clock.now()
            claimed = store.claim_writebacks(owner, now, now + policy.lease, policy.batch)
            if not claimed:
                return report
            for item in claimed:
                connector = _connector(connectors, connector_for, item.vendor)
                outcome = _write_back(item, connector, reasons, clock, policy)
                _count(report, outcome)
                store.record_writeback(outcome, owner, clock.now())
    finally:
        for connector in connectors.values():
            if not isinstance(connector, ConfigurationError):
                connector.close()


def _connector(
    cache: dict[str, AtsConnector | ConfigurationError], connector_for: ConnectorFor, vendor: str
) -> AtsConnector | ConfigurationError:
    if vendor not in cache:
        try:
            cache[vendor] = connector_for(vendor)
        except ConfigurationError as error:
            cache[vendor] = error
    return cache[vendor]


def _write_back(
    item: ClaimedWriteBack,
    connector: AtsConnector | ConfigurationError,
    reasons: ReasonMap,
    clock: Clock,
    policy: SyncPolicy,
) -> WriteBackOutcome:
    now = clock.now()
    if isinstance(connector, ConfigurationError):
        return WriteBackOutcome(
            item.id,
            WriteBackState.RETRY,
            error=f"not configured: {connector}",
            next_attempt_at=now + policy.unconfigured_pause,
            release=True,
        )
    try:
        reason = reasons.reason(item.vendor, item.reason_code)
    except KeyError:
        return _retry(item, now, policy, f"no {item.vendor} reason for {item.reason_code}")
    try:
        done = connector.reject(item.ats_application_id, reason, note_for(item.reason_code))
    except AtsUnknownReason as unknown:
        # Our reason map names a reason the ATS does not have: fixable, so the row waits.
        return _retry(item, now, policy, unknown.detail)
    except AtsRefused as refused:
        return WriteBackOutcome(item.id, WriteBackState.FAILED, error=refused.detail)
    except AtsUnavailable as unavailable:
        return _retry(item, now, policy, unavailable.detail, unavailable.retry_after)
    except AtsAuthError as refused_credentials:
        return _retry(item, now, policy, refused_credentials.detail)
    except AtsError as error:
        return _retry(item, now, policy, error.detail)
    except Exception as bug:
        log.exception("ats write-back %s: unexpected error", item.id)
        return _retry(item, now, policy, f"unexpected error ({type(bug).__name__})")
    note = None if done == "rejected" else done
    return WriteBackOutcome(item.id, WriteBackState.DONE, error=note)


def _retry(
    item: ClaimedWriteBack,
    now: datetime,
    policy: SyncPolicy,
    error: str,
    asked: float | None = None,
) -> WriteBackOutcome:
    return WriteBackOutcome(
        item.id,
        WriteBackState.RETRY,
        error=error,
        next_attempt_at=now + policy.delay(item.attempts, asked),
    )


def _count(report: SyncReport, outcome: WriteBackOutcome) -> None:
    if outcome.release:
        report.waiting += 1
    elif outcome.state is WriteBackState.DONE:
        report.done += 1
    elif outcome.state is WriteBackState.FAILED:
        report.failed += 1
    else:
        report.retried += 1
    if outcome.error and outcome.state is not WriteBackState.DONE:
        report.errors.append(outcome.error)
