"""Feedback requests: a candidate asks "why?", the request is tracked, the answer is a letter.

The answer goes out through the same guarded path as every letter: composed from a template,
checked by the wording lint (an override needs a written reason) and by the privacy guard,
queued in the outbox with its own letter key, so it is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fairwell.domain.addresses import normalise_address
from fairwell.domain.feedback import LanguageOf, line_holds
from fairwell.domain.mimeread import read_letter
from fairwell.domain.model import Job, LetterKind, OutboxState
from fairwell.domain.requests import RequestState, due_date, remind_at
from fairwell.errors import AlreadyAnswered as AlreadyAnswered
from fairwell.errors import AlreadyQueued, InvalidInput, NotFound
from fairwell.errors import WordingRefused as WordingRefused
from fairwell.guard.privacy import unrendered_placeholder
from fairwell.services.language import identify_language
from fairwell.services.scheduling import working_days_of

if TYPE_CHECKING:
    from fairwell.ports import (
        ApplicantView,
        InboundRecord,
        InboxStore,
        PipelineStore,
        RequestRecord,
        RequestStore,
        Store,
        WordingCheck,
        WordingFinding,
    )
    from fairwell.services.compose import Composer

DEFAULT_QUESTION = "Could you tell me more about why my application was not successful?"
MAX_TEXT = 4000


def _decided_view(store: PipelineStore, job_id: int, email: str) -> ApplicantView:
    wanted = normalise_address(email)
    for view in store.applicants(job_id):
        if view.person.email == wanted:
            if view.decision is None:
                raise InvalidInput("that application has no decision to ask about")
            return view
    raise NotFound(f"{wanted} has no application for {store.job_by_id(job_id).title!r}")


def receive(
    store: PipelineStore,
    requests: RequestStore,
    job_id: int,
    email: str,
    question: str | None,
    *,
    business_days: int,
    actor: str,
    now: datetime,
) -> RequestRecord:
    """Record a candidate's request; it is due ``business_days`` working days from now."""
    view = _decided_view(store, job_id, email)
    text = (question or DEFAULT_QUESTION).strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"the question is longer than {MAX_TEXT} characters")
    assert view.decision is not None
    due = due_date(now, business_days, working_days_of(view.person.country, view.person.region))
    request_id = requests.add(view.decision.id, text, now, due, actor)
    return requests.get(request_id)


@dataclass(frozen=True, slots=True)
class RequestStatus:
    request: RequestRecord
    overdue: bool
    remind: bool


def open_requests(requests: RequestStore, now: datetime) -> list[RequestStatus]:
    """Open requests, soonest due first; ``remind`` from one business day before the due date."""
    return [request_status(r, now) for r in requests.all(open_only=True)]


def request_status(record: RequestRecord, now: datetime) -> RequestStatus:
    """Whether the request is overdue or due within a business day; an answered one is neither."""
    if record.state is not RequestState.OPEN:
        return RequestStatus(record, overdue=False, remind=False)
    return RequestStatus(
        record, overdue=now > record.due_at, remind=now >= remind_at(record.due_at)
    )


def all_requests(requests: RequestStore, now: datetime) -> list[RequestStatus]:
    """Open requests first, soonest due first; then answered ones, latest answer first."""
    records = requests.all(open_only=False)
    answered = sorted(
        (r for r in records if r.state is not RequestState.OPEN),
        key=lambda r: (r.answered_at or r.received_at, r.id),
        reverse=True,
    )
    return [
        *open_requests(requests, now),
        *(request_status(r, now) for r in answered),
    ]


@dataclass(frozen=True, slots=True)
class RequestDetail:
    """One request with what the candidate was told: the decision letter exactly as sent."""

    request: RequestRecord
    job: Job
    view: ApplicantView
    letter_text: str | None  # None while the decision letter has not been queued
    # The conversation: the candidate's messages (when the request came by mail) and our
    # answer letter, once queued, with its state.
    mails: tuple[InboundRecord, ...] = ()
    answer_letter: AnswerLetter | None = None


def request_detail(
    store: Store, requests: RequestStore, request_id: int, threads: InboxStore | None = None
) -> RequestDetail:
    request = requests.get(request_id)
    job = store.job_by_id(request.job_id)
    view = _decided_view(store, request.job_id, request.email)
    assert view.decision is not None
    body = store.letter_body_for(view.decision.id)
    if threads is None:
        return RequestDetail(request, job, view, None if body is None else _plain_text(body))
    answer = threads.answer_letter(request_id)
    return RequestDetail(
        request,
        job,
        view,
        None if body is None else _plain_text(body),
        tuple(threads.thread(request_id)),
        None
        if answer is None
        else AnswerLetter(answer.state, answer.sent_at, _plain_text(answer.body)),
    )


@dataclass(frozen=True, slots=True)
class AnswerLetter:
    """Our answer as the candidate reads it, and where it is in the outbox."""

    state: OutboxState
    sent_at: datetime | None
    text: str


def _plain_text(body: bytes) -> str:
    """The text part a candidate reads (the HTML part says the same)."""
    parts = read_letter(body).parts
    text = next((t for kind, t in parts if kind == "text/plain"), parts[0][1] if parts else "")
    return text.replace("\r\n", "\n").strip()


@dataclass(frozen=True, slots=True)
class Answered:
    batch_id: int
    findings: tuple[WordingFinding, ...]
    text: str = ""  # the answer as sent; the findings' spans point into it


def answer(
    store: Store,
    requests: RequestStore,
    composer: Composer,
    check: WordingCheck,
    request_id: int,
    text: str,
    *,
    override: str | None = None,
    actor: str,
    now: datetime,
    threads: InboxStore | None = None,
    language_of: LanguageOf = identify_language,
) -> Answered:
    """Queue the hiring manager's answer as a letter and close the request.

    A request that came by mail (``threads`` knows its messages) is answered in the
    candidate's conversation: "Re: " their subject, In-Reply-To and References.
    """
    request = requests.get(request_id)
    if request.state is not RequestState.OPEN:
        raise AlreadyAnswered(f"feedback request {request_id} is already answered")
    cleaned = _checked_answer(text)
    view = _decided_view(store, request.job_id, request.email)
    # Line by line, as a draft someone edited: one English sentence inside a German letter
    # reads as German on the whole, and the candidate would still meet it.
    holds = line_holds(cleaned.splitlines(), view.person.locale, language_of)
    if holds:
        raise InvalidInput(f"the answer has {holds[0]}")
    findings = tuple(check(cleaned, view.person.locale))
    if findings and (override is None or len(override.strip()) < 10):
        rules = ", ".join(sorted({f.rule for f in findings}))
        raise WordingRefused(
            f"the answer is flagged by the wording check ({rules}); "
            "rewrite it or give an override with a written reason",
            cleaned,
            findings,
        )
    job = store.job_by_id(request.job_id)
    letter = composer.compose(
        view,
        job,
        composer.roster(store),
        now,
        kind=LetterKind.FEEDBACK_ANSWER,
        extra={"answer": cleaned},
        thread=threads.mail_thread(request_id) if threads is not None else None,
    )
    if letter.findings:
        rules = ", ".join(f"{f.rule} ({f.detail})" for f in letter.findings)
        raise InvalidInput(f"the privacy guard blocks this answer: {rules}")
    assert view.decision is not None
    # Composing is imported by the answer alone: listing, adding and reminding (`fairwell
    # requests`) start without the composer and the letter templates.
    from fairwell.services.compose import outbox_letter

    new = outbox_letter(
        letter, composer.sender, letter_key=f"request:{request_id}", decision_id=view.decision.id
    )
    # The answer keeps the candidate's send windows like every letter: they asked, but a
    # reply at three in the morning or on a holiday is no kinder for it. (The interview gap
    # has long passed by the time someone asks about a decision letter.)
    schedule = letter.schedule
    try:
        batch_id, _ = store.create_batch(
            job.id,
            [new],
            actor,
            now,
            None,
            detail=lambda: {
                "send_windows": composer.scheduler.mode.value,
                "later": int(schedule.is_later(now)),
            },
        )
    except AlreadyQueued:
        # Someone answered at the same moment and their letter won the letter key.
        raise AlreadyAnswered(f"feedback request {request_id} is already answered") from None
    requests.mark_answered(request_id, cleaned, actor, now)
    return Answered(batch_id, findings, cleaned)


def _checked_answer(text: str) -> str:
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise InvalidInput("the answer is empty")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"the answer is longer than {MAX_TEXT} characters")
    placeholder = unrendered_placeholder(cleaned)
    if placeholder is not None:
        raise InvalidInput(f"the answer still has a placeholder: {placeholder!r}")
    return cleaned
