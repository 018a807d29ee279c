"""Mail that comes back: replies, bounces and suppressions (delivery/inbox.py,
storage/inbox_store.py). The mailbox raises InboxUnavailable (fairwell.errors).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from fairwell.errors import InboxUnavailable as InboxUnavailable

if TYPE_CHECKING:
    from fairwell.domain.model import OutboxState


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message waiting in the inbox: its key there and its exact bytes."""

    key: str
    raw: bytes


class Inbox(Protocol):
    """Where replies and bounces arrive (delivery/inbox.py: a Maildir or an IMAP folder).

    A message stays new until :meth:`handled` (kept, marked as read) or :meth:`delete` is
    called for it, so a crash or a broken connection loses nothing. Raises InboxUnavailable.
    """

    def new_messages(self) -> Iterator[ReceivedMail]: ...

    def handled(self, key: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LetterOnFile:
    """One letter we sent, as a reply or a bounce finds it by its Message-ID."""

    outbox_id: int
    application_id: int
    recipient: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ApplicationOnFile:
    application_id: int
    email: str


@dataclass(frozen=True, slots=True)
class InboundReply:
    """What is kept of a reply: the candidate's words and what threads our answer, no more."""

    digest: str
    sender: str | None
    subject: str
    message_id: str | None
    references: tuple[str, ...]
    text: str
    attachments: int


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """A matched reply: the request it opened or joined; ``unmatched`` says why it could not
    become one (it is then listed with the unmatched mail)."""

    request_id: int | None
    created: bool
    unmatched: str | None = None


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """A stored inbound message (a reply, or mail nobody could match)."""

    id: int
    kind: str
    received_at: datetime
    sender: str | None
    subject: str
    text: str
    attachments: int
    note: str | None
    application_id: int | None
    request_id: int | None


@dataclass(frozen=True, slots=True)
class BounceRecord:
    """A delivery report about one of our letters: permanent ones suppress the address."""

    id: int
    outbox_id: int
    application_id: int
    recipient: str
    status: str
    permanent: bool
    diagnostic: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class MailThread:
    """The candidate's message an answer goes back to: "Re: " its subject, in its thread."""

    subject: str
    message_id: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """One letter's state and its stored bytes (e.g. the answer to a feedback request)."""

    outbox_id: int
    state: OutboxState
    sent_at: datetime | None
    body: bytes


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    email: str
    reason: str
    since: datetime


class InboxStore(Protocol):
    """Inbound mail and bounces (storage/inbox_store.py). Every write is one transaction."""

    def seen(self, digest: str) -> bool: ...

    def erased_letter(self, message_ids: Sequence[str]) -> bool: ...

    def letters(self, message_ids: Sequence[str]) -> list[LetterOnFile]: ...

    def applications_by_ref(self, refs: Sequence[str]) -> list[ApplicationOnFile]: ...

    def applications_written_to(self, email: str) -> list[ApplicationOnFile]: ...

    def record_reply(
        self,
        reply: InboundReply,
        application_id: int,
        outbox_id: int | None,
        now: datetime,
        due_at: datetime,
        actor: str,
    ) -> ReplyOutcome: ...

    def record_unmatched(self, reply: InboundReply, note: str, now: datetime) -> int: ...

    def record_ignored(self, digest: str, kind: str, now: datetime) -> None: ...

    def record_bounce(
        self,
        digest: str,
        letter: LetterOnFile,
        failure: tuple[str, bool, str],
        now: datetime,
        actor: str,
    ) -> None:
        """``failure``: (status code, permanent, diagnostic with addresses blanked)."""
        ...

    def unmatched(self, limit: int) -> list[InboundRecord]: ...

    def thread(self, request_id: int) -> list[InboundRecord]: ...

    def mail_thread(self, request_id: int) -> MailThread | None: ...

    def answer_letter(self, request_id: int) -> StoredLetter | None: ...

    def bounces(
        self, application_id: int | None = None, limit: int = 500
    ) -> list[BounceRecord]: ...


class SuppressionStore(Protocol):
    """Addresses never written to again (storage/inbox_store.py)."""

    def suppressions(self) -> list[SuppressionRecord]: ...

    def suppress(self, email: str, reason: str, actor: str, now: datetime) -> bool: ...

    def unsuppress(self, email: str, actor: str, now: datetime) -> bool: ...
