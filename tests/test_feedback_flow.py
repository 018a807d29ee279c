"""Feedback end to end: scorecards in, drafts reviewed, only approved words reach the letter."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.feedback import CompetencyKind, Wording
from fairwell.domain.mimeread import read_letter
from fairwell.errors import InvalidInput
from fairwell.ports import RubricRow
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services import feedback as service
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.scorecard_file import ScorecardRow
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people

JOB = "Data Analyst"
# The job's own wording, as its hiring team would write it (`fairwell competency add --lang`).
WORDING = {
    "SQL": Wording(
        "The SQL exercise needed joins and aggregations beyond what you completed in the time.",
        "Work through exercises that combine joins with GROUP BY on a public data set.",
        "Your SQL was accurate and easy to follow.",
    ),
    "Product sense": Wording(
        "Your answers on product decisions did not yet use customer evidence.",
        "Write a one-page case for a product you use: the problem, two options, a decision.",
        "You showed a clear understanding of the customer problems behind the product.",
    ),
}


def write_wording(runtime: Runtime, job: str = JOB, kind: CompetencyKind | None = None) -> None:
    rows = [RubricRow(0, job, name, 3, kind, "en", wording) for name, wording in WORDING.items()]
    runtime.feedback_store.save_rubric(rows, "hm", runtime.clock.now())


def add_requirement(runtime: Runtime, name: str, wording: Wording) -> None:
    """A requirement of the job (bar 3), checked by a screener, with its English wording."""
    row = RubricRow(0, JOB, name, 3, CompetencyKind.REQUIREMENT, "en", wording)
    runtime.feedback_store.save_rubric([row], "hm", runtime.clock.now())


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


def card(email: str, competency: str, rating: int, **notes: str) -> ScorecardRow:
    return ScorecardRow(
        row=2,
        email=email,
        job=JOB,
        interviewer="Interviewer 1",
        competency=competency,
        rating=rating,
        internal_note=notes.get("internal", "INTERNAL NOTE: tense answer"),
        note_for_candidate=notes.get("for_candidate", ""),
    )


def interviewed(
    runtime: Runtime, tmp_path: Path, cards: list[ScorecardRow], count: int = 3
) -> None:
    now = runtime.clock.now()
    rows = people(count, stage="onsite", last_interview_at="2026-11-20T10:00:00+00:00")
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now)
    write_wording(runtime)
    runtime.feedback_store.save_scorecards(cards, "t", now)


def draft(runtime: Runtime) -> service.DraftReport:
    return service.draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        wording_check(runtime.settings),
        runtime.store.job_by_title(JOB).id,
        actor="t",
        now=runtime.clock.now(),
    )


def approve(runtime: Runtime, **kwargs: object) -> service.ApproveReport:
    return service.approve(
        runtime.store,
        runtime.feedback_store,
        wording_check(runtime.settings),
        runtime.store.job_by_title(JOB).id,
        actor="hm",
        now=runtime.clock.now(),
        **kwargs,  # type: ignore[arg-type]
    )


def send_all(runtime: Runtime) -> None:
    now = runtime.clock.now()
    batch = queue_plan(runtime.store, runtime.composer, JOB, actor="t", now=now)
    run_batch(make_deliverer(runtime), batch.batch_id)


def text_to(sink: MailSink, address: str) -> str:
    for message in read_sink(sink.directory):
        if message.rcpt_tos == [address]:
            part = message_from_bytes(message.data).get_payload()[0]
            return str(part.get_payload(decode=True).decode("utf-8"))
    raise AssertionError(f"nothing was sent to {address}")


def test_unapproved_feedback_holds_the_letter_back_and_approval_releases_it(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    interviewed(runtime, tmp_path, [card("p0@example.com", "SQL", 1)])
    assert draft(runtime).drafted == 1

    plan = make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now())
    assert plan.skipped_counts()["feedback waiting for approval"] == 1
    assert (plan.ready, plan.with_feedback) == (2, 0)
    send_all(runtime)
    assert "What we saw" not in text_to(sink, "p1@example.com")

    assert approve(runtime).approved == 1
    plan = make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now())
    assert (plan.ready, plan.with_feedback) == (1, 1)
    send_all(runtime)
    letter = text_to(sink, "p0@example.com")
    assert "The SQL exercise needed joins" in letter
    assert "INTERNAL NOTE" not in letter


def test_a_note_that_touches_family_plans_cannot_be_approved_without_an_override(
    runtime: Runtime, tmp_path: Path
) -> None:
    family = "She is probably planning a family soon."
    interviewed(runtime, tmp_path, [card("p0@example.com", "SQL", 1, for_candidate=family)])
    assert draft(runtime).flagged == 1
    report = approve(runtime)
    assert report.approved == 0 and len(report.need_override) == 1
    with pytest.raises(InvalidInput, match="justification"):
        approve(runtime, override="ok")
    assert approve(runtime, override="Legal reviewed: the candidate raised it herself.").approved


def test_an_edit_goes_back_to_draft_and_a_placeholder_is_refused(
    runtime: Runtime, tmp_path: Path
) -> None:
    interviewed(runtime, tmp_path, [card("p0@example.com", "SQL", 1)])
    draft(runtime)
    approve(runtime)
    check = wording_check(runtime.settings)
    args = (
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        "p0@example.com",
    )
    with pytest.raises(InvalidInput, match="placeholder"):
        service.edit(*args, "Dear {first_name}, your SQL", actor="hm", now=runtime.clock.now())
    with pytest.raises(InvalidInput, match="empty"):
        service.edit(*args, "   ", actor="hm", now=runtime.clock.now())
    service.edit(*args, "Your SQL joins need practice.", actor="hm", now=runtime.clock.now())
    items = service.review_items(
        runtime.store, runtime.feedback_store, check, runtime.store.job_by_title(JOB).id
    )
    assert [
        (i.view.feedback.state.value, i.view.feedback.text) for i in items if i.view.feedback
    ] == [("draft", "Your SQL joins need practice.")]


def test_a_downgraded_candidate_gets_a_plain_letter(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    interviewed(runtime, tmp_path, [card("p0@example.com", "SQL", 1)], count=1)
    draft(runtime)
    check = wording_check(runtime.settings)
    service.downgrade(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        "p0@example.com",
        actor="hm",
        now=runtime.clock.now(),
    )
    send_all(runtime)
    assert "What we saw" not in text_to(sink, "p0@example.com")


def test_a_note_for_the_candidate_naming_another_candidate_is_held_by_the_guard(
    runtime: Runtime, tmp_path: Path
) -> None:
    leak = "Pat Doe1 did better on this exercise."
    interviewed(runtime, tmp_path, [card("p0@example.com", "SQL", 1, for_candidate=leak)])
    draft(runtime)
    approve(runtime)
    plan = make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now())
    assert [b.email for b in plan.blocked] == ["p0@example.com"]
    assert {f.rule for f in plan.blocked[0].findings} == {"no-other-candidate"}


def test_scorecards_for_an_unknown_person_or_competency_are_refused_whole(
    runtime: Runtime, tmp_path: Path
) -> None:
    interviewed(runtime, tmp_path, [])
    with pytest.raises(InvalidInput, match="row 2: no such applicant"):
        runtime.feedback_store.save_scorecards(
            [card("nobody@example.com", "SQL", 2)], "t", runtime.clock.now()
        )
    with pytest.raises(InvalidInput, match="not a competency"):
        runtime.feedback_store.save_scorecards(
            [card("p0@example.com", "SQL", 2), card("p1@example.com", "Juggling", 2)],
            "t",
            runtime.clock.now(),
        )
    assert runtime.feedback_store.ratings([1, 2, 3]) == {}


NOTES = ["Practise joins.", "Quantify your impact.", "", ""]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_letter_ever_carries_unapproved_feedback_or_an_internal_note(
    data: st.DataObject, sink: MailSink
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        settings = settings_for(f"sqlite:///{folder / 'p.db'}", sink.port)
        init_database(settings)
        runtime = open_runtime(settings)
        cards = [
            card(
                f"p{i}@example.com",
                competency,
                data.draw(st.integers(1, 4)),
                internal=f"INTERNAL-{i}-{competency}",
                for_candidate=data.draw(st.sampled_from(NOTES)),
            )
            for i in range(4)
            for competency in ("SQL", "Product sense")
        ]
        interviewed(runtime, folder, cards, count=4)
        draft(runtime)
        check = wording_check(settings)
        choices = {
            f"p{i}@example.com": data.draw(st.sampled_from(["approve", "plain", "leave"]))
            for i in range(4)
        }
        for email, choice in choices.items():
            if choice == "approve":
                approve(runtime, emails=[email])
            elif choice == "plain":
                service.downgrade(
                    runtime.store,
                    runtime.feedback_store,
                    check,
                    runtime.store.job_by_title(JOB).id,
                    email,
                    actor="hm",
                    now=runtime.clock.now(),
                )
        job = runtime.store.job_by_title(JOB)
        roster = runtime.rosters.current()
        for view in runtime.store.applicants(job.id):
            letter = runtime.composer.compose(view, job, roster, runtime.clock.now())
            text = " ".join(body for _, body in read_letter(letter.body).parts)
            assert "INTERNAL-" not in text
            carries = "What we saw" in text
            assert carries == (
                choices[view.person.email] == "approve"
                and view.feedback is not None
                and bool(view.feedback.text)
            )
        runtime.close()


def test_feedback_is_worded_for_the_stage_the_candidate_reached(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    now = runtime.clock.now()
    rows = [
        *people(1, stage="onsite", last_interview_at="2026-11-20T10:00:00+00:00"),
        applicant("screened@example.com", "Sam", "Screen", stage="screen"),
        applicant(
            "referred@example.com",
            "Rae",
            "Ferred",
            stage="applied",
            source="referred",
            applied_at="",
        ),
    ]
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now)
    write_wording(runtime)
    experience = Wording(
        "The role asks for three years of product management; your application showed one.",
        "If you apply again, describe the products you owned end to end.",
        "Your application showed substantial product management experience.",
    )
    add_requirement(runtime, "Product management experience", experience)
    runtime.feedback_store.save_scorecards(
        [
            card("p0@example.com", "SQL", 1),
            card("screened@example.com", "Product management experience", 1),
            card("referred@example.com", "Product management experience", 1),
        ],
        "t",
        now,
    )
    draft(runtime)
    approve(runtime)
    send_all(runtime)
    assert "What we saw in your interviews" in text_to(sink, "p0@example.com")
    screened = text_to(sink, "screened@example.com")
    assert "What we saw in your application" in screened
    assert "three years of product management; your application showed one" in screened
    referred = text_to(sink, "referred@example.com")
    assert "What we saw" not in referred, "someone who never applied was never assessed"


def test_scorecards_of_the_kind_a_stage_does_not_count_are_named_not_dropped_quietly(
    runtime: Runtime, tmp_path: Path
) -> None:
    # A new job's team added its one criterion as a requirement and had the interviewers rate
    # it: after interviews only competencies count, and the report must say so and how to fix it.
    now = runtime.clock.now()
    rows = [
        *people(2, stage="onsite", last_interview_at="2026-11-20T10:00:00+00:00"),
        applicant("screened@example.com", "Sam", "Screen", stage="screen"),
    ]
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now)
    write_wording(runtime)  # SQL and Product sense: competencies
    licence = Wording("The role needs a forklift licence.", "A forklift course.", "")
    add_requirement(runtime, "Forklift licence", licence)
    runtime.feedback_store.save_scorecards(
        [
            card("p0@example.com", "Forklift licence", 1),
            card("p1@example.com", "Forklift licence", 2),
            card("screened@example.com", "SQL", 1),
        ],
        "t",
        now,
    )

    report = draft(runtime)

    assert (report.drafted, report.no_evidence) == (0, 3)
    notes = service.other_kind_notes(report.other_kind_only)
    assert len(notes) == 2
    assert notes[0].startswith("2 interviewed candidate(s) rated only on requirements")
    assert "--kind competency" in notes[0]
    assert notes[1].startswith("1 candidate(s) not interviewed rated only on competencies")
    assert "--kind requirement" in notes[1]
