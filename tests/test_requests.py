"""A candidate asks "why?": the request is tracked, and the answer is a guarded letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.errors import InvalidInput
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime, wording_check
from fairwell.services import requests as service
from fairwell.services.planning import queue_plan
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, people

JOB = "Data Analyst"


@pytest.fixture
def runtime(
    database_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    rows = [*people(2), applicant("de@example.com", "Dora", "Engel", locale="de")]
    import_and_reject_all(wired.store, tmp_path / "a.csv", rows, clock.now())
    batch = queue_plan(wired.store, wired.composer, JOB, actor="t", now=clock.now())
    run_batch(make_deliverer(wired), batch.batch_id)
    yield wired
    wired.close()


def ask(runtime: Runtime, email: str = "p0@example.com") -> int:
    request = service.receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title(JOB).id,
        email,
        None,
        business_days=5,
        actor="t",
        now=runtime.clock.now(),
    )
    return request.id


def answer(runtime: Runtime, request_id: int, text: str, **kwargs: str) -> service.Answered:
    answered = service.answer(
        runtime.store,
        runtime.request_store,
        runtime.composer,
        wording_check(runtime.settings),
        request_id,
        text,
        actor="hm",
        now=runtime.clock.now(),
        **kwargs,  # type: ignore[arg-type]
    )
    run_batch(make_deliverer(runtime), answered.batch_id)
    return answered


def test_a_request_is_due_five_working_days_later_and_flagged_when_overdue(
    runtime: Runtime, clock: FixedClock
) -> None:
    ask(runtime)  # Thursday 26 November 2026
    [status] = service.open_requests(runtime.request_store, clock.now())
    assert status.request.due_at.date().isoformat() == "2026-12-03"
    assert (status.overdue, status.remind) == (False, False)
    clock.advance(days=6)
    [status] = service.open_requests(runtime.request_store, clock.now())
    assert status.remind and not status.overdue
    clock.advance(days=1, hours=1)
    assert service.open_requests(runtime.request_store, clock.now())[0].overdue


def test_the_answer_goes_out_once_as_its_own_letter(runtime: Runtime, sink: MailSink) -> None:
    request_id = ask(runtime)
    answer(runtime, request_id, "Your SQL exercise missed the window-function part.")
    to_p0 = [m for m in read_sink(sink.directory) if m.rcpt_tos == ["p0@example.com"]]
    assert len(to_p0) == 2, "the rejection and the answer"
    assert b"window-function part" in to_p0[1].data
    assert service.open_requests(runtime.request_store, runtime.clock.now()) == []
    with pytest.raises(InvalidInput, match="already answered"):
        answer(runtime, request_id, "Again.")


def test_an_answer_touching_a_protected_characteristic_needs_a_written_override(
    runtime: Runtime, sink: MailSink
) -> None:
    request_id = ask(runtime)
    with pytest.raises(InvalidInput, match="wording check"):
        answer(runtime, request_id, "We felt you were overqualified for the role.")
    answered = answer(
        runtime,
        request_id,
        "We felt you were overqualified for the role.",
        override="Reviewed with legal: refers to the salary band of the role.",
    )
    assert answered.findings


def test_an_answer_naming_another_candidate_is_blocked_by_the_guard(runtime: Runtime) -> None:
    request_id = ask(runtime)
    with pytest.raises(InvalidInput, match="privacy guard"):
        answer(runtime, request_id, "Pat Doe1 scored higher on the SQL exercise.")


def test_an_answer_in_the_wrong_language_is_blocked(runtime: Runtime) -> None:
    request_id = ask(runtime, "de@example.com")
    with pytest.raises(InvalidInput, match="a line in English for a German letter"):
        answer(
            runtime,
            request_id,
            "Your SQL exercise was not complete and the joins were wrong, "
            "and the team would need that from you from the first day in the role.",
        )


@pytest.mark.parametrize(
    "text",
    [
        # One short English sentence: too few common words for the letter-wide check.
        "In the technical interview your answers on wound care were not detailed enough.",
        # An English line among German ones: the whole still reads as German.
        "Vielen Dank für Ihre Frage.\nYour SQL joins were not complete.\n"
        "Wir wünschen Ihnen für die weitere Suche alles Gute und viel Erfolg.",
    ],
    ids=["one-sentence", "one-line-of-three"],
)
def test_an_english_line_in_an_answer_to_a_german_candidate_is_blocked(
    runtime: Runtime, text: str
) -> None:
    request_id = ask(runtime, "de@example.com")
    with pytest.raises(InvalidInput, match="a line in English for a German letter"):
        answer(runtime, request_id, text)
    german = (
        "Die Stelle verlangt Erfahrung in der Wundversorgung, "
        "die wir im Fachgespräch nicht gesehen haben."
    )
    assert answer(runtime, request_id, german).batch_id


def test_a_request_needs_a_decided_application(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no application"):
        service.receive(
            runtime.store,
            runtime.request_store,
            runtime.store.job_by_title(JOB).id,
            "nobody@example.com",
            None,
            business_days=5,
            actor="t",
            now=runtime.clock.now(),
        )


def test_a_request_falls_due_in_working_days_of_where_the_candidate_is(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    ontario = applicant(
        "ona@example.com", "Ona", "Tario", country="CA", region="CA-ON", timezone="America/Toronto"
    )
    nowhere = applicant("nob@example.com", "Nob", "Where", country="", timezone="")
    import_and_reject_all(runtime.store, tmp_path / "b.csv", [ontario, nowhere], clock.now())
    clock.current = clock.current.replace(month=12, day=23)  # Wednesday before Christmas
    ona = service.receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title(JOB).id,
        "ona@example.com",
        None,
        business_days=5,
        actor="t",
        now=clock.now(),
    )
    # Christmas, Boxing Day (observed Monday 28) and New Year's Day are not working days there.
    assert ona.due_at.date().isoformat() == "2027-01-04"
    nob = service.receive(
        runtime.store,
        runtime.request_store,
        runtime.store.job_by_title(JOB).id,
        "nob@example.com",
        None,
        business_days=5,
        actor="t",
        now=clock.now(),
    )
    assert nob.due_at.date().isoformat() == "2026-12-30", "no country: weekends only"
