"""Feedback drafted from scorecards: the gaps that matter, some strengths, never internal notes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairwell.domain.feedback import (
    Advice,
    Competency,
    Rating,
    draft_interview_feedback,
    feedback_paragraphs,
    next_steps,
)
from fairwell.errors import InvalidInput

JOB = [
    Competency("Product sense", 3),
    Competency("SQL", 3),
    Competency("Stakeholder communication", 3),
    Competency("Roadmapping", 2),
    Competency("Experimentation", 3),
]
LIBRARY = {
    c.name: Advice(
        gap=f"{c.name} was below what the role needs.",
        next_step=f"Next step for {c.name}.",
        strength=f"Your {c.name} stood out.",
    )
    for c in JOB
}


def ratings(**scores: int) -> list[Rating]:
    names = {
        "product": "Product sense",
        "sql": "SQL",
        "stakeholders": "Stakeholder communication",
        "roadmap": "Roadmapping",
        "experiments": "Experimentation",
    }
    return [Rating("Interviewer A", names[key], score) for key, score in scores.items()]


def test_it_names_at_most_three_gaps_furthest_below_the_bar_first() -> None:
    draft = draft_interview_feedback(
        JOB, ratings(product=1, sql=2, stakeholders=2, roadmap=2, experiments=4), LIBRARY
    )
    assert [gap.competency for gap in draft.gaps] == [
        "Product sense",
        "SQL",
        "Stakeholder communication",
    ]
    assert [strength.competency for strength in draft.strengths] == [
        "Experimentation",
        "Roadmapping",
    ]


def test_it_never_carries_internal_notes() -> None:
    secret = "seemed nervous, probably not a culture fit"
    scorecards = [Rating("B", "SQL", 1, internal_note=secret, note_for_candidate="Practise joins.")]
    text = " ".join(feedback_paragraphs(draft_interview_feedback(JOB, scorecards, LIBRARY)))
    assert secret not in text
    assert "Practise joins." in text


def test_it_shows_scores_only_when_the_organisation_turns_them_on() -> None:
    draft = draft_interview_feedback(JOB, ratings(sql=1), LIBRARY)
    assert not any(char.isdigit() for char in " ".join(feedback_paragraphs(draft)))
    assert "1.0 of 4, the role needs 3" in " ".join(feedback_paragraphs(draft, show_scores=True))


def test_each_gap_comes_with_a_next_step() -> None:
    draft = draft_interview_feedback(JOB, ratings(sql=1, product=2), LIBRARY)
    assert next_steps(draft) == ["Next step for SQL.", "Next step for Product sense."]


def test_a_competency_without_library_words_is_reported_for_the_hiring_manager() -> None:
    draft = draft_interview_feedback(JOB, ratings(sql=1), {})
    assert draft.missing_advice == ("SQL",)
    assert feedback_paragraphs(draft) == []


def test_a_rating_out_of_range_or_for_an_unknown_competency_is_refused() -> None:
    with pytest.raises(InvalidInput, match="from 1 to 4"):
        Rating("A", "SQL", 5)
    with pytest.raises(InvalidInput, match="not a competency"):
        draft_interview_feedback(JOB, [Rating("A", "Juggling", 2)], LIBRARY)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([c.name for c in JOB]),
            st.integers(1, 4),
            st.text(min_size=1, max_size=40),
        ),
        max_size=30,
    )
)
def test_no_internal_note_ever_reaches_the_candidate(rows: list[tuple[str, int, str]]) -> None:
    marker = "INTERNAL-ONLY"
    scorecards = [
        Rating("A", name, score, internal_note=f"{marker} {note}") for name, score, note in rows
    ]
    draft = draft_interview_feedback(JOB, scorecards, LIBRARY)
    assert marker not in " ".join(feedback_paragraphs(draft, show_scores=True))
    assert len(draft.gaps) <= 3 and len(draft.strengths) <= 2
