"""What a candidate does in the portal: open their link, read what was sent, ask for more,
save their checklist, and get a fresh link when theirs has expired.

Every function takes the application the (verified) link names and touches nothing else, so
one candidate's link can never reach another's data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fairwell.domain.addresses import normalise_address
from fairwell.domain.mime import to_bytes
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import LetterKind
from fairwell.domain.requests import due_date
from fairwell.errors import AlreadyAsked as AlreadyAsked
from fairwell.errors import InvalidInput, InvalidPortalToken
from fairwell.errors import QuestionRefused as QuestionRefused
from fairwell.guard.privacy import Expectation, inspect
from fairwell.ports import (
    ApplicantView,
    NewLetter,
    PortalApplication,
    PortalStore,
    PrivacyStore,
    RequestRecord,
    RequestStore,
    Store,
    TemplateSource,
)
from fairwell.services.compose import Composer
from fairwell.services.portal import PortalLinks
from fairwell.services.requests import MAX_TEXT
from fairwell.services.scheduling import working_days_of

PORTAL_ACTOR = "candidate"
FRESH_LINK_KIND = LetterKind.PORTAL_LINK.value  # letters/<locale>/portal_link.txt.j2
FRESH_LINKS_PER_HOUR = 3  # per application, however many web processes are asked
HOUR = timedelta(hours=1)


def open_link(
    portal: PortalStore, links: PortalLinks, token: str, max_age_seconds: int
) -> PortalApplication:
    """The application a link is for; InvalidPortalToken (or ExpiredPortalToken) otherwise.

    An unknown or erased application answers exactly like a forged link: no page tells
    whether an application exists.
    """
    ref = links.application_ref(token, max_age_seconds)
    application = portal.application(ref)
    if application is None or application.decision_id is None:
        raise InvalidPortalToken("this link is not valid")
    return application


def letter_text(store: Store, application: PortalApplication) -> str | None:
    """The decision letter's text as it was sent; None before it was queued."""
    if application.decision_id is None:
        return None
    body = store.letter_body_for(application.decision_id)
    if body is None:
        return None
    parts = read_letter(body).parts
    text = next((t for kind, t in parts if kind == "text/plain"), parts[0][1] if parts else "")
    return text.replace("\r\n", "\n").strip()


def save_checklist(
    portal: PortalStore, application: PortalApplication, ticked: set[int], now: datetime
) -> frozenset[int]:
    """Store the ticked steps; numbers that are not steps of this letter are dropped."""
    valid = frozenset(step for step in ticked if 0 <= step < len(application.next_steps))
    portal.save_checklist(application.application_id, valid, now)
    return valid


def open_request(requests: RequestStore, application: PortalApplication) -> RequestRecord | None:
    """The application's request still waiting for an answer, if any."""
    return next(
        (r for r in requests.all(open_only=True) if r.application_id == application.application_id),
        None,
    )


def ask_for_more(
    requests: RequestStore,
    application: PortalApplication,
    question: str,
    business_days: int,
    now: datetime,
) -> RequestRecord:
    """A tracked feedback request, exactly like one a recruiter records from an email.

    One open request per application: another is refused (AlreadyAsked) until it is answered.
    """
    text = question.replace("\r\n", "\n").strip()
    if not text:
        raise QuestionRefused("empty")
    if len(text) > MAX_TEXT:
        raise QuestionRefused("too_long")
    waiting = open_request(requests, application)
    if waiting is not None:
        raise AlreadyAsked(waiting)
    assert application.decision_id is not None
    due = due_date(now, business_days, working_days_of(application.country, application.region))
    request_id = requests.add(application.decision_id, text, now, due, PORTAL_ACTOR)
    return requests.get(request_id)


@dataclass(frozen=True, slots=True)
class FreshLinks:
    """What a fresh-link letter needs: the templates, the sender and the link signer."""

    store: Store
    portal: PortalStore
    privacy: PrivacyStore
    templates: TemplateSource
    composer: Composer
    links: PortalLinks


def send_fresh_links(wiring: FreshLinks, address: str, now: datetime) -> int:
    """Queue a letter with a fresh link for each application of the person at ``address``
    that was written to. Return how many; the caller must not tell the visitor."""
    try:
        person_id = wiring.privacy.person_id(normalise_address(address))
    except InvalidInput:
        return 0
    if person_id is None:
        return 0
    queued = 0
    for application in wiring.portal.applications_of(person_id):
        if application.letter_sent_at is not None and _queue_fresh_link(wiring, application, now):
            queued += 1
    return queued


def _queue_fresh_link(wiring: FreshLinks, application: PortalApplication, now: datetime) -> bool:
    # The web process limits requests per client and address in memory; this cap is in the
    # database, so it holds across every web process and restart: an inbox cannot be flooded.
    recent = wiring.portal.letters_since(application.application_id, FRESH_LINK_KIND, now - HOUR)
    if recent >= FRESH_LINKS_PER_HOUR:
        return False
    view = _view(wiring.store, application)
    if view is None or view.decision is None:
        return False
    job = wiring.store.job_by_id(application.job_id)
    context = {
        **wiring.composer.context(view, job, view.decision.reason_code),
        "portal_link": wiring.links.link(application.ref),
    }
    rendered = wiring.templates.render(FRESH_LINK_KIND, view.person.locale, context)
    sender = wiring.composer.sender
    message_id = f"<{uuid.uuid4().hex}@{sender.address.rsplit('@', 1)[1]}>"
    body = to_bytes(wiring.composer.outgoing(view.person, rendered, message_id, now))
    roster = wiring.composer.roster(wiring.store)
    expectation = Expectation(
        view.person.email, view.person.id, view.person.locale, view.application.stage, roster
    )
    if list(inspect(body, expectation)):
        return False  # the guard holds it; the candidate can still reply to their letter
    letter = NewLetter(
        decision_id=view.decision.id,
        application_id=application.application_id,
        kind=FRESH_LINK_KIND,
        locale=view.person.locale,
        sender=sender.envelope,
        recipient=view.person.email,
        message_id=message_id,
        body=body,
        planned_stage=view.application.stage,
        letter_key=f"portal-link:{application.application_id}:{uuid.uuid4().hex[:16]}",
    )
    wiring.store.create_batch(job.id, [letter], PORTAL_ACTOR, now, None)
    return True


def _view(store: Store, application: PortalApplication) -> ApplicantView | None:
    return next(
        (
            view
            for view in store.applicants(application.job_id)
            if view.application.id == application.application_id
        ),
        None,
    )
