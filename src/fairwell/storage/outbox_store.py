"""SqlOutbox: the durable outbox (the OutboxStore port): batches written all or none, claims
with a lease, outcomes, and the controls that pause, stop and requeue. One method, one
transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from fairwell.domain.model import (
    BATCH_GUARD_PAUSED,
    PAUSED_BATCH_STATES,
    STOPPED_RULE,
    DecisionState,
    LetterKind,
    OutboxState,
    Source,
    Stage,
)
from fairwell.errors import AlreadyQueued, NotFound
from fairwell.ports import ClaimedLetter, NewLetter, OutboxRow, OutboxStatus, Outcome
from fairwell.storage.base import INSERT_CHUNK, SqlBase
from fairwell.storage.claims import (
    ON_FILE_KINDS,
    Bookkeeping,
    claim_statements,
    id_names,
    in_state,
)
from fairwell.storage.rows import audit, insert_batch, insert_bodies, outbox_row

if TYPE_CHECKING:
    from fairwell.guard.privacy import SendTimeFacts

from fairwell.storage.tables import (
    batches,
    controls,
    letter_bodies,
    outbox,
    suppressions,
)


class SqlOutbox(SqlBase):
    """The OutboxStore port: batches, claims, outcomes and controls."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._claims = claim_statements(self._postgres)
        self._bookkeeping_sql = Bookkeeping(engine.dialect)

    def create_batch(
        self,
        job_id: int,
        letters: Iterable[NewLetter],
        actor: str,
        now: datetime,
        rate_per_second: int | None,
        detail: Callable[[], Mapping[str, object]] | None = None,
    ) -> tuple[int, int]:
        """Write every letter of the batch in one transaction: all queued, or none.

        ``detail`` adds to the batch's audit entry; it is called once every letter is written,
        so it can count them (how many wait for their send window, and why).
        """
        total = 0
        with _one_letter_per_key(), self._write() as conn:
            batch_id = insert_batch(conn, job_id, actor, now, rate_per_second)
            chunk: list[NewLetter] = []
            for letter in letters:
                chunk.append(letter)
                if len(chunk) >= INSERT_CHUNK:
                    total += self._insert_letters(conn, batch_id, chunk, now)
                    chunk = []
            total += self._insert_letters(conn, batch_id, chunk, now)
            extra = dict(detail()) if detail else {}
            entry = {"letters": total, **extra}
            audit(conn, actor, "batch.queued", "batch", batch_id, entry, now)
        return batch_id, total

    def _insert_letters(
        self, conn: Connection, batch_id: int, letters: list[NewLetter], now: datetime
    ) -> int:
        if not letters:
            return 0
        body_ids = insert_bodies(conn, letters)
        rows = [
            {**self._outbox_values(batch_id, letter, now), "body_id": body_id}
            for letter, body_id in zip(letters, body_ids, strict=True)
        ]
        conn.execute(insert(outbox), rows)
        return len(letters)

    @staticmethod
    def _outbox_values(batch_id: int, letter: NewLetter, now: datetime) -> dict[str, object]:
        return {
            "batch_id": batch_id,
            "decision_id": letter.decision_id,
            "letter_key": letter.letter_key or f"decision:{letter.decision_id}",
            "application_id": letter.application_id,
            "kind": letter.kind,
            "locale": letter.locale,
            "sender": letter.sender,
            "recipient": letter.recipient,
            "message_id": letter.message_id,
            "planned_stage": letter.planned_stage.value,
            "state": OutboxState.QUEUED.value,
            "attempts": 0,
            # The worker claims a letter once this is due: its send window, or now.
            "next_attempt_at": letter.not_before or now,
            "possible_duplicates": 0,
            "keep_until": letter.keep_until,
            "decide_by": letter.decide_by,
            "created_at": now,
            "updated_at": now,
        }

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int, handing: int = 0
    ) -> list[ClaimedLetter]:
        """Claim up to ``limit`` letters with a conditional UPDATE; losing a race is normal.

        A letter whose lease ran out (its worker died) comes back here. If that worker had
        marked it handed (:meth:`mark_handed`), it may already have reached the relay: it is
        marked ``recovered`` and counted once as a possible duplicate. Its unmarked letters
        never left, and are not counted. The first ``handing`` letters of this claim (in id
        order, the order they go in) are marked handed here, saving the worker a commit.
        """
        statements = self._claims
        with self._bookkeeping() as conn:
            if self._is_paused(conn):
                return []
            window = {"claim_now": now, "claim_limit": limit}
            abandoned = list(conn.execute(statements.abandoned, window).scalars())
            waiting = [list(conn.execute(q, window).scalars()) for q in statements.waiting]
            candidates = [*abandoned, *waiting[0], *waiting[1]][:limit]
            if not candidates:
                return []
            recovered = self._recover(conn, abandoned, now) if abandoned else set()
            taking = {
                "claim_ids": candidates,
                "claim_now": now,
                "claim_owner": owner,
                "claim_lease_until": lease_until,
            }
            claimed = conn.execute(statements.claim, taking).scalars().all()
            for outbox_id in sorted(set(abandoned).intersection(claimed)):
                detail: dict[str, object] = {"possible_duplicate": outbox_id in recovered}
                audit(conn, owner, "letter.recovered", "outbox", outbox_id, detail, now)
            if not claimed:
                return []
            if handing:
                first = sorted(claimed)[: min(handing, len(claimed))]
                self._mark_handed(conn, owner, (first[0], first[-1]))
            return self._load_claimed(conn, claimed, recovered)

    def _recover(self, conn: Connection, abandoned: list[int], now: datetime) -> set[int]:
        """Count a possible duplicate on each abandoned letter that was handed; their ids."""
        ids = {"claim_ids": abandoned, "claim_now": now}
        return set(conn.execute(self._claims.recover, ids).scalars())

    def _load_claimed(
        self, conn: Connection, ids: Sequence[int], recovered: set[int]
    ) -> list[ClaimedLetter]:
        rows = conn.execute(self._claims.load, {"claim_ids": list(ids)}).all()
        # Unpacked by position (the columns of ClaimStatements.load): reading 13 columns of
        # 250 rows by name was a tenth of a claim's time.
        return [
            ClaimedLetter(
                id=letter_id,
                batch_id=batch_id,
                job_id=job_id,
                application_id=application_id,
                person_id=person_id,
                sender=sender,
                recipient=recipient,
                locale=locale,
                body=body,
                planned_stage=_stage(planned_stage),
                attempts=attempts,
                created_at=created_at,
                recovered=letter_id in recovered,
                guard_seal=guard_seal,
            )
            for (
                letter_id,
                batch_id,
                application_id,
                sender,
                recipient,
                locale,
                planned_stage,
                attempts,
                created_at,
                body,
                guard_seal,
                job_id,
                person_id,
            ) in rows
        ]

    def send_time_facts(
        self, letters: Sequence[ClaimedLetter], now: datetime | None = None
    ) -> dict[int, SendTimeFacts]:
        """Fresh eligibility facts for each claimed letter, read in one query.

        A letter without a decision (a status letter, a role that opened) has no decision to
        be reinstated; a status letter is stale once its application has an active decision,
        and a role-opened letter once the person's talent-pool consent has lapsed.
        """
        # The guard's record, imported here: only a worker reads send-time facts.
        from fairwell.guard.privacy import SendTimeFacts

        query = self._claims.facts(at_time=now is not None)
        values: dict[str, object] = {"claim_ids": [letter.id for letter in letters]}
        if now is not None:
            values["claim_now"] = now
        with self._read() as conn:
            rows = conn.execute(query, values).all()
        # Most letters of a claim have the same facts (the same stage, nothing changed since):
        # each distinct row of facts becomes one SendTimeFacts (immutable), shared.
        made: dict[tuple[Any, ...], SendTimeFacts] = {}
        found: dict[int, SendTimeFacts] = {}
        for row in rows:
            key = tuple(row[1:])
            facts = made.get(key)
            if facts is None:
                facts = made[key] = _facts(SendTimeFacts, *key)
            found[row[0]] = facts
        return found

    def mark_handed(self, owner: str, ids: tuple[int, int]) -> None:
        """Mark the letters ``owner`` holds with ids from ``ids[0]`` to ``ids[1]`` as handed to
        the relay, before their data goes (see :meth:`claim`)."""
        with self._bookkeeping() as conn:
            self._mark_handed(conn, owner, ids)

    def _mark_handed(self, conn: Connection, owner: str, ids: tuple[int, int]) -> None:
        values = {"first_id": ids[0], "last_id": ids[1], "claim_owner": owner}
        self._bookkeeping_sql.handing.run(conn, values)

    def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        owner: str,
        now: datetime,
        handing: tuple[int, int] | None = None,
    ) -> None:
        """Write what happened, only for letters this worker still owns; in the same
        transaction, mark the letters ``handing`` as handed (:meth:`mark_handed`)."""
        if not outcomes and handing is None:
            return
        plain = [o for o in outcomes if o.state is OutboxState.SENT and not o.possible_duplicate]
        with self._bookkeeping() as conn:
            if handing is not None:
                self._mark_handed(conn, owner, handing)
            self._record_sent(conn, [o.outbox_id for o in plain], owner, now)
            for outcome in outcomes:
                if outcome.state is not OutboxState.SENT or outcome.possible_duplicate:
                    self._record_one(conn, outcome, owner, now)

    def _record_sent(self, conn: Connection, ids: list[int], owner: str, now: datetime) -> None:
        """The common case: two statements for all the letters of one commit."""
        if not ids:
            return
        mark, audit_sent = self._bookkeeping_sql.sent(len(ids))
        values: dict[str, object] = dict(zip(id_names(len(ids)), ids, strict=True))
        values.update(b_owner=owner, b_now=now)
        result = mark.run(conn, values)
        if result.rowcount != len(ids):
            lost = len(ids) - result.rowcount
            audit(conn, owner, "letter.lease-lost", "outbox", None, {"count": lost}, now)
        audit_sent.run(conn, values)

    def _record_one(self, conn: Connection, outcome: Outcome, owner: str, now: datetime) -> None:
        values: dict[str, object] = {
            "state": outcome.state.value,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
            "last_code": outcome.code,
            "last_error": outcome.error,
            "held_rule": outcome.held_rule,
        }
        if outcome.release:
            # Given back unsent (the batch stopped): this claim does not count as an attempt.
            values["attempts"] = outbox.c.attempts - 1
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.state is OutboxState.SENT:
            values["sent_at"] = now
        if outcome.possible_duplicate:
            values["possible_duplicates"] = outbox.c.possible_duplicates + 1
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == outcome.outbox_id, outbox.c.lease_owner == owner)
            .values(**values)
            .returning(outbox.c.batch_id, outbox.c.recipient)
        ).first()
        if result is None:
            audit(conn, owner, "letter.lease-lost", "outbox", outcome.outbox_id, {}, now)
            return
        if outcome.suppress_recipient:
            self._suppress(conn, result.recipient, outcome.code, now)
        if outcome.pause_batch:
            conn.execute(
                update(batches)
                .where(batches.c.id == result.batch_id, batches.c.state == "active")
                .values(state=BATCH_GUARD_PAUSED)
            )
            audit(
                conn,
                owner,
                "batch.paused",
                "batch",
                result.batch_id,
                {"rule": outcome.held_rule, "outbox_id": outcome.outbox_id},
                now,
            )
        if not outcome.release:
            audit(
                conn,
                owner,
                f"letter.{outcome.state.value}",
                "outbox",
                outcome.outbox_id,
                {
                    "code": outcome.code,
                    "rule": outcome.held_rule,
                    "possible_duplicate": outcome.possible_duplicate,
                },
                now,
            )

    def _suppress(self, conn: Connection, address: str, code: int | None, now: datetime) -> None:
        exists = conn.execute(select(suppressions.c.email).where(suppressions.c.email == address))
        if exists.first() is None:
            conn.execute(
                insert(suppressions).values(
                    email=address, reason=f"relay refused the address ({code})", created_at=now
                )
            )

    def _is_paused(self, conn: Connection) -> bool:
        return bool(conn.execute(self._claims.paused).scalar() == "yes")

    def set_paused(self, paused: bool, actor: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(controls.delete().where(controls.c.name == "paused"))
            conn.execute(insert(controls).values(name="paused", value="yes" if paused else "no"))
            if not paused:
                conn.execute(
                    update(batches)
                    .where(batches.c.state == BATCH_GUARD_PAUSED)
                    .values(state="active")
                )
            audit(
                conn,
                actor,
                "outbox.paused" if paused else "outbox.resumed",
                "outbox",
                None,
                {},
                now,
            )

    def outbox_status(
        self, batch_id: int | None = None, now: datetime | None = None
    ) -> OutboxStatus:
        """Letters per state; given ``now``, also the queued letters not due before then."""
        query = select(
            outbox.c.state,
            func.count().label("letters"),
            func.sum(outbox.c.possible_duplicates).label("duplicates"),
        )
        stopped_query = select(func.count()).where(outbox.c.held_rule == STOPPED_RULE)
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
            stopped_query = stopped_query.where(outbox.c.batch_id == batch_id)
        with self._read() as conn:
            scheduled, first = self._scheduled(conn, batch_id, now)
            rows = conn.execute(query.group_by(outbox.c.state)).all()
            paused_batches = (
                conn.execute(
                    select(batches.c.id)
                    .where(batches.c.state.in_(PAUSED_BATCH_STATES))
                    .order_by(batches.c.id)
                )
                .scalars()
                .all()
            )
            paused = self._is_paused(conn)
            stopped = conn.execute(stopped_query).scalar_one()
        return OutboxStatus(
            paused=paused,
            stopped=int(stopped),
            counts={row.state: row.letters for row in rows},
            possible_duplicates=sum(int(row.duplicates or 0) for row in rows),
            paused_batches=tuple(paused_batches),
            scheduled=int(scheduled),
            next_scheduled_at=first,
        )

    @staticmethod
    def _scheduled(
        conn: Connection, batch_id: int | None, now: datetime | None
    ) -> tuple[int, datetime | None]:
        """Queued letters not due before ``now`` (waiting for their send window)."""
        if now is None:
            return 0, None
        query = select(
            func.count().label("letters"), func.min(outbox.c.next_attempt_at).label("first")
        ).where(in_state(OutboxState.QUEUED), outbox.c.next_attempt_at > now)
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
        row = conn.execute(query).one()
        return int(row.letters), row.first

    def outbox_rows(
        self, state: OutboxState | None, batch_id: int | None, limit: int
    ) -> list[OutboxRow]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if state is not None:
            query = query.where(outbox.c.state == state.value)
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
        with self._read() as conn:
            return [outbox_row(row) for row in conn.execute(query)]

    def outbox_body(self, outbox_id: int) -> bytes:
        with self._read() as conn:
            query = (
                select(letter_bodies.c.body)
                .join(outbox, outbox.c.body_id == letter_bodies.c.id)
                .where(outbox.c.id == outbox_id)
            )
            body = conn.execute(query).scalar()
        if body is None:
            raise NotFound(f"no letter with outbox id {outbox_id}")
        return bytes(body)

    def letter_body_for(self, decision_id: int) -> bytes | None:
        """The stored bytes of the letter for a decision, or None before it is queued."""
        query = (
            select(letter_bodies.c.body)
            .join(outbox, outbox.c.body_id == letter_bodies.c.id)
            .where(outbox.c.letter_key == f"decision:{decision_id}")
        )
        with self._read() as conn:
            body = conn.execute(query).scalar()
        return None if body is None else bytes(body)

    def requeue(
        self, states: Sequence[OutboxState], ids: Sequence[int], actor: str, now: datetime
    ) -> int:
        """Put held, failed or quarantined letters back in the queue; the guard runs again."""
        query = update(outbox).where(outbox.c.state.in_([state.value for state in states]))
        if ids:
            query = query.where(outbox.c.id.in_(ids))
        with self._write() as conn:
            result = conn.execute(
                query.values(
                    state=OutboxState.QUEUED.value,
                    next_attempt_at=now,
                    held_rule=None,
                    updated_at=now,
                )
            )
            # A stopped batch takes its letters back once one of them is requeued.
            has_queued = (
                select(outbox.c.id)
                .where(outbox.c.batch_id == batches.c.id, outbox.c.state == OutboxState.QUEUED)
                .exists()
            )
            conn.execute(
                update(batches)
                .where(batches.c.state == "stopped", has_queued)
                .values(state="active")
            )
            audit(
                conn,
                actor,
                "outbox.requeued",
                "outbox",
                None,
                {"count": result.rowcount, "ids": list(ids)},
                now,
            )
            return int(result.rowcount)

    def stop_batch(self, batch_id: int, actor: str, now: datetime) -> int:
        """Hold every letter of the batch that no worker has claimed yet; return how many.

        Letters a worker already holds (state sending) finish: stopping cannot take back a
        letter the SMTP server may have accepted. Held letters can be requeued later.
        """
        waiting = [OutboxState.QUEUED.value, OutboxState.RETRY.value]
        with self._write() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.batch_id == batch_id, outbox.c.state.in_(waiting))
                .values(state=OutboxState.HELD.value, held_rule=STOPPED_RULE, updated_at=now)
            )
            conn.execute(update(batches).where(batches.c.id == batch_id).values(state="stopped"))
            audit(conn, actor, "batch.stopped", "batch", batch_id, {"held": result.rowcount}, now)
            return int(result.rowcount)


def _facts(
    facts: type[SendTimeFacts],
    kind: str,
    has_decision: bool,
    sent: bool,
    stage: str,
    source: str,
    erased: bool,
    state: str | None,
    suppressed: bool,
    decided: bool | None,
    consented: bool | None,
) -> SendTimeFacts:
    """One letter's facts from a row of ``ClaimStatements.facts`` (without its id)."""
    return facts(
        current_stage=Stage(stage),
        erased=bool(erased),
        suppressed=bool(suppressed),
        decision_active=not has_decision or state == DecisionState.ACTIVE.value,
        already_sent=bool(sent),
        decided_since=kind == LetterKind.STATUS.value and bool(decided),
        consent_lapsed=kind in ON_FILE_KINDS and not consented,
        kind_changed=_kind_changed(kind, source),
    )


# Each stage by its stored value: Stage(value) costs an Enum call for every claimed letter.
_STAGES = {stage.value: stage for stage in Stage}


def _stage(value: str) -> Stage:
    return _STAGES.get(value) or Stage(value)


# The decision letters whose kind follows from how the person came in (letter_kind_for).
_KIND_BY_SOURCE = {LetterKind.REJECTION.value, LetterKind.REFERRAL_CLOSED.value}


def _kind_changed(kind: str, source: str) -> bool:
    """A rejection to someone now on file as referred, or a referral note to an applicant."""
    if kind not in _KIND_BY_SOURCE:
        return False
    never_applied = not Source(source).applied_themselves
    return (kind == LetterKind.REFERRAL_CLOSED.value) != never_applied


@contextmanager
def _one_letter_per_key() -> Iterator[None]:
    """The outbox's unique letter key decides between two racing senders; the loser is told
    so in our terms (AlreadyQueued), not the database's."""
    try:
        yield
    except IntegrityError as error:
        if "letter_key" in str(error.orig):
            raise AlreadyQueued("a letter for this is in the outbox already") from None
        raise
