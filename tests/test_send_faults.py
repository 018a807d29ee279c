"""The send path under faults: `kill -9` of `fairwell send`, worker processes that cannot
start, `worker --once` with more than one claim due.

Real processes, a real SMTP sink, SQLite and PostgreSQL. Waits are generous loops, never
timing assertions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.planning import queue_plan
from fairwell.storage.tables import outbox
from fairwell.worker import pool
from tests.conftest import settings_for
from tests.helpers import import_and_reject_all, people
from tests.test_crash_recovery import wait_until

FAIRWELL = str(Path(sys.executable).with_name("fairwell"))
SEND = ("send", "--job", "Data Analyst", "--yes")


def rejected(tmp_path: Path, url: str, port: int, count: int, **extra: object) -> Runtime:
    """A database with ``count`` rejected applicants of the Data Analyst job, nothing queued."""
    settings = settings_for(url, port, **extra)
    init_database(settings)
    runtime = open_runtime(settings)
    import_and_reject_all(runtime.store, tmp_path / "a.csv", people(count), runtime.clock.now())
    return runtime


def environment(url: str, port: int, **settings: str) -> dict[str, str]:
    named = {f"FAIRWELL_{name.upper()}": value for name, value in settings.items()}
    return {
        **os.environ,
        "FAIRWELL_DATABASE_URL": url,
        "FAIRWELL_SMTP_PORT": str(port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        **named,
    }


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running, not gone and not a zombie waiting for whoever adopted it to reap it."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def live_leases(runtime: Runtime) -> int:
    query = select(func.count()).where(
        outbox.c.state == "sending", outbox.c.lease_until > datetime.now(UTC)
    )
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def delivered(sink: MailSink) -> Counter[str]:
    return Counter(message.rcpt_tos[0] for message in read_sink(sink.directory))


LETTERS = 400


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_send_ends_its_worker_processes_and_a_worker_finishes_the_batch(
    tmp_path: Path, database_url: str
) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        runtime = rejected(tmp_path, database_url, sink.port, LETTERS)
        env = environment(
            database_url, sink.port, lease_seconds="3", claim_batch="50", commit_every="10"
        )
        # Two processes at 20 letters a second each: slow enough to be killed half-way.
        send = subprocess.Popen(
            [FAIRWELL, *SEND, "--processes", "2", "--rate", "40"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Not on a commit boundary, so some letters are between the relay's 250 and it.
            wait_until(lambda: len(read_sink(sink.directory)) >= 67, 180)
            workers = children_of(send.pid)
        finally:
            send.send_signal(signal.SIGKILL)
            send.wait(30)
        killed_at = len(read_sink(sink.directory))
        assert killed_at < LETTERS, "the send finished before it could be killed"
        assert len(workers) >= 2, workers

        wait_until(lambda: not any(alive(pid) for pid in workers), 30)
        # The dead processes' claims come back when their leases run out.
        wait_until(lambda: live_leases(runtime) == 0, 30)
        done = subprocess.run(
            [FAIRWELL, "worker", "--once"], env=env, capture_output=True, text=True, timeout=300
        )

        assert done.returncode == 0, done.stderr
        received = delivered(sink)
        assert set(received) == {f"p{i}@example.com" for i in range(LETTERS)}
        status = runtime.store.outbox_status()
        assert status.counts == {"sent": LETTERS}
        duplicates = sum(count - 1 for count in received.values())
        print(
            f"killed after {killed_at}; duplicates {duplicates}; "
            f"counted {status.possible_duplicates}"
        )
        # Every letter twice is counted; at most a commit's worth (and the letter on the wire)
        # per killed process is counted that was not sent.
        assert duplicates <= status.possible_duplicates <= duplicates + 2 * (10 + 2)
        runtime.close()


def test_worker_once_delivers_everything_due_claim_after_claim(
    tmp_path: Path, database_url: str
) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        runtime = rejected(tmp_path, database_url, sink.port, 35)
        now = runtime.clock.now()
        queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
        # Another worker holds five under a live lease: not due, and said so.
        elsewhere = runtime.store.claim("elsewhere", now, now + timedelta(minutes=10), 5)

        env = environment(database_url, sink.port, claim_batch="10")
        result = CliRunner().invoke(app, ["worker", "--once"], env=env)

        assert result.exit_code == 0, result.output
        assert "sent 30," in result.stdout
        assert "5 letter(s) are claimed by another worker" in result.stdout
        mine = {f"p{i}@example.com" for i in range(35)} - {e.recipient for e in elsewhere}
        assert delivered(sink) == Counter({address: 1 for address in mine})
        assert runtime.store.outbox_status().counts == {"sent": 30, "sending": 5}
        runtime.close()


def one_line_failure(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "@example.com" not in stderr
    return lines[0]


def test_send_says_in_one_line_when_its_worker_processes_cannot_start(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Every worker process exits as it starts: spawned, its interpreter is a script that
    gives up (multiprocessing's resource tracker, started the same way, is let through);
    forked, the pool's start-up in it ends the process."""
    dies = tmp_path / "python-that-dies"
    dies.write_text(
        f'#!/bin/sh\ncase "$*" in *spawn_main*) exit 1;; esac\nexec {sys.executable} "$@"\n'
    )
    dies.chmod(0o755)
    with MailSink(tmp_path / "mail", port=0) as sink:
        runtime = rejected(tmp_path, sqlite_url, sink.port, 20)
        starts_nothing = (
            f"import multiprocessing, os, sys; multiprocessing.set_executable({str(dies)!r}); "
            "from fairwell.worker import pool; "
            "pool._start_process = lambda *args: os._exit(1); "
            "from fairwell.cli import main; sys.argv[0] = 'fairwell'; main()"
        )
        result = subprocess.run(
            [sys.executable, "-c", starts_nothing, *SEND, "--processes", "2"],
            env=environment(sqlite_url, sink.port),
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 1
        line = one_line_failure(result.stderr)
        assert line.startswith("fairwell: the worker processes stopped"), line
        assert "nothing was queued" in line
        assert runtime.store.outbox_status().counts == {}
        assert read_sink(sink.directory) == []
        runtime.close()


def _start_with_a_bad_setting(settings_values: dict[str, Any], *shared: Any) -> None:
    """The pool's start-up in a worker process, given a setting that does not validate."""
    pool._start_process({**settings_values, "claim_batch": 0}, *shared)


def test_a_worker_process_that_fails_to_start_is_named_in_one_line(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        runtime = rejected(tmp_path, sqlite_url, sink.port, 20)
        start: Callable[..., None] = _start_with_a_bad_setting
        monkeypatch.setattr(pool, "_start_process", start)
        result = CliRunner().invoke(
            app,
            [*SEND, "--processes", "2"],
            env=environment(sqlite_url, sink.port),
        )

        assert result.exit_code == 1
        line = one_line_failure(result.stderr)
        assert line.startswith("fairwell: a worker process could not start (ValidationError"), line
        assert "claim_batch: Input should be greater than or equal to 1" in line
        assert "nothing was queued" in line
        assert runtime.store.outbox_status().counts == {}
        runtime.close()


class Died(BaseException):
    """The process ended here (kill -9): nothing after this line of the worker runs."""


class DiesAfter:
    """A transport that hands ``letters`` letters to a real SMTP sink, then the process dies
    on the next one (its data may have gone)."""

    def __init__(self, port: int, letters: int) -> None:
        from fairwell.delivery.smtp import SmtpTransport

        self.relay = SmtpTransport(host="127.0.0.1", port=port, security="none")
        self.left = letters

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        if self.left == 0:
            raise Died
        self.left -= 1
        self.relay.send(sender, recipient, message)

    def close(self) -> None:
        self.relay.close()


def test_a_worker_that_dies_counts_only_the_letters_it_handed_to_the_relay(
    tmp_path: Path, database_url: str
) -> None:
    """A claim of 100; the worker dies handing its 26th letter (10 results a commit): the 100
    do not all come back as possible duplicates, only those it had marked handed."""
    from fairwell.runtime import make_deliverer
    from fairwell.services.delivery import DeliveryPolicy

    claim, handed, every = 100, 25, 10
    with MailSink(tmp_path / "mail", port=0) as sink:
        runtime = rejected(tmp_path, database_url, sink.port, claim)
        now = runtime.clock.now()
        queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)
        policy = DeliveryPolicy(lease=timedelta(0), claim_batch=claim, commit_every=every)
        dying = replace(
            make_deliverer(runtime), transport=DiesAfter(sink.port, handed), policy=policy
        )
        with pytest.raises(Died):
            dying.run_once()

        survivor = make_deliverer(runtime)
        stats = survivor.run_once()
        survivor.transport.close()

        received = delivered(sink)
        assert set(received) == {f"p{i}@example.com" for i in range(claim)}
        status = runtime.store.outbox_status()
        assert status.counts == {"sent": claim}
        twice = sum(count - 1 for count in received.values())
        assert twice == handed - 2 * every  # sent after the last commit, then sent again
        # Those, the letter it died on, and the rest of its window: a commit's worth and two
        # (services/delivery.py, Handing), not the claim of 100.
        assert twice + 1 <= status.possible_duplicates <= every + 2
        assert stats.possible_duplicates == status.possible_duplicates
        runtime.close()
