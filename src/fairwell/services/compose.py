"""Compose a letter for one application: template, MIME bytes, the guard's view, and when it goes.

A letter's Date header is the moment it is scheduled to go (services/scheduling.py), so a
letter held over a weekend does not arrive dated Friday night.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from fairwell.domain.eligibility import letter_kind_for
from fairwell.domain.inbound import references_after, reply_subject
from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.model import INTERVIEW_STAGES, Job, LetterKind, Person, Stage
from fairwell.domain.reasons import reason_for, reason_for_basis
from fairwell.domain.retention import PolicyBook, long_date, promised_until
from fairwell.domain.send_windows import Schedule
from fairwell.guard.applied_wording import applied_wording_findings
from fairwell.guard.privacy import Expectation, Finding, inspect, inspect_many
from fairwell.guard.roster import Roster
from fairwell.guard.seal import seal
from fairwell.ports import (
    ApplicantView,
    MailThread,
    NewLetter,
    ReasonWordings,
    RenderedText,
    RosterStore,
    TemplateSource,
)
from fairwell.services.portal import PortalLinks
from fairwell.services.rosters import RosterSource, roster_for
from fairwell.services.scheduling import Scheduler


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    display_name: str  # the From display name; empty: the organisation's name
    org_name: str
    reply_to: str = ""  # where replies go; empty: the sender address
    # The person who signs every letter unless the job names its own; empty: the organisation.
    signer: str = ""
    # The envelope sender (MAIL FROM), where bounces go; None: the From address.
    bounce_address: str | None = None

    @property
    def mailbox(self) -> Mailbox:
        """From: the organisation's mailbox. A person signing the letter does not change it:
        the address is the team's, and their name in From would say they alone read replies."""
        return Mailbox(self.address, self.display_name or self.org_name)

    @property
    def reply_mailbox(self) -> Mailbox:
        return Mailbox(self.reply_to or self.address, self.display_name or self.org_name)

    @property
    def envelope(self) -> str:
        return self.bounce_address or self.address


class BuiltinWordings:
    """The wording in domain/reasons.py, for a composer without edited wording."""

    def wording(self, code: str, locale: str) -> str:
        return reason_for(code).for_locale(locale)


@dataclass(frozen=True, slots=True)
class ComposedLetter:
    view: ApplicantView
    kind: LetterKind
    message_id: str
    body: bytes
    findings: tuple[Finding, ...]
    schedule: Schedule
    keep_until: date | None = None  # the day the letter promises to keep the application until
    # The guard's seal on these bytes (guard/seal.py), when it passed them with a versioned
    # roster: the send-time guard then checks only the facts that change with time.
    seal: str | None = None


def outbox_letter(
    letter: ComposedLetter,
    sender: Sender,
    *,
    letter_key: str | None = None,
    decision_id: int | None = None,
    decide_by: date | None = None,
) -> NewLetter:
    """The composed letter as the outbox row that will carry it, first due at its schedule."""
    view = letter.view
    return NewLetter(
        decision_id=decision_id,
        application_id=view.application.id,
        kind=letter.kind.value,
        locale=view.person.locale,
        sender=sender.envelope,
        recipient=view.person.email,
        message_id=letter.message_id,
        body=letter.body,
        planned_stage=view.application.stage,
        letter_key=letter_key,
        not_before=letter.schedule.at,
        keep_until=letter.keep_until,
        decide_by=decide_by,
        guard_seal=letter.seal,
    )


def _approved_feedback(view: ApplicantView) -> dict[str, list[str]]:
    """Only feedback a hiring manager approved is ever put in a letter."""
    record = view.feedback
    if record is None or not record.approved:
        return {"feedback": [], "next_steps": []}
    return {
        "feedback": [line for line in record.text.splitlines() if line.strip()],
        "next_steps": [line for line in record.next_steps.splitlines() if line.strip()],
    }


def letter_reason(view: ApplicantView) -> str | None:
    """The reason code the letter gives: the basis of approved feedback (skills or
    requirements), unless the recruiter chose the reason for this person by name."""
    decision, record = view.decision, view.feedback
    if decision is None:
        return None
    if decision.reason_chosen or record is None or not record.approved or not record.basis:
        return decision.reason_code
    return reason_for_basis(record.basis)


class _RandomIds:
    """Random 128-bit ids in hex, for Message-IDs: as many bits as uuid4() (less its six fixed
    ones), read from the system's randomness 256 ids at a time. A read a letter, a system
    call each, was about 7 us of composing one here. A forked process starts with none of
    its parent's bytes, so two processes never give the same id."""

    PER_READ = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def next(self) -> str:
        with self._lock:
            if self._at >= len(self._pool):
                self._pool, self._at = os.urandom(16 * self.PER_READ), 0
            pool, start = self._pool, self._at
            self._at += 16
        return pool[start : start + 16].hex()

    def forget(self) -> None:
        self._pool, self._at = b"", 0
        self._lock = threading.Lock()


_message_ids = _RandomIds()
os.register_at_fork(after_in_child=_message_ids.forget)


T = TypeVar("T")

NO_DECISION_KINDS = (LetterKind.STATUS, LetterKind.ROLE_OPENED, LetterKind.CONSENT_RENEWAL)


class Composer:
    """Turns decided applications into letters, each checked by the privacy guard.

    ``wordings`` gives each reason's sentence; the runtime passes the edited wording
    (services/letter_settings.py), so a save in the settings pages reaches the next letter.
    ``scheduler`` decides when each letter may go; without one, every letter goes at once.
    ``retention`` gives the date a letter promises to keep the application until; without
    it the letter states none (``keep_until`` is empty). ``rosters`` is the process's roster
    of everyone on file (services/rosters.py), which the guard searches every letter for;
    without it, :meth:`roster` reads one for each call.
    """

    def __init__(
        self,
        templates: TemplateSource,
        sender: Sender,
        portal: PortalLinks | None = None,
        wordings: ReasonWordings | None = None,
        scheduler: Scheduler | None = None,
        retention: PolicyBook | None = None,
        *,
        name_referrer: bool = False,
        rosters: RosterSource | None = None,
    ) -> None:
        self.templates = templates
        self.sender = sender
        self.portal = portal
        self.wordings = wordings or BuiltinWordings()
        self.scheduler = scheduler or Scheduler(None)
        self.retention = retention
        # FAIRWELL_LETTERS_NAME_REFERRER: off, a referral letter says "a member of our team".
        self.name_referrer = name_referrer
        self.rosters = rosters
        self._domain = sender.address.rsplit("@", 1)[1]

    def roster(self, store: RosterStore) -> Roster:
        """Everyone on file, for the guard: the process's roster, or read for this call."""
        return roster_for(store, self.rosters)

    def signer(self, job: Job) -> str:
        """Who signs the job's letters: the job's named sender, the installation's, else the
        organisation (its display name)."""
        return (
            job.sender_name
            or self.sender.signer
            or self.sender.display_name
            or self.sender.org_name
        )

    def context(self, view: ApplicantView, job: Job, reason_code: str | None) -> dict[str, object]:
        person, application = view.person, view.application
        return {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "full_name": person.full_name,
            "job_title": job.title,
            "org_name": self.sender.org_name,
            "sender_name": self.signer(job),
            # A person signs: the organisation's name goes under theirs.
            "signed_by_person": bool(job.sender_name or self.sender.signer),
            "reason": self.wordings.wording(reason_code, person.locale) if reason_code else "",
            "application_ref": application.ref,
            "interviewed": application.stage in INTERVIEW_STAGES
            or application.last_interview_at is not None,
            # Someone looked at them for the role: a referral letter may not say "we did not
            # assess you" (an ATS's "phone screening" maps to the screen stage).
            "screened": application.stage is Stage.SCREEN,
            # What the referral letter says we held is what we hold, not what an import may carry.
            "held_country": person.country is not None,
            "held_timezone": person.timezone is not None,
            # False for referred and sourced people: templates word their letters apart.
            "applied": not application.never_applied,
            "referral_aware": bool(application.referral_aware),
            "source": application.source.value,
            # Never the referrer's name unless the organisation turned that on.
            "referred_by": (application.referred_by or "") if self.name_referrer else "",
            "locale": person.locale,
            "portal_link": self.portal.link(application.ref) if self.portal else "",
            **_approved_feedback(view),
        }

    def outgoing(
        self,
        person: Person,
        rendered: RenderedText,
        message_id: str,
        dated: datetime,
        thread: MailThread | None = None,
    ) -> OutgoingLetter:
        """The letter as it will be built: from the organisation, to the one person, replies
        to FAIRWELL_REPLY_TO (or the sender); an answer by mail goes in the candidate's thread."""
        return OutgoingLetter(
            sender=self.sender.mailbox,
            recipient=Mailbox(person.email, person.full_name),
            subject=reply_subject(thread.subject)
            if thread and thread.subject
            else rendered.subject,
            text=rendered.text,
            html=rendered.html,
            locale=person.locale,
            message_id=message_id,
            date=dated,
            reply_to=self.sender.reply_mailbox,
            in_reply_to=thread.message_id if thread else "",
            references=references_after(thread.message_id, thread.references) if thread else (),
        )

    def keep_until(self, view: ApplicantView, dated: datetime) -> date | None:
        """What the letter promises, from its own Date: delivery can only make it later."""
        if self.retention is None:
            return None
        person = view.person
        return promised_until(self.retention.policy_for(person.country, person.region), dated)

    def compose(
        self,
        view: ApplicantView,
        job: Job,
        roster: Roster,
        now: datetime,
        *,
        kind: LetterKind | None = None,
        extra: dict[str, object] | None = None,
        send_now: bool = False,
        latest: datetime | None = None,
        thread: MailThread | None = None,
        guard: bool = True,
    ) -> ComposedLetter:
        """Render, build the bytes and run the render-time guard over them.

        ``kind`` defaults to the letter that tells the decision; ``extra`` adds template
        values (the answer to a feedback request). ``send_now`` skips the send windows for
        this letter; ``latest`` is a deadline its schedule must not pass. ``thread``: the
        candidate's message this letter answers; it goes back in that conversation ("Re: "
        its subject, In-Reply-To and References). ``guard=False`` leaves the privacy guard to
        :meth:`guarded`, which runs it over a batch of letters at once; the letter's own
        checks (words that say a referred person applied) run here either way.
        """
        # A status letter says that no decision has been made, and role-opened and consent
        # renewal letters are about being on file; every other letter tells a decision.
        assert view.decision is not None or kind in NO_DECISION_KINDS
        kind = kind or letter_kind_for(view.application)
        person = view.person
        code = letter_reason(view)
        schedule = self.scheduler.schedule(
            person, view.application.last_interview_at, now, send_now=send_now, latest=latest
        )
        dated = max(now, schedule.at)
        # Only the letter that tells a decision starts the retention clock and promises a day.
        keep_until = self.keep_until(view, dated) if view.decision is not None else None
        context = {
            **self.context(view, job, code),
            "keep_until": long_date(keep_until, person.locale) if keep_until else "",
            **(extra or {}),
        }
        rendered = self.templates.render(kind.value, person.locale, context)
        message_id = f"<{_message_ids.next()}@{self._domain}>"
        body = to_bytes(self.outgoing(person, rendered, message_id, dated, thread))
        findings = tuple(inspect(body, _expectation(view, roster))) if guard else ()
        sealed = _sealed(body, view, roster) if guard and not findings else None
        if view.application.never_applied:
            findings += applied_wording_findings(f"{rendered.subject}\n{rendered.text}")
        return ComposedLetter(view, kind, message_id, body, findings, schedule, keep_until, sealed)

    @staticmethod
    def guarded(items: Sequence[ComposedLetter | T], roster: Roster) -> list[ComposedLetter | T]:
        """``items`` with every letter among them guarded (composed with ``guard=False``),
        the roster searched for all of them at once; anything else passes as it is."""
        letters = [item for item in items if isinstance(item, ComposedLetter)]
        checked = inspect_many([(item.body, _expectation(item.view, roster)) for item in letters])
        found = {id(item): tuple(findings) for item, findings in zip(letters, checked, strict=True)}
        # A letter's own findings (composed with guard=False, so none are the guard's) stay.
        return [
            _with_guard_findings(item, found[id(item)], roster)
            if isinstance(item, ComposedLetter)
            else item
            for item in items
        ]


def _with_guard_findings(
    letter: ComposedLetter, findings: tuple[Finding, ...], roster: Roster
) -> ComposedLetter:
    sealed = None if findings else _sealed(letter.body, letter.view, roster)
    # Every field named: dataclasses.replace reads the fields over again for each letter.
    return ComposedLetter(
        view=letter.view,
        kind=letter.kind,
        message_id=letter.message_id,
        body=letter.body,
        findings=findings + letter.findings,
        schedule=letter.schedule,
        keep_until=letter.keep_until,
        seal=sealed,
    )


def _sealed(body: bytes, view: ApplicantView, roster: Roster) -> str | None:
    """The seal of bytes the whole guard passed, when the roster's version is known."""
    if roster.version is None:
        return None
    person = view.person
    return seal(body, person.email, person.id, person.locale, roster.version)


def _expectation(view: ApplicantView, roster: Roster) -> Expectation:
    """What the render-time guard expects of a letter to this person."""
    person = view.person
    return Expectation(
        envelope_recipient=person.email,
        addressee_id=person.id,
        locale=person.locale,
        planned_stage=view.application.stage,
        roster=roster,
    )
