"""Feedback a candidate can use: drafted from scorecards, checked, approved by a hiring manager.

Drafts are made when a job's candidates are rejected. Every text a candidate will read is run
through the wording check (protected characteristics) before it can be approved; a flagged
text needs an explicit override with a written reason, which is audited. Unapproved feedback
never reaches a letter: the plan holds those letters back until the draft is approved or
downgraded to a plain letter.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from fairwell.domain.addresses import normalise_address
from fairwell.domain.feedback import (
    Advice,
    draft_interview_feedback,
    feedback_paragraphs,
    next_steps,
)
from fairwell.domain.model import FeedbackState
from fairwell.domain.privacy import unrendered_placeholder
from fairwell.errors import InvalidInput, NotFound
from fairwell.ports import ApplicantView, FeedbackStore, Store, WordingCheck, WordingFinding

Library = Mapping[str, Mapping[str, Advice]]  # locale -> competency -> advice
MAX_FEEDBACK_CHARACTERS = 4000


def load_library(extra: Path | None = None) -> dict[str, dict[str, Advice]]:
    """The built-in improvement library, extended or overridden by an organisation's file."""
    text = (
        resources.files("fairwell")
        .joinpath("templates/feedback/library.toml")
        .read_text(encoding="utf-8")
    )
    library = _parse_library(tomllib.loads(text), "the built-in library")
    if extra is not None:
        try:
            data = tomllib.loads(extra.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InvalidInput(
                f"{extra}: not a readable TOML improvement library: {error}"
            ) from None
        for locale, entries in _parse_library(data, str(extra)).items():
            library.setdefault(locale, {}).update(entries)
    return library


def _parse_library(data: Mapping[str, object], source: str) -> dict[str, dict[str, Advice]]:
    library: dict[str, dict[str, Advice]] = {}
    for locale, entries in data.items():
        if not isinstance(entries, dict):
            raise InvalidInput(f"{source}: [{locale}] must be a table of competencies")
        for competency, advice in entries.items():
            try:
                library.setdefault(locale, {})[competency] = Advice(
                    gap=advice["gap"], next_step=advice["next_step"], strength=advice["strength"]
                )
            except (KeyError, TypeError):
                raise InvalidInput(
                    f"{source}: [{locale}.{competency!r}] needs gap, next_step and strength"
                ) from None
    return library


@dataclass(slots=True)
class DraftReport:
    drafted: int = 0
    plain: int = 0
    flagged: int = 0
    missing_advice: Counter[str] = field(default_factory=Counter)


def draft_job_feedback(
    store: Store,
    feedback_store: FeedbackStore,
    library: Library,
    check: WordingCheck,
    job_title: str,
    *,
    actor: str,
    now: datetime,
    show_scores: bool = False,
) -> DraftReport:
    """Draft feedback for every decided applicant of the job with scorecards and no draft yet.

    Interviewers' ratings give interview feedback; a screener's ratings of the job's
    requirements give specific screening feedback. People without scorecards get a plain
    letter.
    """
    job = store.job_by_title(job_title)
    waiting = [v for v in store.applicants(job.id) if _needs_draft(v)]
    ratings = feedback_store.ratings([v.application.id for v in waiting])
    competencies = feedback_store.competencies(job.id)
    report = DraftReport()
    for view in waiting:
        scorecards = ratings.get(view.application.id, [])
        if not scorecards:
            report.plain += 1
            continue
        advice = library.get(view.person.locale, {})
        draft = draft_interview_feedback(competencies, scorecards, advice)
        report.missing_advice.update(draft.missing_advice)
        text = "\n".join(feedback_paragraphs(draft, show_scores=show_scores))
        steps = "\n".join(next_steps(draft))
        findings = check(f"{text}\n{steps}", view.person.locale)
        report.flagged += bool(findings)
        assert view.decision is not None
        feedback_store.save_draft(view.decision.id, text, steps, len(findings), actor, now)
        report.drafted += 1
    return report


def _needs_draft(view: ApplicantView) -> bool:
    return (
        view.decision is not None
        and view.feedback is None
        and view.letter_state is None
        and not view.application.never_applied
    )


@dataclass(frozen=True, slots=True)
class ReviewItem:
    view: ApplicantView
    findings: tuple[WordingFinding, ...]


def review_items(store: Store, check: WordingCheck, job_title: str) -> list[ReviewItem]:
    """Every draft or reviewed feedback of the job whose letter has not gone yet."""
    job = store.job_by_title(job_title)
    return [
        ReviewItem(view, tuple(check(checked_text(view), view.person.locale)))
        for view in store.applicants(job.id)
        if view.feedback is not None and view.letter_state is None
    ]


def checked_text(view: ApplicantView) -> str:
    """The feedback's words as the wording check reads them; finding spans point into this."""
    assert view.feedback is not None
    return f"{view.feedback.text}\n{view.feedback.next_steps}"


@dataclass(slots=True)
class ApproveReport:
    approved: int = 0
    need_override: list[ReviewItem] = field(default_factory=list)


def approve(
    store: Store,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_title: str,
    *,
    emails: Sequence[str] = (),
    override: str | None = None,
    actor: str,
    now: datetime,
) -> ApproveReport:
    """Approve drafts (all of the job's, or these people's). A draft the wording check flags is
    approved only with ``override``, a written justification that goes to the audit log."""
    if override is not None and len(override.strip()) < 10:
        raise InvalidInput("an override needs a written justification (10 characters or more)")
    report = ApproveReport()
    chosen = _chosen(review_items(store, check, job_title), emails)
    for item in chosen:
        if item.view.feedback is None or item.view.feedback.state is not FeedbackState.DRAFT:
            continue
        if item.findings and override is None:
            report.need_override.append(item)
            continue
        assert item.view.decision is not None
        reason = override if item.findings else None
        feedback_store.review([item.view.decision.id], FeedbackState.APPROVED, actor, now, reason)
        report.approved += 1
    return report


def _chosen(items: list[ReviewItem], emails: Sequence[str]) -> list[ReviewItem]:
    if not emails:
        return items
    wanted = {normalise_address(email) for email in emails}
    chosen = [item for item in items if item.view.person.email in wanted]
    missing = wanted - {item.view.person.email for item in chosen}
    if missing:
        raise NotFound(f"{len(missing)} address(es) have no feedback to review for this job")
    return chosen


def edit(
    store: Store,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_title: str,
    email: str,
    text: str,
    *,
    actor: str,
    now: datetime,
) -> list[WordingFinding]:
    """Replace the feedback's wording; it goes back to draft and must be approved again.

    Returns what the wording check found, so the editor sees it at once.
    """
    # A browser's textarea sends CRLF line ends; the letter wants one point a line.
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise InvalidInput("feedback cannot be empty; downgrade to a plain letter instead")
    if len(cleaned) > MAX_FEEDBACK_CHARACTERS:
        raise InvalidInput(f"feedback is longer than {MAX_FEEDBACK_CHARACTERS} characters")
    placeholder = unrendered_placeholder(cleaned)
    if placeholder is not None:
        raise InvalidInput(f"the feedback still has a placeholder: {placeholder!r}")
    item = _one(store, check, job_title, email)
    assert item.view.feedback is not None and item.view.decision is not None
    findings = check(f"{cleaned}\n{item.view.feedback.next_steps}", item.view.person.locale)
    feedback_store.edit(
        item.view.decision.id, cleaned, item.view.feedback.next_steps, len(findings), actor, now
    )
    return findings


def downgrade(
    store: Store,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_title: str,
    email: str,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Send a plain letter instead: the feedback stays on record but is never sent."""
    item = _one(store, check, job_title, email)
    assert item.view.decision is not None
    feedback_store.review([item.view.decision.id], FeedbackState.PLAIN, actor, now)


def _one(store: Store, check: WordingCheck, job_title: str, email: str) -> ReviewItem:
    items = _chosen(review_items(store, check, job_title), [email])
    return items[0]
