"""Retention maths: how long an application is kept, and what happens to it then.

Pure: facts in, a keep-until date and an action out. The clock starts when the rejection
reached the candidate (the outbox's ``sent_at``), because claim windows such as the German
AGG's run from receipt. A letter promises a date before it is delivered, so the promise is
computed from the letter's own Date (its scheduled send time); the keep-until date is never
earlier than that promise. Dates are UTC calendar days, and "until D" means D is the last
day the data is kept: an application is due the day after.

The policies themselves are data (``fairwell/retention/policies.toml``, sources in
docs/retention.md), parsed here from plain dictionaries so the rules stay testable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

DEFAULT_KEY = "default"
FIELDS = ("keep_days", "consent_days", "action", "basis")


class Action(StrEnum):
    """What the retention run does to an application that is due."""

    DELETE = "delete"  # every row goes; the person stays as an anonymous tombstone
    ANONYMISE = "anonymise"  # job, stage, dates and reason code stay for statistics, no person


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Policy:
    key: str  # "GB", "CA-ON" or "default"
    keep_days: int  # kept this many days after the letter reached the candidate
    consent_days: int  # one "keep me on file" lasts this long; 0: as long as keep_days
    action: Action
    basis: str  # one line; the sources are in docs/retention.md


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every policy by key; the ``default`` entry covers every country without one."""

    policies: Mapping[str, Policy]

    def policy_for(self, country: str | None, region: str | None = None) -> Policy:
        """The most specific policy: country-region (e.g. CA-ON), then country, then default."""
        country = (country or "").upper()
        keys = [f"{country}-{region.upper()}"] if country and region else []
        keys += [country, DEFAULT_KEY] if country else [DEFAULT_KEY]
        return next(self.policies[key] for key in keys if key in self.policies)


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


@dataclass(frozen=True, slots=True)
class Verdict:
    keep_until: date | None  # None: the clock has not started (nothing delivered yet)
    action: Action
    reason: str  # which rule set the date; policy key and numbers, never personal data

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


def verdict(book: PolicyBook, facts: RetentionFacts) -> Verdict:
    """The later of the promise, delivery plus the policy, and a consent in force."""
    policy = book.policy_for(facts.country)
    if facts.delivered_at is None:
        return Verdict(None, policy.action, f"{policy.key}: letter not delivered yet")
    delivered = facts.delivered_at.date() + timedelta(days=policy.keep_days)
    candidates = [(delivered, f"{policy.key}: {policy.keep_days} days after delivery")]
    promised = _promise(policy, facts)
    if promised is not None:
        candidates.append((promised, f"{policy.key}: the date the letter promised"))
    if facts.consent_until is not None:
        candidates.append((facts.consent_until.date(), f"{policy.key}: talent-pool consent"))
    # max() keeps the first of equal dates: delivery explains a date before a promise does.
    keep_until, reason = max(candidates, key=lambda item: item[0])
    return Verdict(keep_until, policy.action, reason)


def _promise(policy: Policy, facts: RetentionFacts) -> date | None:
    """What the letter said: a policy shortened since then must not undo it."""
    if facts.promised_until is not None:
        return facts.promised_until
    return promised_until(policy, facts.letter_dated) if facts.letter_dated else None


def parse_book(shipped: Mapping[str, object], override: Mapping[str, object] | None) -> PolicyBook:
    """The shipped policies with an organisation's entries laid over them, field by field.

    An override entry for a key the shipped file lacks starts from the default entry.
    """
    raw = {_key(key): _table(key, value) for key, value in shipped.items()}
    for key, value in (override or {}).items():
        base = raw.get(_key(key), raw.get(DEFAULT_KEY, {}))
        raw[_key(key)] = {**base, **_table(key, value)}
    if DEFAULT_KEY not in raw:
        raise PolicyError("the retention policies need a [default] entry")
    return PolicyBook({key: _policy(key, fields) for key, fields in raw.items()})


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
    keep, consent = fields["keep_days"], fields["consent_days"]
    if not isinstance(keep, int) or not 1 <= keep <= 3660:
        raise PolicyError(f"[{key}] keep_days must be a whole number of days, 1 to 3660")
    if not isinstance(consent, int) or not 0 <= consent <= 3660:
        raise PolicyError(f"[{key}] consent_days must be a whole number of days, 0 to 3660")
    action = str(fields["action"])
    if action not in {a.value for a in Action}:
        raise PolicyError(f"[{key}] action must be delete or anonymise, not {action!r}")
    return Policy(key, keep, consent, Action(action), str(fields["basis"]))


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
