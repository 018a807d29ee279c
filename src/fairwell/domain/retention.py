"""Retention maths: how long an application is kept, and what happens to it then.

Pure: facts in, a keep-until date, the rule that set it and an action out. Every application
has an end date, whatever its state (docs/retention.md has the table):

- a decision letter (rejection, referral closed) reached the candidate: ``keep_days`` from
  delivery (``sent_at``), because claim windows such as the German AGG's run from receipt. A
  letter promises a date before it is delivered, so the promise is computed from the letter's
  own Date; the keep-until date is never earlier than that promise;
- hired (handed over to HR), withdrawn, offer declined: ``hired_days``, ``withdrawn_days``,
  ``declined_days`` from the stage's last change;
- never told by a letter of ours: from the job's closing (``closed_days``) once the job is
  closed; while it is open, ``keep_days`` from a rejection made elsewhere (stage rejected on
  import), else ``open_days`` from the last activity (stage change or decision).

A talent-pool consent in force keeps any of them longer. Dates are UTC calendar days, and
"until D" means D is the last day the data is kept: an application is due the day after.

The policies are data, keyed by jurisdiction (country, or country and region such as CA-ON):
``fairwell/retention/policies.toml``, sources in docs/retention.md. The same table holds the
statutory notice deadline (``notice_days``, Ontario's 45 days). Parsed here from plain
dictionaries so the rules stay testable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from fairwell.domain.model import Stage
from fairwell.errors import PolicyError as PolicyError

DEFAULT_KEY = "default"
# The period of each state an application can end in, in days from its clock's start.
PERIODS = ("keep_days", "withdrawn_days", "declined_days", "hired_days", "open_days", "closed_days")
FIELDS = (*PERIODS, "consent_days", "notice_days", "action", "basis")
MAX_DAYS = 3660


class Action(StrEnum):
    """What the retention run does to an application that is due."""

    DELETE = "delete"  # every row goes; the person stays as an anonymous tombstone
    ANONYMISE = "anonymise"  # job, stage, dates and reason code stay for statistics, no person


class Rule(StrEnum):
    """Which clock an application's end date runs on; the values appear in reports and JSON."""

    LETTER = "decision letter delivered"
    HIRED = "hired, handed over to HR"
    WITHDRAWN = "withdrawn"
    DECLINED = "offer declined"
    CLOSED = "job closed without a letter"
    REJECTED = "rejected before import, no letter from us"
    OPEN = "still open"
    CONSENT = "talent-pool consent"


@dataclass(frozen=True, slots=True)
class Policy:
    key: str  # "GB", "CA-ON" or "default"
    keep_days: int  # kept this many days after the decision letter reached the candidate
    consent_days: int  # one "keep me on file" lasts this long; 0: as long as keep_days
    action: Action
    basis: str  # one line; the sources are in docs/retention.md
    withdrawn_days: int = 182  # after the application was withdrawn
    declined_days: int = 182  # after the candidate declined our offer
    hired_days: int = 90  # after the hire: the recruiting data, once HR has what it needs
    open_days: int = 365  # a still-open application, after its last activity
    closed_days: int = 182  # after the job closed, for those no letter of ours reached
    notice_days: int = 0  # tell interviewed applicants within this many days; 0: no such rule

    def days(self, rule: Rule) -> int:
        return {
            Rule.LETTER: self.keep_days,
            Rule.REJECTED: self.keep_days,
            Rule.HIRED: self.hired_days,
            Rule.WITHDRAWN: self.withdrawn_days,
            Rule.DECLINED: self.declined_days,
            Rule.OPEN: self.open_days,
            Rule.CLOSED: self.closed_days,
        }[rule]


def jurisdiction(country: str | None, region: str | None = None) -> str | None:
    """The jurisdiction key of a place: "CA-ON" (region given as "CA-ON" or "ON"), "FR", or
    None when the country is unknown. A region of another country is ignored."""
    country = (country or "").upper() or None
    if country is None:
        return None
    if not region:
        return country
    region = region.upper()
    prefix, _, local = region.rpartition("-")
    if prefix and prefix != country:
        return country
    return f"{country}-{local}"


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every policy by key; the ``default`` entry covers every place without one."""

    policies: Mapping[str, Policy]

    def policy_for(self, country: str | None, region: str | None = None) -> Policy:
        """The most specific policy: country-region (e.g. CA-ON), then country, then default.

        Canada without a region is Canada (or the default), never Ontario.
        """
        place = jurisdiction(country, region)
        keys = [place, place.split("-")[0]] if place else []
        return next(
            (self.policies[key] for key in keys if key in self.policies),
            self.policies[DEFAULT_KEY],
        )

    def notice_keys(self) -> dict[str, int]:
        """The jurisdictions with a notice deadline, and its days."""
        return {key: p.notice_days for key, p in sorted(self.policies.items()) if p.notice_days}


@dataclass(frozen=True, slots=True)
class RetentionFacts:
    """What the retention of one application depends on; nothing else is read."""

    country: str | None
    letter_dated: datetime | None  # the Date of the letter that told the decision
    delivered_at: datetime | None  # when it reached the candidate; None: not yet
    consent_until: datetime | None = None  # a talent-pool consent in force, if any
    # The day the letter itself promised, stored when it was written. Letters queued before
    # promises were stored have none; their promise is worked out from the letter's Date.
    promised_until: date | None = None
    region: str | None = None
    # None: a caller that knows only the letter (the state rules then need a stage).
    stage: Stage | None = None
    stage_changed_at: datetime | None = None  # the stage's last change (import or update)
    decided_at: datetime | None = None  # the latest decision recorded, if any
    job_closed_at: datetime | None = None  # None while the job is open


@dataclass(frozen=True, slots=True)
class Verdict:
    keep_until: date | None  # None only without a letter and without a stage to go by
    action: Action
    reason: str  # which rule set the date; policy key and numbers, never personal data
    rule: Rule | None = None

    def due(self, as_of: date) -> bool:
        return self.keep_until is not None and as_of > self.keep_until


def promised_until(policy: Policy, letter_dated: datetime) -> date:
    """The date a letter dated ``letter_dated`` promises: the earliest keep-until there is."""
    return letter_dated.date() + timedelta(days=policy.keep_days)


def consent_until(policy: Policy, start: datetime) -> datetime:
    """Until when one consent given (or renewed) at ``start`` lasts.

    Where the policy has no separate consent period (0), agreeing changes nothing: the
    application is kept as long as the policy keeps it anyway, and the portal says so.
    """
    return start + timedelta(days=policy.consent_days or policy.keep_days)


# The stages that end an application whatever letters it had, and their rules.
_ENDING_STAGES = {
    Stage.HIRED: Rule.HIRED,
    Stage.WITHDRAWN: Rule.WITHDRAWN,
    Stage.DECLINED: Rule.DECLINED,
}
_Candidate = tuple[date, str, Rule]


def verdict(book: PolicyBook, facts: RetentionFacts) -> Verdict:
    """The latest of every date that applies: the letter's (delivery plus the policy, and
    what it promised), the state's, and a consent in force. Never earlier than any of them."""
    policy = book.policy_for(facts.country, facts.region)
    candidates = _letter_dates(policy, facts) + _state_dates(policy, facts)
    if not candidates:
        return Verdict(None, policy.action, f"{policy.key}: letter not delivered yet")
    if facts.consent_until is not None:
        candidates.append(
            (facts.consent_until.date(), f"{policy.key}: talent-pool consent", Rule.CONSENT)
        )
    # max() keeps the first of equal dates: delivery explains a date before a promise does.
    keep_until, reason, rule = max(candidates, key=lambda item: item[0])
    return Verdict(keep_until, policy.action, reason, rule)


def _letter_dates(policy: Policy, facts: RetentionFacts) -> list[_Candidate]:
    if facts.delivered_at is None:
        return []
    delivered = facts.delivered_at.date() + timedelta(days=policy.keep_days)
    found = [(delivered, f"{policy.key}: {policy.keep_days} days after delivery", Rule.LETTER)]
    promised = _promise(policy, facts)
    if promised is not None:
        found.append((promised, f"{policy.key}: the date the letter promised", Rule.LETTER))
    return found


def _state_dates(policy: Policy, facts: RetentionFacts) -> list[_Candidate]:
    """The date the application's state sets: an ending stage always counts; the others
    only while no decision letter reached the candidate."""
    if facts.stage is None:
        return []
    rule, start, since = _state_clock(facts)
    if rule is None or start is None:
        return []
    days = policy.days(rule)
    reason = f"{policy.key}: {rule.value}, {days} days after {since}"
    return [(start.date() + timedelta(days=days), reason, rule)]


def _state_clock(facts: RetentionFacts) -> tuple[Rule | None, datetime | None, str]:
    """Which rule the state goes by, when its clock started, and what started it."""
    assert facts.stage is not None
    if facts.stage in _ENDING_STAGES:
        return _ENDING_STAGES[facts.stage], facts.stage_changed_at, "the stage changed"
    if facts.delivered_at is not None:
        return None, None, ""
    if facts.job_closed_at is not None:
        return Rule.CLOSED, facts.job_closed_at, "the job closed"
    if facts.stage is Stage.REJECTED:
        return Rule.REJECTED, facts.stage_changed_at, "the stage changed"
    moments = [m for m in (facts.stage_changed_at, facts.decided_at) if m is not None]
    return Rule.OPEN, max(moments, default=None), "the last activity"


def _promise(policy: Policy, facts: RetentionFacts) -> date | None:
    """What the letter said: a policy shortened since then must not undo it."""
    if facts.promised_until is not None:
        return facts.promised_until
    return promised_until(policy, facts.letter_dated) if facts.letter_dated else None


def parse_book(shipped: Mapping[str, object], override: Mapping[str, object] | None) -> PolicyBook:
    """The shipped policies with an organisation's entries laid over them, field by field.

    Every entry but ``default`` takes the fields it does not set from the default entry (the
    organisation's default included), so a jurisdiction names only what differs.
    """
    raw = {_key(key): _table(key, value) for key, value in shipped.items()}
    for key, value in (override or {}).items():
        raw[_key(key)] = {**raw.get(_key(key), {}), **_table(key, value)}
    if DEFAULT_KEY not in raw:
        raise PolicyError("the retention policies need a [default] entry")
    base = raw[DEFAULT_KEY]
    return PolicyBook(
        {
            key: _policy(key, fields if key == DEFAULT_KEY else {**base, **fields})
            for key, fields in raw.items()
        }
    )


def _key(key: str) -> str:
    return DEFAULT_KEY if key.lower() == DEFAULT_KEY else key.upper()


def _table(key: str, value: object) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"[{key}] must be a table of {', '.join(FIELDS)}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise PolicyError(f"[{key}] has unknown field(s): {', '.join(unknown)}")
    return dict(value)


def _policy(key: str, fields: Mapping[str, object]) -> Policy:
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise PolicyError(f"[{key}] lacks {', '.join(missing)}")
    for name in PERIODS:
        _days(key, name, fields[name], 1)
    for name in ("consent_days", "notice_days"):
        _days(key, name, fields[name], 0)
    action = str(fields["action"])
    if action not in {a.value for a in Action}:
        raise PolicyError(f"[{key}] action must be delete or anonymise, not {action!r}")
    periods = {name: int(str(fields[name])) for name in (*PERIODS, "notice_days")}
    return Policy(
        key=key,
        consent_days=int(str(fields["consent_days"])),
        action=Action(action),
        basis=str(fields["basis"]),
        **periods,
    )


def _days(key: str, name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_DAYS:
        raise PolicyError(f"[{key}] {name} must be a whole number of days, {least} to {MAX_DAYS}")


_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}


def long_date(day: date, locale: str) -> str:
    """26 May 2027 / 26. Mai 2027: the way a letter states a date."""
    language = locale[:2] if locale[:2] in _MONTHS else "en"
    month = _MONTHS[language].split()[day.month - 1]
    if language == "de":
        return f"{day.day}. {month} {day.year}"
    return f"{day.day} {month} {day.year}"
