"""SqlStore: the Store port over SQLAlchemy Core. One method, one transaction."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.engine import Row

from fairwell.domain.eligibility import History
from fairwell.domain.model import (
    CLAIMABLE_STATES,
    ApplicantRow,
    Application,
    Decision,
    DecisionState,
    Job,
    OutboxState,
    Person,
    Source,
    Stage,
)
from fairwell.domain.privacy import SendTimeFacts
from fairwell.domain.roster import RosterEntry
from fairwell.errors import NotFound
from fairwell.ports import (
    ApplicantView,
    ClaimedLetter,
    ImportCounts,
    JobSummary,
    NewLetter,
    OutboxRow,
    OutboxStatus,
    Outcome,
)
from fairwell.storage.tables import (
    applications,
    audit_log,
    batches,
    controls,
    decisions,
    jobs,
    outbox,
    persons,
    suppressions,
)

INSERT_CHUNK = 500
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_APPLICATION_FIELDS = (
    "stage",
    "source",
    "referred_by",
    "referral_aware",
    "applied_at",
    "last_interview_at",
)
_PERSON_FIELDS = ("first_name", "last_name", "locale", "country", "timezone")


def new_application_ref() -> str:
    """A public reference for letters: random, so it says nothing about volume or order."""
    return "FW-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(10))


def _person(row: Row[Any]) -> Person:
    return Person(
        id=row.person_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        locale=row.locale,
        erased=row.erased_at is not None,
    )


def _application(row: Row[Any]) -> Application:
    return Application(
        id=row.application_id,
        ref=row.ref,
        job_id=row.job_id,
        person_id=row.person_id,
        stage=Stage(row.stage),
        source=Source(row.source),
        referred_by=row.referred_by,
        referral_aware=row.referral_aware,
        applied_at=row.applied_at,
        last_interview_at=row.last_interview_at,
    )


def _decision(row: Row[Any]) -> Decision | None:
    if row.decision_id is None:
        return None
    return Decision(
        id=row.decision_id,
        application_id=row.application_id,
        reason_code=row.reason_code,
        note=row.note,
        decided_at=row.decided_at,
        state=DecisionState(row.decision_state),
    )


def _applicant_query(job_id: int) -> Any:
    active = (
        select(decisions).where(decisions.c.state == DecisionState.ACTIVE.value).subquery("active")
    )
    return (
        select(
            applications.c.id.label("application_id"),
            applications.c.ref,
            applications.c.job_id,
            applications.c.person_id,
            applications.c.stage,
            applications.c.source,
            applications.c.referred_by,
            applications.c.referral_aware,
            applications.c.applied_at,
            applications.c.last_interview_at,
            persons.c.email,
            persons.c.first_name,
            persons.c.last_name,
            persons.c.locale,
            persons.c.erased_at,
            active.c.id.label("decision_id"),
            active.c.reason_code,
            active.c.note,
            active.c.decided_at,
            active.c.state.label("decision_state"),
            outbox.c.state.label("letter_state"),
            suppressions.c.email.label("suppressed"),
        )
        .join(persons, persons.c.id == applications.c.person_id)
        .outerjoin(active, active.c.application_id == applications.c.id)
        .outerjoin(outbox, outbox.c.decision_id == active.c.id)
        .outerjoin(suppressions, suppressions.c.email == persons.c.email)
        .where(applications.c.job_id == job_id)
        .order_by(applications.c.id)
    )


def _applicant_view(row: Row[Any]) -> ApplicantView:
    letter_state = OutboxState(row.letter_state) if row.letter_state else None
    history = History(
        erased=row.erased_at is not None,
        suppressed=row.suppressed is not None,
        has_active_decision=row.decision_id is not None,
        letter_sent=letter_state is OutboxState.SENT,
    )
    return ApplicantView(
        application=_application(row),
        person=_person(row),
        history=history,
        decision=_decision(row),
        letter_state=letter_state,
    )


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, object],
    now: datetime,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


class SqlStore:
    """The Store port over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(fairwell_write=write)
            with conn.begin():
                yield conn

    def _read(self) -> AbstractContextManager[Connection]:
        """A read transaction; on SQLite it never waits for a writer (WAL)."""
        return self._transaction(write=False)

    def _write(self) -> AbstractContextManager[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (IMMEDIATE)."""
        return self._transaction(write=True)

    # --- import ------------------------------------------------------------------------

    def upsert_applicants(
        self, rows: Sequence[ApplicantRow], now: datetime, actor: str
    ) -> ImportCounts:
        """Create or update people, jobs and applications; unchanged rows stay untouched."""
        counts = {"people": 0, "apps": 0, "updated": 0, "unchanged": 0, "jobs": 0}
        with self._write() as conn:
            job_ids = self._ensure_jobs(conn, {row.job for row in rows}, now, counts)
            person_ids = self._ensure_people(conn, rows, now, counts)
            self._ensure_applications(conn, rows, job_ids, person_ids, now, counts)
            _audit(conn, actor, "import", "import", None, dict(counts), now)
        return ImportCounts(
            people_created=counts["people"],
            applications_created=counts["apps"],
            applications_updated=counts["updated"],
            unchanged=counts["unchanged"],
            jobs_created=counts["jobs"],
        )

    def _ensure_jobs(
        self, conn: Connection, titles: set[str], now: datetime, counts: dict[str, int]
    ) -> dict[str, int]:
        existing = dict(conn.execute(select(jobs.c.title, jobs.c.id)).tuples().all())
        for title in sorted(titles - set(existing)):
            job_id = conn.execute(
                insert(jobs).values(title=title, created_at=now)
            ).inserted_primary_key
            assert job_id is not None
            existing[title] = job_id[0]
            counts["jobs"] += 1
            _audit(conn, "import", "job.created", "job", job_id[0], {}, now)
        return existing

    def _ensure_people(
        self, conn: Connection, rows: Sequence[ApplicantRow], now: datetime, counts: dict[str, int]
    ) -> dict[str, int]:
        ids: dict[str, int] = {}
        by_email = {row.email: row for row in rows}
        emails = list(by_email)
        for start in range(0, len(emails), INSERT_CHUNK):
            chunk = emails[start : start + INSERT_CHUNK]
            for found in conn.execute(select(persons).where(persons.c.email.in_(chunk))):
                ids[found.email] = found.id
                wanted = {name: getattr(by_email[found.email], name) for name in _PERSON_FIELDS}
                if any(getattr(found, name) != value for name, value in wanted.items()):
                    conn.execute(
                        update(persons)
                        .where(persons.c.id == found.id)
                        .values(**wanted, updated_at=now)
                    )
        new_rows = [
            {
                "email": email,
                **{n: getattr(row, n) for n in _PERSON_FIELDS},
                "created_at": now,
                "updated_at": now,
            }
            for email, row in by_email.items()
            if email not in ids
        ]
        for start in range(0, len(new_rows), INSERT_CHUNK):
            conn.execute(insert(persons), new_rows[start : start + INSERT_CHUNK])
        if new_rows:
            counts["people"] += len(new_rows)
            new_emails = [row["email"] for row in new_rows]
            for start in range(0, len(new_emails), INSERT_CHUNK):
                chunk = new_emails[start : start + INSERT_CHUNK]
                query = select(persons.c.email, persons.c.id).where(persons.c.email.in_(chunk))
                ids.update(conn.execute(query).tuples().all())
        return ids

    def _ensure_applications(
        self,
        conn: Connection,
        rows: Sequence[ApplicantRow],
        job_ids: dict[str, int],
        person_ids: dict[str, int],
        now: datetime,
        counts: dict[str, int],
    ) -> None:
        existing = {
            (found.job_id, found.person_id): found
            for found in conn.execute(
                select(applications).where(applications.c.job_id.in_(set(job_ids.values())))
            )
        }
        new_rows = []
        for row in rows:
            key = (job_ids[row.job], person_ids[row.email])
            wanted = {
                "stage": row.stage.value,
                "source": row.source.value,
                "referred_by": row.referred_by,
                "referral_aware": row.referral_aware,
                "applied_at": row.applied_at,
                "last_interview_at": row.last_interview_at,
            }
            found = existing.get(key)
            if found is None:
                new_rows.append(
                    {
                        "job_id": key[0],
                        "person_id": key[1],
                        "ref": new_application_ref(),
                        **wanted,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            elif all(getattr(found, name) == wanted[name] for name in _APPLICATION_FIELDS):
                counts["unchanged"] += 1
            else:
                conn.execute(
                    update(applications)
                    .where(applications.c.id == found.id)
                    .values(**wanted, updated_at=now)
                )
                counts["updated"] += 1
                changed = sorted(n for n in _APPLICATION_FIELDS if getattr(found, n) != wanted[n])
                _audit(
                    conn,
                    "import",
                    "application.updated",
                    "application",
                    found.id,
                    {"fields": changed, "stage": row.stage.value},
                    now,
                )
        for start in range(0, len(new_rows), INSERT_CHUNK):
            conn.execute(insert(applications), new_rows[start : start + INSERT_CHUNK])
        counts["apps"] += len(new_rows)

    # --- reading -----------------------------------------------------------------------

    def jobs(self) -> list[JobSummary]:
        query = (
            select(jobs.c.id, jobs.c.title, applications.c.stage, func.count(applications.c.id))
            .outerjoin(applications, applications.c.job_id == jobs.c.id)
            .group_by(jobs.c.id, jobs.c.title, applications.c.stage)
            .order_by(jobs.c.title)
        )
        summaries: dict[int, tuple[Job, dict[str, int]]] = {}
        with self._read() as conn:
            for job_id, title, stage, count in conn.execute(query).tuples():
                _, stages = summaries.setdefault(job_id, (Job(job_id, title), {}))
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
        return Job(found.id, found.title)

    def applicants(self, job_id: int) -> list[ApplicantView]:
        with self._read() as conn:
            return [_applicant_view(row) for row in conn.execute(_applicant_query(job_id))]

    def pending_letters(self, job_id: int) -> Iterator[ApplicantView]:
        """Decided applications of the job that have no letter yet, streamed in id order."""
        query = _applicant_query(job_id).where(outbox.c.id.is_(None))
        last_id = 0
        while True:
            with self._read() as conn:
                page = conn.execute(
                    query.where(applications.c.id > last_id).limit(INSERT_CHUNK)
                ).all()
            if not page:
                return
            for row in page:
                if row.decision_id is not None:
                    yield _applicant_view(row)
            last_id = page[-1].application_id

    def roster(self, job_id: int) -> list[RosterEntry]:
        query = (
            select(
                persons.c.id,
                persons.c.email,
                persons.c.first_name,
                persons.c.last_name,
                applications.c.ref,
            )
            .join(applications, applications.c.person_id == persons.c.id)
            .where(applications.c.job_id == job_id)
        )
        with self._read() as conn:
            return [
                RosterEntry(row.id, row.email, f"{row.first_name} {row.last_name}", (row.ref,))
                for row in conn.execute(query)
            ]

    def roster_version(self, job_id: int) -> tuple[int, str]:
        """Changes whenever someone joins the roster or changes name or address."""
        query = (
            select(func.count(applications.c.id), func.max(persons.c.updated_at))
            .join(persons, persons.c.id == applications.c.person_id)
            .where(applications.c.job_id == job_id)
        )
        with self._read() as conn:
            count, latest = conn.execute(query).one()
        return int(count), str(latest)

    # --- deciding and batching -----------------------------------------------------------

    def record_decisions(
        self,
        application_ids: Sequence[int],
        reason_code: str,
        note: str | None,
        actor: str,
        now: datetime,
    ) -> int:
        rows = [
            {
                "application_id": app_id,
                "reason_code": reason_code,
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
            _audit(
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
    ) -> tuple[int, int]:
        """Write every letter of the batch in one transaction: all queued, or none."""
        total = 0
        with self._write() as conn:
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
            chunk: list[dict[str, object]] = []
            for letter in letters:
                chunk.append(self._outbox_values(batch_id[0], letter, now))
                if len(chunk) >= INSERT_CHUNK:
                    conn.execute(insert(outbox), chunk)
                    total += len(chunk)
                    chunk = []
            if chunk:
                conn.execute(insert(outbox), chunk)
                total += len(chunk)
            _audit(conn, actor, "batch.queued", "batch", batch_id[0], {"letters": total}, now)
        return batch_id[0], total

    @staticmethod
    def _outbox_values(batch_id: int, letter: NewLetter, now: datetime) -> dict[str, object]:
        return {
            "batch_id": batch_id,
            "decision_id": letter.decision_id,
            "application_id": letter.application_id,
            "kind": letter.kind,
            "locale": letter.locale,
            "sender": letter.sender,
            "recipient": letter.recipient,
            "message_id": letter.message_id,
            "body": letter.body,
            "planned_stage": letter.planned_stage.value,
            "state": OutboxState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "possible_duplicates": 0,
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
        with self._write() as conn:
            if self._is_paused(conn):
                return []
            candidates = self._claim_candidates(now, limit)
            recovered = set(
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(candidates), self._abandoned(now))
                    .values(possible_duplicates=outbox.c.possible_duplicates + 1)
                    .returning(outbox.c.id)
                ).scalars()
            )
            claimed = (
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(candidates), self._claimable(now))
                    .values(
                        state=OutboxState.SENDING.value,
                        lease_owner=owner,
                        lease_until=lease_until,
                        attempts=outbox.c.attempts + 1,
                        updated_at=now,
                    )
                    .returning(outbox.c.id)
                )
                .scalars()
                .all()
            )
            for outbox_id in sorted(recovered):
                _audit(conn, owner, "letter.recovered", "outbox", outbox_id, {}, now)
            if not claimed:
                return []
            return self._load_claimed(conn, claimed, recovered)

    def _claimable(self, now: datetime) -> Any:
        waiting = and_(
            outbox.c.state.in_([state.value for state in CLAIMABLE_STATES]),
            outbox.c.next_attempt_at <= now,
        )
        return or_(waiting, self._abandoned(now))

    @staticmethod
    def _abandoned(now: datetime) -> Any:
        """Claimed by a worker whose lease ran out: it died, or lost its database."""
        return and_(outbox.c.state == OutboxState.SENDING.value, outbox.c.lease_until < now)

    def _claim_candidates(self, now: datetime, limit: int) -> Any:
        query = (
            select(outbox.c.id)
            .join(batches, batches.c.id == outbox.c.batch_id)
            .where(self._claimable(now), batches.c.state == "active")
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=outbox)
        return query

    def _load_claimed(
        self, conn: Connection, ids: Sequence[int], recovered: set[int]
    ) -> list[ClaimedLetter]:
        query = (
            select(outbox, applications.c.job_id, applications.c.person_id)
            .join(applications, applications.c.id == outbox.c.application_id)
            .where(outbox.c.id.in_(ids))
            .order_by(outbox.c.id)
        )
        letters = []
        for row in conn.execute(query):
            letters.append(
                ClaimedLetter(
                    id=row.id,
                    batch_id=row.batch_id,
                    job_id=row.job_id,
                    application_id=row.application_id,
                    person_id=row.person_id,
                    sender=row.sender,
                    recipient=row.recipient,
                    locale=row.locale,
                    body=row.body,
                    planned_stage=Stage(row.planned_stage),
                    attempts=row.attempts,
                    created_at=row.created_at,
                    recovered=row.id in recovered,
                )
            )
        return letters

    def send_time_facts(self, letters: Sequence[ClaimedLetter]) -> dict[int, SendTimeFacts]:
        """Fresh eligibility facts for each claimed letter, read in one query."""
        ids = [letter.id for letter in letters]
        query = (
            select(
                outbox.c.id,
                outbox.c.sent_at,
                applications.c.stage,
                persons.c.erased_at,
                decisions.c.state,
                suppressions.c.email.label("suppressed"),
            )
            .join(applications, applications.c.id == outbox.c.application_id)
            .join(persons, persons.c.id == applications.c.person_id)
            .join(decisions, decisions.c.id == outbox.c.decision_id)
            .outerjoin(suppressions, suppressions.c.email == outbox.c.recipient)
            .where(outbox.c.id.in_(ids))
        )
        with self._read() as conn:
            return {
                row.id: SendTimeFacts(
                    current_stage=Stage(row.stage),
                    erased=row.erased_at is not None,
                    suppressed=row.suppressed is not None,
                    decision_active=row.state == DecisionState.ACTIVE.value,
                    already_sent=row.sent_at is not None,
                )
                for row in conn.execute(query)
            }

    def record_outcomes(self, outcomes: Sequence[Outcome], owner: str, now: datetime) -> None:
        """Write what happened, only for letters this worker still owns."""
        if not outcomes:
            return
        with self._write() as conn:
            for outcome in outcomes:
                self._record_one(conn, outcome, owner, now)

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
            _audit(conn, owner, "letter.lease-lost", "outbox", outcome.outbox_id, {}, now)
            return
        if outcome.suppress_recipient:
            self._suppress(conn, result.recipient, outcome.code, now)
        if outcome.pause_batch:
            conn.execute(
                update(batches).where(batches.c.id == result.batch_id).values(state="paused")
            )
            _audit(
                conn,
                owner,
                "batch.paused",
                "batch",
                result.batch_id,
                {"rule": outcome.held_rule, "outbox_id": outcome.outbox_id},
                now,
            )
        if not outcome.release:
            _audit(
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
        value = conn.execute(select(controls.c.value).where(controls.c.name == "paused")).scalar()
        return value == "yes"

    def set_paused(self, paused: bool, actor: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(controls.delete().where(controls.c.name == "paused"))
            conn.execute(insert(controls).values(name="paused", value="yes" if paused else "no"))
            if not paused:
                conn.execute(
                    update(batches).where(batches.c.state == "paused").values(state="active")
                )
            _audit(
                conn,
                actor,
                "outbox.paused" if paused else "outbox.resumed",
                "outbox",
                None,
                {},
                now,
            )

    def outbox_status(self, batch_id: int | None = None) -> OutboxStatus:
        query = select(outbox.c.state, func.count(), func.sum(outbox.c.possible_duplicates))
        if batch_id is not None:
            query = query.where(outbox.c.batch_id == batch_id)
        with self._read() as conn:
            rows = conn.execute(query.group_by(outbox.c.state)).tuples().all()
            paused_batches = (
                conn.execute(
                    select(batches.c.id).where(batches.c.state == "paused").order_by(batches.c.id)
                )
                .scalars()
                .all()
            )
            paused = self._is_paused(conn)
        return OutboxStatus(
            paused=paused,
            counts={state: count for state, count, _ in rows},
            possible_duplicates=sum(int(dups or 0) for _, _, dups in rows),
            paused_batches=tuple(paused_batches),
        )

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
            body = conn.execute(select(outbox.c.body).where(outbox.c.id == outbox_id)).scalar()
        if body is None:
            raise NotFound(f"no letter with outbox id {outbox_id}")
        return bytes(body)

    def letter_body_for(self, decision_id: int) -> bytes | None:
        """The stored bytes of the letter for a decision, or None before it is queued."""
        query = select(outbox.c.body).where(outbox.c.decision_id == decision_id)
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
            _audit(
                conn,
                actor,
                "outbox.requeued",
                "outbox",
                None,
                {"count": result.rowcount, "ids": list(ids)},
                now,
            )
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
            _audit(conn, actor, action, entity, entity_id, detail, now)
