"""SqlPlans: staged plans (the PlanStore port). A plan's letters are stored once, composed, their
bytes in ``letter_bodies``; a confirm makes their outbox rows with one INSERT ... SELECT, in one
transaction, pointing at the same bodies: no letter's bytes are copied."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Row,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from fairwell.domain.model import OutboxState
from fairwell.errors import NotFound, PlanChanged
from fairwell.ports.plans import (
    BLOCKED,
    READY,
    PlanChanges,
    PlanRecord,
    Release,
    StagedGroup,
    StagedLetter,
    StagedNote,
    StagedSummary,
)
from fairwell.storage.base import INSERT_CHUNK, SqlBase
from fairwell.storage.bulk import BulkInsert
from fairwell.storage.rows import audit, insert_batch, insert_bodies
from fairwell.storage.tables import (
    letter_bodies,
    outbox,
    plan_changes,
    plans,
    staged_letters,
)

COMPOSING, STAGED, RELEASED, SUPERSEDED = "composing", "staged", "released", "superseded"
OPEN = (COMPOSING, STAGED)
# Changes listed per application at most this many; beyond, the whole job is recomposed.
MANY_CHANGES = 10_000


class SqlPlans(SqlBase):
    """The PlanStore port over one engine (SQLite or PostgreSQL)."""

    def open_plan(self, job_id: int) -> PlanRecord | None:
        query = (
            select(plans)
            .where(plans.c.job_id == job_id, plans.c.state == STAGED)
            .order_by(plans.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def plan_record(self, plan_id: int) -> PlanRecord:
        with self._read() as conn:
            row = conn.execute(select(plans).where(plans.c.id == plan_id)).first()
        if row is None:
            raise NotFound(f"there is no plan {plan_id}")
        return _record(row)

    def begin_plan(
        self, job_id: int, actor: str, now: datetime, send_now: bool, fingerprint: str
    ) -> PlanRecord:
        with self._write() as conn:
            # A plan left composing by a process that died is no one's any more, nor are
            # the letters its worker processes had stored (the plan's row is updated first:
            # a share still being stored commits before the delete, which then sees it).
            left = and_(plans.c.job_id == job_id, plans.c.state == COMPOSING)
            conn.execute(update(plans).where(left).values(state=SUPERSEDED))
            closed = and_(plans.c.job_id == job_id, plans.c.state.not_in(OPEN))
            gone = select(plans.c.id).where(closed).scalar_subquery()
            _drop_staged(conn, staged_letters.c.plan_id.in_(gone))
            values = {
                "job_id": job_id,
                "state": COMPOSING,
                "made_at": now,
                "made_by": actor,
                "send_now": send_now,
                "fingerprint": fingerprint,
                "change_mark": _latest_change(conn),
            }
            plan_id = conn.execute(insert(plans).values(**values)).inserted_primary_key
            assert plan_id is not None
            row = conn.execute(select(plans).where(plans.c.id == plan_id[0])).one()
        return _record(row)

    def plan_changes(self, job_id: int, mark: int) -> PlanChanges:
        with self._read() as conn:
            return _changes(conn, job_id, mark)

    def stage(
        self,
        plan: PlanRecord,
        letters: Iterable[StagedLetter],
        keep_from: PlanRecord | None = None,
        recompose: Collection[int] = (),
    ) -> int:
        written = 0
        with self._write() as conn:
            if keep_from is not None:
                _still_staged(conn, keep_from.id)
                _keep_letters(conn, keep_from.id, plan.id, sorted(recompose))
                conn.execute(
                    update(plans).where(plans.c.id == plan.id).values(made_at=keep_from.made_at)
                )
            for chunk in _chunked(letters):
                written += _insert_staged(conn, plan.id, chunk)
            _supersede(conn, plan.job_id, but=plan.id)
            conn.execute(update(plans).where(plans.c.id == plan.id).values(state=STAGED))
            _prune_changes(conn)
        return written

    def stage_share(self, plan_id: int, letters: Iterable[StagedLetter]) -> int:
        written = 0
        with self._write() as conn:
            _still_composing(conn, plan_id)
            for chunk in _chunked(letters):
                written += _insert_staged(conn, plan_id, chunk)
        return written

    def abandon_plan(self, plan_id: int) -> None:
        with self._write() as conn:
            # The plan's row first: a share being stored (it holds the row) commits before
            # this goes on, so its letters are deleted below and no later share is stored.
            conn.execute(update(plans).where(plans.c.id == plan_id).values(state=SUPERSEDED))
            _drop_staged(conn, staged_letters.c.plan_id == plan_id)

    def staged_summary(self, plan_id: int) -> StagedSummary:
        mine = staged_letters.c.plan_id == plan_id
        s = staged_letters.c
        groups = (
            select(
                s.kind,
                s.status,
                s.later_reason,
                func.count().label("letters"),
                func.min(s.not_before).label("first"),
                func.max(s.not_before).label("last"),
                func.sum(case((s.with_feedback, 1), else_=0)).label("with_feedback"),
                func.sum(case((s.feedback_waiting, 1), else_=0)).label("waiting"),
                func.sum(case((s.approved_despite_findings, 1), else_=0)).label("despite"),
            )
            .where(mine)
            .group_by(s.kind, s.status, s.later_reason)
        )
        notes = select(s.recipient, s.kind, s.reason_code, s.findings, s.status, s.contradicts)
        named = notes.where(mine, or_(s.status == BLOCKED, s.contradicts)).order_by(s.id)
        with self._read() as conn:
            group_rows = conn.execute(groups).all()
            note_rows = conn.execute(named).all()
        return StagedSummary(
            groups=[_group(row) for row in group_rows],
            blocked=[_note(row) for row in note_rows if row.status == BLOCKED],
            contradicts=[_note(row) for row in note_rows if row.contradicts],
        )

    def staged_body(self, plan_id: int, decision_id: int) -> bytes | None:
        s = staged_letters.c
        query = (
            select(letter_bodies.c.body)
            .join(staged_letters, s.body_id == letter_bodies.c.id)
            .where(s.plan_id == plan_id, s.decision_id == decision_id, s.status == READY)
        )
        with self._read() as conn:
            body = conn.execute(query).scalar()
        return None if body is None else bytes(body)

    def release(
        self,
        plan_id: int,
        expected: int,
        actor: str,
        now: datetime,
        oldest: datetime,
        rate_per_second: int | None,
        send_windows: str,
    ) -> Release:
        try:
            with self._write() as conn:
                return _release(
                    conn, plan_id, expected, actor, now, oldest, rate_per_second, send_windows
                )
        except IntegrityError as error:
            if "letter_key" in str(error.orig) or "message_id" in str(error.orig):
                return Release(refused="a letter of the plan was queued by another send")
            raise


def _release(
    conn: Connection,
    plan_id: int,
    expected: int,
    actor: str,
    now: datetime,
    oldest: datetime,
    rate_per_second: int | None,
    send_windows: str,
) -> Release:
    # The plan's row is locked (PostgreSQL; SQLite holds the write lock): a plan being
    # brought up to date from this one waits, then sees it released.
    row = conn.execute(select(plans).where(plans.c.id == plan_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"there is no plan {plan_id}")
    plan = _record(row)
    if plan.state != STAGED:
        why = "it was sent already" if plan.state == RELEASED else "a newer plan replaced it"
        return Release(refused=why)
    changes = _changes(conn, plan.job_id, plan.change_mark)
    if changes.any:
        return Release(changes=changes)
    if plan.made_at < oldest:
        return Release(refused="too old")
    s = staged_letters.c
    count, later, first_later, blocked = _counted(conn, plan_id)
    if count != expected:
        return Release(refused="count", ready=count)
    batch_id = insert_batch(conn, plan.job_id, actor, now, rate_per_second)
    _copy_to_outbox(conn, batch_id, plan_id, now)
    detail = {"letters": count, "send_windows": send_windows, "later": later}
    audit(conn, actor, "batch.queued", "batch", batch_id, detail, now)
    # The outbox rows point at the letters' bodies now: the staged rows go, their bodies stay.
    conn.execute(delete(staged_letters).where(s.plan_id == plan_id))
    conn.execute(
        update(plans)
        .where(plans.c.id == plan_id)
        .values(state=RELEASED, batch_id=batch_id, released_at=now)
    )
    _prune_changes(conn)
    first = first_later if later else None
    return Release(batch_id, count, int(later), first, ready=count, blocked=blocked)


def _counted(conn: Connection, plan_id: int) -> tuple[int, int, datetime | None, int]:
    """The plan's ready letters, those of them waiting for a send window (and the first
    such moment), and the blocked letters: one pass over the plan's (small) rows."""
    s = staged_letters.c
    is_ready = s.status == READY
    waits = and_(is_ready, s.later_reason.is_not(None))
    query = select(
        func.coalesce(func.sum(case((is_ready, 1), else_=0)), 0),
        func.coalesce(func.sum(case((waits, 1), else_=0)), 0),
        func.min(case((waits, s.not_before))),
        func.coalesce(func.sum(case((s.status == BLOCKED, 1), else_=0)), 0),
    ).where(s.plan_id == plan_id)
    ready, later, first_later, blocked = conn.execute(query).one()
    return int(ready), int(later), first_later, int(blocked)


def _copy_to_outbox(conn: Connection, batch_id: int, plan_id: int, now: datetime) -> None:
    """The plan's ready letters become outbox rows, in id order, pointing at their bodies."""
    s = staged_letters.c
    ready = and_(s.plan_id == plan_id, s.status == READY)
    at = literal(now, outbox.c.created_at.type)
    columns = {
        "batch_id": literal(batch_id, outbox.c.batch_id.type),
        "decision_id": s.decision_id,
        "letter_key": s.letter_key,
        "application_id": s.application_id,
        "kind": s.kind,
        "locale": s.locale,
        "sender": s.sender,
        "recipient": s.recipient,
        "message_id": s.message_id,
        "planned_stage": s.planned_stage,
        "state": literal(OutboxState.QUEUED.value, outbox.c.state.type),
        "attempts": literal(0, outbox.c.attempts.type),
        # The worker claims a letter once this is due: its send window, or now.
        "next_attempt_at": func.coalesce(s.not_before, at),
        "possible_duplicates": literal(0, outbox.c.possible_duplicates.type),
        "keep_until": s.keep_until,
        "decide_by": s.decide_by,
        "body_id": s.body_id,
        "created_at": at,
        "updated_at": at,
    }
    rows = select(*columns.values()).where(ready).order_by(s.id)
    conn.execute(insert(outbox).from_select(list(columns), rows))


def _latest_change(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(plan_changes.c.id), 0))).scalar_one())


def _changes(conn: Connection, job_id: int, mark: int) -> PlanChanges:
    c = plan_changes.c
    query = (
        select(c.application_id, c.reason)
        .where(c.id > mark, or_(c.job_id == job_id, c.job_id.is_(None)))
        .distinct()
        .limit(MANY_CHANGES + 1)
    )
    rows = conn.execute(query).all()
    reasons: dict[str, int] = {}
    for row in rows:
        reasons[row.reason] = reasons.get(row.reason, 0) + 1
    apps = frozenset(row.application_id for row in rows if row.application_id is not None)
    whole = len(rows) > MANY_CHANGES or any(row.application_id is None for row in rows)
    return PlanChanges(apps, whole, reasons)


def _still_staged(conn: Connection, plan_id: int) -> None:
    """The plan whose letters a new one keeps must still be staged (not released or replaced
    by another process meanwhile); its row stays locked until the new plan is stored."""
    query = select(plans.c.state).where(plans.c.id == plan_id).with_for_update()
    if conn.execute(query).scalar() != STAGED:
        raise PlanChanged("another plan of this job was made or sent meanwhile; plan again")


def _still_composing(conn: Connection, plan_id: int) -> None:
    """A worker's share is stored only into a plan still composing; its row stays locked
    until the share is stored, so a plan given up or replaced meanwhile waits for it."""
    query = select(plans.c.state).where(plans.c.id == plan_id).with_for_update()
    if conn.execute(query).scalar() != COMPOSING:
        raise PlanChanged("another plan of this job was made meanwhile; plan again")


def _chunked(letters: Iterable[StagedLetter]) -> Iterator[list[StagedLetter]]:
    chunk: list[StagedLetter] = []
    for letter in letters:
        chunk.append(letter)
        if len(chunk) >= INSERT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _keep_letters(conn: Connection, old: int, new: int, recompose: Sequence[int]) -> None:
    """Move the old plan's letters to the new one, but for the applications recomposed."""
    s = staged_letters.c
    for start in range(0, len(recompose), INSERT_CHUNK):
        ids = recompose[start : start + INSERT_CHUNK]
        _drop_staged(conn, and_(s.plan_id == old, s.application_id.in_(ids)))
    conn.execute(update(staged_letters).where(s.plan_id == old).values(plan_id=new))


def _supersede(conn: Connection, job_id: int, but: int) -> None:
    older = and_(plans.c.job_id == job_id, plans.c.state.in_(OPEN), plans.c.id != but)
    gone = select(plans.c.id).where(older).scalar_subquery()
    _drop_staged(conn, staged_letters.c.plan_id.in_(gone))
    conn.execute(update(plans).where(older).values(state=SUPERSEDED))


def _drop_staged(conn: Connection, which: Any) -> None:
    """Delete staged letters never released, and their bodies (``secure_delete`` zeroes
    them). The bodies go first, while the rows still say which they are; the schema's
    cascade takes the rows with them, and deleting the rows by name too keeps this from
    leaning on the database enforcing foreign keys."""
    s = staged_letters.c
    bodies = select(s.body_id).where(which).scalar_subquery()
    conn.execute(delete(letter_bodies).where(letter_bodies.c.id.in_(bodies)))
    conn.execute(delete(staged_letters).where(which))


def _prune_changes(conn: Connection) -> None:
    """Changes no open plan can be stale by are forgotten."""
    floor = select(func.min(plans.c.change_mark)).where(plans.c.state.in_(OPEN))
    lowest = conn.execute(floor).scalar()
    last = _latest_change(conn) if lowest is None else int(lowest)
    conn.execute(delete(plan_changes).where(plan_changes.c.id <= last))


def _insert_staged(conn: Connection, plan_id: int, letters: list[StagedLetter]) -> int:
    if not letters:
        return 0
    body_ids = insert_bodies(conn, [item.letter for item in letters])
    write = BulkInsert(conn, staged_letters, _STAGED_COLUMNS)
    write(
        _staged_values(plan_id, item, body_id)
        for item, body_id in zip(letters, body_ids, strict=True)
    )
    return len(letters)


class _StagedRow(NamedTuple):
    """A staged letter's row: its fields are the columns written, so values and names
    cannot drift apart; it goes to the driver as the tuple it is (see storage/bulk.py)."""

    plan_id: int
    application_id: int
    decision_id: int | None
    letter_key: str
    status: str
    kind: str
    locale: str
    sender: str
    recipient: str
    message_id: str
    planned_stage: str
    not_before: datetime | None
    keep_until: date | None
    decide_by: date | None
    body_id: int
    later_reason: str | None
    findings: str | None
    reason_code: str | None
    with_feedback: bool
    feedback_waiting: bool
    approved_despite_findings: bool
    contradicts: bool


_STAGED_COLUMNS = _StagedRow._fields


def _staged_values(plan_id: int, item: StagedLetter, body_id: int) -> _StagedRow:
    letter = item.letter
    return _StagedRow(
        plan_id=plan_id,
        application_id=letter.application_id,
        decision_id=letter.decision_id,
        letter_key=letter.letter_key or f"decision:{letter.decision_id}",
        status=item.status,
        kind=letter.kind,
        locale=letter.locale,
        sender=letter.sender,
        recipient=letter.recipient,
        message_id=letter.message_id,
        planned_stage=letter.planned_stage.value,
        not_before=letter.not_before,
        keep_until=letter.keep_until,
        decide_by=letter.decide_by,
        body_id=body_id,
        later_reason=item.later_reason,
        findings=json.dumps([list(f) for f in item.findings]) if item.findings else None,
        reason_code=item.reason_code,
        with_feedback=item.with_feedback,
        feedback_waiting=item.feedback_waiting,
        approved_despite_findings=item.approved_despite_findings,
        contradicts=item.contradicts,
    )


def _record(row: Row[Any]) -> PlanRecord:
    return PlanRecord(
        id=row.id,
        job_id=row.job_id,
        state=row.state,
        made_at=row.made_at,
        made_by=row.made_by,
        send_now=bool(row.send_now),
        fingerprint=row.fingerprint,
        change_mark=int(row.change_mark),
        batch_id=row.batch_id,
    )


def _group(row: Row[Any]) -> StagedGroup:
    r = row
    return StagedGroup(
        kind=r.kind,
        status=r.status,
        later_reason=r.later_reason,
        letters=int(r.letters),
        first=r.first,
        last=r.last,
        with_feedback=int(r.with_feedback or 0),
        feedback_waiting=int(r.waiting or 0),
        approved_despite_findings=int(r.despite or 0),
    )


def _note(row: Row[Any]) -> StagedNote:
    found = json.loads(row.findings) if row.findings else []
    return StagedNote(
        recipient=row.recipient,
        kind=row.kind,
        reason_code=row.reason_code,
        findings=tuple((str(a), str(b), str(c)) for a, b, c in found),
    )
