"""SqlStore: the Store port over SQLAlchemy Core. One method, one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from fairwell.domain.duplicates import Merge
from fairwell.domain.model import (
    STOPPED_RULE,
    ApplicantRow,
    DecisionState,
    Job,
    LetterKind,
    OutboxState,
    Stage,
)
from fairwell.errors import AlreadyQueued, NotFound
from fairwell.guard.privacy import SendTimeFacts
from fairwell.guard.roster import CountedEntries, RosterEntry
from fairwell.ports import (
    ApplicantFilter,
    ApplicantPage,
    ApplicantView,
    ClaimedLetter,
    ImportCounts,
    JobSummary,
    NewLetter,
    OutboxRow,
    OutboxStatus,
    Outcome,
    RosterChanges,
    StoredMerge,
)
from fairwell.storage.claims import ON_FILE_KINDS, claim_statements
from fairwell.storage.importer import INSERT_CHUNK, ApplicantWriter, count_merges, read_merges
from fairwell.storage.rows import (
    applicant_query,
    applicant_view,
    audit,
    decision_key,
)
from fairwell.storage.tables import (
    applications,
    audit_log,
    batches,
    controls,
    decisions,
    jobs,
    outbox,
    outbox_bodies,
    persons,
    roster_changes,
    suppressions,
)

ROSTER_CHUNK = 2000  # roster rows fetched at a time

# Built once: SQLAlchemy then reuses the compiled statement for every batch. One UPDATE for
# all the letters of a commit (an expanding IN), not one statement per letter: the rows it
# changes are still only the ones this worker holds the lease on.
_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .where(outbox.c.lease_owner == bindparam("b_owner"))
    .values(
        state=OutboxState.SENT.value,
        lease_owner=None,
        lease_until=None,
        updated_at=bindparam("b_now"),
        sent_at=bindparam("b_now"),
        last_code=None,
        last_error=None,
        held_rule=None,
    )
)
# The letters' audit rows, written by the database from the ids in one statement.
_AUDIT_SENT = insert(audit_log).from_select(
    ["at", "actor", "action", "entity", "entity_id", "detail"],
    select(
        bindparam("a_now", type_=audit_log.c.at.type),
        bindparam("a_owner", type_=audit_log.c.actor.type),
        literal("letter.sent", audit_log.c.action.type),
        literal("outbox", audit_log.c.entity.type),
        outbox.c.id,
        literal("{}", audit_log.c.detail.type),
    )
    .where(outbox.c.id.in_(bindparam("a_ids", expanding=True)))
    .order_by(outbox.c.id),
)


class SqlStore:
    """The Store port over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._claims = claim_statements(self._postgres)

    @contextmanager
    def _transaction(self, write: bool, durable: bool = True) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=write, fairwell_durable=durable)
            with conn.begin():
                yield conn

    def _read(self) -> AbstractContextManager[Connection]:
        """A read transaction; on SQLite it never waits for a writer (WAL)."""
        return self._transaction(write=False)

    def _write(self) -> AbstractContextManager[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (IMMEDIATE)."""
        return self._transaction(write=True)

    def _bookkeeping(self) -> AbstractContextManager[Connection]:
        """A write transaction for delivery bookkeeping; see storage/engine.py on durability."""
        return self._transaction(write=True, durable=False)

    # --- import ------------------------------------------------------------------------

    def upsert_applicants(
        self,
        rows: Sequence[ApplicantRow],
        now: datetime,
        actor: str,
        merges: Sequence[Merge] = (),
        source_file: str = "",
    ) -> ImportCounts:
        """Create or update people, jobs and applications; unchanged rows stay untouched.

        The merges are kept (storage/importer.py), in the same transaction.
        """
        with self._write() as conn:
            return ApplicantWriter(conn, now, actor).write(rows, merges, source_file)

    def import_merges(self, job_id: int, limit: int | None = None) -> list[StoredMerge]:
        with self._read() as conn:
            return read_merges(conn, job_id, limit)

    def import_merge_count(self, job_id: int) -> int:
        with self._read() as conn:
            return count_merges(conn, job_id)

    # --- reading -----------------------------------------------------------------------

    def jobs(self) -> list[JobSummary]:
        """Each job with its applicants per stage as the pipeline shows it: everyone with an
        active decision counts as rejected, whatever stage they had reached."""
        job_columns = (jobs.c.id, jobs.c.title, jobs.c.sender_name, jobs.c.closed_at)
        shown = select(applications.c.job_id, shown_stage().label("stage")).subquery("shown")
        query = (
            select(*job_columns, shown.c.stage, func.count(shown.c.job_id))
            .outerjoin(shown, shown.c.job_id == jobs.c.id)
            .group_by(*job_columns, shown.c.stage)
            .order_by(jobs.c.title)
        )
        summaries: dict[int, tuple[Job, dict[str, int]]] = {}
        with self._read() as conn:
            for job_id, title, sender, closed, stage, count in conn.execute(query).tuples():
                job = Job(job_id, title, sender, closed)
                _, stages = summaries.setdefault(job_id, (job, {}))
                if stage is not None:
                    stages[stage] = count
        return [
            JobSummary(job=job, stages=stages, total=sum(stages.values()))
            for job, stages in summaries.values()
        ]

    def job_by_title(self, title: str) -> Job:
        with self._read() as conn:
            found = conn.execute(select(jobs).where(jobs.c.title == title)).first()
        if found is None:
            raise NotFound(f"no job titled {title!r}; `fairwell jobs` lists them")
        return Job(found.id, found.title, found.sender_name, found.closed_at)

    def job_by_id(self, job_id: int) -> Job:
        with self._read() as conn:
            found = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if found is None:
            raise NotFound(f"no job #{job_id}")
        return Job(found.id, found.title, found.sender_name, found.closed_at)

    def set_job_sender(self, job_id: int, name: str | None, actor: str, now: datetime) -> None:
        """Who signs the job's letters from now on; None: the installation's sender name.

        Letters already queued keep the signature they were written with.
        """
        with self._write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(sender_name=name))
            # Whether a name is set, never the name: the audit log holds no personal data.
            audit(conn, actor, "job.sender", "job", job_id, {"named": name is not None}, now)

    def set_job_closed(self, job_id: int, closed: bool, actor: str, now: datetime) -> bool:
        """Close (or reopen) the job; False when it already was. Closing starts the
        retention clock of its applications no letter reached."""
        state = jobs.c.closed_at.is_(None) if closed else jobs.c.closed_at.is_not(None)
        with self._write() as conn:
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, state)
                .values(closed_at=now if closed else None)
            ).rowcount
            if changed:
                action = "job.closed" if closed else "job.reopened"
                audit(conn, actor, action, "job", job_id, {}, now)
        return bool(changed)

    def applicants(self, job_id: int) -> list[ApplicantView]:
        with self._read() as conn:
            return [applicant_view(row) for row in conn.execute(applicant_query(job_id))]

    def applicant_page(
        self, job_id: int, shown: ApplicantFilter, offset: int, limit: int
    ) -> ApplicantPage:
        """One page of the job's pipeline, filtered and counted in the database."""
        matching = self._matching(shown)
        counted = (
            select(func.count())
            .select_from(applications.join(persons, persons.c.id == applications.c.person_id))
            .where(applications.c.job_id == job_id, *matching)
        )
        ordered = applicant_query(job_id).order_by(None).order_by(*_pipeline_order(shown))
        page = ordered.where(*matching).offset(offset).limit(limit)
        with self._read() as conn:
            total = conn.execute(counted).scalar_one()
            views = [applicant_view(row) for row in conn.execute(page)]
        return ApplicantPage(total=int(total), views=views)

    def applicant_emails(self, job_id: int, shown: ApplicantFilter) -> list[str]:
        """The addresses of every applicant the filter matches, in pipeline order."""
        query = (
            select(persons.c.email)
            .join(applications, applications.c.person_id == persons.c.id)
            .where(applications.c.job_id == job_id, *self._matching(shown))
            .order_by(applications.c.id)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def _matching(self, shown: ApplicantFilter) -> list[Any]:
        conditions: list[Any] = []
        if shown.stage:
            conditions.append(shown_stage() == shown.stage)
        if shown.unsent:
            conditions.append(_decided_unsent())
        if shown.search:
            fold = func.lower if self._postgres else func.casefold
            name = persons.c.first_name + " " + persons.c.last_name
            needle = shown.search.casefold()
            conditions.append(
                or_(
                    fold(name).contains(needle, autoescape=True),
                    fold(persons.c.email).contains(needle, autoescape=True),
                )
            )
        return conditions

    def pending_letters(
        self, job_id: int, after: int = 0, until: int | None = None
    ) -> Iterator[ApplicantView]:
        """Decided applications of the job that have no letter yet, streamed in id order.

        ``after`` and ``until`` bound the application ids (after < id <= until), so several
        processes can each compose one range.
        """
        query = applicant_query(job_id).where(outbox.c.id.is_(None))
        if until is not None:
            query = query.where(applications.c.id <= until)
        for view in self._streamed(query, after):
            if view.decision is not None:
                yield view

    def streamed_applicants(self, job_id: int) -> Iterator[ApplicantView]:
        """Every applicant of the job, read a chunk at a time (a plan of 20,000 people)."""
        return self._streamed(applicant_query(job_id), 0)

    def _streamed(self, query: Any, after: int) -> Iterator[ApplicantView]:
        last_id = after
        while True:
            with self._read() as conn:
                page = conn.execute(
                    query.where(applications.c.id > last_id).limit(INSERT_CHUNK)
                ).all()
            if not page:
                return
            for row in page:
                yield applicant_view(row)
            last_id = page[-1].application_id

    def application_ids(self, job_id: int) -> list[int]:
        query = select(applications.c.id).where(applications.c.job_id == job_id)
        with self._read() as conn:
            return sorted(conn.execute(query).scalars())

    # --- the organisation's roster ------------------------------------------------------

    def roster(self) -> CountedEntries:
        """Everyone on file, of every job, erased people aside: counted first, then streamed
        in person-id order, each person once with every reference they hold."""
        return _RosterRows(self)

    def roster_entries(self) -> Iterator[RosterEntry]:
        """The roster in person-id order, streamed from one read.

        Rows are fetched ROSTER_CHUNK at a time (a server-side cursor on PostgreSQL), so a
        million-person roster is never a million row objects at once.
        """
        with self._read() as conn:
            rows = conn.execution_options(yield_per=ROSTER_CHUNK).execute(_ROSTER)
            for person_id, group in groupby(rows, key=lambda row: row.id):
                first, refs = _person_and_refs(group)
                yield RosterEntry(person_id, first.email, _full_name(first), refs)

    def roster_size(self) -> int:
        query = select(func.count(persons.c.id)).where(persons.c.erased_at.is_(None))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def roster_version(self) -> int:
        """Changes whenever someone comes on file or leaves it, or changes name, address or
        reference. Database triggers keep it (migration 0015): reading it is one row."""
        with self._read() as conn:
            return int(conn.execute(self._claims.roster_version).scalar_one())

    def roster_changes(self, since: int, limit: int) -> RosterChanges | None:
        """Everyone whose identifiers changed after version ``since``, as they are now, with
        the version that brings a roster up to date; None when more than ``limit`` changed.

        Read in one transaction: the version first, so nothing it covers is missed (writers
        commit in the order of their versions, see migration 0015).
        """
        with self._read() as conn:
            version = int(conn.execute(self._claims.roster_version).scalar_one())
            count = conn.execute(_CHANGED_COUNT, {"since": since}).scalar_one()
            if count > limit:
                return None
            rows = conn.execute(_CHANGED, {"since": since}).all()
        people: dict[int, RosterEntry | None] = {}
        for person_id, group in groupby(rows, key=lambda row: row.person_id):
            first, refs = _person_and_refs(group)
            version = max(version, int(first.version))
            on_file = first.email is not None and first.erased_at is None
            entry = RosterEntry(person_id, first.email, _full_name(first), refs)
            people[person_id] = entry if on_file else None
        return RosterChanges(version, people)

    # --- deciding and batching -----------------------------------------------------------

    def record_decisions(
        self,
        application_ids: Sequence[int],
        reason_code: str,
        note: str | None,
        actor: str,
        now: datetime,
        reason_chosen: bool = False,
    ) -> int:
        rows = [
            {
                "application_id": app_id,
                "reason_code": reason_code,
                "reason_chosen": reason_chosen,
                "note": note,
                "state": DecisionState.ACTIVE.value,
                "decided_by": actor,
                "decided_at": now,
            }
            for app_id in application_ids
        ]
        with self._write() as conn:
            for start in range(0, len(rows), INSERT_CHUNK):
                conn.execute(insert(decisions), rows[start : start + INSERT_CHUNK])
            audit(
                conn,
                actor,
                "decision.reject",
                "decision",
                None,
                {"count": len(rows), "reason": reason_code},
                now,
            )
        return len(rows)

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
            batch_id = conn.execute(
                insert(batches).values(
                    job_id=job_id,
                    state="active",
                    created_by=actor,
                    created_at=now,
                    rate_per_second=rate_per_second,
                )
            ).inserted_primary_key
            assert batch_id is not None
            chunk: list[NewLetter] = []
            for letter in letters:
                chunk.append(letter)
                if len(chunk) >= INSERT_CHUNK:
                    total += self._insert_letters(conn, batch_id[0], chunk, now)
                    chunk = []
            total += self._insert_letters(conn, batch_id[0], chunk, now)
            extra = dict(detail()) if detail else {}
            entry = {"letters": total, **extra}
            audit(conn, actor, "batch.queued", "batch", batch_id[0], entry, now)
        return batch_id[0], total

    def _insert_letters(
        self, conn: Connection, batch_id: int, letters: list[NewLetter], now: datetime
    ) -> int:
        if not letters:
            return 0
        rows = [self._outbox_values(batch_id, letter, now) for letter in letters]
        ids = conn.execute(
            insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        bodies = [
            {"outbox_id": i, "body": letter.body} for i, letter in zip(ids, letters, strict=True)
        ]
        conn.execute(insert(outbox_bodies), bodies)
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

    # --- delivery ----------------------------------------------------------------------

    def claim(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedLetter]:
        """Claim up to ``limit`` letters with a conditional UPDATE; losing a race is normal.

        A letter whose lease ran out (its worker died) comes back here, marked ``recovered``:
        it may already have reached the relay, so a resend is counted as a possible duplicate.
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
            for outbox_id in sorted(recovered):
                audit(conn, owner, "letter.recovered", "outbox", outbox_id, {}, now)
            if not claimed:
                return []
            return self._load_claimed(conn, claimed, recovered)

    def _recover(self, conn: Connection, abandoned: list[int], now: datetime) -> set[int]:
        """Count a possible duplicate on each abandoned letter still abandoned; their ids."""
        ids = {"claim_ids": abandoned, "claim_now": now}
        return set(conn.execute(self._claims.recover, ids).scalars())

    def _load_claimed(
        self, conn: Connection, ids: Sequence[int], recovered: set[int]
    ) -> list[ClaimedLetter]:
        rows = conn.execute(self._claims.load, {"claim_ids": list(ids)}).tuples()
        # Plain tuples, unpacked by position: a claim loads hundreds of rows at a time.
        return [
            ClaimedLetter(
                id=id_,
                batch_id=batch_id,
                job_id=job_id,
                application_id=application_id,
                person_id=person_id,
                sender=sender,
                recipient=recipient,
                locale=locale,
                body=body,
                planned_stage=Stage(stage),
                attempts=attempts,
                created_at=created_at,
                recovered=id_ in recovered,
            )
            for (
                id_,
                batch_id,
                application_id,
                sender,
                recipient,
                locale,
                stage,
                attempts,
                created_at,
                body,
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
        query = self._claims.facts(at_time=now is not None)
        values: dict[str, object] = {"claim_ids": [letter.id for letter in letters]}
        if now is not None:
            values["claim_now"] = now
        with self._read() as conn:
            return {row[0]: _facts(*row[1:]) for row in conn.execute(query, values).tuples()}

    def record_outcomes(self, outcomes: Sequence[Outcome], owner: str, now: datetime) -> None:
        """Write what happened, only for letters this worker still owns."""
        if not outcomes:
            return
        plain = [o for o in outcomes if o.state is OutboxState.SENT and not o.possible_duplicate]
        with self._bookkeeping() as conn:
            self._record_sent(conn, [o.outbox_id for o in plain], owner, now)
            for outcome in outcomes:
                if outcome.state is not OutboxState.SENT or outcome.possible_duplicate:
                    self._record_one(conn, outcome, owner, now)

    def _record_sent(self, conn: Connection, ids: list[int], owner: str, now: datetime) -> None:
        """The common case: two statements for all the letters of one commit."""
        if not ids:
            return
        result = conn.execute(_MARK_SENT, {"b_ids": ids, "b_owner": owner, "b_now": now})
        if result.rowcount != len(ids):
            lost = len(ids) - result.rowcount
            audit(conn, owner, "letter.lease-lost", "outbox", None, {"count": lost}, now)
        conn.execute(_AUDIT_SENT, {"a_ids": ids, "a_owner": owner, "a_now": now})

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
                update(batches).where(batches.c.id == result.batch_id).values(state="paused")
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

    # --- outbox control ----------------------------------------------------------------

    def _is_paused(self, conn: Connection) -> bool:
        return bool(conn.execute(self._claims.paused).scalar() == "yes")

    def set_paused(self, paused: bool, actor: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(controls.delete().where(controls.c.name == "paused"))
            conn.execute(insert(controls).values(name="paused", value="yes" if paused else "no"))
            if not paused:
                conn.execute(
                    update(batches).where(batches.c.state == "paused").values(state="active")
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
        query = select(outbox.c.state, func.count(), func.sum(outbox.c.possible_duplicates))
        stopped_query = select(func.count()).where(outbox.c.held_rule == STOPPED_RULE)
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
            stopped_query = stopped_query.where(outbox.c.batch_id == batch_id)
        with self._read() as conn:
            scheduled, first = self._scheduled(conn, batch_id, now)
            rows = conn.execute(query.group_by(outbox.c.state)).tuples().all()
            paused_batches = (
                conn.execute(
                    select(batches.c.id).where(batches.c.state == "paused").order_by(batches.c.id)
                )
                .scalars()
                .all()
            )
            paused = self._is_paused(conn)
            stopped = conn.execute(stopped_query).scalar_one()
        return OutboxStatus(
            paused=paused,
            stopped=int(stopped),
            counts={state: count for state, count, _ in rows},
            possible_duplicates=sum(int(dups or 0) for _, _, dups in rows),
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
        query = select(func.count(), func.min(outbox.c.next_attempt_at)).where(
            outbox.c.state == OutboxState.QUEUED.value, outbox.c.next_attempt_at > now
        )
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
        count, first = conn.execute(query).one()
        return int(count), first

    def outbox_rows(
        self, state: OutboxState | None, batch_id: int | None, limit: int
    ) -> list[OutboxRow]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if state is not None:
            query = query.where(outbox.c.state == state.value)
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
        with self._read() as conn:
            return [
                OutboxRow(
                    id=row.id,
                    batch_id=row.batch_id,
                    application_id=row.application_id,
                    kind=row.kind,
                    recipient=row.recipient,
                    state=OutboxState(row.state),
                    attempts=row.attempts,
                    last_code=row.last_code,
                    last_error=row.last_error,
                    held_rule=row.held_rule,
                    possible_duplicates=row.possible_duplicates,
                    sent_at=row.sent_at,
                )
                for row in conn.execute(query)
            ]

    def outbox_body(self, outbox_id: int) -> bytes:
        with self._read() as conn:
            query = select(outbox_bodies.c.body).where(outbox_bodies.c.outbox_id == outbox_id)
            body = conn.execute(query).scalar()
        if body is None:
            raise NotFound(f"no letter with outbox id {outbox_id}")
        return bytes(body)

    def letter_body_for(self, decision_id: int) -> bytes | None:
        """The stored bytes of the letter for a decision, or None before it is queued."""
        query = (
            select(outbox_bodies.c.body)
            .join(outbox, outbox.c.id == outbox_bodies.c.outbox_id)
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

    def audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: dict[str, object],
        now: datetime,
    ) -> None:
        with self._write() as conn:
            audit(conn, actor, action, entity, entity_id, detail, now)


class _RosterRows:
    """The roster as the store gives it: its length is a count, its rows a stream."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.roster_size()

    def __iter__(self) -> Iterator[RosterEntry]:
        return self._store.roster_entries()


# Everyone on file with each of their applications' references (none: one row, ref NULL).
_ROSTER = (
    select(
        persons.c.id,
        persons.c.email,
        persons.c.first_name,
        persons.c.last_name,
        applications.c.ref,
    )
    .select_from(persons.outerjoin(applications, applications.c.person_id == persons.c.id))
    .where(persons.c.erased_at.is_(None))
    .order_by(persons.c.id, applications.c.id)
)
_CHANGED_COUNT = (
    select(func.count())
    .select_from(roster_changes)
    .where(roster_changes.c.version > bindparam("since"))
)
# The people changed since a version, as they are now (no person row: deleted).
_CHANGED = (
    select(
        roster_changes.c.person_id,
        roster_changes.c.version,
        persons.c.email,
        persons.c.first_name,
        persons.c.last_name,
        persons.c.erased_at,
        applications.c.ref,
    )
    .select_from(
        roster_changes.outerjoin(persons, persons.c.id == roster_changes.c.person_id).outerjoin(
            applications, applications.c.person_id == roster_changes.c.person_id
        )
    )
    .where(roster_changes.c.version > bindparam("since"))
    .order_by(roster_changes.c.person_id, applications.c.id)
)


def _person_and_refs(rows: Iterable[Any]) -> tuple[Any, tuple[str, ...]]:
    """One person's rows of a roster read: the first row, and every reference they hold."""
    group = list(rows)
    return group[0], tuple(row.ref for row in group if row.ref is not None)


def _full_name(row: Any) -> str:
    return f"{row.first_name} {row.last_name}"


def _facts(
    kind: str,
    decision_id: int | None,
    sent_at: datetime | None,
    stage: str,
    erased_at: datetime | None,
    decision_state: str | None,
    suppressed: str | None,
    decided: Any,
    consented: Any,
) -> SendTimeFacts:
    """One letter's facts from the columns of ``ClaimStatements.facts`` after its id."""
    return SendTimeFacts(
        current_stage=Stage(stage),
        erased=erased_at is not None,
        suppressed=suppressed is not None,
        decision_active=decision_id is None or decision_state == DecisionState.ACTIVE.value,
        already_sent=sent_at is not None,
        decided_since=kind == LetterKind.STATUS.value and bool(decided),
        consent_lapsed=kind in ON_FILE_KINDS and not consented,
    )


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


# --- the pipeline's stages and order ---------------------------------------------------------


def _active_decision() -> Any:
    return select(decisions.c.id).where(
        decisions.c.application_id == applications.c.id,
        decisions.c.state == DecisionState.ACTIVE.value,
    )


def shown_stage() -> Any:
    """The stage the pipeline shows: rejected once a decision is active, else the stage."""
    return case(
        (exists(_active_decision()), literal(Stage.REJECTED.value)), else_=applications.c.stage
    )


def _decided_unsent() -> Any:
    """An active decision whose letter is not in the outbox yet."""
    queued = select(outbox.c.id).where(outbox.c.letter_key == decision_key(decisions.c.id))
    return exists(_active_decision().where(~exists(queued)))


def _pipeline_order(shown: ApplicantFilter) -> list[Any]:
    keys: dict[str, list[Any]] = {
        "name": [func.lower(persons.c.last_name), func.lower(persons.c.first_name)],
        "email": [persons.c.email],
        "stage": [shown_stage()],
        "decision": [
            select(decisions.c.reason_code)
            .where(
                decisions.c.application_id == applications.c.id,
                decisions.c.state == DecisionState.ACTIVE.value,
            )
            .scalar_subquery()
        ],
        "letter": [outbox.c.state],
    }
    chosen = keys.get(shown.order, [])
    ordered = [key.desc() if shown.descending else key.asc() for key in chosen]
    return [*ordered, applications.c.id]
