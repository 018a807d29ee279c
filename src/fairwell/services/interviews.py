"""Interviewers: who interviews whom, and the scorecards they enter in the web app or the API.

A rating entered in the browser is checked exactly like a row of a scorecard file
(:func:`fairwell.services.scorecard_file.scorecard_from_options`) and saved through the same
FeedbackStore as ``fairwell import-scorecards``; the interviewer is named by their username.
The note for the candidate is run through the wording check after saving, so the interviewer
sees at once what a hiring manager would otherwise have to fix before approving feedback.

An interviewer reaches only the applications assigned to them, and only their own ratings:
anything else is NotFound, the same as an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fairwell.domain.addresses import normalise_address
from fairwell.domain.feedback import Competency
from fairwell.domain.users import Role, User, check_username
from fairwell.errors import ImportFileError, ImportProblem, InvalidInput, NotFound
from fairwell.errors import ScorecardRefused as ScorecardRefused
from fairwell.ports import (
    AssignedInterview,
    FeedbackStore,
    InterviewStore,
    InterviewSubject,
    PipelineStore,
    ScorecardEntry,
    UserStore,
    WordingCheck,
    WordingFinding,
)
from fairwell.services.scorecard_file import ScorecardRow, scorecard_from_options

_NOT_ASSIGNED = "no such interview"
FORM_PROBLEM = ""  # the key of a problem with the form as a whole, not one competency


@dataclass(frozen=True, slots=True)
class RatingInput:
    """One competency as the interviewer filled it in; ``rating`` is "" when not chosen."""

    competency: str
    rating: str
    internal_note: str = ""
    note_for_candidate: str = ""

    @property
    def blank(self) -> bool:
        filled = (self.rating, self.internal_note, self.note_for_candidate)
        return not any(text.strip() for text in filled)


@dataclass(frozen=True, slots=True)
class ScorecardSheet:
    """What the interviewer's form shows: the job's competencies and their own ratings only."""

    subject: InterviewSubject
    competencies: tuple[Competency, ...]
    mine: dict[str, ScorecardEntry] = field(default_factory=dict)
    findings: dict[str, tuple[WordingFinding, ...]] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        return sum(1 for found in self.findings.values() if found)


def assign_interviewer(
    users: UserStore,
    interviews: InterviewStore,
    pipeline: PipelineStore,
    username: str,
    job_id: int,
    email: str,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Assign an interviewer to a person's application for a job; False if already assigned.

    Raise NotFound for an unknown user, job or application, InvalidInput for a user who is
    not an interviewer.
    """
    found = users.by_username(check_username(username))
    if found is None:
        raise NotFound(f"no user named {username.strip().lower()!r}")
    user = found[0]
    if user.role is not Role.INTERVIEWER:
        raise InvalidInput(f"{user.username} is a {user.role.value}, not an interviewer")
    application_id = interviews.application_for(job_id, normalise_address(email))
    if application_id is None:
        title = pipeline.job_by_id(job_id).title
        raise NotFound(f"no application for {title!r} from that address")
    return interviews.assign(application_id, user.id, actor, now)


def my_interviews(interviews: InterviewStore, user: User) -> list[AssignedInterview]:
    return interviews.assigned_to(user.id, user.username)


def scorecard_sheet(
    interviews: InterviewStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    user: User,
    application_id: int,
) -> ScorecardSheet:
    """The form for one assigned application, with the wording check's findings on the notes."""
    subject = _assigned(interviews, user, application_id)
    mine = {e.competency: e for e in interviews.scorecards_by(application_id, user.username)}
    findings = {
        name: tuple(check(entry.note_for_candidate, subject.person.locale))
        for name, entry in mine.items()
        if entry.note_for_candidate
    }
    competencies = tuple(feedback_store.competencies(subject.job.id))
    return ScorecardSheet(subject, competencies, mine, findings)


def enter_scorecard(
    interviews: InterviewStore,
    feedback_store: FeedbackStore,
    check: WordingCheck,
    user: User,
    application_id: int,
    ratings: Sequence[RatingInput],
    *,
    actor: str,
    now: datetime,
) -> ScorecardSheet:
    """Check every rating, then save all of them or none; return the saved sheet.

    A competency left blank keeps whatever was saved for it before. Raise ScorecardRefused
    naming each competency whose rating or notes break a rule.
    """
    subject = _assigned(interviews, user, application_id)
    known = {c.name for c in feedback_store.competencies(subject.job.id)}
    rows = _checked_rows(subject, user, known, ratings)
    try:
        feedback_store.save_scorecards(rows, actor, now)
    except InvalidInput as error:  # a competency removed while the form was open
        raise ScorecardRefused({FORM_PROBLEM: str(error)}) from None
    interviews.audit_entry(application_id, user.id, len(rows), actor, now)
    return scorecard_sheet(interviews, feedback_store, check, user, application_id)


def _assigned(interviews: InterviewStore, user: User, application_id: int) -> InterviewSubject:
    subject = interviews.subject(application_id, user.id)
    if subject is None:
        raise NotFound(_NOT_ASSIGNED)
    return subject


def _checked_rows(
    subject: InterviewSubject, user: User, known: set[str], ratings: Sequence[RatingInput]
) -> list[ScorecardRow]:
    rows: list[ScorecardRow] = []
    problems: dict[str, str] = {}
    for given in ratings:
        if given.competency not in known:
            problems[given.competency] = "is not a competency of this job"
        elif given.blank:
            continue
        elif not given.rating.strip():
            problems[given.competency] = "choose a rating, or clear the notes"
        else:
            try:
                rows.append(_row(subject, user, given))
            except ImportFileError as error:
                problems[given.competency] = "; ".join(_said(p) for p in error.problems)
    if not problems and not rows:
        problems[FORM_PROBLEM] = "rate at least one competency"
    if problems:
        raise ScorecardRefused(problems)
    return rows


def _row(subject: InterviewSubject, user: User, given: RatingInput) -> ScorecardRow:
    return scorecard_from_options(
        {
            "email": subject.person.email,
            "job": subject.job.title,
            "interviewer": user.username,
            "competency": given.competency,
            "rating": given.rating.strip(),
            "internal_note": given.internal_note,
            "note_for_candidate": given.note_for_candidate.strip(),
        }
    )


def _said(problem: ImportProblem) -> str:
    """A file problem in the words of a form: the field and the rule, without "row 1"."""
    if problem.field is None:
        return problem.message
    return f"{problem.field.replace('_', ' ')} {problem.message}"
