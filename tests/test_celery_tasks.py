"""The Celery tasks: ids only on the broker, the lease decides, periodic hooks say why they skip."""

from __future__ import annotations

import base64
import inspect
import json
import logging
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.config import Settings
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.planning import queue_plan
from fairwell.storage.engine import PoolSettings, make_engine
from fairwell.worker import tasks
from fairwell.worker.celery_app import (
    DELIVER,
    INBOX,
    TASK_NAMES,
    beat_schedule,
    kick_delivery,
    make_celery,
)
from fairwell.worker.tasks import WorkerContext
from tests.celery_support import private_redis
from tests.conftest import settings_for
from tests.helpers import import_and_reject_all, people


def queued(settings: Settings, tmp_path: Path, count: int) -> Runtime:
    init_database(settings)
    runtime = open_runtime(settings)
    now = runtime.clock.now()
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), now)
    queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
    return runtime


def test_every_task_takes_no_arguments(sqlite_url: str) -> None:
    app = make_celery(settings_for(sqlite_url, 2525))
    assert sorted(name for name in app.tasks if name.startswith("fairwell.")) == sorted(TASK_NAMES)
    for name in TASK_NAMES:
        assert inspect.signature(app.tasks[name].run).parameters == {}, name
        assert app.tasks[name].acks_late and app.tasks[name].reject_on_worker_lost


def test_two_apps_in_one_process_each_run_their_own_tasks(tmp_path: Path) -> None:
    first = make_celery(settings_for(f"sqlite:///{tmp_path / 'a.db'}", 2525))
    second = make_celery(settings_for(f"sqlite:///{tmp_path / 'b.db'}", 2525))
    for app, name in ((first, "a.db"), (second, "b.db")):
        init_database(app.fairwell_context.settings)
        app.conf.task_always_eager = True
        app.tasks[DELIVER].apply()
        assert app.fairwell_context.runtime().settings.database_url.endswith(name)
        app.fairwell_context.close()


def test_messages_on_the_broker_carry_no_personal_data(tmp_path: Path, sqlite_url: str) -> None:
    """Alice's address, name and reference never reach Redis, even while her letter is sent."""
    with private_redis(tmp_path) as redis, MailSink(tmp_path / "mail", port=0) as sink:
        queue = f"fairwell-test-{uuid.uuid4().hex[:8]}"
        settings = settings_for(
            sqlite_url, sink.port, broker_url=redis.url, celery_queue=queue, claim_batch=1
        )
        runtime = queued(settings, tmp_path, 3)
        app = make_celery(settings)
        kick_delivery(app)
        for name in TASK_NAMES:
            app.send_task(name)
        # A full claim asks the broker for another worker: that message is inspected too.
        counts = tasks.deliver(WorkerContext(settings), more=lambda: kick_delivery(app))
        assert counts["sent"] == 3

        import redis as redis_client

        raw = redis_client.Redis.from_url(redis.url).lrange(queue, 0, -1)
        assert len(raw) == len(TASK_NAMES) + 2
        personal = [b"@example.com", b"Pat", b"Doe", b"FW-"]
        refs = [row.application_id for row in runtime.store.outbox_rows(None, None, 10)]
        for message in raw:
            envelope = json.loads(message)
            args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
            assert (args, kwargs) == ([], {})
            assert envelope["headers"]["task"] in TASK_NAMES
            decoded = message + base64.b64decode(envelope["body"])
            assert not [word for word in personal if word in decoded]
            assert not [ref for ref in refs if f'"{ref}"'.encode() in decoded]
        runtime.close()


def test_a_deliver_task_run_twice_sends_each_letter_once(tmp_path: Path, sqlite_url: str) -> None:
    """A broker may deliver a task twice; the lease, not the broker, decides who sends."""
    with MailSink(tmp_path / "mail", port=0) as sink:
        settings = settings_for(sqlite_url, sink.port)
        runtime = queued(settings, tmp_path, 5)
        context = WorkerContext(settings)
        first, second = tasks.deliver(context), tasks.deliver(context)
        assert (first["sent"], second["claimed"]) == (5, 0)
        assert sorted(m.rcpt_tos[0] for m in read_sink(sink.directory)) == sorted(
            f"p{i}@example.com" for i in range(5)
        )
        context.close()
        runtime.close()


def test_a_full_claim_asks_for_one_more_worker(tmp_path: Path, sqlite_url: str) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        settings = settings_for(sqlite_url, sink.port, claim_batch=2)
        runtime = queued(settings, tmp_path, 5)
        asked: list[int] = []

        def more() -> None:  # how many letters had arrived when another worker was asked for
            asked.append(len(read_sink(sink.directory)))

        counts = tasks.deliver(WorkerContext(settings), more=more)
        assert (counts["sent"], asked) == (5, [0]), "asked once, before the first claim went"
        assert tasks.deliver(WorkerContext(settings), more=lambda: asked.append(1))["sent"] == 0
        assert len(asked) == 1
        runtime.close()


def test_the_retention_and_renewal_tasks_run_and_return_counts_only(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(sqlite_url, 2525)
    init_database(settings)
    context = WorkerContext(settings)
    with caplog.at_level(logging.INFO, logger="fairwell.worker.tasks"):
        done = tasks.retention(context)
        renewals = tasks.consent_renewals(context)
    assert done["done"] == "retention"
    assert renewals == {"due": 0, "queued": 0, "refused": 0}, "counts only, no one named"
    assert "consent renewals: due 0, queued 0, refused 0" in caplog.text
    with context.runtime().store.engine.connect() as conn:
        actions = list(conn.exec_driver_sql("SELECT action FROM audit_log").scalars())
    assert "retention.run" in actions, "a real run, audited"
    context.close()


def test_the_deadlines_task_logs_counts_and_no_one_by_name(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    no_rule = tmp_path / "rules.toml"
    no_rule.write_text("[CA-ON]\nnotice_days = 0\n", encoding="utf-8")
    off = WorkerContext(settings_for(sqlite_url, 2525, retention_policies=no_rule))
    assert tasks.deadlines(off) == {}, "no jurisdiction has a notice rule"
    settings = settings_for(sqlite_url, 2525)
    runtime = queued(settings, tmp_path, 2)
    context = WorkerContext(settings)
    with caplog.at_level(logging.INFO, logger="fairwell.worker.tasks"):
        counts = tasks.deadlines(context)
    assert set(counts) >= {"overdue"}
    assert "deadlines:" in caplog.text
    assert "example.com" not in caplog.text and "Doe" not in caplog.text
    context.close()
    runtime.close()


def test_beat_kicks_delivery_often_and_housekeeping_hourly(sqlite_url: str) -> None:
    schedule = beat_schedule(settings_for(sqlite_url, 2525, beat_delivery_seconds=2))
    assert schedule["deliver"] == {"task": DELIVER, "schedule": 2.0, "options": {"expires": 2.0}}
    assert {entry["task"] for entry in schedule.values()} == set(TASK_NAMES) - {INBOX}
    assert schedule["retention"]["schedule"] == 3600.0


def test_beat_fetches_the_inbox_every_few_minutes_only_when_one_is_configured(
    sqlite_url: str, tmp_path: Path
) -> None:
    assert "inbox" not in beat_schedule(settings_for(sqlite_url, 2525))
    configured = settings_for(sqlite_url, 2525, inbox_maildir=tmp_path / "Maildir")
    assert beat_schedule(configured)["inbox"] == {
        "task": INBOX,
        "schedule": 300.0,
        "options": {"expires": 300.0},
    }


def test_the_celery_worker_refuses_embedded_only_options() -> None:
    result = CliRunner().invoke(cli, ["worker", "--engine", "celery", "--once"])
    assert result.exit_code == 2
    assert "embedded worker only" in result.output
    assert CliRunner().invoke(cli, ["worker", "--engine", "carrier-pigeon"]).exit_code == 2


def test_postgresql_connections_are_pooled_and_pinged(postgres_url: str) -> None:
    engine = make_engine(postgres_url, PoolSettings(size=3, max_overflow=2, recycle_seconds=60))
    pool = engine.pool
    assert (pool.size(), pool._max_overflow, pool._recycle, pool._pre_ping) == (3, 2, 60, True)  # type: ignore[attr-defined]
    engine.dispose()


def test_the_inbox_task_fetches_once_and_reports_counts_only(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.inbound_mail import drop, reply

    maildir = tmp_path / "Maildir"
    settings = settings_for(sqlite_url, 2525, inbox_maildir=maildir)
    init_database(settings)
    drop(maildir, reply(sender="stranger@elsewhere.example", subject="Hello", quoted=False))
    context = WorkerContext(settings)
    with caplog.at_level(logging.INFO):
        counts = tasks.inbox(context)
    assert counts["unmatched"] == 1 and counts["failed"] == 0
    assert "elsewhere" not in caplog.text and "Hello" not in caplog.text
    context.close()
    gone = WorkerContext(settings_for(sqlite_url, 2525, inbox_maildir=tmp_path / "gone"))
    assert tasks.inbox(gone) == {"unavailable": 1}, "logged, and tried again at the next beat"
    gone.close()
    assert tasks.inbox(WorkerContext(settings_for(sqlite_url, 2525))) == {}
