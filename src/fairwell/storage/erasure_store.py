"""Access and erasure requests, legal holds, the export's reads and the erasure: PrivacyStore.

An erasure deletes every row that holds the person's data, child rows first, in one
transaction, and leaves the person's row as an anonymous tombstone (``erased_at`` set, no
name, no address) so the send-time check still knows the person is gone. The audit log keeps
its entries: they hold ids, never personal data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    cast,
    delete,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row

from fairwell.errors import NotFound
from fairwell.ports import HoldRecord, PrivacyRequestRecord
from fairwell.storage.engine import checkpoint_wal
from fairwell.storage.inbox_store import message_id_digest
from fairwell.storage.portal_store import transaction
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    ats_events,
    ats_links,
    ats_writebacks,
    audit_log,
    bounces,
    competencies,
    consents,
    decisions,
    erased_letters,
    erasures,
    feedback,
    feedback_requests,
    import_merges,
    inbound_messages,
    interview_assignments,
    jobs,
    legal_holds,
    letter_bodies,
    outbox,
    persons,
    portal_checklists,
    portal_nonces,
    privacy_requests,
    scorecards,
    staged_letters,
    suppressions,
)

OPEN, DONE = "open", "done"


def _request(row: Row[Any]) -> PrivacyRequestRecord:
    return PrivacyRequestRecord(
        id=row.id,
        kind=row.kind,
        person_id=row.person_id,
        email=row.email,
        channel=row.channel,
        state=row.state,
        received_at=row.received_at,
        due_at=row.due_at,
        completed_at=row.completed_at,
    )


def _requests_query() -> Any:
    return (
        select(privacy_requests, persons.c.email)
        .outerjoin(persons, persons.c.id == privacy_requests.c.person_id)
        .order_by(privacy_requests.c.due_at, privacy_requests.c.id)
    )


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(query)]


class SqlPrivacyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- requests ---------------------------------------------------------------------

    def person_id(self, email: str) -> int | None:
        query = select(persons.c.id).where(persons.c.email == email, persons.c.erased_at.is_(None))
        with transaction(self.engine, write=False) as conn:
            return conn.execute(query).scalar()

    def add_request(
        self, kind: str, person_id: int, channel: str, now: datetime, due: datetime
    ) -> int:
        with transaction(self.engine, write=True) as conn:
            inserted = conn.execute(
                insert(privacy_requests).values(
                    kind=kind,
                    person_id=person_id,
                    channel=channel,
                    state=OPEN,
                    received_at=now,
                    due_at=due,
                )
            ).inserted_primary_key
            assert inserted is not None
            detail: dict[str, object] = {"kind": kind, "channel": channel}
            audit(conn, channel, "privacy.requested", "privacy_request", inserted[0], detail, now)
            return int(inserted[0])

    def complete_requests(self, person_id: int, kind: str, now: datetime) -> int:
        """Mark the person's open requests of a kind answered; return how many."""
        with transaction(self.engine, write=True) as conn:
            return self._complete(conn, person_id, kind, now)

    @staticmethod
    def _complete(conn: Connection, person_id: int, kind: str, now: datetime) -> int:
        ids = list(
            conn.execute(
                select(privacy_requests.c.id).where(
                    privacy_requests.c.person_id == person_id,
                    privacy_requests.c.kind == kind,
                    privacy_requests.c.state == OPEN,
                )
            ).scalars()
        )
        if ids:
            conn.execute(
                update(privacy_requests)
                .where(privacy_requests.c.id.in_(ids))
                .values(state=DONE, completed_at=now)
            )
        for request_id in ids:
            audit(conn, "fairwell", "privacy.answered", "privacy_request", request_id, {}, now)
        return len(ids)

    def open_requests(self, person_id: int, kind: str) -> list[PrivacyRequestRecord]:
        query = _requests_query().where(
            privacy_requests.c.person_id == person_id,
            privacy_requests.c.kind == kind,
            privacy_requests.c.state == OPEN,
        )
        with transaction(self.engine, write=False) as conn:
            return [_request(row) for row in conn.execute(query)]

    def requests(self) -> list[PrivacyRequestRecord]:
        with transaction(self.engine, write=False) as conn:
            return [_request(row) for row in conn.execute(_requests_query())]

    # --- legal holds ------------------------------------------------------------------

    def holds(self, person_id: int | None = None) -> list[HoldRecord]:
        query = (
            select(legal_holds, persons.c.email)
            .join(persons, persons.c.id == legal_holds.c.person_id)
            .where(legal_holds.c.released_at.is_(None))
            .order_by(legal_holds.c.id)
        )
        if person_id is not None:
            query = query.where(legal_holds.c.person_id == person_id)
        with transaction(self.engine, write=False) as conn:
            return [
                HoldRecord(r.id, r.person_id, r.email, r.reason, r.created_by, r.created_at)
                for r in conn.execute(query)
            ]

    def add_hold(self, person_id: int, reason: str, actor: str, now: datetime) -> int:
        with transaction(self.engine, write=True) as conn:
            inserted = conn.execute(
                insert(legal_holds).values(
                    person_id=person_id, reason=reason, created_by=actor, created_at=now
                )
            ).inserted_primary_key
            assert inserted is not None
            audit(conn, actor, "hold.added", "legal_hold", inserted[0], {}, now)
            return int(inserted[0])

    def release_hold(self, hold_id: int, actor: str, now: datetime) -> None:
        with transaction(self.engine, write=True) as conn:
            changed = conn.execute(
                update(legal_holds)
                .where(legal_holds.c.id == hold_id, legal_holds.c.released_at.is_(None))
                .values(released_by=actor, released_at=now)
            )
            if changed.rowcount != 1:
                raise NotFound(f"no legal hold {hold_id} in force")
            audit(conn, actor, "hold.released", "legal_hold", hold_id, {}, now)

    # --- the export's reads -------------------------------------------------------------

    def export_rows(self, person_id: int) -> dict[str, object]:
        """Everything held about one person, as plain rows (services/export.py shapes it)."""
        with transaction(self.engine, write=False) as conn:
            app_ids = _ids(conn, applications.c.id, applications.c.person_id == person_id)
            decision_ids = _ids(conn, decisions.c.id, decisions.c.application_id.in_(app_ids))
            outbox_ids = _ids(conn, outbox.c.id, outbox.c.application_id.in_(app_ids))
            rows = {
                "person": _rows(conn, select(persons).where(persons.c.id == person_id)),
                "applications": _rows(conn, _applications_of(app_ids)),
                "decisions": _rows(conn, _decisions_of(decision_ids)),
                "scorecards": _rows(conn, _scorecards_of(app_ids)),
                "feedback": _rows(conn, _feedback_of(decision_ids)),
                "letters": _rows(conn, _letters_of(outbox_ids)),
                "feedback_requests": _rows(conn, _feedback_requests_of(decision_ids)),
                "checklists": _rows(conn, _where(portal_checklists, "application_id", app_ids)),
                "consents": _rows(conn, _where(consents, "person_id", [person_id])),
                "privacy_requests": _rows(conn, _where(privacy_requests, "person_id", [person_id])),
                "mail_received": _rows(conn, _mail_received(app_ids)),
                "bounces": _rows(conn, _where(bounces, "outbox_id", outbox_ids)),
            }
            request_ids = [r["id"] for r in rows["feedback_requests"]]
            rows["audit"] = _rows(
                conn,
                _audit_about(person_id, app_ids, decision_ids, outbox_ids, request_ids, rows),
            )
        return dict(rows)

    # --- erasure --------------------------------------------------------------------------

    def erase(
        self, person_id: int, request_id: int | None, actor: str, now: datetime
    ) -> dict[str, int]:
        """Delete or anonymise everything about one person; return the rows per table."""
        return erase_person_in(self.engine, person_id, request_id, actor, now, keep_records=False)


def erase_person_in(
    engine: Engine,
    person_id: int,
    request_id: int | None,
    actor: str,
    now: datetime,
    *,
    keep_records: bool,
) -> dict[str, int]:
    """The erasure, shared by a person's request and the retention run (storage/retention_store).

    ``keep_records`` keeps the applications and decisions, stripped of anything personal, for
    hiring statistics (the retention policy's ``anonymise``); everything else goes either way.
    """
    with transaction(engine, write=True) as conn:
        counts = _erase_rows(conn, person_id, keep_records, now)
        counts["persons"] = _anonymise_person(conn, person_id, now)
        if request_id is not None:
            SqlPrivacyStore._complete(conn, person_id, "erasure", now)
        # The requests stay as evidence, without the link to the person.
        conn.execute(
            update(privacy_requests)
            .where(privacy_requests.c.person_id == person_id)
            .values(person_id=None)
        )
        erasure = conn.execute(
            insert(erasures).values(
                request_id=request_id,
                erased_at=now,
                actor=actor,
                counts=json.dumps(counts, sort_keys=True),
            )
        ).inserted_primary_key
        assert erasure is not None
        audit(conn, actor, "person.erased", "erasure", erasure[0], dict(counts), now)
    # Without this the SQLite WAL would keep the pages as they were before the erasure.
    checkpoint_wal(engine)
    return counts


def _ids(conn: Connection, column: Any, condition: Any) -> list[int]:
    return [int(value) for value in conn.execute(select(column).where(condition)).scalars()]


def _where(table: Any, column: str, ids: list[int]) -> Any:
    return (
        select(table)
        .where(table.c[column].in_(ids))
        .order_by(table.c[table.primary_key.columns.keys()[0]])
    )


def _applications_of(app_ids: list[int]) -> Any:
    return (
        select(
            applications.c.id,
            applications.c.ref,
            jobs.c.title.label("job"),
            applications.c.stage,
            applications.c.source,
            applications.c.applied_at,
            applications.c.last_interview_at,
            applications.c.created_at,
        )
        .join(jobs, jobs.c.id == applications.c.job_id)
        .where(applications.c.id.in_(app_ids))
        .order_by(applications.c.id)
    )


def _decisions_of(decision_ids: list[int]) -> Any:
    return (
        select(
            decisions.c.id,
            decisions.c.application_id,
            decisions.c.reason_code,
            decisions.c.state,
            decisions.c.decided_at,
        )
        .where(decisions.c.id.in_(decision_ids))
        .order_by(decisions.c.id)
    )


def _scorecards_of(app_ids: list[int]) -> Any:
    # Interviewers' names and internal notes are about other people or the employer's own
    # deliberation; an operator reviews those by hand (docs/privacy.md).
    return (
        select(
            scorecards.c.application_id,
            competencies.c.name.label("competency"),
            scorecards.c.rating,
            scorecards.c.note_for_candidate,
            scorecards.c.created_at,
        )
        .join(competencies, competencies.c.id == scorecards.c.competency_id)
        .where(scorecards.c.application_id.in_(app_ids))
        .order_by(scorecards.c.id)
    )


def _feedback_of(decision_ids: list[int]) -> Any:
    return (
        select(
            feedback.c.decision_id,
            feedback.c.state,
            feedback.c.text,
            feedback.c.next_steps,
            feedback.c.created_at,
        )
        .where(feedback.c.decision_id.in_(decision_ids))
        .order_by(feedback.c.id)
    )


def _letters_of(outbox_ids: list[int]) -> Any:
    return (
        select(
            outbox.c.id,
            outbox.c.application_id,
            outbox.c.kind,
            outbox.c.locale,
            outbox.c.recipient,
            outbox.c.state,
            outbox.c.created_at,
            outbox.c.sent_at,
            letter_bodies.c.body,
        )
        .outerjoin(letter_bodies, letter_bodies.c.id == outbox.c.body_id)
        .where(outbox.c.id.in_(outbox_ids))
        .order_by(outbox.c.id)
    )


def _feedback_requests_of(decision_ids: list[int]) -> Any:
    return (
        select(
            feedback_requests.c.id,
            feedback_requests.c.decision_id,
            feedback_requests.c.state,
            feedback_requests.c.question,
            feedback_requests.c.received_at,
            feedback_requests.c.due_at,
            feedback_requests.c.answer,
            feedback_requests.c.answered_at,
        )
        .where(feedback_requests.c.decision_id.in_(decision_ids))
        .order_by(feedback_requests.c.id)
    )


def _audit_about(
    person_id: int,
    app_ids: list[int],
    decision_ids: list[int],
    outbox_ids: list[int],
    request_ids: list[int],
    rows: dict[str, list[dict[str, Any]]],
) -> Any:
    """The audit entries whose entity is one of this person's records."""
    by_entity = {
        "person": [person_id],
        "application": app_ids,
        "decision": decision_ids,
        "outbox": outbox_ids,
        "request": request_ids,
        "consent": [r["id"] for r in rows["consents"]],
        "privacy_request": [r["id"] for r in rows["privacy_requests"]],
    }
    return (
        select(
            audit_log.c.at,
            audit_log.c.actor,
            audit_log.c.action,
            audit_log.c.entity,
            audit_log.c.entity_id,
        )
        .where(
            or_(
                *(
                    (audit_log.c.entity == entity) & audit_log.c.entity_id.in_(ids)
                    for entity, ids in by_entity.items()
                )
            )
        )
        .order_by(audit_log.c.id)
    )


def _erase_rows(
    conn: Connection, person_id: int, keep_records: bool, now: datetime
) -> dict[str, int]:
    """Delete the person's rows, children before parents (foreign keys are enforced)."""
    app_ids = _ids(conn, applications.c.id, applications.c.person_id == person_id)
    decision_ids = _ids(conn, decisions.c.id, decisions.c.application_id.in_(app_ids))
    outbox_ids = _ids(conn, outbox.c.id, outbox.c.application_id.in_(app_ids))
    # The bytes of their letters: queued or sent, and staged in a plan (not released yet).
    kept = outbox.c.body_id.is_not(None)
    sent_bodies = _ids(conn, outbox.c.body_id, and_(outbox.c.id.in_(outbox_ids), kept))
    staged_bodies = _ids(
        conn, staged_letters.c.body_id, staged_letters.c.application_id.in_(app_ids)
    )
    emails = _ids_or_emails(conn, person_id)
    _remember_erased_letters(conn, outbox_ids, now)
    steps: list[tuple[str, Any]] = [
        *_inbound_steps(app_ids, decision_ids, outbox_ids, emails),
        ("portal_nonces", delete(portal_nonces).where(portal_nonces.c.application_id.in_(app_ids))),
        (
            "checklists",
            delete(portal_checklists).where(portal_checklists.c.application_id.in_(app_ids)),
        ),
        ("consents", delete(consents).where(consents.c.person_id == person_id)),
        ("legal_holds", delete(legal_holds).where(legal_holds.c.person_id == person_id)),
        (
            "feedback_requests",
            delete(feedback_requests).where(feedback_requests.c.decision_id.in_(decision_ids)),
        ),
        ("feedback", delete(feedback).where(feedback.c.decision_id.in_(decision_ids))),
        ("letter_bodies", delete(letter_bodies).where(letter_bodies.c.id.in_(sent_bodies))),
        # A plan's staged letters hold the same kind of bytes: erased too, not only made stale.
        (
            "staged_letters",
            delete(staged_letters).where(staged_letters.c.application_id.in_(app_ids)),
        ),
        ("staged_bodies", delete(letter_bodies).where(letter_bodies.c.id.in_(staged_bodies))),
        ("letters", delete(outbox).where(outbox.c.id.in_(outbox_ids))),
        ("scorecards", delete(scorecards).where(scorecards.c.application_id.in_(app_ids))),
        (
            "import_merges",
            delete(import_merges).where(import_merges.c.application_id.in_(app_ids)),
        ),
        (
            "interview_assignments",
            delete(interview_assignments).where(
                interview_assignments.c.application_id.in_(app_ids)
            ),
        ),
        # The ATS's ids would point back at the person: they go even when records stay.
        ("ats_links", delete(ats_links).where(ats_links.c.application_id.in_(app_ids))),
        (
            "ats_writebacks",
            delete(ats_writebacks).where(ats_writebacks.c.application_id.in_(app_ids)),
        ),
        ("ats_events", delete(ats_events).where(ats_events.c.application_id.in_(app_ids))),
        *_records_steps(app_ids, decision_ids, keep_records),
        ("suppressions", delete(suppressions).where(suppressions.c.email.in_(emails))),
    ]
    return {name: conn.execute(statement).rowcount for name, statement in steps}


def _mail_received(app_ids: list[int]) -> Any:
    """The person's messages kept from the inbox: what they wrote, never the digest."""
    return (
        select(
            inbound_messages.c.received_at,
            inbound_messages.c.kind,
            inbound_messages.c.subject,
            inbound_messages.c.text,
            inbound_messages.c.attachments,
        )
        .where(
            inbound_messages.c.application_id.in_(app_ids),
            inbound_messages.c.text.is_not(None),
        )
        .order_by(inbound_messages.c.id)
    )


def _inbound_steps(
    app_ids: list[int], decision_ids: list[int], outbox_ids: list[int], emails: list[str]
) -> list[tuple[str, Any]]:
    """The person's inbound mail (replies, mail from their address nobody matched) and the
    delivery reports about their letters, before the requests and letters they point to."""
    request_ids = select(feedback_requests.c.id).where(
        feedback_requests.c.decision_id.in_(decision_ids)
    )
    theirs = or_(
        inbound_messages.c.application_id.in_(app_ids),
        inbound_messages.c.request_id.in_(request_ids),
        inbound_messages.c.outbox_id.in_(outbox_ids),
        inbound_messages.c.sender.in_(emails),
    )
    return [
        ("inbound_messages", delete(inbound_messages).where(theirs)),
        ("bounces", delete(bounces).where(bounces.c.outbox_id.in_(outbox_ids))),
    ]


def _remember_erased_letters(conn: Connection, outbox_ids: list[int], now: datetime) -> None:
    """Keep the hashed Message-IDs of the letters about to go, so a later reply to one is
    known for what it is (counted and deleted unread) rather than kept as unmatched mail."""
    message_ids = conn.execute(select(outbox.c.message_id).where(outbox.c.id.in_(outbox_ids)))
    digests = {message_id_digest(message_id) for message_id in message_ids.scalars()}
    known = set(
        conn.execute(
            select(erased_letters.c.digest).where(erased_letters.c.digest.in_(digests))
        ).scalars()
    )
    rows = [{"digest": digest, "erased_at": now} for digest in sorted(digests - known)]
    if rows:
        conn.execute(insert(erased_letters), rows)


def _records_steps(
    app_ids: list[int], decision_ids: list[int], keep_records: bool
) -> list[tuple[str, Any]]:
    """Delete the applications and decisions, or keep them without anything personal.

    What stays (job, stage, source, applied date, reason code, decision date) is tied only to
    the anonymous tombstone. The internal note and the referrer's name go; the reference is
    replaced because old portal links carry it; the interview date goes so the deadlines list
    does not count an anonymous record as someone still waiting to be told.
    """
    if not keep_records:
        return [
            ("decisions", delete(decisions).where(decisions.c.id.in_(decision_ids))),
            ("applications", delete(applications).where(applications.c.id.in_(app_ids))),
        ]
    return [
        (
            "decisions_anonymised",
            update(decisions).where(decisions.c.id.in_(decision_ids)).values(note=None),
        ),
        (
            "applications_anonymised",
            update(applications)
            .where(applications.c.id.in_(app_ids))
            .values(
                ref=literal("anon-") + cast(applications.c.id, String),
                referred_by=None,
                referral_aware=None,
                last_interview_at=None,
            ),
        ),
    ]


def _ids_or_emails(conn: Connection, person_id: int) -> list[str]:
    email = conn.execute(select(persons.c.email).where(persons.c.id == person_id)).scalar()
    return [] if email is None else [email]


def _anonymise_person(conn: Connection, person_id: int, now: datetime) -> int:
    """Keep an anonymous tombstone: the id stays unique and the send-time check sees erased."""
    return conn.execute(
        update(persons)
        .where(persons.c.id == person_id)
        .values(
            email=f"erased-{person_id}@erased.invalid",
            first_name="",
            last_name="",
            locale="en",
            country=None,
            region=None,
            timezone=None,
            erased_at=now,
            updated_at=now,
        )
    ).rowcount
