"""Delivery: claim letters, re-check them on their final bytes, hand them to the transport.

The same function runs under the embedded DB-polling worker and a Celery task. The database
is the source of truth: a letter is claimed with a conditional UPDATE and a lease, so two
workers never send the same row, and a dead worker's rows come back when the lease ends.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fairwell.domain.model import OutboxState
from fairwell.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from fairwell.guard.privacy import (
    Expectation,
    Finding,
    SendTimeFacts,
    inspect_many,
    inspect_sealed,
)
from fairwell.guard.roster import Roster
from fairwell.guard.seal import seal
from fairwell.ports import (
    ClaimedLetter,
    Clock,
    Outcome,
    SendSlots,
    Store,
    StreamingTransport,
    Transport,
)
from fairwell.services.rosters import RosterCache, RosterSource

log = logging.getLogger(__name__)
# The relay as a whole failing (unreachable, 421, 454): `fairwell send` says it in its own line
# and quiets this logger while it delivers; `fairwell worker` leaves it on.
relay_log = logging.getLogger(f"{__name__}.relay")

MAX_RETRY_DELAY = timedelta(hours=1)
# Holds by this rule concern one person's situation, not the batch: they never stop a batch.
ELIGIBILITY_RULE = "still-eligible"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta = timedelta(minutes=2)
    claim_batch: int = 100
    commit_every: int = 20
    retry_base: timedelta = timedelta(seconds=30)
    retry_deadline: timedelta = timedelta(hours=48)
    stop_batch_on_violation: bool = True
    # Claims in a row the relay as a whole failed (none of their letters sent) before a run
    # of one batch (run_batch) stops waiting for it; the batch stays queued for the worker.
    relay_tries: int = 3


class Pacer:
    """Keeps a send rate (letters per second) with an injected sleep, for tests.

    Safe to share between a worker's sending threads: each takes the next slot under a lock
    and sleeps until it outside the lock.
    """

    def __init__(
        self,
        rate: float | None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._monotonic, self._sleep = monotonic, sleep
        self._next = monotonic()
        self._lock = threading.Lock()

    @property
    def limited(self) -> bool:
        return bool(self._interval)

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


# Why a letter does not go now (None: it may be sent).
Check = Callable[[ClaimedLetter], "Outcome | None"]
# Letters handed to a streaming transport whose outcome has not come back yet, by id.
Waiting = dict[int, ClaimedLetter]

# SMTP replies that mean "too many, slow down" rather than "try this letter again later".
SLOW_DOWN_CODES = frozenset({421, 454})


@dataclass(frozen=True, slots=True)
class SendRates:
    """Rates that hold across every worker: letters a second in all, and to one domain."""

    overall: float | None = None
    per_domain: float | None = None
    slow_down_seconds: float = 30.0

    @property
    def limited(self) -> bool:
        return bool(self.overall or self.per_domain)


class SharedRateLimit:
    """Waits for a send slot reserved in the database, so N workers keep one rate.

    A slot that would start after ``deadline`` (the claim's lease) is not used: the letter
    goes back to the queue rather than being sent by a worker whose lease has run out.
    """

    def __init__(
        self,
        slots: SendSlots,
        rates: SendRates,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.slots, self.rates = slots, rates
        self._wall, self._sleep = wall, sleep

    def _intervals(self, recipient: str) -> list[tuple[str, float]]:
        intervals = []
        if self.rates.overall:
            intervals.append(("rate:overall", 1.0 / self.rates.overall))
        if self.rates.per_domain:
            domain = recipient.rpartition("@")[2].lower()
            intervals.append((f"rate:domain:{domain}", 1.0 / self.rates.per_domain))
        return intervals

    def wait(self, recipient: str, deadline: float) -> bool:
        """Sleep until this letter's slot; False (and no sleep) when it starts too late."""
        intervals = self._intervals(recipient)
        if not intervals:
            return True
        start = self.slots.reserve(intervals, self._wall())
        if start > deadline:
            return False
        delay = start - self._wall()
        if delay > 0:
            self._sleep(delay)
        return True

    def deadline_after(self, seconds: float) -> float:
        return self._wall() + seconds

    def slow_down(self) -> None:
        """The relay asked every sender to slow down: no slot starts for a while."""
        self.slots.back_off(self._wall() + self.rates.slow_down_seconds)

    def claim_limit(self, lease_seconds: float) -> int | None:
        """How many letters one worker should claim: what the overall rate lets it send in
        half a lease (with other workers sharing the rate, the release rule covers the rest)."""
        if not self.rates.overall:
            return None
        return max(1, int(self.rates.overall * lease_seconds / 2))


class SlowDown:
    """After the relay's 421 or 454, or a relay that cannot be reached, no worker starts a
    letter for ``seconds``, whether or not a rate is set.

    The moment is one row shared by every worker (``rate:backoff-until``): the worker that
    heard it gives the rest of its claim back unsent (no attempt is spent on them) and every
    worker waits before its next claim. Rate-limited workers also wait per letter, because
    their send slots start after it.
    """

    def __init__(
        self,
        slots: SendSlots,
        seconds: float,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.slots, self.seconds = slots, seconds
        self._wall, self._sleep = wall, sleep

    def back_off(self, why: str = "") -> None:
        """Every worker waits; ``why`` (the relay's failure, no address in it) is kept with
        the moment, for whoever watches the send."""
        self.slots.back_off(self._wall() + self.seconds, why)

    def wait(self) -> float:
        """Sleep until the back-off ends; return how long that was (0.0: none in force)."""
        delay = self.slots.backoff_until() - self._wall()
        if delay <= 0:
            return 0.0
        log.info("waiting %.1f s: the relay asked every sender to slow down", delay)
        self._sleep(delay)
        return delay


class Handing:
    """Marks a claim's letters as handed to the relay, durably, a window ahead of sending.

    A letter is marked before its data goes, so a worker that dies leaves behind which of its
    letters may have reached the relay: only those come back as possible duplicates, not its
    whole claim. Marks go a window at a time (``commit_every`` letters and those on the wire),
    written in the claim's transaction (the first window) and then with each commit of
    results: no transaction of their own, and after a crash at most a window of letters is
    counted that did not go.
    """

    def __init__(self, store: Store, owner: str, ids: list[int], window: int) -> None:
        self._store, self._owner, self._ids, self._window = store, owner, ids, window
        self._position = {letter_id: index for index, letter_id in enumerate(ids)}
        # ids[:_marked] are marked, and committed: the claim marked the first window.
        self._marked = min(window, len(ids))
        # Held while a mark is written: a letter on another thread waits for its mark.
        self._lock = threading.Lock()

    def before_sending(self, letter_id: int) -> None:
        """Return once the letter is marked; mark it (and a window after it) if it is not."""
        index = self._position[letter_id]
        if index < self._marked:
            return
        with self._lock:
            if index < self._marked:
                return
            end = min(len(self._ids), index + self._window)
            self._store.mark_handed(self._owner, self._run(end))
            self._marked = end

    def record(self, outcomes: Sequence[Outcome], done: int, now: datetime) -> None:
        """Commit ``outcomes`` (``done`` letters of the claim have one now), marking the next
        window in the same transaction."""
        with self._lock:
            end = min(len(self._ids), done + self._window)
            ahead = self._run(end) if end > self._marked else None
            self._store.record_outcomes(outcomes, self._owner, now, handing=ahead)
            self._marked = max(self._marked, end)

    def _run(self, end: int) -> tuple[int, int]:
        """The first and last id of the letters from the first unmarked one to ``end``."""
        return self._ids[self._marked], self._ids[end - 1]


@dataclass(slots=True)
class RunStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    quarantined: int = 0
    released: int = 0
    possible_duplicates: int = 0
    slowed_down: float = 0.0  # seconds spent waiting for the relay's slow-down to end
    # Claims in which the relay as a whole failed (unreachable, 421, 454).
    relay_failures: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Letters done with: sent, failed, held or quarantined (not retried or released)."""
        return self.sent + self.failed + self.held + self.quarantined


@dataclass
class Deliverer:
    """One worker's delivery loop over the ports."""

    store: Store
    transport: Transport
    clock: Clock
    owner: str
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    pacer: Pacer = field(default_factory=lambda: Pacer(None))
    # The process's roster of everyone on file (one per runtime, shared with planning).
    rosters: RosterSource | None = None
    rate_limit: SharedRateLimit | None = None
    # Letters guarded and sent at once, each on its own thread. Above 1, ``transport`` must
    # be safe to call from that many threads (delivery/sessions.py: one session per thread).
    connections: int = 1
    slow_down: SlowDown | None = None
    _lanes: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    # Set when the relay asked to slow down during this claim: the rest goes back unsent.
    _slowed: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    # The relay's last failure logged: an outage is logged once, not at every claim.
    _relay_logged: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.rosters is None:
            self.rosters = RosterCache(self.store)

    def run_once(
        self, stats: RunStats | None = None, on_claim: Callable[[int], None] | None = None
    ) -> RunStats:
        """Claim one batch of letters and deliver it. Returns what happened (empty when idle).

        ``on_claim`` hears how many letters were claimed before any of them is delivered.
        """
        stats = stats or RunStats()
        if self.slow_down is not None:
            stats.slowed_down += self.slow_down.wait()
        self._slowed.clear()
        now = self.clock.now()
        lease_until = now + self.policy.lease
        # Beyond a commit's letters, those that may be checked or on the wire as it commits:
        # a pipelined session is up to two letters ahead of its results, lanes one each.
        window = self.policy.commit_every + self.connections + 1
        claimed = self.store.claim(self.owner, now, lease_until, self._claim_size(), window)
        if on_claim is not None:
            on_claim(len(claimed))
        if not claimed:
            return stats
        # A letter whose send slot starts in the last quarter of the lease goes back instead.
        usable = 0.75 * self.policy.lease.total_seconds()
        deadline = self.rate_limit.deadline_after(usable) if self.rate_limit else math.inf
        stats.claimed += len(claimed)
        # Each came back from a dead worker that had handed it to the relay: it may go twice.
        stats.possible_duplicates += sum(letter.recovered for letter in claimed)
        handing = Handing(self.store, self.owner, [letter.id for letter in claimed], window)
        facts = self.store.send_time_facts(claimed, now)
        # The claim's letters are guarded together, on the bytes about to go, before the
        # first of them is sent: one roster version read for them all, and the roster
        # searched once for every letter whose seal no longer holds.
        guarded = self._guarded(claimed, facts)
        stop = threading.Event()

        def check(letter: ClaimedLetter) -> Outcome | None:
            """Why this letter does not go now (None: send it). A held or released letter
            stops every letter of the claim not yet started."""
            if stop.is_set() or self._slowed.is_set():
                return Outcome(letter.id, OutboxState.QUEUED, release=True)
            outcome = self._check(letter, guarded[letter.id], facts.get(letter.id), stats, deadline)
            if outcome is None:
                handing.before_sending(letter.id)
            elif outcome.pause_batch or outcome.release:
                stop.set()
            return outcome

        sent_before = stats.sent
        try:
            self._record(self._outcomes(check, claimed), stats, handing)
        except BaseException:
            self._drain()
            raise
        if self._slowed.is_set():
            stats.relay_failures += 1
        if stats.sent > sent_before:
            self._relay_logged = ""  # the relay takes letters: its next outage is news
        return stats

    def _guarded(
        self, claimed: list[ClaimedLetter], facts: dict[int, SendTimeFacts]
    ) -> dict[int, list[Finding]]:
        """The guard's findings on each claimed letter's stored bytes, by letter id.

        A letter sealed when it was composed (guard/seal.py) whose seal still holds for
        these bytes and the roster as it is now has its send-time facts checked; every
        other letter is guarded in full. The roster of everyone on file is read only when
        some letter needs it.
        """
        version = self.store.roster_version()
        found: dict[int, list[Finding]] = {}
        unsealed: list[ClaimedLetter] = []
        for letter in claimed:
            if _seal_holds(letter, version):
                found[letter.id] = inspect_sealed(facts.get(letter.id), letter.planned_stage)
            else:
                unsealed.append(letter)
        if unsealed:
            assert self.rosters is not None
            found.update(_guarded_in_full(unsealed, self.rosters.current(), facts))
        return found

    def _drain(self) -> None:
        """After a failure, let letters already on the wire finish before anyone closes their
        sessions; letters not yet started stay claimed and come back when the lease ends."""
        if self._lanes is not None:
            self._lanes.shutdown(wait=True, cancel_futures=True)
            self._lanes = None

    def _outcomes(self, check: Check, claimed: list[ClaimedLetter]) -> Iterator[Outcome]:
        """Each letter's outcome: checked and sent one at a time, streamed, or in lanes.

        Every letter is checked just before it is handed to the transport. With
        ``connections`` above 1 the letters are checked and sent on that many threads, each
        with its own session, so the relay's round trips overlap. Otherwise a streaming
        transport overlaps each letter's data with the next letter's envelope (one round trip
        a letter), unless a rate is kept: then each letter waits for its own slot.
        """

        def step(letter: ClaimedLetter) -> Outcome:
            return check(letter) or self._send(letter)

        if self.connections > 1:
            if self._lanes is None:
                self._lanes = ThreadPoolExecutor(
                    self.connections, thread_name_prefix="fairwell-send"
                )
            return self._lanes.map(step, claimed)
        paced = self.pacer.limited or self.rate_limit is not None
        if isinstance(self.transport, StreamingTransport) and not paced:
            return self._streamed(self.transport, check, claimed)
        return map(step, claimed)

    def _streamed(
        self, stream: StreamingTransport, check: Check, claimed: list[ClaimedLetter]
    ) -> Iterator[Outcome]:
        """Letters handed to a streaming transport; an outcome may come with a later letter."""
        waiting: dict[int, ClaimedLetter] = {}
        for letter in claimed:
            early = check(letter)
            if early is not None:
                yield early
                continue
            # Outcomes decided so far are handed on (and may be committed) before any more
            # data goes: a crash then leaves no more letters between the relay's 250 and
            # our commit than sending one at a time does.
            yield from self._results(stream.collect, waiting)
            if self._slowed.is_set():
                yield Outcome(letter.id, OutboxState.QUEUED, release=True)
                continue
            waiting[letter.id] = letter
            submit = functools.partial(
                stream.submit, letter.id, letter.sender, letter.recipient, letter.body
            )
            yield from self._results(submit, waiting)
        yield from self._results(stream.collect, waiting)
        yield from self._results(stream.flush, waiting)

    def _results(
        self, call: Callable[[], list[tuple[int, DeliveryError | None]]], waiting: Waiting
    ) -> list[Outcome]:
        """The outcomes ``call`` decides (a list, not a generator: called twice a letter,
        and most often it decides none)."""
        try:
            results = call()
        except Exception as bug:
            # A bug, not the relay's answer: every letter the transport held is quarantined,
            # as a letter is when send() raises one.
            log.exception("outbox %s quarantined", sorted(waiting))
            quarantined = [
                Outcome(letter_id, OutboxState.QUARANTINED, error=type(bug).__name__)
                for letter_id in waiting
            ]
            waiting.clear()
            return quarantined
        return [self._outcome(waiting.pop(letter_id), verdict) for letter_id, verdict in results]

    def _record(self, outcomes: Iterable[Outcome], stats: RunStats, handing: Handing) -> None:
        """Commit outcomes every ``commit_every`` letters, as they come in."""
        pending: list[Outcome] = []
        for done, outcome in enumerate(outcomes, start=1):
            _count(outcome, stats)
            pending.append(outcome)
            if len(pending) >= self.policy.commit_every:
                handing.record(pending, done, self.clock.now())
                pending = []
        self.store.record_outcomes(pending, self.owner, self.clock.now())

    def _claim_size(self) -> int:
        limit = (
            self.rate_limit.claim_limit(self.policy.lease.total_seconds())
            if (self.rate_limit)
            else None
        )
        return min(self.policy.claim_batch, limit or self.policy.claim_batch)

    def _check(
        self,
        letter: ClaimedLetter,
        findings: list[Finding],
        facts: SendTimeFacts | None,
        stats: RunStats,
        deadline: float,
    ) -> Outcome | None:
        """Act on the guard's findings on the final bytes and the eligibility re-check, and
        wait for the letter's send slot.

        Returns the letter's outcome when it must not go now; None when it may be sent.
        """
        if facts is None:
            return Outcome(letter.id, OutboxState.QUARANTINED, error="no send-time facts")
        if findings:
            stats.findings.extend(findings)
            return self._held(letter, findings[0])
        if letter.recovered:
            log.warning(
                "outbox %s: resending after an expired lease (possible duplicate)", letter.id
            )
        self.pacer.wait()
        if self.rate_limit is not None and not self.rate_limit.wait(letter.recipient, deadline):
            return Outcome(letter.id, OutboxState.QUEUED, release=True)
        return None

    def _held(self, letter: ClaimedLetter, finding: Finding) -> Outcome:
        log.warning("outbox %s held by rule %s", letter.id, finding.rule)
        stops = self.policy.stop_batch_on_violation and finding.rule != ELIGIBILITY_RULE
        return Outcome(
            letter.id,
            OutboxState.HELD,
            held_rule=finding.rule,
            error=f"{finding.description}: {finding.detail}",
            pause_batch=stops,
        )

    def _send(self, letter: ClaimedLetter) -> Outcome:
        try:
            self.transport.send(letter.sender, letter.recipient, letter.body)
        except DeliveryError as error:
            return self._outcome(letter, error)
        except Exception as error:
            log.exception("outbox %s quarantined", letter.id)
            return Outcome(letter.id, OutboxState.QUARANTINED, error=type(error).__name__)
        return Outcome(letter.id, OutboxState.SENT)

    def _outcome(self, letter: ClaimedLetter, error: DeliveryError | None) -> Outcome:
        """What the relay's answer means for the letter: sent, retried later, or failed."""
        if error is None:
            return Outcome(letter.id, OutboxState.SENT)
        if isinstance(error, TransientDeliveryError):
            if error.slow_down or error.code in SLOW_DOWN_CODES:
                self._slow_down(letter, error)
            if error.possible_duplicate:
                log.warning("outbox %s: connection lost after DATA (possible duplicate)", letter.id)
            return self._retry_or_fail(letter, error)
        log.info("outbox %s failed permanently (%s)", letter.id, error.code)
        refused = isinstance(error, PermanentDeliveryError) and error.recipient_refused
        return Outcome(
            letter.id,
            OutboxState.FAILED,
            code=error.code,
            error=error.detail,
            suppress_recipient=refused,
        )

    def _slow_down(self, letter: ClaimedLetter, error: TransientDeliveryError) -> None:
        """Every worker waits; the rest of this claim goes back to the queue unsent."""
        # The detail names the relay and its reply with every address blanked out
        # (delivery/smtp.py): never the recipient, never the letter.
        if error.detail != self._relay_logged:
            self._relay_logged = error.detail
            relay_log.warning(
                "outbox %s: the relay takes no letters (%s); every worker waits",
                letter.id,
                error.detail,
            )
        self._slowed.set()
        if self.slow_down is not None:
            self.slow_down.back_off(error.detail)
        elif self.rate_limit is not None:
            self.rate_limit.slow_down()

    def _retry_or_fail(self, letter: ClaimedLetter, error: TransientDeliveryError) -> Outcome:
        now = self.clock.now()
        # The exponent is capped before multiplying: a long outage must not overflow timedelta.
        doublings = min(letter.attempts - 1, 20)
        delay = min(self.policy.retry_base * 2**doublings, MAX_RETRY_DELAY)
        if now + delay > letter.created_at + self.policy.retry_deadline:
            return Outcome(
                letter.id,
                OutboxState.FAILED,
                code=error.code,
                error=f"gave up after {letter.attempts} attempts: "
                + _without(letter.recipient, error.detail),
                possible_duplicate=error.possible_duplicate,
            )
        return Outcome(
            letter.id,
            OutboxState.RETRY,
            next_attempt_at=now + delay,
            code=error.code,
            error=error.detail,
            possible_duplicate=error.possible_duplicate,
        )


def _seal_holds(letter: ClaimedLetter, roster_version: int) -> bool:
    if letter.guard_seal is None:
        return False
    now = seal(letter.body, letter.recipient, letter.person_id, letter.locale, roster_version)
    return hmac.compare_digest(now, letter.guard_seal)


def _guarded_in_full(
    claimed: list[ClaimedLetter], roster: Roster, facts: dict[int, SendTimeFacts]
) -> dict[int, list[Finding]]:
    """The whole guard's findings on each letter's stored bytes, by letter id."""
    letters = [
        (
            letter.body,
            Expectation(
                envelope_recipient=letter.recipient,
                addressee_id=letter.person_id,
                locale=letter.locale,
                planned_stage=letter.planned_stage,
                roster=roster,
                facts=facts.get(letter.id),
            ),
        )
        for letter in claimed
    ]
    return {letter.id: found for letter, found in zip(claimed, inspect_many(letters), strict=True)}


def _without(address: str, reply: str) -> str:
    """Relays often echo the address in their reply; we keep the reply, not the address."""
    return re.sub(re.escape(address), "<recipient>", reply, flags=re.IGNORECASE)


# The RunStats field each final state is counted in.
_COUNTED_AS = {
    OutboxState.SENT: "sent",
    OutboxState.RETRY: "retried",
    OutboxState.FAILED: "failed",
    OutboxState.HELD: "held",
    OutboxState.QUARANTINED: "quarantined",
}


def _count(outcome: Outcome, stats: RunStats) -> None:
    if outcome.release:
        stats.released += 1
        return
    attribute = _COUNTED_AS[outcome.state]
    setattr(stats, attribute, getattr(stats, attribute) + 1)
    stats.possible_duplicates += outcome.possible_duplicate
