"""Rows of an import that are one application, merged by rule, each decision written down.

ATS exports hold duplicate profiles: a re-application, a referral beside the person's own
application, the same address in other case. Rows with the same address (case aside) and
job are one application, and one address is one person. Rather than refuse the file, the
rows are merged by these rules, and every field the rows disagreed on is reported with the
row its value came from, so the recruiter can check it without editing a CSV:

* **stage**: a protected state wins, hired over offer over withdrawn (nobody hired, holding
  an offer or withdrawn is ever rejected); otherwise the furthest stage, applied < screen <
  phone < onsite < offer. ``rejected`` sits below every live stage: beside a row still in the
  pipeline, a rejected row is most often the duplicate profile the hiring team closed (ATSs
  have a "duplicate" rejection reason, and it sends no letter), not the person's outcome. Only
  when every row says rejected is the application rejected (and then nobody writes to them).
* **source**: an own application beside a referral means ``applied`` (the person applied;
  the referrer is kept in ``referred_by``); a referral beside sourcing means ``referred``.
* **referred_by**: the referrer of the earliest row that names one (the referral that
  brought the person in).
* **referral_aware**: yes only when every row that says says yes: the wording for a person
  who did not know is true either way, the other is not.
* **applied_at**: the earliest; **last_interview_at**: the latest.
* **the person** (name, language, country with region, time zone, across every job): from
  the row of the person's furthest stage, the profile the hiring team worked with; among rows
  at the same stage, the first in the file. A value that row lacks comes from the next.

Pure: rows in, rows and merges out. A merge's words never hold a name, address or referrer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

from fairwell.domain.model import ApplicantRow, Source, Stage

T = TypeVar("T")

# Higher wins. Protected states above every live stage; rejected below them (see above).
STAGE_RANK: dict[Stage, int] = {
    Stage.REJECTED: 0,
    Stage.APPLIED: 1,
    Stage.SCREEN: 2,
    Stage.PHONE: 3,
    Stage.ONSITE: 4,
    Stage.WITHDRAWN: 5,
    Stage.DECLINED: 6,  # declined our offer: further than withdrawing before one
    Stage.OFFER: 7,
    Stage.HIRED: 8,
}
PROTECTED_STAGES = frozenset({Stage.HIRED, Stage.OFFER, Stage.DECLINED, Stage.WITHDRAWN})
SOURCE_RANK = {Source.SOURCED: 0, Source.REFERRED: 1, Source.APPLIED: 2}

# Fields whose values are personal data: a choice says where the value came from, not what it is.
PRIVATE_FIELDS = frozenset({"name", "referred_by"})


@dataclass(frozen=True, slots=True)
class MergeChoice:
    """How one field the rows disagreed on was decided.

    ``kept`` is the value kept as text (None for a name or a referrer: personal data), from
    row ``from_row``; ``rule`` says why in a few words; ``others`` holds each other row's
    value (None for personal data) where it differed.
    """

    field: str
    kept: str | None
    from_row: int
    rule: str
    others: tuple[tuple[int, str | None], ...]

    def describe(self) -> str:
        """One line for a person to read, e.g. "stage onsite from row 5 (the furthest
        stage; row 3: screen)"."""
        what = self.field.replace("_", " ")
        value = f" {self.kept}" if self.kept is not None else ""
        others = "; ".join(
            f"row {row}: {value}" if value is not None else f"row {row} differs"
            for row, value in self.others
        )
        return f"{what}{value} from row {self.from_row} ({self.rule}; {others})"


@dataclass(frozen=True, slots=True)
class Merge:
    """Rows of one file that became one application (or whose person values were reconciled).

    ``email`` and ``job`` find the application when it is stored; they are never logged.
    ``rows`` are the application's own rows; ``choices`` is empty when they agreed.
    """

    email: str
    job: str
    rows: tuple[int, ...]
    choices: tuple[MergeChoice, ...]

    def describe(self) -> str:
        rows = ", ".join(str(row) for row in self.rows)
        decided = "; ".join(choice.describe() for choice in self.choices)
        return f"rows {rows}: {decided or 'the rows agree'}"


@dataclass(frozen=True, slots=True)
class Merged:
    rows: list[ApplicantRow]
    merges: list[Merge]


@lru_cache(maxsize=1024)  # a file names few jobs, each many times
def job_key(title: str) -> str:
    """Job titles that differ only in case and spacing are one job."""
    return " ".join(title.split()).casefold()


def merge_rows(rows: Sequence[ApplicantRow], default_locale: str) -> Merged:
    """One row per (address, job), in the order each first appears, and what was merged."""
    by_person = grouped(rows, lambda row: row.email)
    people = {email: _person_values(group) for email, group in by_person.items() if len(group) > 1}
    merged: list[ApplicantRow] = []
    merges: list[Merge] = []
    for group in grouped(rows, lambda row: (row.email, job_key(row.job))).values():
        values, person_choices = people.get(group[0].email, _ONE_ROW)
        row, choices = _application(group, values, default_locale)
        merged.append(row)
        if len(group) > 1 or person_choices:
            rows_of_it = tuple(r.row for r in group)
            merges.append(Merge(row.email, row.job, rows_of_it, (*choices, *person_choices)))
    return Merged(merged, merges)


def grouped(
    rows: Iterable[ApplicantRow], key: Callable[[ApplicantRow], T]
) -> dict[T, list[ApplicantRow]]:
    groups: dict[T, list[ApplicantRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def stage_rank(row: ApplicantRow) -> int:
    return STAGE_RANK[row.stage]


# --- one application ----------------------------------------------------------------------------


def _application(
    group: list[ApplicantRow], person: ApplicantRow | None, default_locale: str
) -> tuple[ApplicantRow, list[MergeChoice]]:
    if len(group) == 1:
        return _with_person(group[0], person, default_locale), []
    choices: list[MergeChoice] = []
    stage_row = _stage_winner(group, choices)
    source_row = _source_winner(group, choices)
    referrer = _referrer(group, choices)
    aware = _awareness(group, choices)
    applied_at = _dated(group, "applied_at", min, "the earliest", choices)
    interviewed = _dated(group, "last_interview_at", max, "the latest", choices)
    row = replace(
        group[0],
        stage=stage_row.stage,
        source=source_row.source,
        referred_by=referrer,
        referral_aware=aware,
        applied_at=applied_at,
        last_interview_at=interviewed,
    )
    return _with_person(row, person, default_locale), choices


def _with_person(
    row: ApplicantRow, person: ApplicantRow | None, default_locale: str
) -> ApplicantRow:
    """The row with the person's chosen values (None: the person has this one row)."""
    if person is None:  # most people: nothing to copy
        return row if row.locale else replace(row, locale=default_locale)
    source = person
    return replace(
        row,
        first_name=source.first_name,
        last_name=source.last_name,
        locale=source.locale or default_locale,
        country=source.country,
        region=source.region,
        timezone=source.timezone,
    )


def _stage_winner(group: list[ApplicantRow], choices: list[MergeChoice]) -> ApplicantRow:
    """The row of the winning stage; among equal stages the first in the file."""
    winner = max(group, key=stage_rank)  # max keeps the first of equals
    if any(row.stage is not winner.stage for row in group):
        rule = "protected states win" if winner.stage in PROTECTED_STAGES else "the furthest stage"
        if any(row.stage is Stage.REJECTED for row in group):
            rule += "; a rejected row beside a live one is a closed duplicate profile"
        choices.append(_choice("stage", winner, group, lambda row: row.stage.value, rule))
    return winner


def _source_winner(group: list[ApplicantRow], choices: list[MergeChoice]) -> ApplicantRow:
    winner = max(group, key=lambda row: SOURCE_RANK[row.source])
    if any(row.source is not winner.source for row in group):
        rule = (
            "a referral beside an own application means applied; the referrer is kept"
            if winner.source is Source.APPLIED
            else "a referral beside sourcing means referred"
        )
        choices.append(_choice("source", winner, group, lambda row: row.source.value, rule))
    return winner


def _referrer(group: list[ApplicantRow], choices: list[MergeChoice]) -> str | None:
    naming = [row for row in group if row.referred_by]
    if not naming:
        return None
    first = min(naming, key=lambda row: (row.applied_at is None, row.applied_at or 0, row.row))
    if len({(row.referred_by or "").casefold() for row in naming}) > 1:
        rule = "the referrer of the earliest referral"
        choices.append(_choice("referred_by", first, group, lambda row: row.referred_by, rule))
    return first.referred_by


def _awareness(group: list[ApplicantRow], choices: list[MergeChoice]) -> bool | None:
    said = [row for row in group if row.referral_aware is not None]
    if not said:
        return None
    unaware = next((row for row in said if row.referral_aware is False), None)
    holder = unaware or said[0]
    if any(row.referral_aware is not holder.referral_aware for row in said):
        rule = "yes only when every row says yes"
        choices.append(_choice("referral_aware", holder, group, _yes_no, rule))
    return holder.referral_aware


def _yes_no(row: ApplicantRow) -> str | None:
    return None if row.referral_aware is None else ("yes" if row.referral_aware else "no")


def _dated(
    group: list[ApplicantRow],
    field: str,
    pick: Callable[[list[datetime]], datetime],
    rule: str,
    choices: list[MergeChoice],
) -> datetime | None:
    moments: list[datetime] = [getattr(row, field) for row in group if getattr(row, field)]
    if not moments:
        return None
    chosen = pick(moments)
    holder = next(row for row in group if getattr(row, field) == chosen)
    if any(moment != chosen for moment in moments):
        choices.append(_choice(field, holder, group, lambda row: _day(getattr(row, field)), rule))
    return chosen


def _day(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.date().isoformat() if moment.time() == datetime.min.time() else moment.isoformat()


def _choice(
    field: str,
    holder: ApplicantRow,
    group: Sequence[ApplicantRow],
    value: Callable[[ApplicantRow], str | None],
    rule: str,
) -> MergeChoice:
    """The choice of ``holder``'s value; other rows listed where they give another value (a
    row that gives none does not disagree)."""
    kept = value(holder)
    private = field in PRIVATE_FIELDS

    def same(row: ApplicantRow) -> bool:
        mine = value(row)
        return (mine or "").casefold() == (kept or "").casefold()

    others = tuple(
        (row.row, None if private else value(row))
        for row in group
        if row is not holder and value(row) and not same(row)
    )
    return MergeChoice(field, None if private else kept, holder.row, rule, others)


# --- one person ---------------------------------------------------------------------------------

# A person with one row: nothing to choose.
_ONE_ROW: tuple[ApplicantRow | None, list[MergeChoice]] = (None, [])

# (field name in a choice, the row's fields it covers): country and region go together, as
# a region must lie in its country.
_PERSON_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", ("first_name", "last_name")),
    ("locale", ("locale",)),
    ("country", ("country", "region")),
    ("timezone", ("timezone",)),
)
_PERSON_RULE = "the row of the person's furthest stage"


def _person_values(group: list[ApplicantRow]) -> tuple[ApplicantRow | None, list[MergeChoice]]:
    """A row carrying the person's chosen values (None when they have one row), and the
    choices where their rows disagreed."""
    if len(group) == 1:
        return None, []
    # Best first: the furthest stage, then the first in the file (sorted() keeps file order).
    ranked = sorted(group, key=stage_rank, reverse=True)
    values: dict[str, str | None] = {}
    choices: list[MergeChoice] = []
    for label, fields in _PERSON_PARTS:
        holder = next((row for row in ranked if getattr(row, fields[0])), ranked[0])
        values.update({name: getattr(holder, name) for name in fields})

        def shown(row: ApplicantRow, fields: tuple[str, ...] = fields) -> str | None:
            parts = [str(getattr(row, name)) for name in fields if getattr(row, name)]
            return " ".join(parts) or None

        if len({said.casefold() for row in group if (said := shown(row))}) > 1:
            choices.append(_choice(label, holder, group, shown, _PERSON_RULE))
    person = replace(
        ranked[0],
        first_name=values["first_name"] or "",
        last_name=values["last_name"] or "",
        locale=values["locale"] or "",
        country=values["country"],
        region=values["region"],
        timezone=values["timezone"],
    )
    return person, choices
