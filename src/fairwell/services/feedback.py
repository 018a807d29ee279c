"""Feedback a candidate can use: drafted from scorecards in the job's own words, checked,
approved by a hiring manager.

Drafts are made when a job's candidates are rejected. Their lines come only from the job's
wording (``fairwell competency add --lang ...``, services/wording.py) and the notes
interviewers wrote for the candidate; the built-in library only suggests wording to whoever
writes it. A draft that cannot say what it must (a below-bar competency without words, a note
in another language than the letter's) is held: the plan holds its letter with that reason,
and approval refuses it until the wording exists (the draft is then made again) or a person
edits the draft. Every text a candidate will read is run through the wording check before it
can be approved; a flagged text needs an explicit override with a written reason, which is
audited. Unapproved feedback never reaches a letter.
"""

from __future__ import annotations

import itertools
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from fairwell.domain.addresses import normalise_address
from fairwell.domain.compliance import stated_languages
from fairwell.domain.feedback import (
    NEEDS_WORDING,
    Basis,
    Competency,
    LanguageOf,
    Rating,
    Wording,
    basis_for,
    draft_feedback,
    evidence,
    feedback_paragraphs,
    line_holds,
    next_steps,
)
from fairwell.domain.model import INTERVIEW_STAGES, FeedbackState
from fairwell.errors import InvalidInput, NotFound
from fairwell.guard.privacy import unrendered_placeholder
from fairwell.ports import (
    ApplicantView,
    DraftText,
    FeedbackStore,
    PipelineStore,
    WordingCheck,
    WordingFinding,
)
from fairwell.services.language import identify_language

Library = Mapping[str, Mapping[str, Wording]]  # locale -> competency -> suggested wording
MAX_FEEDBACK_CHARACTERS = 4000
RATINGS_CHUNK = 500  # applicants whose ratings are read in one query while drafting
FIX_THE_WORDING = ": fix the job's wording"


def load_library(extra: Path | None = None) -> dict[str, dict[str, Wording]]:
    """The built-in improvement library, extended or overridden by an organisation's file.

    These are suggestions shown to whoever writes a job's wording, never feedback lines.
    """
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


def _parse_library(data: Mapping[str, object], source: str) -> dict[str, dict[str, Wording]]:
    library: dict[str, dict[str, Wording]] = {}
    for locale, entries in data.items():
        if not isinstance(entries, dict):
            raise InvalidInput(f"{source}: [{locale}] must be a table of competencies")
        for competency, advice in entries.items():
            try:
                library.setdefault(locale, {})[competency] = Wording(
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
    redrafted: int = 0  # drafts made again because the wording they waited for now exists
    plain: int = 0  # no scorecards: a plain letter (counted only when asked, see below)
    no_evidence: int = 0  # scorecards, but none that counts at this stage, or nothing to say
    # Of no_evidence, by the basis their stage asked for: scorecards that rate only the other
    # kind (an interviewer rated a requirement), which a user must be told how to put right.
    other_kind_only: Counter[Basis] = field(default_factory=Counter)
    flagged: int = 0
    held_for_wording: int = 0
    held_for_language: int = 0  # drafts held because a note is in another language
    duplicate_notes: int = 0  # notes left out because another interviewer wrote the same
    held_notes: int = 0  # notes in another language than the letter's
    missing_wording: Counter[str] = field(default_factory=Counter)


# How to put it right, by the basis the candidates' stage asked for: a command's option.
FIX_BY_COMMAND = {Basis.SKILLS: "--kind competency", Basis.REQUIREMENTS: "--kind requirement"}


def other_kind_notes(
    counts: Mapping[Basis, int], fix: Mapping[Basis, str] = FIX_BY_COMMAND
) -> list[str]:
    """What to put right when scorecards rated only what the candidates' stage does not count
    (``DraftReport.other_kind_only``): their letters go without feedback, which nobody should
    learn from the plan's counts alone."""
    notes = []
    if count := counts.get(Basis.SKILLS, 0):
        notes.append(
            f"{count} interviewed candidate(s) rated only on requirements get no feedback: "
            "after interviews feedback rests on the job's competencies "
            f"({fix[Basis.SKILLS]}); requirements count for those only screened"
        )
    if count := counts.get(Basis.REQUIREMENTS, 0):
        notes.append(
            f"{count} candidate(s) not interviewed rated only on competencies get no feedback: "
            "before interviews feedback rests on the job's requirements "
            f"({fix[Basis.REQUIREMENTS]}); competencies count after interviews"
        )
    return notes


def interviewed(view: ApplicantView) -> bool:
    """Interviewed candidates get feedback on competencies; the others on requirements."""
    application = view.application
    return application.stage in INTERVIEW_STAGES or application.last_interview_at is not None


def required_languages(competencies: Sequence[Competency]) -> frozenset[str]:
    """The languages the job states a requirement for, named in its competencies."""
    return stated_languages(competency.name for competency in competencies)


def draft_job_feedback(
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_id: int,
    *,
    actor: str,
    now: datetime,
    show_scores: bool = False,
    language_of: LanguageOf = identify_language,
    count_plain: bool = True,
) -> DraftReport:
    """Draft feedback for every decided applicant of the job with scorecards and no draft yet,
    and draft again those held for wording the job now has.

    Interviewers' ratings of competencies give interview feedback; a screener's ratings of
    the job's requirements give screening feedback. People without scorecards get a plain
    letter; ``count_plain=False`` leaves them uncounted (``plain`` is 0), for a caller that
    never shows the count: counting reads every decided applicant of the job.
    """
    competencies = feedback_store.competencies(job_id)
    wordings = feedback_store.wordings(job_id)
    languages = required_languages(competencies)
    # Those with neither scorecards nor feedback are counted, not read: most of a big job.
    report = DraftReport(plain=store.plain_without_scorecards(job_id) if count_plain else 0)
    for view, scorecards in _waiting_with_ratings(store, feedback_store, job_id):
        if not scorecards:
            report.plain += count_plain
            continue
        basis = basis_for(interviewed(view))
        draft = draft_feedback(
            competencies,
            scorecards,
            wordings.get(view.person.locale, {}),
            basis=basis,
            locale=view.person.locale,
            language_of=language_of,
        )
        lines, steps = feedback_paragraphs(draft, show_scores=show_scores), next_steps(draft)
        if not (lines or draft.holds):
            report.no_evidence += 1
            report.other_kind_only[basis] += not evidence(competencies, scorecards, basis)
            continue
        text, steps_text = "\n".join(lines), "\n".join(steps)
        findings = check(f"{text}\n{steps_text}", view.person.locale, languages)
        assert view.decision is not None
        stored = DraftText(text, steps_text, len(findings), draft.holds, draft.basis.value)
        feedback_store.save_draft(view.decision.id, stored, actor, now)
        _count(report, draft.missing_wording, draft.holds, bool(findings), view)
        report.duplicate_notes += draft.duplicate_notes
        report.held_notes += draft.held_notes
    return report


def _waiting_with_ratings(
    store: PipelineStore, feedback_store: FeedbackStore, job_id: int
) -> Iterator[tuple[ApplicantView, list[Rating]]]:
    """Each applicant with scorecards or feedback who needs a draft, with their scorecards'
    ratings: read a page at a time and the ratings fetched a chunk at a time (a job of a
    million people)."""
    waiting = (view for view in store.may_need_draft(job_id) if _needs_draft(view))
    while chunk := list(itertools.islice(waiting, RATINGS_CHUNK)):
        ratings = feedback_store.ratings([view.application.id for view in chunk])
        for view in chunk:
            yield view, ratings.get(view.application.id, [])


def _count(
    report: DraftReport,
    missing: Sequence[str],
    holds: Sequence[str],
    flagged: bool,
    view: ApplicantView,
) -> None:
    if view.feedback is None:
        report.drafted += 1
    else:
        report.redrafted += 1
    report.flagged += flagged
    report.missing_wording.update(missing)
    report.held_for_wording += bool(missing)
    report.held_for_language += any(hold.startswith("note in ") for hold in holds)


def _needs_draft(view: ApplicantView) -> bool:
    if view.decision is None or view.letter_state is not None:
        return False
    if view.application.never_applied:
        return False
    return view.feedback is None or waits_for_wording(view)


def waits_for_wording(view: ApplicantView) -> bool:
    """A draft held only because the job's wording was missing or wrong is made again."""
    record = view.feedback
    return (
        record is not None
        and record.state is FeedbackState.DRAFT
        and any(h.startswith(NEEDS_WORDING) or h.endswith(FIX_THE_WORDING) for h in record.holds)
    )


@dataclass(frozen=True, slots=True)
class ReviewItem:
    view: ApplicantView
    findings: tuple[WordingFinding, ...]

    @property
    def holds(self) -> tuple[str, ...]:
        """Why this draft cannot be approved yet (empty when nothing holds it)."""
        record = self.view.feedback
        if record is None or record.state is not FeedbackState.DRAFT:
            return ()
        return record.holds


def review_items(
    store: PipelineStore, feedback_store: FeedbackStore, check: WordingCheck, job_id: int
) -> list[ReviewItem]:
    """Every draft or reviewed feedback of the job whose letter has not gone yet."""
    views = [v for v in store.applicants(job_id) if v.feedback is not None and not v.letter_state]
    languages = required_languages(feedback_store.competencies(job_id))
    return [
        ReviewItem(view, tuple(check(checked_text(view), view.person.locale, languages)))
        for view in views
    ]


def checked_text(view: ApplicantView) -> str:
    """The feedback's words as the wording check reads them; finding spans point into this."""
    assert view.feedback is not None
    return f"{view.feedback.text}\n{view.feedback.next_steps}"


@dataclass(frozen=True, slots=True)
class ReviewCounts:
    """What `feedback review` and the review page sum up."""

    drafts: int
    held_for_wording: int
    held_for_language: int
    flagged: int

    @classmethod
    def of(cls, items: Sequence[ReviewItem]) -> ReviewCounts:
        return cls(
            drafts=sum(
                bool(i.view.feedback and i.view.feedback.state is FeedbackState.DRAFT)
                for i in items
            ),
            held_for_wording=sum(any(h.startswith(NEEDS_WORDING) for h in i.holds) for i in items),
            held_for_language=sum(
                any(h.endswith("translate or drop") for h in i.holds) for i in items
            ),
            flagged=sum(bool(i.findings) for i in items),
        )


@dataclass(slots=True)
class ApproveReport:
    approved: int = 0
    need_override: list[ReviewItem] = field(default_factory=list)
    held: list[ReviewItem] = field(default_factory=list)  # refused: wording or language


def approve(
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_id: int,
    *,
    emails: Sequence[str] = (),
    override: str | None = None,
    actor: str,
    now: datetime,
) -> ApproveReport:
    """Approve drafts (all of the job's, or these people's).

    A held draft (a below-bar competency without words, a line in another language) is
    refused whatever the override: the wording must be written, or the draft edited. A draft
    the wording check flags is approved only with ``override``, a written justification that
    goes to the audit log."""
    if override is not None and len(override.strip()) < 10:
        raise InvalidInput("an override needs a written justification (10 characters or more)")
    report = ApproveReport()
    chosen = _chosen(review_items(store, feedback_store, check, job_id), emails)
    for item in chosen:
        if item.view.feedback is None or item.view.feedback.state is not FeedbackState.DRAFT:
            continue
        if item.holds:
            report.held.append(item)
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
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_id: int,
    email: str,
    text: str,
    *,
    actor: str,
    now: datetime,
    language_of: LanguageOf = identify_language,
) -> list[WordingFinding]:
    """Replace the feedback's wording; it goes back to draft and must be approved again.

    A person wrote these lines, so what held the machine draft for missing wording no longer
    does; every line must still be in the letter's language. Returns what the wording check
    found, so the editor sees it at once.
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
    item = _one(store, feedback_store, check, job_id, email)
    record, decision, locale = item.view.feedback, item.view.decision, item.view.person.locale
    assert record is not None and decision is not None
    languages = required_languages(feedback_store.competencies(job_id))
    findings = check(f"{cleaned}\n{record.next_steps}", locale, languages)
    holds = line_holds(
        [*cleaned.splitlines(), *record.next_steps.splitlines()], locale, language_of
    )
    stored = DraftText(cleaned, record.next_steps, len(findings), tuple(holds), record.basis)
    feedback_store.edit(decision.id, stored, actor, now)
    return findings


def downgrade(
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_id: int,
    email: str,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Send a plain letter instead: the feedback stays on record but is never sent."""
    item = _one(store, feedback_store, check, job_id, email)
    assert item.view.decision is not None
    feedback_store.review([item.view.decision.id], FeedbackState.PLAIN, actor, now)


def _one(
    store: PipelineStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    job_id: int,
    email: str,
) -> ReviewItem:
    items = _chosen(review_items(store, feedback_store, check, job_id), [email])
    return items[0]
