"""`fairwell send --no-wait` on a Celery installation starts delivery at once, without beat."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import init_database, open_runtime
from fairwell.worker.celery_app import DELIVER
from tests.celery_support import (
    fairwell_command,
    free_port,
    kill_group,
    private_redis,
    start_group,
    wait_until,
)
from tests.conftest import settings_for
from tests.helpers import import_and_reject_all, people


def _environment(sqlite_url: str, sink_port: int, broker_url: str, queue: str) -> dict[str, str]:
    return {
        "FAIRWELL_DATABASE_URL": sqlite_url,
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(sink_port),
        "FAIRWELL_SMTP_SECURITY": "none",
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_ORG_NAME": "Acme",
        "FAIRWELL_SEND_WINDOWS": "off",
        "FAIRWELL_DELIVERY_ENGINE": "celery",
        "FAIRWELL_BROKER_URL": broker_url,
        "FAIRWELL_CELERY_QUEUE": queue,
    }


def _reject_everyone(sqlite_url: str, sink_port: int, tmp_path: Path, count: int) -> None:
    settings = settings_for(sqlite_url, sink_port)
    init_database(settings)
    runtime = open_runtime(settings)
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), runtime.clock.now())
    runtime.close()


def test_send_no_wait_kicks_a_celery_worker_which_delivers_without_beat(
    tmp_path: Path, sqlite_url: str
) -> None:
    with private_redis(tmp_path) as redis, MailSink(tmp_path / "mail", port=0) as sink:
        queue = f"fairwell-kick-{uuid.uuid4().hex[:8]}"
        env = _environment(sqlite_url, sink.port, redis.url, queue)
        _reject_everyone(sqlite_url, sink.port, tmp_path, 6)

        result = CliRunner().invoke(
            cli, ["send", "--job", "Data Analyst", "--yes", "--no-wait"], env=env
        )
        assert result.exit_code == 0, result.output
        assert "a Celery worker was asked to deliver them now" in " ".join(result.output.split())
        import redis as redis_client

        waiting = redis_client.Redis.from_url(redis.url).lrange(queue, 0, -1)
        assert len(waiting) == 1, "one kick, and no beat is running"
        envelope = json.loads(waiting[0])
        assert envelope["headers"]["task"] == DELIVER
        assert json.loads(base64.b64decode(envelope["body"]))[:2] == [[], {}], "ids only: none"
        assert read_sink(sink.directory) == [], "--no-wait sent nothing itself"

        worker = start_group(
            fairwell_command("worker", "--engine", "celery", "--concurrency", "1"),
            {**os.environ, **env},
            tmp_path / "worker.log",
        )
        try:
            wait_until(lambda: len(read_sink(sink.directory)) == 6, 60, "six letters delivered")
        finally:
            kill_group(worker)
        assert sorted(m.rcpt_tos[0] for m in read_sink(sink.directory)) == sorted(
            row["email"] for row in people(6)
        )


def test_a_broker_that_is_down_loses_nothing_and_says_beat_will_deliver(
    tmp_path: Path, sqlite_url: str
) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        nobody = f"redis://127.0.0.1:{free_port()}/0"
        env = _environment(sqlite_url, sink.port, nobody, "fairwell-kick-down")
        _reject_everyone(sqlite_url, sink.port, tmp_path, 3)
        result = CliRunner().invoke(
            cli, ["send", "--job", "Data Analyst", "--yes", "--no-wait"], env=env
        )
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())  # the console wraps long lines
        assert "the broker did not take the kick (OperationalError)" in said
        assert "Celery beat's next kick delivers them within 5 s" in said
        assert "127.0.0.1" not in said.split("kick")[1], "no broker URL is printed"
        status = CliRunner().invoke(cli, ["outbox", "status", "--json"], env=env)
        assert json.loads(status.stdout)["counts"] == {"queued": 3}, "the letters stay queued"
