"""`kill -9` of a worker in the middle of a batch, then a restart: nothing is lost.

Every letter reaches the sink; a letter reaches it twice only if it was in the window between
the relay's 250 and our commit, and every such letter is counted as a possible duplicate.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import init_database, open_runtime
from fairwell.services.planning import queue_plan
from tests.conftest import settings_for
from tests.helpers import import_and_reject_all, people

LETTERS = 300


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    fairwell = Path(sys.executable).with_name("fairwell")
    return subprocess.Popen(
        [str(fairwell), "worker", "--poll", "0.1", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {seconds} s")


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path: Path, database_url: str) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        url = database_url
        settings = settings_for(url, sink.port)
        init_database(settings)
        runtime = open_runtime(settings)
        now = runtime.clock.now()
        import_and_reject_all(runtime.store, tmp_path / "a.csv", people(LETTERS), now)
        queue_plan(runtime.store, runtime.composer, "Data Analyst", actor="t", now=now)

        env = {
            **os.environ,
            "FAIRWELL_DATABASE_URL": url,
            "FAIRWELL_SMTP_PORT": str(sink.port),
            "FAIRWELL_FROM": "careers@acme.example.com",
            "FAIRWELL_LEASE_SECONDS": "2",
            "FAIRWELL_COMMIT_EVERY": "10",
            "FAIRWELL_CLAIM_BATCH": "25",
        }
        first = start_worker(env, "--rate", "150")
        # Not on a claim or commit boundary, so some letters are in the 250-to-commit window.
        wait_until(lambda: len(read_sink(sink.directory)) >= LETTERS // 3 + 7, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = len(read_sink(sink.directory))
        assert killed_at < LETTERS, "the worker finished before it could be killed"

        second = start_worker(env)
        try:
            wait_until(lambda: runtime.store.outbox_status().counts == {"sent": LETTERS}, 60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)

        received = Counter(message.rcpt_tos[0] for message in read_sink(sink.directory))
        assert set(received) == {f"p{i}@example.com" for i in range(LETTERS)}
        duplicates = sum(count - 1 for count in received.values())
        recovered = runtime.store.outbox_status().possible_duplicates
        print(f"killed after {killed_at}; duplicates {duplicates}; counted {recovered}")
        # Only letters it had marked handed are counted: a commit's worth and the two after
        # (0023), not its whole claim of 25.
        assert duplicates <= recovered <= 10 + 2
        assert recovered > 0
        runtime.close()
