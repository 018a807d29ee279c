"""Reason codes: the small taxonomy a recruiter picks from, with candidate-facing wording.

The wording is what the candidate reads, so it is specific, job-related and free of anything
that touches protected characteristics. Each sentence completes "We decided not to move
forward because ...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fairwell.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    summary: str
    wording: dict[str, str]

    def for_locale(self, locale: str) -> str:
        """Return the wording in this locale; every reason carries every supported locale."""
        return self.wording[locale]


SUPPORTED_LOCALES = ("en", "de")  # each has its letters in templates/letters/<locale>/

_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*")


def supported_language(tag: str) -> str | None:
    """The supported locale a language tag names, its region dropped ("de-AT" and "de_DE"
    are "de"); None when letters cannot be written in it."""
    lowered = tag.strip().lower()
    language = lowered.replace("_", "-").split("-")[0]
    if _LANGUAGE_TAG.fullmatch(lowered) and language in SUPPORTED_LOCALES:
        return language
    return None


REASONS: tuple[Reason, ...] = (
    Reason(
        "position-filled",
        "The position was filled by another candidate.",
        {
            "en": "we have offered the position to another candidate whose experience "
            "matched the role's requirements more closely",
            "de": "wir die Stelle an eine andere Person vergeben haben, deren Erfahrung "
            "den Anforderungen der Stelle näher kam",
        },
    ),
    Reason(
        "experience-required",
        "The role needs more experience in the core area than the application showed.",
        {
            "en": "the role requires more hands-on experience in its core area than "
            "your application showed",
            "de": "die Stelle mehr praktische Erfahrung im Kernbereich verlangt, als Ihre "
            "Bewerbung gezeigt hat",
        },
    ),
    Reason(
        "skills-mismatch",
        "The skills shown did not match the role's listed requirements.",
        {
            "en": "the skills shown in your application and interviews did not match the "
            "specific requirements listed for this role",
            "de": "die in Ihrer Bewerbung und den Gesprächen gezeigten Fähigkeiten nicht zu "
            "den konkreten Anforderungen dieser Stelle passten",
        },
    ),
    Reason(
        "requirements-not-met",
        "The application did not show requirements listed for the role.",
        {
            "en": "your application did not show some of the requirements listed for this role",
            "de": "Ihre Bewerbung einige der für diese Stelle genannten Anforderungen nicht "
            "gezeigt hat",
        },
    ),
    Reason(
        "role-closed",
        "The opening was closed without a hire.",
        {
            "en": "the opening has been closed and we are not hiring for it at this time",
            "de": "die Stelle geschlossen wurde und wir sie derzeit nicht besetzen",
        },
    ),
)

_BY_CODE = {reason.code: reason for reason in REASONS}

# When a candidate has approved feedback, the reason the letter gives comes from what the
# feedback rests on, so the two cannot contradict each other ("we offered the position to
# another candidate" above "your experience was shorter than the role requires"). A reason
# the recruiter chose for the person is kept, and the plan flags it when it does not agree.
REASON_FOR_BASIS = {"skills": "skills-mismatch", "requirements": "requirements-not-met"}
AGREEING = {
    "skills": frozenset({"skills-mismatch"}),
    "requirements": frozenset({"requirements-not-met", "experience-required", "skills-mismatch"}),
}


def reason_for_basis(basis: str) -> str:
    """The reason code that says what feedback on this basis says."""
    return REASON_FOR_BASIS[basis]


def agrees_with_feedback(code: str, basis: str) -> bool:
    """True when a letter may give this reason above feedback on this basis."""
    return code in AGREEING.get(basis, frozenset())


def reason_for(code: str) -> Reason:
    """Return the reason for a code, or raise InvalidInput listing the known codes."""
    try:
        return _BY_CODE[code]
    except KeyError:
        known = ", ".join(sorted(_BY_CODE))
        raise InvalidInput(f"unknown reason code {code!r}; known codes: {known}") from None
