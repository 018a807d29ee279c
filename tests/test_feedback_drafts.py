"""Feedback drafted from scorecards in the job's own words: every line traces to what someone
wrote, no below-bar competency is dropped silently, notes once and in the letter's language."""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairwell.domain.feedback import (
    Basis,
    Competency,
    CompetencyKind,
    Rating,
    Wording,
    feedback_paragraphs,
    line_holds,
    next_steps,
    note_hold,
)
from fairwell.domain.feedback import draft_feedback as _draft_feedback
from fairwell.errors import InvalidInput
from fairwell.services.language import identify_language

# Drafts as the service makes them: with the real language identifier.
draft_feedback = partial(_draft_feedback, language_of=identify_language)

REQUIREMENT = CompetencyKind.REQUIREMENT
JOB = [
    Competency("Spark", 3),
    Competency("Data modelling", 3),
    Competency("SQL", 3),
    Competency("Python", 2),
    Competency("Airflow", 3),
    Competency("Data engineering experience", 3, REQUIREMENT),
]
WORDING = {
    c.name: Wording(
        gap=f"{c.name} was below what the role needs.",
        next_step=f"Next step for {c.name}.",
        strength=f"Your {c.name} stood out.",
    )
    for c in JOB
}


def ratings(**scores: int) -> list[Rating]:
    names = {
        "spark": "Spark",
        "modelling": "Data modelling",
        "sql": "SQL",
        "python": "Python",
        "airflow": "Airflow",
        "experience": "Data engineering experience",
    }
    return [Rating("Interviewer A", names[key], score) for key, score in scores.items()]


def test_it_names_at_most_three_gaps_furthest_below_the_bar_first() -> None:
    found = draft_feedback(
        JOB,
        ratings(spark=1, modelling=2, sql=2, python=2, airflow=4),
        WORDING,
        basis=Basis.SKILLS,
        locale="en",
    )
    assert [gap.competency for gap in found.gaps] == ["Spark", "Data modelling", "SQL"]
    assert [strength.competency for strength in found.strengths] == ["Airflow", "Python"]


def test_every_line_is_the_jobs_wording_or_a_note_someone_wrote() -> None:
    scorecards = [*ratings(spark=1, airflow=4), Rating("B", "SQL", 2, "", "Practise joins.")]
    found = draft_feedback(JOB, scorecards, WORDING, basis=Basis.SKILLS, locale="en")
    written = {text for w in WORDING.values() for text in w.parts().values()}
    assert set(feedback_paragraphs(found)) <= written | {"Practise joins."}
    assert next_steps(found) == ["Next step for Spark.", "Next step for SQL."]


def test_a_below_bar_competency_without_wording_or_a_note_holds_the_draft() -> None:
    wording = {name: w for name, w in WORDING.items() if name != "Spark"}
    found = draft_feedback(JOB, ratings(spark=1, sql=2), wording, basis=Basis.SKILLS, locale="en")
    assert found.holds == ("needs wording for Spark",)
    assert found.missing_wording == ("Spark",)
    assert "Spark" not in " ".join(feedback_paragraphs(found)), "no invented words for it"


def test_wording_in_another_language_does_not_count_for_the_candidate() -> None:
    """German wording exists for Spark; an English candidate still needs English words."""
    found = draft_feedback(JOB, ratings(spark=1), {}, basis=Basis.SKILLS, locale="en")
    assert found.holds == ("needs wording for Spark",)


def test_a_note_for_the_candidate_names_a_gap_that_has_no_wording() -> None:
    note = Rating("B", "Spark", 1, "", "Read up on how Spark partitions its data.")
    found = draft_feedback(JOB, [note], {}, basis=Basis.SKILLS, locale="en")
    assert found.holds == ()
    assert feedback_paragraphs(found) == ["Read up on how Spark partitions its data."]


def test_a_strength_without_wording_is_left_out_not_invented() -> None:
    wording = {"SQL": WORDING["SQL"]}
    found = draft_feedback(JOB, ratings(spark=4, sql=4), wording, basis=Basis.SKILLS, locale="en")
    assert [s.competency for s in found.strengths] == ["SQL"]
    assert found.holds == ()


def test_after_screening_only_the_requirements_count() -> None:
    scorecards = ratings(spark=1, experience=1)
    screened = draft_feedback(JOB, scorecards, WORDING, basis=Basis.REQUIREMENTS, locale="en")
    assert [g.competency for g in screened.gaps] == ["Data engineering experience"]
    interviewed = draft_feedback(JOB, scorecards, WORDING, basis=Basis.SKILLS, locale="en")
    assert [g.competency for g in interviewed.gaps] == ["Spark"]


def test_the_same_note_from_two_interviewers_is_kept_once() -> None:
    scorecards = [
        Rating("A", "SQL", 2, "", "Practise window functions."),
        Rating("B", "SQL", 2, "", "  practise   WINDOW functions. "),
        Rating("B", "Spark", 2, "", "Try a streaming job."),
    ]
    found = draft_feedback(JOB, scorecards, WORDING, basis=Basis.SKILLS, locale="en")
    assert found.notes_for_candidate == ("Practise window functions.", "Try a streaming job.")
    assert found.duplicate_notes == 1


def test_an_english_note_for_a_german_letter_holds_the_draft() -> None:
    german = {n: Wording(f"{n} lag unter dem Niveau.", "Üben Sie mehr.", "") for n in WORDING}
    note = Rating("A", "SQL", 2, "", "Practise joins across several tables before next time.")
    found = draft_feedback(JOB, [note], german, basis=Basis.SKILLS, locale="de")
    assert found.holds == ("note in English for a German letter: translate or drop",)
    assert found.held_notes == 1


def test_wording_written_in_the_wrong_language_holds_the_draft() -> None:
    english_in_german = {"SQL": WORDING["SQL"]}
    found = draft_feedback(JOB, ratings(sql=1), english_in_german, basis=Basis.SKILLS, locale="de")
    assert "the gap wording for SQL reads as English, not German: fix the job's wording" in (
        found.holds
    )


def test_an_edited_line_in_another_language_holds_the_draft() -> None:
    lines = ["Ihre Abfragen waren korrekt.", "Your charts were hard to read at a glance."]
    assert line_holds(lines, "de", identify_language) == [
        "a line in English for a German letter: translate or drop"
    ]
    assert line_holds(["SQL", "Ihre Abfragen waren korrekt."], "de", identify_language) == []


def test_a_note_in_a_third_language_holds_the_draft_and_names_that_language() -> None:
    assert note_hold("Bonne chance pour la suite de votre recherche.", "en", identify_language) == [
        "note in French for an English letter: translate or drop"
    ]
    assert line_holds(
        ["La presentazione era chiara ma troppo lunga."], "de", identify_language
    ) == ["a line in Italian for a German letter: translate or drop"]


@pytest.mark.parametrize(
    "note",
    [
        "Practise joins.",
        "OK overall, nice energy.",
        "React, TypeScript, GraphQL fine; CSS weak.",
        "Team fit unclear, communication ok.",
        "Dana Lee liked the demo.",
        "Solid fundamentals; follow up on caching.",
    ],
)
def test_short_english_notes_are_never_taken_for_a_third_language(note: str) -> None:
    assert identify_language(note) in ("en", None)
    assert note_hold(note, "en", identify_language) == []


def test_it_shows_scores_only_when_the_organisation_turns_them_on() -> None:
    found = draft_feedback(JOB, ratings(sql=1), WORDING, basis=Basis.SKILLS, locale="en")
    assert not any(char.isdigit() for char in " ".join(feedback_paragraphs(found)))
    assert "1.0 of 4, the role needs 3" in " ".join(feedback_paragraphs(found, show_scores=True))


def test_a_rating_out_of_range_or_for_an_unknown_competency_is_refused() -> None:
    with pytest.raises(InvalidInput, match="from 1 to 4"):
        Rating("A", "SQL", 5)
    with pytest.raises(InvalidInput, match="not a competency"):
        draft_feedback(JOB, [Rating("A", "Juggling", 2)], WORDING, basis=Basis.SKILLS, locale="en")


@given(
    st.lists(
        st.tuples(
            st.sampled_from([c.name for c in JOB]),
            st.integers(1, 4),
            st.text(min_size=1, max_size=40),
            st.sampled_from(["", "Practise joins.", "practise  joins.", "Try dbt."]),
        ),
        max_size=30,
    ),
    st.sets(st.sampled_from([c.name for c in JOB])),
    st.sampled_from(list(Basis)),
)
def test_no_line_is_invented_repeated_or_dropped_silently(
    rows: list[tuple[str, int, str, str]], worded: set[str], basis: Basis
) -> None:
    marker = "INTERNAL-ONLY"
    scorecards = [
        Rating("A", name, score, f"{marker} {note}", for_candidate)
        for name, score, note, for_candidate in rows
    ]
    wording = {name: WORDING[name] for name in worded}
    found = draft_feedback(JOB, scorecards, wording, basis=basis, locale="en")
    lines = feedback_paragraphs(found, show_scores=False)
    written = {text for w in wording.values() for text in w.parts().values()}
    notes = {" ".join(r.note_for_candidate.split()) for r in scorecards}
    assert marker not in " ".join(lines)
    assert set(lines) <= written | notes, "every line traces to wording or a note"
    assert len({line.casefold() for line in lines}) == len(lines), "no line twice"
    kinds = {c.name: c.kind for c in JOB}
    assert all(kinds[g.competency] is basis.evidence for g in found.gaps)
    for gap in found.gaps:
        named = gap.wording is not None and gap.wording.gap in lines
        assert named or gap.noted or f"needs wording for {gap.competency}" in found.holds


def test_a_note_in_another_language_does_not_stand_in_for_missing_wording() -> None:
    note = Rating("A", "SQL", 1, "", "Practise joins across several tables before next time.")
    found = draft_feedback(JOB, [note], {}, basis=Basis.SKILLS, locale="de")
    assert found.holds == (
        "needs wording for SQL",
        "note in English for a German letter: translate or drop",
    )
