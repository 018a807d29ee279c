"""One letter as it will go out, and the canary: a sample letter to an internal address."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from fairwell.domain.addresses import normalise_address
from fairwell.domain.model import Person
from fairwell.errors import InvalidInput, NotFound
from fairwell.ports import ApplicantView, Store, Transport
from fairwell.services.compose import ComposedLetter, Composer

SAMPLE_FIRST_NAME, SAMPLE_LAST_NAME, SAMPLE_REF = "Alex", "Sample", "FW-SAMPLE00000"


def _view_for(store: Store, job_id: int, email: str) -> ApplicantView:
    for view in store.applicants(job_id):
        if view.person.email == email:
            return view
    raise NotFound(f"{email} has no application for this job")


@dataclass(frozen=True, slots=True)
class Preview:
    body: bytes
    queued: bool
    # The bytes of the job's staged plan: exactly what confirming it queues.
    staged: bool = False


def preview_letter(
    store: Store, composer: Composer, job_title: str, email: str, now: datetime
) -> Preview:
    """Return the exact bytes: queued ones, else the staged plan's, else freshly composed."""
    job = store.job_by_title(job_title)
    return preview_for_job(store, composer, job.id, email, now)


def preview_for_job(
    store: Store, composer: Composer, job_id: int, email: str, now: datetime
) -> Preview:
    """:func:`preview_letter` for a job by id."""
    from fairwell.services.sending import staged_body

    job = store.job_by_id(job_id)
    view = _view_for(store, job.id, normalise_address(email))
    if view.decision is None:
        raise InvalidInput(f"{view.person.email} has no decision yet; nothing to preview")
    stored = store.letter_body_for(view.decision.id)
    if stored is not None:
        return Preview(stored, queued=True)
    staged = staged_body(store, job.id, view.decision.id)
    if staged is not None:
        return Preview(staged, queued=False, staged=True)
    letter = composer.compose(view, job, composer.roster(store), now)
    _refuse_if_blocked(letter)
    return Preview(letter.body, queued=False)


def _refuse_if_blocked(letter: ComposedLetter) -> None:
    if letter.findings:
        rules = ", ".join(f"{f.rule} ({f.detail})" for f in letter.findings)
        raise InvalidInput(f"the privacy guard blocks this letter: {rules}")


def send_canary(
    store: Store,
    composer: Composer,
    transport: Transport,
    job_id: int,
    canary: str,
    now: datetime,
    actor: str = "cli",
) -> None:
    """Send the job's first pending letter, re-addressed to a sample person at ``canary``.

    No candidate's data goes to the canary: the letter is rendered for "Alex Sample" with a
    sample reference, and the guard runs over it with everyone on file, so a template that
    leaks is caught here.
    """
    job = store.job_by_id(job_id)
    address = normalise_address(canary)
    first = next(iter(store.pending_letters(job.id)), None)
    if first is None:
        raise InvalidInput("no pending letter to base a canary on")
    sample = dataclasses.replace(
        first,
        application=dataclasses.replace(first.application, ref=SAMPLE_REF, person_id=-1),
        person=Person(
            id=-1,
            email=address,
            first_name=SAMPLE_FIRST_NAME,
            last_name=SAMPLE_LAST_NAME,
            locale=first.person.locale,
        ),
    )
    letter = composer.compose(sample, job, composer.roster(store), now)
    _refuse_if_blocked(letter)
    try:
        transport.send(composer.sender.envelope, address, letter.body)
    finally:
        transport.close()
    store.audit(actor, "canary.sent", "job", job.id, {"kind": letter.kind.value}, now)
