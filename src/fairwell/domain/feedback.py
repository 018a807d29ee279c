"""Interview feedback a candidate can use, drafted from scorecards.

The draft names the one to three competencies furthest below the role's bar, each in
candidate-facing words with a concrete next step from the organisation's improvement library,
and one or two strengths. It never carries an interviewer's internal notes, and shows no
numbers unless the organisation turns them on. A hiring manager approves it before it goes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fairwell.errors import InvalidInput

MIN_RATING, MAX_RATING = 1, 4


@dataclass(frozen=True, slots=True)
class Competency:
    """Something the role needs, and the rating (1-4) that meets the bar."""

    name: str
    bar: int

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
class Advice:
    """The improvement library's entry for one competency, in one language."""

    gap: str
    next_step: str
    strength: str


@dataclass(frozen=True, slots=True)
class Gap:
    competency: str
    average: float
    bar: int
    advice: Advice | None


@dataclass(frozen=True, slots=True)
class Strength:
    competency: str
    average: float
    advice: Advice | None


@dataclass(frozen=True, slots=True)
class FeedbackDraft:
    gaps: tuple[Gap, ...]
    strengths: tuple[Strength, ...]
    notes_for_candidate: tuple[str, ...]

    @property
    def missing_advice(self) -> tuple[str, ...]:
        """Competencies the library has no words for: the hiring manager must write them."""
        names = {gap.competency for gap in self.gaps if gap.advice is None}
        names |= {strength.competency for strength in self.strengths if strength.advice is None}
        return tuple(sorted(names))


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


def draft_interview_feedback(
    competencies: Sequence[Competency],
    ratings: Sequence[Rating],
    library: Mapping[str, Advice],
    *,
    max_gaps: int = 3,
    max_strengths: int = 2,
) -> FeedbackDraft:
    """The competencies furthest below the bar, the strongest above it, and the notes written
    for the candidate. Ties are broken by name, so the same scorecards give the same draft."""
    means = averages(competencies, ratings)
    bars = {competency.name: competency.bar for competency in competencies}
    below = sorted(
        (name for name, mean in means.items() if mean < bars[name]),
        key=lambda name: (means[name] - bars[name], name),
    )
    above = sorted(
        (name for name, mean in means.items() if mean >= bars[name]),
        key=lambda name: (bars[name] - means[name], name),
    )
    return FeedbackDraft(
        gaps=tuple(Gap(n, means[n], bars[n], library.get(n)) for n in below[:max_gaps]),
        strengths=tuple(Strength(n, means[n], library.get(n)) for n in above[:max_strengths]),
        notes_for_candidate=tuple(
            rating.note_for_candidate.strip()
            for rating in ratings
            if rating.note_for_candidate.strip()
        ),
    )


def feedback_paragraphs(draft: FeedbackDraft, *, show_scores: bool = False) -> list[str]:
    """The draft as short lines a candidate reads: strengths, then gaps, then the notes the
    interviewers wrote for the candidate. The words come from the library in the candidate's
    language."""
    lines = [_strength_line(s, show_scores) for s in draft.strengths if s.advice]
    lines += [_gap_line(g, show_scores) for g in draft.gaps if g.advice]
    lines += list(draft.notes_for_candidate)
    return lines


def _score(average: float, bar: int | None, show: bool) -> str:
    if not show:
        return ""
    return f" ({average:.1f} of {MAX_RATING}" + (f", the role needs {bar})" if bar else ")")


def _strength_line(strength: Strength, show_scores: bool) -> str:
    assert strength.advice is not None
    return strength.advice.strength + _score(strength.average, None, show_scores)


def _gap_line(gap: Gap, show_scores: bool) -> str:
    assert gap.advice is not None
    return f"{gap.advice.gap}{_score(gap.average, gap.bar, show_scores)}"


def next_steps(draft: FeedbackDraft) -> list[str]:
    """ "What you could do next": one concrete step per gap, from the improvement library."""
    return [gap.advice.next_step for gap in draft.gaps if gap.advice]
