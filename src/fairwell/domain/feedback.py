"""Feedback a candidate can use, drafted from scorecards in the hiring team's own words.

Every line of a draft traces to something a person wrote for this job or this candidate: the
job's wording for a competency in the candidate's language (how a gap is named, one next
step, how a strength is named) or a note an interviewer wrote for the candidate. Nothing else
reaches a draft: the built-in library is only a suggestion to whoever writes the wording.

* **Stage decides the evidence.** After interviews the draft rests on the competencies rated
  in them (basis "skills"); after screening, on the requirements a screener checked (basis
  "requirements"). Ratings of the other kind are not evidence for this candidate.
* **No silent drops.** The one to three competencies furthest below the bar are always named.
  One with no wording in the candidate's language and no note for the candidate holds the
  draft: "needs wording for Spark".
* **Notes for the candidate** are kept once (same text after folding case and white space);
  a line whose language is not the letter's holds the draft ("note in English for a German
  letter: translate or drop"). The language is judged by a function passed in, so this module
  stays pure.
* Internal notes never leave; numbers are shown only when the organisation turns them on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from fairwell.errors import InvalidInput

MIN_RATING, MAX_RATING = 1, 4
LANGUAGE_NAMES = {"en": "English", "de": "German"}
NEEDS_WORDING = "needs wording for "

# Says which language a text is written in (a supported one, or another it is sure of), or
# None when it cannot tell.
LanguageOf = Callable[[str], str | None]


class CompetencyKind(StrEnum):
    """A competency is rated in interviews; a requirement is checked by a screener."""

    COMPETENCY = "competency"
    REQUIREMENT = "requirement"


class Basis(StrEnum):
    """What a draft rests on: competencies rated in interviews, or requirements screened."""

    SKILLS = "skills"
    REQUIREMENTS = "requirements"

    @property
    def evidence(self) -> CompetencyKind:
        return CompetencyKind.COMPETENCY if self is Basis.SKILLS else CompetencyKind.REQUIREMENT


def basis_for(interviewed: bool) -> Basis:
    return Basis.SKILLS if interviewed else Basis.REQUIREMENTS


@dataclass(frozen=True, slots=True)
class Competency:
    """Something the role needs, and the rating (1-4) that meets the bar."""

    name: str
    bar: int
    kind: CompetencyKind = CompetencyKind.COMPETENCY

    def __post_init__(self) -> None:
        _check_rating(self.bar, f"the bar of {self.name!r}")


@dataclass(frozen=True, slots=True)
class Rating:
    """One interviewer's rating of one competency. ``internal_note`` never leaves."""

    interviewer: str
    competency: str
    score: int
    internal_note: str = ""
    note_for_candidate: str = ""

    def __post_init__(self) -> None:
        _check_rating(self.score, f"the rating of {self.competency!r}")


@dataclass(frozen=True, slots=True)
class Wording:
    """The hiring team's words for one competency in one language; "" where none is written."""

    gap: str = ""
    next_step: str = ""
    strength: str = ""

    def parts(self) -> dict[str, str]:
        return {"gap": self.gap, "next step": self.next_step, "strength": self.strength}


@dataclass(frozen=True, slots=True)
class Gap:
    competency: str
    average: float
    bar: int
    wording: Wording | None
    noted: bool = False  # an interviewer wrote a note for the candidate on this competency

    @property
    def unnamed(self) -> bool:
        """Neither the job's wording nor a note names this gap: the draft must be held."""
        return not (self.wording and self.wording.gap) and not self.noted


@dataclass(frozen=True, slots=True)
class Strength:
    competency: str
    average: float
    wording: Wording


@dataclass(frozen=True, slots=True)
class FeedbackDraft:
    basis: Basis
    gaps: tuple[Gap, ...]
    strengths: tuple[Strength, ...]
    notes_for_candidate: tuple[str, ...]
    holds: tuple[str, ...] = ()
    duplicate_notes: int = 0  # notes left out because another interviewer wrote the same
    held_notes: int = 0  # notes in another language than the letter's

    @property
    def missing_wording(self) -> tuple[str, ...]:
        return tuple(gap.competency for gap in self.gaps if gap.unnamed)


def _check_rating(value: int, what: str) -> None:
    if not MIN_RATING <= value <= MAX_RATING:
        raise InvalidInput(f"{what} is {value}; ratings run from {MIN_RATING} to {MAX_RATING}")


def averages(competencies: Sequence[Competency], ratings: Iterable[Rating]) -> dict[str, float]:
    """Mean rating per competency of the job; a rating for anything else is refused."""
    known = {competency.name for competency in competencies}
    scores: dict[str, list[int]] = defaultdict(list)
    for rating in ratings:
        if rating.competency not in known:
            raise InvalidInput(f"{rating.competency!r} is not a competency of this job")
        scores[rating.competency].append(rating.score)
    return {name: sum(values) / len(values) for name, values in scores.items()}


def evidence(
    competencies: Sequence[Competency], ratings: Iterable[Rating], basis: Basis
) -> list[Rating]:
    """The ratings that count for this basis: interview ratings of competencies, or a
    screener's ratings of requirements."""
    kinds = {competency.name: competency.kind for competency in competencies}
    counted = []
    for rating in ratings:
        if rating.competency not in kinds:
            raise InvalidInput(f"{rating.competency!r} is not a competency of this job")
        if kinds[rating.competency] is basis.evidence:
            counted.append(rating)
    return counted


def fold_note(text: str) -> str:
    """Two notes are the same when they differ only in case and white space."""
    return " ".join(text.split()).casefold()


@dataclass(slots=True)
class _Notes:
    kept: list[str] = field(default_factory=list)
    by_competency: dict[str, list[str]] = field(default_factory=dict)
    duplicates: int = 0

    def name(self, competency: str, locale: str, language_of: LanguageOf | None) -> bool:
        """Whether a note in the letter's language (or one we cannot tell) covers the gap: a
        note in another language names nothing for this candidate."""
        return any(
            language_of is None or language_of(note) in (None, locale)
            for note in self.by_competency.get(competency, ())
        )


def _notes(ratings: Iterable[Rating]) -> _Notes:
    notes, seen = _Notes(), set()
    for rating in ratings:
        text = " ".join(rating.note_for_candidate.split())
        if not text:
            continue
        notes.by_competency.setdefault(rating.competency, []).append(text)
        if fold_note(text) in seen:
            notes.duplicates += 1
            continue
        seen.add(fold_note(text))
        notes.kept.append(text)
    return notes


def draft_feedback(
    competencies: Sequence[Competency],
    ratings: Sequence[Rating],
    wording: Mapping[str, Wording],
    *,
    basis: Basis,
    locale: str,
    language_of: LanguageOf | None = None,
    max_gaps: int = 3,
    max_strengths: int = 2,
) -> FeedbackDraft:
    """The competencies furthest below the bar, the strongest above it with words for them,
    and the notes written for the candidate, from the ratings this basis counts.

    ``wording`` is the job's, in the candidate's language. Ties are broken by name, so the
    same scorecards give the same draft.
    """
    counted = evidence(competencies, ratings, basis)
    means = averages(competencies, counted)
    bars = {competency.name: competency.bar for competency in competencies}
    notes = _notes(counted)
    below = sorted(
        (name for name, mean in means.items() if mean < bars[name]),
        key=lambda name: (means[name] - bars[name], name),
    )
    above = sorted(
        (n for n, mean in means.items() if mean >= bars[n] and _says(wording.get(n), "strength")),
        key=lambda name: (bars[name] - means[name], name),
    )
    gaps = tuple(
        Gap(n, means[n], bars[n], wording.get(n), notes.name(n, locale, language_of))
        for n in below[:max_gaps]
    )
    strengths = tuple(Strength(n, means[n], wording[n]) for n in above[:max_strengths])
    draft = FeedbackDraft(basis, gaps, strengths, tuple(notes.kept), (), notes.duplicates)
    return _with_holds(draft, locale, language_of)


def _says(wording: Wording | None, part: str) -> bool:
    return wording is not None and bool(wording.parts()[part].strip())


def _with_holds(draft: FeedbackDraft, locale: str, language_of: LanguageOf | None) -> FeedbackDraft:
    holds = [f"{NEEDS_WORDING}{name}" for name in draft.missing_wording]
    held_notes = 0
    if language_of is not None:
        for gap in draft.gaps:
            for part in ("gap", "next step"):
                holds += _wording_hold(gap.competency, gap.wording, part, locale, language_of)
        for strength in draft.strengths:
            holds += _wording_hold(
                strength.competency, strength.wording, "strength", locale, language_of
            )
        note_holds = [
            h for n in draft.notes_for_candidate for h in note_hold(n, locale, language_of)
        ]
        held_notes = len(note_holds)
        holds += note_holds
    return FeedbackDraft(
        draft.basis,
        draft.gaps,
        draft.strengths,
        draft.notes_for_candidate,
        tuple(dict.fromkeys(holds)),
        draft.duplicate_notes,
        held_notes,
    )


def _wording_hold(
    name: str, wording: Wording | None, part: str, locale: str, language_of: LanguageOf
) -> list[str]:
    text = wording.parts()[part] if wording else ""
    found = language_of(text) if text.strip() else None
    if found is None or found == locale:
        return []
    return [
        f"the {part} wording for {name} reads as {language_name(found)}, not "
        f"{language_name(locale)}: fix the job's wording"
    ]


def note_hold(text: str, locale: str, language_of: LanguageOf) -> list[str]:
    """A note in another language than the letter's, as the reason that holds the draft."""
    found = language_of(text)
    if found is None or found == locale:
        return []
    return [
        f"note in {language_name(found)} for {_article(locale)} {language_name(locale)} letter: "
        "translate or drop"
    ]


def line_holds(lines: Iterable[str], locale: str, language_of: LanguageOf) -> list[str]:
    """Holds for text a person edited: every line must be in the letter's language."""
    holds: list[str] = []
    for line in lines:
        found = language_of(line) if line.strip() else None
        if found is not None and found != locale:
            holds.append(
                f"a line in {language_name(found)} for {_article(locale)} "
                f"{language_name(locale)} letter: translate or drop"
            )
    return list(dict.fromkeys(holds))


def language_name(code: str) -> str:
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    import pycountry  # only for a language no letter is written in; its tables load lazily

    found = pycountry.languages.get(alpha_2=code)
    return str(found.name) if found is not None else code


def _article(locale: str) -> str:
    return "an" if language_name(locale)[:1] in "AEIOU" else "a"


def feedback_paragraphs(draft: FeedbackDraft, *, show_scores: bool = False) -> list[str]:
    """The draft as short lines a candidate reads: strengths, then gaps, then the notes the
    interviewers wrote for the candidate. Every line is the job's wording or such a note."""
    lines = [s.wording.strength + _score(s.average, None, show_scores) for s in draft.strengths]
    lines += [
        g.wording.gap + _score(g.average, g.bar, show_scores)
        for g in draft.gaps
        if g.wording and g.wording.gap
    ]
    lines += list(draft.notes_for_candidate)
    return lines


def _score(average: float, bar: int | None, show: bool) -> str:
    if not show:
        return ""
    return f" ({average:.1f} of {MAX_RATING}" + (f", the role needs {bar})" if bar else ")")


def next_steps(draft: FeedbackDraft) -> list[str]:
    """ "What you could do next": the job's next step for each gap that has one."""
    return [g.wording.next_step for g in draft.gaps if g.wording and g.wording.next_step]
