"""Bulk decisions: reject a selection of a job's applicants with a reason code."""

from __future__ import annotations

import heapq
from array import array
from dataclasses import dataclass, field
from datetime import datetime

from fairwell.domain.addresses import normalise_address
from fairwell.domain.eligibility import rejection_blocked_by
from fairwell.domain.model import Stage
from fairwell.domain.reasons import reason_for
from fairwell.errors import InvalidInput
from fairwell.ports import ApplicantView, Store
from fairwell.services.skipped import Skipped


@dataclass(frozen=True, slots=True)
class Selection:
    """Exactly one way of choosing whom to reject."""

    all_except_hired: bool = False
    stage: Stage | None = None
    emails: tuple[str, ...] = ()
    # People named one by one (not everyone matching a filter): their reason was chosen for
    # each of them, so it is kept over the basis of approved feedback.
    one_by_one: bool = True
    # The addresses again as a set: a select-all on a big job names thousands of people.
    _wanted: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chosen = sum((self.all_except_hired, self.stage is not None, bool(self.emails)))
        if chosen != 1:
            raise InvalidInput("choose exactly one of --all-except-hired, --stage or --email")
        object.__setattr__(self, "_wanted", frozenset(self.emails))

    @property
    def emails_wanted(self) -> frozenset[str]:
        return self._wanted

    @property
    def chosen_for_each(self) -> bool:
        """The reason was chosen for each person by name, not for a stage or for everyone."""
        return bool(self.emails) and self.one_by_one

    def picks(self, view: ApplicantView) -> bool:
        return self.picks_one(view.application.stage, view.person.email)

    def picks_one(self, stage: Stage, email: str) -> bool:
        if self.all_except_hired:
            return stage is not Stage.HIRED
        if self.stage is not None:
            return stage is self.stage
        return email in self._wanted

    def lists(self, stage: Stage, email: str) -> bool:
        """Picked, or hired when rejecting everyone else: the hired are listed as skipped."""
        return self.picks_one(stage, email) or (self.all_except_hired and stage is Stage.HIRED)


@dataclass(slots=True)
class RejectReport:
    # The ids of the applications decided, 8 bytes each: a job of a million people is read
    # a page at a time and only these are kept.
    decided: array[int] = field(default_factory=lambda: array("q"))
    skipped: list[Skipped] = field(default_factory=list)
    unknown_emails: list[str] = field(default_factory=list)


def reject(
    store: Store,
    job_title: str,
    selection: Selection,
    reason_code: str,
    *,
    note: str | None,
    actor: str,
    now: datetime,
) -> RejectReport:
    """Record a rejection for every selected application that may be rejected.

    People who must not be rejected (hired, holding an offer, withdrawn, already decided or
    written to) are listed with the reason, not failed. Hired people are skipped and listed
    even with ``--all-except-hired``, so the recruiter sees who was left alone.
    """
    reason_for(reason_code)
    job = store.job_by_title(job_title)
    wanted = Selection(
        all_except_hired=selection.all_except_hired,
        stage=selection.stage,
        emails=tuple(normalise_address(email) for email in selection.emails),
        one_by_one=selection.one_by_one,
    )
    report = RejectReport()
    seen: set[str] = set()  # of the addresses named, not of everyone: a job may hold a million
    # The applications nothing stops a rejection of are read as their id, address and stage
    # alone; only the others, which are listed, as whole views.
    named, lists, decide = wanted.emails_wanted, wanted.lists, report.decided.append
    for open_ in store.rejectable(job.id):  # a row of a million: no lookup done twice
        if named and open_.email in named:
            seen.add(open_.email)
        if lists(open_.stage, open_.email):
            decide(open_.id)
    open_ones = len(report.decided)
    for view in store.not_rejectable(job.id):
        if view.person.email in wanted.emails_wanted:
            seen.add(view.person.email)
        _sort(view, wanted, report)
    # Decisions are recorded in application order, as when the job was read in one pass.
    # Both reads come in id order: merged, not sorted, so a million ids never become a list.
    decided = report.decided
    report.decided = array("q", heapq.merge(decided[:open_ones], decided[open_ones:]))
    report.unknown_emails = [email for email in wanted.emails if email not in seen]
    if report.unknown_emails:
        raise InvalidInput(
            f"{len(report.unknown_emails)} address(es) have no application for {job.title!r}: "
            + ", ".join(report.unknown_emails[:5])
        )
    store.record_decisions(
        report.decided,
        reason_code,
        note,
        actor,
        now,
        reason_chosen=wanted.chosen_for_each,
    )
    return report


def _sort(view: ApplicantView, selection: Selection, report: RejectReport) -> None:
    if not selection.lists(view.application.stage, view.person.email):
        return
    blocked = rejection_blocked_by(view.application, view.history)
    if blocked is None:
        report.decided.append(view.application.id)
    else:
        report.skipped.append(Skipped(view, str(blocked)))


def pick_stage(value: str) -> Stage:
    try:
        return Stage(value.strip().lower())
    except ValueError:
        allowed = ", ".join(stage.value for stage in Stage)
        raise InvalidInput(f"unknown stage {value!r}; one of: {allowed}") from None
