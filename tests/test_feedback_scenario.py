"""A job outside the built-in library, end to end, every letter read back from the SMTP sink.

"Data Engineer" needs Spark, Data modelling and Airflow (interviews) and Data engineering
experience (screening). The hiring team writes wording for all but Airflow, in English and
German. Two interviewers write the same note for one candidate; one writes an English note for
a German candidate; screened candidates without scorecards are rejected too. What the sink
receives must show: each feedback line traces to wording or a note someone wrote, no figure
nobody wrote, no line twice, no English line in a German letter, every below-bar competency
named, nobody without scorecards given feedback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.feedback import CompetencyKind, Wording
from fairwell.ports import RubricRow
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services import feedback as service
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.language import identify_language
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.scorecard_file import ScorecardRow
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv

JOB = "Data Engineer"
INTERVIEWED = {"stage": "onsite", "last_interview_at": "2026-11-20T10:00:00+00:00"}
GERMAN = {"locale": "de", "country": "DE", "timezone": "Europe/Berlin"}
REQUIREMENT = "Data engineering experience"
WORDING = {
    "en": {
        "Spark": Wording(
            "Your Spark job answered the question, but it shuffled all the data twice.",
            "Rewrite one of your Spark jobs so that it partitions by the join key first.",
            "Your Spark jobs were efficient and well partitioned.",
        ),
        "Data modelling": Wording(
            "Your model did not yet separate facts from dimensions.",
            "Model a public data set as a star schema and explain each table.",
            "Your data model was clear and easy to extend.",
        ),
        REQUIREMENT: Wording(
            "The role asks for production data pipelines; your application described analysis "
            "work only.",
            "If you apply again, describe a pipeline you ran in production and what it fed.",
            "Your application showed pipelines you ran in production.",
        ),
    },
    "de": {
        "Spark": Wording(
            "Ihr Spark-Job beantwortete die Frage, verteilte die Daten aber zweimal neu.",
            "Schreiben Sie einen Ihrer Spark-Jobs so um, dass er zuerst nach dem Join-Schlüssel "
            "partitioniert.",
            "Ihre Spark-Jobs waren effizient und gut partitioniert.",
        ),
        "Data modelling": Wording(
            "Ihr Modell trennte Fakten und Dimensionen noch nicht.",
            "Modellieren Sie einen öffentlichen Datensatz als Sternschema und erklären Sie jede "
            "Tabelle.",
            "Ihr Datenmodell war klar und leicht erweiterbar.",
        ),
        REQUIREMENT: Wording(
            "Die Stelle verlangt Datenpipelines im Produktivbetrieb; Ihre Bewerbung beschrieb "
            "nur Analysearbeit.",
            "Wenn Sie sich erneut bewerben, beschreiben Sie eine Pipeline im Produktivbetrieb.",
            "Ihre Bewerbung zeigte Pipelines im Produktivbetrieb.",
        ),
    },
}
AIRFLOW = Wording(
    "Your DAG retried failed tasks but did not make them safe to run twice.",
    "Make one of your Airflow tasks idempotent and test it by running it twice.",
    "Your Airflow DAGs were robust and idempotent.",
)
SAME_NOTE = "Read the Spark guide on partitioning before your next interview."
ENGLISH_NOTE = "Practise Spark joins on a larger data set before the next interview."
BARS = {"Spark": 3, "Data modelling": 3, "Airflow": 3, REQUIREMENT: 3}


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


def rating(
    email: str, competency: str, score: int, who: str = "Kim", note: str = ""
) -> ScorecardRow:
    return ScorecardRow(2, email, JOB, who, competency, score, "INTERNAL: hesitant", note)


SCORECARDS = [
    # Two interviewers wrote the same note for Ann (case and spaces aside).
    rating("ann@example.com", "Spark", 2, "Kim", SAME_NOTE),
    rating(
        "ann@example.com",
        "Spark",
        2,
        "Lou",
        "  read the SPARK guide on partitioning before your next interview. ",
    ),
    rating("ann@example.com", "Data modelling", 4),
    # Ben is below the bar on Airflow, which has no wording yet, and nobody wrote him a note.
    rating("ben@example.com", "Airflow", 1),
    rating("ben@example.com", "Spark", 4),
    # Greta reads German; her interviewer wrote her a note in English.
    rating("greta@example.com", "Spark", 2, "Kim", ENGLISH_NOTE),
    rating("greta@example.com", "Data modelling", 2),
    # Hans reads German and was rejected by name, with a reason the recruiter chose.
    rating("hans@example.com", "Data modelling", 1),
    rating("hans@example.com", "Spark", 4),
    # Sam was screened: only the requirement counts, even with a stray interview rating.
    rating("sam@example.com", REQUIREMENT, 1, "Screener"),
    rating("sam@example.com", "Spark", 1, "Screener"),
]


def set_up(runtime: Runtime, tmp_path: Path) -> None:
    now = runtime.clock.now()
    rows = [
        applicant("ann@example.com", "Ann", "Alder", job=JOB, **INTERVIEWED),
        applicant("ben@example.com", "Ben", "Birch", job=JOB, **INTERVIEWED),
        applicant("greta@example.com", "Greta", "Gruber", job=JOB, **INTERVIEWED, **GERMAN),
        applicant("hans@example.com", "Hans", "Huber", job=JOB, **INTERVIEWED, **GERMAN),
        applicant("sam@example.com", "Sam", "Sorrel", job=JOB, stage="screen"),
        applicant("sue@example.com", "Sue", "Spruce", job=JOB, stage="screen"),
        applicant("sepp@example.com", "Sepp", "Stein", job=JOB, stage="screen", **GERMAN),
    ]
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=now)
    rubric = [
        RubricRow(0, JOB, "Airflow", 3),
        RubricRow(0, JOB, REQUIREMENT, 3, CompetencyKind.REQUIREMENT),
        *(
            RubricRow(0, JOB, name, BARS[name], None, locale, wording)
            for locale, entries in WORDING.items()
            for name, wording in entries.items()
        ),
    ]
    runtime.feedback_store.save_rubric(rubric, "hm", now)
    runtime.feedback_store.save_scorecards(SCORECARDS, "t", now)
    everyone_but_hans = Selection(
        emails=tuple(r["email"] for r in rows if r["email"] != "hans@example.com"),
        one_by_one=False,
    )
    reject(runtime.store, JOB, everyone_but_hans, "position-filled", note=None, actor="t", now=now)
    hans = Selection(emails=("hans@example.com",))
    reject(runtime.store, JOB, hans, "position-filled", note=None, actor="t", now=now)


def draft(runtime: Runtime) -> service.DraftReport:
    check = wording_check(runtime.settings)
    return service.draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        actor="t",
        now=runtime.clock.now(),
    )


def letters(sink: MailSink) -> dict[str, str]:
    found = {}
    for message in read_sink(sink.directory):
        part = message_from_bytes(message.data).get_payload()[0]
        text = part.get_payload(decode=True).decode("utf-8")
        found[message.rcpt_tos[0]] = text.replace("\r\n", "\n")
    return found


FEEDBACK_HEADINGS = (
    "What we saw in your interviews:",
    "What we saw in your application:",
    "Was wir in Ihren Gesprächen gesehen haben:",
    "Was wir in Ihrer Bewerbung gesehen haben:",
)
STEP_HEADINGS = ("What you could do next:", "Was Sie als Nächstes tun könnten:")


def bullets(letter: str, headings: tuple[str, ...]) -> list[str]:
    """The "- " lines under one of the headings, up to the next blank line after them."""
    for heading in headings:
        if heading in letter:
            block = letter.split(heading, 1)[1].lstrip("\n").split("\n\n", 1)[0]
            return [line[2:] for line in block.splitlines() if line.startswith("- ")]
    return []


def test_every_delivered_letter_says_only_what_someone_wrote(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    set_up(runtime, tmp_path)
    report = draft(runtime)
    assert report.plain == 2, "Sue and Sepp have no scorecards"
    assert report.duplicate_notes == 1
    assert report.held_for_wording == 1 and dict(report.missing_wording) == {"Airflow": 1}
    assert report.held_for_language == 1

    plan = make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now())
    skipped = plan.skipped_counts()
    assert skipped["needs wording for Airflow"] == 1
    assert skipped["note in English for a German letter: translate or drop"] == 1
    assert (plan.held_for_wording, plan.held_for_language) == (1, 1)

    check = wording_check(runtime.settings)
    refused = service.approve(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        actor="hm",
        now=runtime.clock.now(),
    )
    assert {i.view.person.email for i in refused.held} == {"ben@example.com", "greta@example.com"}

    # The team writes Airflow's wording; Ben's draft is made again and can be approved.
    runtime.feedback_store.save_rubric(
        [RubricRow(0, JOB, "Airflow", 3, None, "en", AIRFLOW)], "hm", runtime.clock.now()
    )
    assert draft(runtime).redrafted == 1
    # The hiring manager drops Greta's English note ("translate or drop").
    greta = next(
        i
        for i in service.review_items(
            runtime.store, runtime.feedback_store, check, runtime.store.job_by_title(JOB).id
        )
        if i.view.person.email == "greta@example.com"
    )
    assert greta.view.feedback is not None
    kept = [line for line in greta.view.feedback.text.splitlines() if line != ENGLISH_NOTE]
    service.edit(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        "greta@example.com",
        "\n".join(kept),
        actor="hm",
        now=runtime.clock.now(),
    )
    approved = service.approve(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        actor="hm",
        now=runtime.clock.now(),
    )
    assert refused.approved == 3, "Ann, Hans and Sam went through the first time"
    assert approved.approved == 2 and not approved.held and not approved.need_override

    plan = make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now())
    assert [c.email for c in plan.reason_contradicts] == ["hans@example.com"]
    assert (plan.ready, plan.with_feedback) == (7, 5)
    batch = queue_plan(
        runtime.store, runtime.composer, JOB, actor="t", now=runtime.clock.now(), expected=7
    )
    run_batch(make_deliverer(runtime), batch.batch_id)

    received = letters(sink)
    assert len(received) == 7
    written = {
        locale: {
            text
            for wording in [*entries.values(), *([AIRFLOW] if locale == "en" else [])]
            for text in wording.parts().values()
        }
        for locale, entries in WORDING.items()
    }
    notes = {" ".join(card.note_for_candidate.split()) for card in SCORECARDS}
    german = {"greta@example.com", "hans@example.com", "sepp@example.com"}
    for email, letter in received.items():
        locale = "de" if email in german else "en"
        lines = bullets(letter, FEEDBACK_HEADINGS)
        steps = bullets(letter, STEP_HEADINGS)
        for line in [*lines, *steps]:
            assert line in written[locale] or line in notes, f"{email}: nobody wrote {line!r}"
            for figure in re.findall(r"\d+", line):
                assert any(figure in source for source in written[locale] | notes)
        assert len({line.casefold() for line in lines}) == len(lines), f"{email}: a line twice"
        if locale == "de":
            assert all(identify_language(line) != "en" for line in [*lines, *steps]), email
        assert "INTERNAL" not in letter

    ann, ben = received["ann@example.com"], received["ben@example.com"]
    assert ann.count("Read the Spark guide on partitioning") == 1, "the same note once"
    assert WORDING["en"]["Spark"].gap in ann and WORDING["en"]["Data modelling"].strength in ann
    assert AIRFLOW.gap in ben, "Airflow is named once its wording exists"
    greta_letter = received["greta@example.com"]
    assert WORDING["de"]["Spark"].gap in greta_letter
    assert WORDING["de"]["Data modelling"].gap in greta_letter
    assert ENGLISH_NOTE not in greta_letter
    sam = received["sam@example.com"]
    assert "What we saw in your application:" in sam
    assert bullets(sam, FEEDBACK_HEADINGS) == [WORDING["en"][REQUIREMENT].gap]
    assert WORDING["en"]["Spark"].gap not in sam, "a screener's Spark rating is not evidence"
    for nobody in ("sue@example.com", "sepp@example.com"):
        assert not bullets(received[nobody], FEEDBACK_HEADINGS), "no scorecards, no feedback"

    # The reason agrees with the feedback, unless the recruiter chose it for the person.
    assert "did not match the specific requirements" in ann
    assert "did not show some of the requirements listed" in sam
    assert "offered the position to another candidate" in received["sue@example.com"]
    assert "an eine andere Person vergeben" in received["hans@example.com"]
