"""Inbound mail, delivery reports and suppressions: the InboxStore and SuppressionStore ports.

Every message ``fairwell inbox fetch`` handles becomes one ``inbound_messages`` row, written
in the same transaction as what it causes (a feedback request, a bounced letter and its
suppression), so a fetch that dies half-way has either done all of a message or none of it;
the message is marked handled in the mailbox only after that commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from fairwell.domain.model import DecisionState, OutboxState
from fairwell.domain.requests import RequestState
from fairwell.ports import (
    ApplicationOnFile,
    BounceRecord,
    InboundRecord,
    InboundReply,
    LetterOnFile,
    MailThread,
    ReplyOutcome,
    StoredLetter,
    SuppressionRecord,
)
from fairwell.storage.portal_store import transaction
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    bounces,
    decisions,
    erased_letters,
    feedback_requests,
    inbound_messages,
    letter_bodies,
    outbox,
    persons,
    suppressions,
)
from fairwell.storage.webhooks_store import record_event

REPLY, UNMATCHED, AUTO_REPLY, BOUNCE, ERASED = (
    "reply",
    "unmatched",
    "auto_reply",
    "bounce",
    "erased",
)
NO_DECISION = "the application has no decision to ask about"


def message_id_digest(message_id: str) -> str:
    """How an erased letter's Message-ID is kept: hashed, tied to nobody."""
    return hashlib.sha256(message_id.encode("ascii", "replace")).hexdigest()


class SqlInbox:
    """The InboxStore port over one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- what the fetch looks up ----------------------------------------------------------------

    def seen(self, digest: str) -> bool:
        query = select(inbound_messages.c.id).where(inbound_messages.c.digest == digest)
        with transaction(self.engine, write=False) as conn:
            return conn.execute(query).first() is not None

    def erased_letter(self, message_ids: Sequence[str]) -> bool:
        digests = [message_id_digest(message_id) for message_id in message_ids]
        query = select(erased_letters.c.digest).where(erased_letters.c.digest.in_(digests))
        with transaction(self.engine, write=False) as conn:
            return conn.execute(query.limit(1)).first() is not None

    def letters(self, message_ids: Sequence[str]) -> list[LetterOnFile]:
        """Our letters with these Message-IDs, in the order the ids are given."""
        query = select(
            outbox.c.id, outbox.c.application_id, outbox.c.recipient, outbox.c.message_id
        ).where(outbox.c.message_id.in_(list(message_ids)))
        with transaction(self.engine, write=False) as conn:
            found = {row.message_id: row for row in conn.execute(query)}
        return [
            LetterOnFile(row.id, row.application_id, row.recipient, row.message_id)
            for row in (found[i] for i in message_ids if i in found)
        ]

    def applications_by_ref(self, refs: Sequence[str]) -> list[ApplicationOnFile]:
        query = (
            select(applications.c.id, persons.c.email)
            .join(persons, persons.c.id == applications.c.person_id)
            .where(applications.c.ref.in_(list(refs)), persons.c.erased_at.is_(None))
            .order_by(applications.c.id)
        )
        with transaction(self.engine, write=False) as conn:
            return [ApplicationOnFile(row.id, row.email) for row in conn.execute(query)]

    def applications_written_to(self, email: str) -> list[ApplicationOnFile]:
        """The person's applications that have had a letter."""
        written = select(outbox.c.id).where(
            outbox.c.application_id == applications.c.id, outbox.c.sent_at.is_not(None)
        )
        query = (
            select(applications.c.id, persons.c.email)
            .join(persons, persons.c.id == applications.c.person_id)
            .where(persons.c.email == email, persons.c.erased_at.is_(None), written.exists())
            .order_by(applications.c.id)
        )
        with transaction(self.engine, write=False) as conn:
            return [ApplicationOnFile(row.id, row.email) for row in conn.execute(query)]

    # --- what a message becomes -------------------------------------------------------------

    def record_reply(
        self,
        reply: InboundReply,
        application_id: int,
        outbox_id: int | None,
        now: datetime,
        due_at: datetime,
        actor: str,
    ) -> ReplyOutcome:
        """Attach the reply to the application's open request, or open one with its words.

        An application without an active decision has nothing to ask about: the reply is
        kept with the unmatched mail instead. A message another fetch recorded meanwhile
        changes nothing (``request_id`` None, nothing created).
        """
        try:
            with transaction(self.engine, write=True) as conn:
                return self._reply(conn, reply, application_id, outbox_id, now, due_at, actor)
        except IntegrityError:
            return ReplyOutcome(None, False)

    def _reply(
        self,
        conn: Connection,
        reply: InboundReply,
        application_id: int,
        outbox_id: int | None,
        now: datetime,
        due_at: datetime,
        actor: str,
    ) -> ReplyOutcome:
        place = {"application_id": application_id, "outbox_id": outbox_id}
        request_id = _open_request(conn, application_id)
        if request_id is not None:
            inbound_id = _insert(conn, reply, REPLY, now, request_id=request_id, **place)
            audit(conn, actor, "request.mail", "request", request_id, {"inbound": inbound_id}, now)
            return ReplyOutcome(request_id, False)
        decision_id = _active_decision(conn, application_id)
        if decision_id is None:
            _insert(conn, reply, UNMATCHED, now, note=NO_DECISION, **place)
            return ReplyOutcome(None, False, unmatched=NO_DECISION)
        request_id = _new_request(conn, decision_id, reply.text, now, due_at)
        detail: dict[str, object] = {"decision_id": decision_id, "channel": "mail"}
        audit(conn, actor, "request.received", "request", request_id, detail, now)
        _insert(conn, reply, REPLY, now, request_id=request_id, **place)
        return ReplyOutcome(request_id, True)

    def record_unmatched(self, reply: InboundReply, note: str, now: datetime) -> int:
        """Keep a message nobody could match, for a person to read; 0 if recorded before."""
        try:
            with transaction(self.engine, write=True) as conn:
                return _insert(conn, reply, UNMATCHED, now, note=note)
        except IntegrityError:
            return 0

    def record_ignored(self, digest: str, kind: str, now: datetime) -> None:
        """Remember that a message was handled, keeping nothing of it but its digest."""
        try:
            with transaction(self.engine, write=True) as conn:
                conn.execute(
                    insert(inbound_messages).values(digest=digest, kind=kind, received_at=now)
                )
        except IntegrityError:
            pass

    def record_bounce(
        self,
        digest: str,
        letter: LetterOnFile,
        failure: tuple[str, bool, str],
        now: datetime,
        actor: str,
    ) -> None:
        """Record the report; a permanent failure marks the letter bounced and suppresses the
        address, in the same transaction."""
        status, permanent, diagnostic = failure
        try:
            with transaction(self.engine, write=True) as conn:
                conn.execute(
                    insert(inbound_messages).values(
                        digest=digest,
                        kind=BOUNCE,
                        received_at=now,
                        application_id=letter.application_id,
                        outbox_id=letter.outbox_id,
                    )
                )
                self._bounce(conn, letter, status, permanent, diagnostic, now, actor)
        except IntegrityError:
            pass

    def _bounce(
        self,
        conn: Connection,
        letter: LetterOnFile,
        status: str,
        permanent: bool,
        diagnostic: str,
        now: datetime,
        actor: str,
    ) -> None:
        conn.execute(
            insert(bounces).values(
                outbox_id=letter.outbox_id,
                status=status or "unknown",
                permanent=permanent,
                diagnostic=diagnostic,
                received_at=now,
            )
        )
        detail: dict[str, object] = {"status": status, "permanent": permanent}
        if not permanent:
            audit(conn, actor, "letter.delayed", "outbox", letter.outbox_id, detail, now)
            return
        conn.execute(
            update(outbox)
            .where(outbox.c.id == letter.outbox_id, outbox.c.state == OutboxState.SENT.value)
            .values(
                state=OutboxState.BOUNCED.value,
                last_error=f"bounced: {status or 'no status code'} {diagnostic}".strip(),
                updated_at=now,
            )
        )
        audit(conn, actor, "letter.bounced", "outbox", letter.outbox_id, detail, now)
        # Subscribers hear of it in the same transaction: never a bounce without its event.
        record_event(conn, "letter.bounced", letter.outbox_id, now)
        _suppress(conn, letter.recipient, f"bounced ({status or 'no status code'})", actor, now)

    # --- what people read ----------------------------------------------------------------------

    def unmatched(self, limit: int) -> list[InboundRecord]:
        query = (
            select(inbound_messages)
            .where(inbound_messages.c.kind == UNMATCHED)
            .order_by(inbound_messages.c.id.desc())
            .limit(limit)
        )
        with transaction(self.engine, write=False) as conn:
            return [_record(row) for row in conn.execute(query)]

    def thread(self, request_id: int) -> list[InboundRecord]:
        query = (
            select(inbound_messages)
            .where(inbound_messages.c.request_id == request_id)
            .order_by(inbound_messages.c.id)
        )
        with transaction(self.engine, write=False) as conn:
            return [_record(row) for row in conn.execute(query)]

    def mail_thread(self, request_id: int) -> MailThread | None:
        """The candidate's latest message of the request, for the answer to go back to."""
        query = (
            select(
                inbound_messages.c.subject,
                inbound_messages.c.message_id,
                inbound_messages.c.thread_references,
            )
            .where(
                inbound_messages.c.request_id == request_id,
                inbound_messages.c.message_id.is_not(None),
            )
            .order_by(inbound_messages.c.id.desc())
            .limit(1)
        )
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        references = tuple((row.thread_references or "").split())
        return MailThread(row.subject or "", row.message_id, references)

    def answer_letter(self, request_id: int) -> StoredLetter | None:
        """The letter that answers the request (letter key ``request:<id>``), once queued."""
        query = (
            select(outbox.c.id, outbox.c.state, outbox.c.sent_at, letter_bodies.c.body)
            .join(letter_bodies, letter_bodies.c.id == outbox.c.body_id)
            .where(outbox.c.letter_key == f"request:{request_id}")
        )
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return StoredLetter(row.id, OutboxState(row.state), row.sent_at, bytes(row.body))

    def bounces(self, application_id: int | None = None, limit: int = 500) -> list[BounceRecord]:
        query = (
            select(
                bounces,
                outbox.c.application_id,
                outbox.c.recipient,
            )
            .join(outbox, outbox.c.id == bounces.c.outbox_id)
            .order_by(bounces.c.id.desc())
            .limit(limit)
        )
        if application_id is not None:
            query = query.where(outbox.c.application_id == application_id)
        with transaction(self.engine, write=False) as conn:
            return [
                BounceRecord(
                    id=row.id,
                    outbox_id=row.outbox_id,
                    application_id=row.application_id,
                    recipient=row.recipient,
                    status=row.status,
                    permanent=row.permanent,
                    diagnostic=row.diagnostic,
                    received_at=row.received_at,
                )
                for row in conn.execute(query)
            ]

    def counts(self) -> dict[str, int]:
        """Inbound messages handled, per kind."""
        query = select(inbound_messages.c.kind, func.count()).group_by(inbound_messages.c.kind)
        with transaction(self.engine, write=False) as conn:
            return {kind: int(count) for kind, count in conn.execute(query).tuples()}


class SqlSuppressions:
    """The SuppressionStore port: addresses never written to again."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def suppressions(self) -> list[SuppressionRecord]:
        query = select(suppressions).order_by(suppressions.c.created_at, suppressions.c.email)
        with transaction(self.engine, write=False) as conn:
            return [
                SuppressionRecord(row.email, row.reason, row.created_at)
                for row in conn.execute(query)
            ]

    def suppress(self, email: str, reason: str, actor: str, now: datetime) -> bool:
        """Suppress the address; False when it was already suppressed (its reason stays)."""
        with transaction(self.engine, write=True) as conn:
            return _suppress(conn, email, reason, actor, now)

    def unsuppress(self, email: str, actor: str, now: datetime) -> bool:
        with transaction(self.engine, write=True) as conn:
            removed = conn.execute(delete(suppressions).where(suppressions.c.email == email))
            if removed.rowcount:
                audit(conn, actor, "suppression.removed", "suppression", None, {}, now)
            return bool(removed.rowcount)


# --- helpers ------------------------------------------------------------------------------------


def _suppress(conn: Connection, email: str, reason: str, actor: str, now: datetime) -> bool:
    exists = conn.execute(select(suppressions.c.email).where(suppressions.c.email == email))
    if exists.first() is not None:
        return False
    conn.execute(insert(suppressions).values(email=email, reason=reason, created_at=now))
    # The reason may be an admin's free text: the audit entry says only that one was added.
    audit(conn, actor, "suppression.added", "suppression", None, {}, now)
    return True


def _open_request(conn: Connection, application_id: int) -> int | None:
    query = (
        select(feedback_requests.c.id)
        .join(decisions, decisions.c.id == feedback_requests.c.decision_id)
        .where(
            decisions.c.application_id == application_id,
            feedback_requests.c.state == RequestState.OPEN.value,
        )
        .order_by(feedback_requests.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def _active_decision(conn: Connection, application_id: int) -> int | None:
    query = (
        select(decisions.c.id)
        .where(
            decisions.c.application_id == application_id,
            decisions.c.state == DecisionState.ACTIVE.value,
        )
        .order_by(decisions.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def _new_request(
    conn: Connection, decision_id: int, question: str, now: datetime, due_at: datetime
) -> int:
    inserted = conn.execute(
        insert(feedback_requests).values(
            decision_id=decision_id,
            state=RequestState.OPEN.value,
            question=question,
            received_at=now,
            due_at=due_at,
        )
    ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def _insert(conn: Connection, reply: InboundReply, kind: str, now: datetime, **place: Any) -> int:
    inserted = conn.execute(
        insert(inbound_messages).values(
            digest=reply.digest,
            kind=kind,
            received_at=now,
            sender=reply.sender,
            subject=reply.subject,
            message_id=reply.message_id,
            thread_references=" ".join(reply.references) or None,
            text=reply.text,
            attachments=reply.attachments,
            **place,
        )
    ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def _record(row: Row[Any]) -> InboundRecord:
    return InboundRecord(
        id=row.id,
        kind=row.kind,
        received_at=row.received_at,
        sender=row.sender,
        subject=row.subject or "",
        text=row.text or "",
        attachments=row.attachments,
        note=row.note,
        application_id=row.application_id,
        request_id=row.request_id,
    )
