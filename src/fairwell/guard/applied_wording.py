"""Words that say or imply a person applied: a referred or sourced person must never read them.

Someone who was referred or sourced did not apply: a letter that thanks them "for applying" or
speaks of "your application" tells them something untrue about themselves (and, when they did
not know they were put forward, tells them nothing of how we came to hold their data). The
templates have wording for them; this check makes sure that wording, an edited template or an
answer typed by a hiring manager does not slip back into the words of an applicant.

The phrases are searched in every supported language at once (a letter in one language with a
phrase of another is wrong anyway). A match names the phrase's label, never the text around
it, so a finding can be stored and shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fairwell.domain.model import LetterKind
from fairwell.guard.privacy import Finding

RULE = "applied-wording"
DESCRIPTION = "a referred or sourced person would read words that say they applied"


@dataclass(frozen=True, slots=True)
class AppliedPhrase:
    label: str
    pattern: re.Pattern[str]


def _phrase(label: str, pattern: str) -> AppliedPhrase:
    return AppliedPhrase(label, re.compile(pattern, re.IGNORECASE))


# English: the noun "application" with a possessive or demonstrative, and the verb in the past
# or as a gerund after "for". "you did not apply" and "apply for it at any time" stay allowed.
# German: "Bewerbung" with a possessive or demonstrative, and "(als) Sie sich ... beworben".
APPLIED_PHRASES: tuple[AppliedPhrase, ...] = (
    _phrase("for applying", r"\bfor (?:your )?applying\b"),
    _phrase("your application", r"\byour (?:job |own )?applications?\b"),
    _phrase("this application", r"\b(?:this|that) application\b"),
    _phrase("you applied", r"\byou(?:'ve| have)? applied\b"),
    _phrase("Ihre Bewerbung", r"\b(?:ihre[rnms]?|deine[rnms]?)\s+bewerbung(?:en)?\b"),
    _phrase("diese Bewerbung", r"\b(?:diese[rnms]?|jene[rnms]?)\s+bewerbung(?:en)?\b"),
    # "Sie haben sich nicht (selbst) beworben" is what a referred person should read.
    _phrase(
        "Sie haben sich beworben",
        r"\bsie(?: haben)? sich\b(?:(?!\bnicht\b)[^.!?]){0,80}?\bbeworben\b",
    ),
)

# The one letter only people who applied receive; every other kind may reach anyone.
APPLICANT_ONLY_KINDS = frozenset({LetterKind.REJECTION})


def applied_phrases(text: str) -> list[str]:
    """The labels of the phrases in ``text`` that say or imply its reader applied."""
    return [phrase.label for phrase in APPLIED_PHRASES if phrase.pattern.search(text)]


def applied_wording_findings(text: str) -> tuple[Finding, ...]:
    """A finding for each such phrase in a letter to someone who did not apply; it holds the
    letter like any finding of the privacy guard."""
    return tuple(Finding(RULE, DESCRIPTION, f"says “{label}”") for label in applied_phrases(text))
