"""The whole flow, end to end: import, reject, plan, queue, deliver over real SMTP.

Runs on a real SQLite file and on the real PostgreSQL server, against the embedded sink.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.demo.data import JOB_TITLE, write_demo_csv
from fairwell.domain.model import OutboxState, Stage
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan, queue_plan
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


def reject_everyone_and_send(runtime: Runtime, job: str) -> int:
    now = runtime.clock.now()
    reject(
        runtime.store,
        job,
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="test",
        now=now,
    )
    plan = make_plan(runtime.store, runtime.composer, job, now)
    batch = queue_plan(
        runtime.store, runtime.composer, job, actor="test", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)
    return batch.batch_id


def test_the_demo_opening_gets_private_letters_of_the_right_kind(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    write_demo_csv(tmp_path / "demo.csv")
    report = import_file(runtime.store, tmp_path / "demo.csv", actor="t", now=runtime.clock.now())
    assert (report.rows, report.duplicates_merged) == (182, 4)

    now = runtime.clock.now()
    decided = reject(
        runtime.store,
        JOB_TITLE,
        Selection(all_except_hired=True),
        "position-filled",
        note="internal",
        actor="t",
        now=now,
    )
    assert Counter(s.reason for s in decided.skipped) == {
        "hired": 1,
        "holding an offer": 1,
        "withdrawn": 2,
    }
    plan = make_plan(runtime.store, runtime.composer, JOB_TITLE, now)
    assert plan.letters == {"rejection": 158, "referral_closed": 20}
    assert plan.blocked == []

    batch = queue_plan(
        runtime.store, runtime.composer, JOB_TITLE, actor="t", now=now, expected=plan.ready
    )
    stats = run_batch(make_deliverer(runtime), batch.batch_id)
    assert stats.sent == 178

    received = read_sink(sink.directory)
    assert len(received) == 178
    assert all(len(message.rcpt_tos) == 1 for message in received)
    referral_addresses = {
        v.person.email for v in runtime.store.applicants(plan.job.id) if v.application.never_applied
    }
    for message in received:
        text_part = message_from_bytes(message.data).get_payload()[0]
        text = text_part.get_payload(decode=True).decode("utf-8")
        thanks_for_applying = "for applying" in text or "für Ihre Bewerbung" in text
        assert thanks_for_applying is (message.rcpt_tos[0] not in referral_addresses)


def test_importing_the_same_file_again_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    write_demo_csv(tmp_path / "demo.csv")
    import_file(runtime.store, tmp_path / "demo.csv", actor="t", now=runtime.clock.now())
    again = import_file(runtime.store, tmp_path / "demo.csv", actor="t", now=runtime.clock.now())
    assert again.counts.applications_created == 0
    assert again.counts.applications_updated == 0
    assert again.counts.people_created == 0
    assert again.counts.unchanged == 182


def test_nobody_gets_a_second_letter_for_the_same_decision(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}") for i in range(5)]
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=runtime.clock.now()
    )
    reject_everyone_and_send(runtime, "Data Analyst")
    again = reject(
        runtime.store,
        "Data Analyst",
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=runtime.clock.now(),
    )
    assert {s.reason for s in again.skipped} == {"already written to"}
    assert (
        make_plan(runtime.store, runtime.composer, "Data Analyst", runtime.clock.now()).ready == 0
    )
    assert len(read_sink(sink.directory)) == 5


def test_a_person_hired_after_the_plan_is_held_not_written_to(
    runtime: Runtime, tmp_path: Path, sink: MailSink
) -> None:
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", stage="onsite") for i in range(4)]
    path = write_csv(tmp_path / "a.csv", rows)
    import_file(runtime.store, path, actor="t", now=runtime.clock.now())
    now = runtime.clock.now()
    reject(
        runtime.store,
        "Data Analyst",
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=now,
    )
    batch = queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
    rows[2]["stage"] = "hired"
    import_file(runtime.store, write_csv(tmp_path / "b.csv", rows), actor="t", now=now)

    run_batch(make_deliverer(runtime), batch.batch_id)

    status = runtime.store.outbox_status(batch.batch_id)
    assert status.counts == {"sent": 3, "held": 1}
    assert status.paused_batches == ()
    held = runtime.store.outbox_rows(OutboxState.HELD, batch.batch_id, 10)
    assert [row.recipient for row in held] == ["p2@example.com"]
    assert held[0].held_rule == "still-eligible"
    assert "p2@example.com" not in {m.rcpt_tos[0] for m in read_sink(sink.directory)}


def test_the_plan_says_why_each_person_gets_no_letter(runtime: Runtime, tmp_path: Path) -> None:
    stages = ["hired", "offer", "withdrawn", "rejected", "screen", "phone"]
    rows = [applicant(f"{s}@example.com", "Pat", s.title(), stage=s) for s in stages]
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=runtime.clock.now()
    )
    reject(
        runtime.store,
        "Data Analyst",
        Selection(stage=Stage.SCREEN),
        "role-closed",
        note=None,
        actor="t",
        now=runtime.clock.now(),
    )
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", runtime.clock.now())
    assert plan.letters == {"rejection": 1}
    assert plan.skipped_counts() == {
        "hired": 1,
        "holding an offer": 1,
        "withdrawn": 1,
        "already rejected before import": 1,
        "no decision yet": 1,
    }
