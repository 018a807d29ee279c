"""Every exception Fairwell raises on purpose, in one place.

Everything derives from :class:`FairwellError`, so a caller can catch "our" failures in one
place. :class:`ConfigurationError` deliberately does *not*: a broken configuration must never
be swallowed by code that handles ordinary failures. The modules that raise these re-export
them (``from fairwell.services.planning import PlanChanged`` keeps working), but new code
imports them from here.

Three exceptions are not here, on purpose: ``template_limits.TemplateLimitError`` must be a
Jinja ``SecurityError`` (so every place that reports a broken template reports it), and
importing Jinja here would load it into every process; ``delivery/smtp.py`` and
``domain/mimeread.py`` keep private exceptions that never leave their module.

This module imports no other part of Fairwell at run time: it is the bottom of the layers.
Two exceptions carry a record of the ports (a request, the wording check's findings); those
are named for the type checker only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fairwell.ports.feedback import RequestRecord, WordingFinding


class FairwellError(Exception):
    """Root of every error Fairwell raises on purpose."""


class ConfigurationError(Exception):
    """The settings are unusable. Not a FairwellError, so nothing swallows it."""


class NotFound(FairwellError, LookupError):
    """A job, person or letter that the caller named does not exist."""


class InvalidInput(FairwellError, ValueError):
    """Input that Fairwell refuses, with a message that says where and why."""


class AlreadyQueued(InvalidInput):
    """A letter for the same thing (the same letter key) is in the outbox already.

    The outbox's unique letter key is what makes two racing senders send once; the loser
    gets this error rather than a database one.
    """


# --- what the domain refuses ------------------------------------------------------------------


class UnsafeHeaderValue(InvalidInput):
    """A value that would break out of its header line."""


class UnreadableReport(InvalidInput):
    """A delivery report that names no failed address Fairwell can read."""


class TermsFileError(InvalidInput):
    """A terms file that cannot be used; the message names the file and the problem."""


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the entry and the field."""


# --- files that cannot be imported -------------------------------------------------------------

MAX_PROBLEMS_KEPT = 50  # problems an ImportFileError keeps, in row order
PROBLEMS_IN_MESSAGE = 10  # problems its message lists


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One reason a file cannot be imported, with where to find it."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}"


class ImportFileError(InvalidInput):
    """The file cannot be imported and nothing in it was used.

    ``problems`` holds the first :data:`MAX_PROBLEMS_KEPT` problems in row order,
    ``problem_count`` how many were found in all, and ``more_problems`` how many were left out.
    """

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        ordered = sorted(problems, key=lambda problem: problem.row or 0)
        self.problem_count = len(ordered)
        self.problems = ordered[:MAX_PROBLEMS_KEPT]
        self.more_problems = self.problem_count - len(self.problems)
        super().__init__(_summary(ordered))


def _summary(problems: Sequence[ImportProblem]) -> str:
    lines = [str(problem) for problem in problems[:PROBLEMS_IN_MESSAGE]]
    hidden = len(problems) - len(lines)
    if hidden:
        lines.append(f"... and {hidden} more problems ({len(problems)} in all)")
    return "\n".join(lines)


class ProfileError(InvalidInput):
    """A profile file that cannot be used; the message names the file and the key."""


# --- sending ------------------------------------------------------------------------------------


class PlanChanged(FairwellError):
    """The plan no longer matches what the user confirmed; nothing was queued."""


class PlanStale(PlanChanged):
    """Something a staged letter says changed since the plan was made (or it is too old, or
    a newer plan replaced it): nothing was queued; ``reasons`` counts what changed."""

    def __init__(self, message: str, reasons: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.reasons = dict(reasons or {})


class WorkerPoolError(FairwellError):
    """A worker process of a big send could not start or stopped; the message says what
    became of the batch (nothing queued, or queued for ``fairwell worker`` to finish)."""


class DeliveryError(FairwellError):
    """Root of the two outcomes a transport reports; nothing else escapes a transport."""

    def __init__(self, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class TransientDeliveryError(DeliveryError):
    """Try again later (4xx, a dropped connection, a timeout).

    ``possible_duplicate`` is True when the connection broke after the message data was sent:
    the relay may have accepted it, so a retry may deliver it twice. Such cases are counted.
    ``slow_down`` is True when the relay asked every sender to wait (421, 454) or could not be
    reached at all: every worker then waits before the next letter.
    """

    def __init__(
        self,
        detail: str,
        code: int | None = None,
        *,
        possible_duplicate: bool = False,
        slow_down: bool = False,
    ):
        super().__init__(detail, code)
        self.possible_duplicate = possible_duplicate
        self.slow_down = slow_down or code in (421, 454)


class PermanentDeliveryError(DeliveryError):
    """Never retry (5xx). ``recipient_refused`` is True when the relay refused the address."""

    def __init__(self, detail: str, code: int | None = None, *, recipient_refused: bool = False):
        super().__init__(detail, code)
        self.recipient_refused = recipient_refused


class InboxUnavailable(FairwellError):
    """The mailbox cannot be reached or read; nothing was taken from it."""


# --- templates and wording ----------------------------------------------------------------------


class TemplateCheckError(FairwellError):
    """A template that would fail at send time; it is refused before any letter is made."""


@dataclass(frozen=True, slots=True)
class EditProblem:
    """One reason an edit of wording or a template cannot be saved, in plain words (never the
    candidate's data)."""

    check: str
    message: str
    where: str = ""
    suggestion: str = ""


class EditRefused(FairwellError):
    """A save refused because the checks found problems; ``problems`` says which."""

    def __init__(self, problems: Sequence[EditProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = tuple(problems)


# --- people and what they may do ----------------------------------------------------------------


class NotAllowed(FairwellError):
    """The named user exists but may not take this decision."""


class ScorecardRefused(InvalidInput):
    """Nothing was saved; ``problems`` says why, per competency name (or the form's key "").

    Messages name fields and rules, never the notes themselves.
    """

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name or 'form'}: {why}" for name, why in problems.items()))
        self.problems = problems


class AlreadyAnswered(InvalidInput):
    """The request was answered before: a second answer would be a second letter."""


class WordingRefused(InvalidInput):
    """The answer is flagged by the wording check and no written override was given."""

    def __init__(self, message: str, text: str, findings: tuple[WordingFinding, ...]) -> None:
        super().__init__(message)
        self.text = text
        self.findings = findings


# --- the candidate portal and data protection ----------------------------------------------------


class InvalidPortalToken(InvalidInput):
    """A link that was tampered with, signed with another key or for another purpose."""


class ExpiredPortalToken(InvalidPortalToken):
    """An authentic link that is too old. It still names its application, so the portal can
    answer in the letter's language; it gives access to nothing."""

    def __init__(self, application_ref: str) -> None:
        super().__init__("this link has expired")
        self.application_ref = application_ref


class QuestionRefused(InvalidInput):
    """A question the portal does not record: ``why`` is "empty" or "too_long"."""

    def __init__(self, why: str) -> None:
        super().__init__(f"the question is {why.replace('_', ' ')}")
        self.why = why


class AlreadyAsked(InvalidInput):
    """The application has an open request: one at a time, until it is answered."""

    def __init__(self, record: RequestRecord) -> None:
        super().__init__(f"request {record.id} is still open")
        self.record = record


class FormRefused(FairwellError):
    """A portal form that is forged, too old, for another application, or sent twice."""

    def __init__(self, lang: str) -> None:
        super().__init__("form refused")
        self.lang = lang


class ErasureBlocked(InvalidInput):
    """A legal hold or a pending access request stands in the way; the message says which."""


# --- the web app ------------------------------------------------------------------------------


class SignedOut(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401. Not a
    FairwellError: it is how a page says "sign in first", not a failure."""


# --- applicant tracking systems and webhooks ----------------------------------------------------


class AtsError(FairwellError):
    """Root of what an ATS integration raises on purpose; the message starts with the vendor."""

    def __init__(self, vendor: str, detail: str) -> None:
        super().__init__(f"{vendor}: {detail}")
        self.vendor = vendor
        self.detail = detail


class AtsAuthError(AtsError):
    """The ATS refused our credentials (401 or 403): nothing more is tried in this run."""


class AtsUnavailable(AtsError):
    """Try again later. ``retry_after`` is how long the ATS asked us to wait, when it said."""

    def __init__(self, vendor: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(vendor, detail)
        self.retry_after = retry_after


class AtsRefused(AtsError):
    """The ATS will never accept this request as it is (``status`` is its HTTP status, or None
    when the refusal came from what it answered rather than how)."""

    def __init__(self, vendor: str, detail: str, status: int | None = None) -> None:
        super().__init__(vendor, detail)
        self.status = status


class AtsUnknownReason(AtsError):
    """The reason map names a rejection or archive reason the ATS does not have. Not a
    refusal of the application: once the map is fixed, the same write-back succeeds."""


class PullStopped(AtsError):
    """The ATS stopped answering part-way: the ``pages`` before the one that failed are
    committed and the next pull resumes from it (``resumed_at``: where this pull started)."""

    def __init__(self, cause: AtsError, pages: int, resumed_at: int | None) -> None:
        super().__init__(cause.vendor, cause.detail)
        self.cause, self.pages, self.resumed_at = cause, pages, resumed_at


class PulledPageError(ImportFileError):
    """A page of the pull had problems; it and the pages after it were not written
    (``pages``: how many before it were)."""

    def __init__(self, problems: list[ImportProblem], pages: int) -> None:
        super().__init__(problems)
        self.pages = pages


class PostFailed(Exception):
    """An outgoing webhook got no answer (refused, timed out, TLS); ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookRefused(FairwellError):
    """A webhook we will not act on: a missing or wrong signature, or a body we cannot read."""
