"""Writing decisions back to the ATS once the letter went: durable, retried, never twice.

Real letters go through a real SMTP sink; the ATS is a fake Greenhouse or Lever on
127.0.0.1. Greenhouse's application is rejected with the mapped reason and no Greenhouse
email; Lever's opportunity is archived with the mapped reason. A deleted application fails
with the reason and is not retried; a down ATS is retried with backoff; a dead worker's claim
comes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.config import Settings
from fairwell.delivery.sink import MailSink
from fairwell.integrations.lever.connector import connect as connect_lever
from fairwell.integrations.registry import connect
from fairwell.ports.ats import WriteBackState
from fairwell.runtime import (
    Runtime,
    init_database,
    make_deliverer,
    open_runtime,
)
from fairwell.services.ats_pull import pull_job
from fairwell.services.ats_reasons import load_reason_map
from fairwell.services.ats_sync import SyncReport, sync
from fairwell.services.decisions import Selection, reject
from fairwell.services.export_profiles import load_profile
from fairwell.services.planning import make_plan, queue_plan
from fairwell.worker import tasks
from fairwell.worker.celery_app import ATS_SYNC, beat_schedule
from fairwell.worker.embedded import run_batch
from fairwell.worker.tasks import WorkerContext
from tests.conftest import FixedClock
from tests.fake_ats import FakeGreenhouse, FakeLever, Fault, serving
from tests.test_ats_pull import greenhouse_settings

NOT_HIRED = {1001, 1002, 1003, 1005}


@pytest.fixture
def greenhouse() -> Iterator[FakeGreenhouse]:
    fake = FakeGreenhouse()
    fake.add_job(4001, "Data Analyst")
    fake.add_application(1001, 4001, "Ada", "Quill")
    fake.add_application(1002, 4001, "Ben", "Rook", stage="Face to Face", source="Referral")
    fake.add_application(1003, 4001, "Dee", "Fern", stage="Recruiter Phone Screen", prospect=True)
    fake.add_application(1004, 4001, "Eli", "Moss", stage="Offer", status="hired")
    fake.add_application(1005, 4001, "Fay", "Lark", stage="Phone Interview")
    with serving(fake):
        yield fake


def open_pulled(settings: Settings, clock: FixedClock) -> Runtime:
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = clock
    connector = runtime.ats_connector("greenhouse")
    try:
        pull_job(
            connector,
            runtime.ats_store,
            load_profile("greenhouse"),
            "4001",
            as_job=None,
            restart=False,
            actor="t",
            clock=clock,
        )
    finally:
        connector.close()
    return runtime


@pytest.fixture
def runtime(
    database_url: str, greenhouse: FakeGreenhouse, sink: MailSink, clock: FixedClock
) -> Iterator[Runtime]:
    settings = greenhouse_settings(database_url, greenhouse, smtp_port=sink.port)
    runtime = open_pulled(settings, clock)
    yield runtime
    runtime.close()


def reject_all(
    runtime: Runtime, job: str = "Data Analyst", reason: str = "position-filled"
) -> None:
    reject(
        runtime.store,
        job,
        Selection(all_except_hired=True),
        reason,
        note=None,
        actor="t",
        now=runtime.clock.now(),
    )


def send(runtime: Runtime, job: str = "Data Analyst") -> None:
    now = runtime.clock.now()
    plan = make_plan(runtime.store, runtime.composer, job, now)
    batch = queue_plan(
        runtime.store, runtime.composer, job, actor="t", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)


def run_sync(runtime: Runtime, owner: str = "w1", **overrides: object) -> SyncReport:
    settings = runtime.settings.model_copy(update=overrides) if overrides else runtime.settings
    return sync(
        runtime.ats_store,
        lambda vendor: connect(vendor, settings),
        load_reason_map(settings.ats_reason_map),
        runtime.clock,
        owner,
    )


def states(runtime: Runtime) -> dict[str, tuple[WriteBackState, int, str | None]]:
    return {
        row.ats_application_id: (row.state, row.attempts, row.last_error)
        for row in runtime.ats_store.writebacks()
    }


def test_a_delivered_letter_rejects_the_greenhouse_application_without_greenhouses_email(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reject_all(runtime)
    send(runtime)
    report = run_sync(runtime)
    assert (report.queued, report.done, report.failed) == (4, 4, 0)
    assert {app_id for app_id, _ in greenhouse.rejections} == NOT_HIRED
    for _, body in greenhouse.rejections:
        assert set(body) == {"rejection_reason_id", "notes"}, "no rejection_email: no ATS email"
        assert body["rejection_reason_id"] == 31  # "Position filled", resolved by name
        assert "position-filled" in body["notes"] and "example.org" not in body["notes"]
    assert {s for s, _, _ in states(runtime).values()} == {WriteBackState.DONE}


def test_nothing_is_written_back_before_the_letter_is_delivered(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reject_all(runtime)
    assert run_sync(runtime).queued == 0
    assert greenhouse.rejections == []


def test_syncing_again_writes_nothing_back_twice(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    run_sync(runtime)
    clock.advance(days=1)
    again = run_sync(runtime, owner="w2")
    assert (again.queued, again.done) == (0, 0)
    assert len(greenhouse.requests("POST", "/v3/applications")) == 4


def test_a_write_back_for_an_application_deleted_in_the_ats_fails_with_the_reason(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    del greenhouse.applications[1001]
    report = run_sync(runtime)
    assert (report.done, report.failed) == (3, 1)
    state, attempts, error = states(runtime)["1001"]
    assert (state, attempts) == (WriteBackState.FAILED, 1)
    assert error == "application 1001 no longer exists (deleted)"
    clock.advance(days=2)
    run_sync(runtime)
    assert states(runtime)["1001"][1] == 1, "not retried forever: not retried at all"


def test_an_application_hired_in_the_ats_since_is_not_rejected(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reject_all(runtime)
    send(runtime)
    greenhouse.applications[1005]["status"] = "hired"
    run_sync(runtime)
    state, _, error = states(runtime)["1005"]
    assert state is WriteBackState.FAILED
    assert (
        error
        == "application 1005 is hired in Greenhouse; only an active application can be rejected"
    )
    assert 1005 not in {app_id for app_id, _ in greenhouse.rejections}


def test_an_application_rejected_in_the_ats_by_hand_is_done_without_a_second_rejection(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reject_all(runtime)
    send(runtime)
    greenhouse.applications[1002]["status"] = "rejected"
    run_sync(runtime)
    assert states(runtime)["1002"] == (WriteBackState.DONE, 1, "already rejected in Greenhouse")
    assert 1002 not in {app_id for app_id, _ in greenhouse.rejections}


def test_an_ats_that_is_down_is_retried_with_backoff_and_nothing_is_lost(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    greenhouse.fail(Fault("POST", "/v3/applications/1003", 502, times=3))
    run_sync(runtime)
    state, attempts, error = states(runtime)["1003"]
    assert (state, attempts) == (WriteBackState.RETRY, 1)
    assert "failed 3 times (last: HTTP 502)" in str(error)
    run_sync(runtime)
    assert states(runtime)["1003"][1] == 1, "not before its time"
    clock.advance(minutes=2)
    run_sync(runtime)
    assert states(runtime)["1003"][:2] == (WriteBackState.DONE, 2)


def test_a_rate_limit_pushes_the_next_attempt_past_retry_after(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    greenhouse.fail(Fault("POST", "/v3/applications/1001", 429, {"Retry-After": "900"}))
    run_sync(runtime)
    assert states(runtime)["1001"][0] is WriteBackState.RETRY
    clock.advance(minutes=14)
    run_sync(runtime)
    assert states(runtime)["1001"][1] == 1
    clock.advance(minutes=2)
    run_sync(runtime)
    assert states(runtime)["1001"][0] is WriteBackState.DONE


def test_refused_credentials_keep_write_backs_waiting_until_they_are_fixed(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    from pydantic import SecretStr

    reject_all(runtime)
    send(runtime)
    report = run_sync(runtime, greenhouse_client_secret=SecretStr("expired-credentials"))
    assert report.retried == 4 and report.failed == 0
    assert "token endpoint refused the client credentials" in str(states(runtime)["1001"][2])
    assert "expired-credentials" not in json.dumps([str(v) for v in states(runtime).values()])
    clock.advance(hours=1)
    assert run_sync(runtime).done == 4


def test_a_vendor_without_credentials_waits_without_using_up_attempts(
    runtime: Runtime, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    report = run_sync(runtime, greenhouse_client_id=None)
    assert report.waiting == 4
    assert {attempts for _, attempts, _ in states(runtime).values()} == {0}
    assert "set FAIRWELL_GREENHOUSE_CLIENT_ID" in str(states(runtime)["1001"][2])


def test_a_reason_the_ats_lacks_waits_for_the_reason_map_to_be_fixed(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock, tmp_path: Path
) -> None:
    wrong = tmp_path / "reasons.toml"
    wrong.write_text('[greenhouse]\nposition-filled = "Filled by magic"\n', encoding="utf-8")
    reject_all(runtime)
    send(runtime)
    run_sync(runtime, ats_reason_map=wrong)
    state, _, error = states(runtime)["1001"]
    assert state is WriteBackState.RETRY
    assert "no rejection reason named 'Filled by magic'" in str(error)
    fixed = tmp_path / "fixed.toml"
    fixed.write_text("[greenhouse]\nposition-filled = 32\n", encoding="utf-8")
    clock.advance(minutes=5)
    run_sync(runtime, ats_reason_map=fixed)
    assert states(runtime)["1001"][0] is WriteBackState.DONE
    assert {body["rejection_reason_id"] for _, body in greenhouse.rejections} == {32}


def test_a_claim_held_by_a_dead_worker_comes_back_when_its_lease_ends(
    runtime: Runtime, greenhouse: FakeGreenhouse, clock: FixedClock
) -> None:
    reject_all(runtime)
    send(runtime)
    store = runtime.ats_store
    store.enqueue_writebacks(clock.now())
    held = store.claim_writebacks("dead", clock.now(), clock.now() + timedelta(minutes=5), 10)
    assert len(held) == 4
    assert run_sync(runtime, owner="alive").done == 0, "a live lease is respected"
    clock.advance(minutes=6)
    assert run_sync(runtime, owner="alive").done == 4
    assert len(greenhouse.rejections) == 4


# --- Lever ------------------------------------------------------------------------------------


def test_lever_opportunities_are_archived_with_the_mapped_reason_as_the_acting_user(
    sqlite_url: str, sink: MailSink, clock: FixedClock
) -> None:
    lever = FakeLever()
    lever.add_posting("post-1", "Backend Engineer")
    lever.add_opportunity("o1", "post-1", "Gus Wren", stage="stage-screen")
    lever.add_opportunity("o2", "post-1", "Hana Birch", stage="stage-onsite")
    lever.add_opportunity("o3", "post-1", "Ivo Cruz", stage="stage-screen")
    with serving(lever):
        from tests.conftest import settings_for

        settings = settings_for(
            sqlite_url,
            sink.port,
            lever_url=f"{lever.origin}/v1",
            lever_api_key=lever.api_key,
            lever_perform_as=lever.perform_as,
        )
        init_database(settings)
        runtime = open_runtime(settings)
        runtime.clock = clock
        connector = connect_lever(settings)
        pull_job(
            connector,
            runtime.ats_store,
            load_profile("lever"),
            "post-1",
            as_job=None,
            restart=False,
            actor="t",
            clock=clock,
        )
        connector.close()
        reject_all(runtime, "Backend Engineer", reason="skills-mismatch")
        send(runtime, "Backend Engineer")
        lever.opportunities["o2"]["archived"] = {"archivedAt": 1, "reason": "reason-withdrew"}
        del lever.opportunities["o3"]
        report = run_sync(runtime)
        runtime.close()
    assert (report.done, report.failed) == (2, 1)
    assert [(opp, body, query) for opp, body, query in lever.archives] == [
        ("o1", {"reason": "reason-underqualified"}, {"perform_as": ["user-77"]})
    ]
    assert "o3 no longer exists (deleted)" in str(report.errors)


# --- status and beat --------------------------------------------------------------------------


def test_ats_status_json_lists_vendor_application_state_attempts_and_last_error(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reject_all(runtime)
    send(runtime)
    del greenhouse.applications[1001]
    run_sync(runtime)
    env = {"FAIRWELL_DATABASE_URL": runtime.settings.database_url}
    result = CliRunner().invoke(app, ["ats", "status", "--json"], env=env)
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert len(listed) == 4
    assert {key for row in listed for key in row} >= {
        "vendor",
        "application",
        "state",
        "attempts",
        "last_error",
    }
    failed = [row for row in listed if row["state"] == "failed"]
    assert failed == [
        {
            "vendor": "greenhouse",
            "application": failed[0]["application"],
            "state": "failed",
            "attempts": 1,
            "last_error": "application 1001 no longer exists (deleted)",
            "ats_application": "1001",
            "reason": "position-filled",
        }
    ]
    done = CliRunner().invoke(app, ["ats", "status", "--state", "done", "--json"], env=env)
    assert len(json.loads(done.stdout)) == 3


def test_beat_runs_the_write_back_and_the_task_does_it(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    schedule = beat_schedule(runtime.settings)
    assert schedule["ats-sync"] == {
        "task": ATS_SYNC,
        "schedule": 300.0,
        "options": {"expires": 300.0},
    }
    reject_all(runtime)
    send(runtime)
    context = WorkerContext(runtime.settings)
    assert tasks.ats_sync(context)["done"] == 4
    context.close()


@pytest.mark.parametrize("keep_records", [False, True])
def test_erasing_a_pulled_person_removes_the_ats_ids_that_point_back_at_them(
    runtime: Runtime, keep_records: bool
) -> None:
    """Retention may keep an anonymous record; the ATS's ids would re-identify it."""
    from sqlalchemy import func, select

    from fairwell.storage.erasure_store import erase_person_in
    from fairwell.storage.tables import ats_links, ats_writebacks, persons

    reject_all(runtime)
    send(runtime)
    run_sync(runtime)
    with runtime.engine.connect() as conn:
        ada = conn.execute(
            select(persons.c.id).where(persons.c.email == "ada.quill@example.org")
        ).scalar_one()
    counts = erase_person_in(
        runtime.engine, ada, None, "t", runtime.clock.now(), keep_records=keep_records
    )
    assert (counts["ats_links"], counts["ats_writebacks"]) == (1, 1)
    with runtime.engine.connect() as conn:
        links = conn.execute(select(func.count()).select_from(ats_links)).scalar_one()
        rows = conn.execute(select(ats_writebacks.c.ats_application_id)).scalars().all()
    assert links == 4 and "1001" not in rows


def test_an_application_that_stops_being_active_as_it_is_rejected_fails_with_the_ats_reason(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    """Greenhouse answered that the application was active, then refused the rejection."""
    reject_all(runtime)
    send(runtime)
    greenhouse.fail(
        Fault(
            "POST",
            "/v3/applications/1005/reject",
            422,
            body={"errors": [{"message": "Only active applications can be rejected"}]},
        )
    )
    run_sync(runtime)
    state, attempts, error = states(runtime)["1005"]
    assert (state, attempts) == (WriteBackState.FAILED, 1)
    assert error == (
        "POST /v3/applications/1005/reject answered 422: Only active applications can be rejected"
    )
