"""Faults on the Celery path: workers killed with -9, the broker restarted, nothing lost.

A batch on the real PostgreSQL, two `fairwell worker --engine celery` processes and
`fairwell beat` on a real Redis, a real SMTP sink. Along the way workers are killed (their
whole process group, as a lost machine would be) and started again, and the broker is shut
down without saving (its queue is gone) and started again. Then: every letter arrived, none
mentions another candidate, and duplicates are no more than the kills, each one counted in
the outbox as a possible duplicate.

The default is the issue's full size, 10,000 letters and 20 kills (about a minute on the 2-core
test machine). FAIRWELL_FAULT_LETTERS and FAIRWELL_FAULT_KILLS change it (e.g. 2000 and 8 for
a quick local run); the seed is printed, and FAIRWELL_FAULT_SEED repeats a run.
"""

from __future__ import annotations

import email
import os
import random
import re
import subprocess
import time
from collections import Counter
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.planning import queue_plan
from fairwell.storage.tables import outbox
from fairwell.worker.celery_app import kick_delivery, make_celery
from tests.celery_support import (
    RABBITMQ_URL,
    fairwell_command,
    kill_group,
    private_redis,
    rabbitmq_problem,
    require,
    start_group,
    wait_until,
)
from tests.conftest import settings_for
from tests.helpers import import_and_reject_all, people

LETTERS = int(os.environ.get("FAIRWELL_FAULT_LETTERS", "10000"))
KILLS = int(os.environ.get("FAIRWELL_FAULT_KILLS", "20"))
SEED = int(os.environ.get("FAIRWELL_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
ADDRESS = re.compile(rb"p\d+@example\.com")
NAME = re.compile(r"Doe\d+")


def environment(database_url: str, smtp_port: int, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_PORT": str(smtp_port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_ORG_NAME": "Acme",
        "FAIRWELL_BROKER_URL": broker_url,
        "FAIRWELL_BEAT_DELIVERY_SECONDS": "1",
        # Short leases so a killed worker's letters come back quickly; one commit per letter,
        # so a kill leaves at most one letter between the relay's 250 and our commit.
        "FAIRWELL_LEASE_SECONDS": "5",
        "FAIRWELL_CLAIM_BATCH": "10",
        "FAIRWELL_COMMIT_EVERY": "1",
    }


def queue_batch(runtime: Runtime, tmp_path: Path, count: int) -> None:
    now = runtime.clock.now()
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), now)
    queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)


def sent(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        query = select(func.count()).where(outbox.c.state == "sent")
        return int(conn.execute(query).scalar_one())


def start_worker(env: dict[str, str], logs: Path, number: int) -> subprocess.Popen[bytes]:
    command = fairwell_command("worker", "--engine", "celery", "--concurrency", "1")
    return start_group(command, env, logs / f"worker-{number}.log")


def delete_queue(url: str, queue: str) -> None:
    """RabbitMQ keeps a durable queue after its consumers are gone; this test's goes with it."""
    from kombu import Connection

    with Connection(url) as connection:
        connection.default_channel.queue_delete(queue)


def text_of(message: Message) -> str:
    parts = [part.get_payload(decode=True) for part in message.walk() if not part.is_multipart()]
    return "".join(p.decode("utf-8", "replace") for p in parts if isinstance(p, bytes))


def assert_private(data: bytes, recipient: str) -> None:
    """Only the addressee's address and name appear anywhere in the message."""
    assert set(ADDRESS.findall(data)) == {recipient.encode()}
    own = f"Doe{recipient.split('@')[0][1:]}"
    message = email.message_from_bytes(data)
    names = set(NAME.findall(text_of(message))) | set(NAME.findall(str(message["To"])))
    assert names == {own}, f"{recipient}: {names}"


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_workers_and_a_broker_restart_lose_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    rng = random.Random(SEED)
    print(f"fault test: {LETTERS} letters, {KILLS} kills, seed {SEED}")
    logs = tmp_path / "logs"
    logs.mkdir()
    with private_redis(tmp_path) as redis, MailSink(tmp_path / "mail", port=0) as sink:
        settings = settings_for(postgres_url, sink.port)
        init_database(settings)
        runtime = open_runtime(settings)
        queue_batch(runtime, tmp_path, LETTERS)
        env = environment(postgres_url, sink.port, redis.url)

        beat = start_group(
            fairwell_command("beat", "--schedule-file", str(tmp_path / "beat")),
            env,
            logs / "beat.log",
        )
        workers = [start_worker(env, logs, n) for n in range(2)]
        started = len(workers)
        # Kills fall at random points of the batch, the broker restart half-way.
        kill_points = sorted(rng.sample(range(LETTERS // 20, LETTERS * 9 // 10), KILLS))
        restarted_broker = False
        deadline = time.monotonic() + 600
        try:
            while (done := sent(runtime)) < LETTERS:
                assert time.monotonic() < deadline, f"only {done} of {LETTERS} sent in time"
                if kill_points and done >= kill_points[0]:
                    kill_points.pop(0)
                    victim = rng.randrange(len(workers))
                    kill_group(workers[victim])
                    workers[victim] = start_worker(env, logs, started)
                    started += 1
                if not restarted_broker and done >= LETTERS // 2:
                    redis.shutdown()
                    time.sleep(rng.uniform(0.5, 2.0))
                    redis.start()
                    restarted_broker = True
                time.sleep(0.05)
        finally:
            for process in [*workers, beat]:
                kill_group(process)

        kills = started - 2
        assert restarted_broker and kills == KILLS
        status = runtime.store.outbox_status()
        assert status.counts == {"sent": LETTERS}

        received = read_sink(sink.directory)
        assert all(len(message.rcpt_tos) == 1 for message in received)
        for message in received:
            assert_private(message.data, message.rcpt_tos[0])
        copies = Counter(message.rcpt_tos[0] for message in received)
        assert set(copies) == {f"p{i}@example.com" for i in range(LETTERS)}, "a letter was lost"
        duplicated = {address for address, count in copies.items() if count > 1}
        duplicates = sum(copies[address] - 1 for address in duplicated)
        with runtime.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.recipient, outbox.c.possible_duplicates))
            counted = dict(rows.tuples().all())
        print(
            f"kills {kills}; duplicates {duplicates}; "
            f"counted as possible {status.possible_duplicates}"
        )
        assert duplicates <= kills
        assert all(counted[address] >= copies[address] - 1 for address in duplicated)
        runtime.close()


def test_a_small_batch_goes_through_rabbitmq(tmp_path: Path, sqlite_url: str) -> None:
    """RabbitMQ works as the broker too: one small batch, one worker, one kick."""
    require(rabbitmq_problem(), f"RabbitMQ at {RABBITMQ_URL}")
    queue = f"fairwell-smoke-{os.getpid()}-{int(time.time())}"
    with MailSink(tmp_path / "mail", port=0) as sink:
        settings = settings_for(sqlite_url, sink.port, broker_url=RABBITMQ_URL, celery_queue=queue)
        init_database(settings)
        runtime = open_runtime(settings)
        queue_batch(runtime, tmp_path, 5)
        env = {
            **environment(sqlite_url, sink.port, RABBITMQ_URL),
            "FAIRWELL_CELERY_QUEUE": queue,
        }
        worker = start_worker(env, tmp_path, 0)
        try:
            kick_delivery(make_celery(settings))
            wait_until(lambda: sent(runtime) == 5, 60, "5 letters sent through RabbitMQ")
        finally:
            kill_group(worker)
            delete_queue(RABBITMQ_URL, queue)
        assert sorted(m.rcpt_tos[0] for m in read_sink(sink.directory)) == sorted(
            f"p{i}@example.com" for i in range(5)
        )
        runtime.close()
