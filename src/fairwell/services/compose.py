"""Compose a letter for one application: template, MIME bytes, the guard's view, and when it goes.

A letter's Date header is the moment it is scheduled to go (services/scheduling.py), so a
letter held over a weekend does not arrive dated Friday night.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from fairwell.domain.eligibility import letter_kind_for
from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.model import INTERVIEW_STAGES, Job, LetterKind
from fairwell.domain.privacy import Expectation, Finding, inspect, inspect_many
from fairwell.domain.reasons import reason_for
from fairwell.domain.retention import PolicyBook, long_date, promised_until
from fairwell.domain.roster import Roster
from fairwell.domain.send_windows import Schedule
from fairwell.ports import ApplicantView, NewLetter, ReasonWordings, RosterStore, TemplateSource
from fairwell.services.portal import PortalLinks
from fairwell.services.rosters import RosterSource, roster_for
from fairwell.services.scheduling import Scheduler


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    display_name: str
    org_name: str


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


def outbox_letter(
    letter: ComposedLetter,
    sender: Sender,
    *,
    letter_key: str | None = None,
    decision_id: int | None = None,
) -> NewLetter:
    """The composed letter as the outbox row that will carry it, first due at its schedule."""
    view = letter.view
    return NewLetter(
        decision_id=decision_id,
        application_id=view.application.id,
        kind=letter.kind.value,
        locale=view.person.locale,
        sender=sender.address,
        recipient=view.person.email,
        message_id=letter.message_id,
        body=letter.body,
        planned_stage=view.application.stage,
        letter_key=letter_key,
        not_before=letter.schedule.at,
        keep_until=letter.keep_until,
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
        rosters: RosterSource | None = None,
    ) -> None:
        self.templates = templates
        self.sender = sender
        self.portal = portal
        self.wordings = wordings or BuiltinWordings()
        self.scheduler = scheduler or Scheduler(None)
        self.retention = retention
        self.rosters = rosters
        self._domain = sender.address.rsplit("@", 1)[1]

    def roster(self, store: RosterStore) -> Roster:
        """Everyone on file, for the guard: the process's roster, or read for this call."""
        return roster_for(store, self.rosters)

    def context(self, view: ApplicantView, job: Job, reason_code: str | None) -> dict[str, object]:
        person, application = view.person, view.application
        return {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "full_name": person.full_name,
            "job_title": job.title,
            "org_name": self.sender.org_name,
            "sender_name": self.sender.display_name or self.sender.org_name,
            "reason": self.wordings.wording(reason_code, person.locale) if reason_code else "",
            "application_ref": application.ref,
            "interviewed": application.stage in INTERVIEW_STAGES
            or application.last_interview_at is not None,
            "referral_aware": bool(application.referral_aware),
            "locale": person.locale,
            "portal_link": self.portal.link(application.ref) if self.portal else "",
            **_approved_feedback(view),
        }

    def keep_until(self, view: ApplicantView, dated: datetime) -> date | None:
        """What the letter promises, from its own Date: delivery can only make it later."""
        if self.retention is None:
            return None
        return promised_until(self.retention.policy_for(view.person.country), dated)

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
        guard: bool = True,
    ) -> ComposedLetter:
        """Render, build the bytes and run the render-time guard over them.

        ``kind`` defaults to the letter that tells the decision; ``extra`` adds template
        values (the answer to a feedback request). ``send_now`` skips the send windows for
        this letter; ``latest`` is a deadline its schedule must not pass. ``guard=False``
        leaves the guard to :meth:`guarded`, which runs it over a batch of letters at once.
        """
        # A status letter says that no decision has been made, and role-opened and consent
        # renewal letters are about being on file; every other letter tells a decision.
        assert view.decision is not None or kind in NO_DECISION_KINDS
        kind = kind or letter_kind_for(view.application)
        person = view.person
        code = view.decision.reason_code if view.decision else None
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
        message_id = f"<{uuid.uuid4().hex}@{self._domain}>"
        letter = OutgoingLetter(
            sender=Mailbox(self.sender.address, self.sender.display_name or self.sender.org_name),
            recipient=Mailbox(person.email, person.full_name),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            locale=person.locale,
            message_id=message_id,
            date=dated,
        )
        body = to_bytes(letter)
        findings = tuple(inspect(body, _expectation(view, roster))) if guard else ()
        return ComposedLetter(view, kind, message_id, body, findings, schedule, keep_until)

    @staticmethod
    def guarded(items: Sequence[ComposedLetter | T], roster: Roster) -> list[ComposedLetter | T]:
        """``items`` with every letter among them guarded (composed with ``guard=False``),
        the roster searched for all of them at once; anything else passes as it is."""
        letters = [item for item in items if isinstance(item, ComposedLetter)]
        checked = inspect_many([(item.body, _expectation(item.view, roster)) for item in letters])
        found = {id(item): tuple(findings) for item, findings in zip(letters, checked, strict=True)}
        return [
            dataclasses.replace(item, findings=found[id(item)])
            if isinstance(item, ComposedLetter)
            else item
            for item in items
        ]


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
