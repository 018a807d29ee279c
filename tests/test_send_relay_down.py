"""`fairwell send` while the relay takes no letters: it says why on one line, keeps trying
FAIRWELL_SLOW_DOWN_SECONDS apart, goes on when the relay comes back, and stops waiting after
FAIRWELL_RELAY_TRIES tries in a row with the batch left queued for `fairwell worker`.

Real processes, a real SMTP server (aiosmtpd) that is down and then comes up on the same port,
SQLite and PostgreSQL; in the command's own process (--processes 1) and in worker processes.
Waits are generous bounds against a hang, never timing assertions.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink
from fairwell.services.delivery import Deliverer, DeliveryPolicy, SlowDown
from fairwell.storage.rates_store import SqlSendSlots
from fairwell.storage.store import SqlStore
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock
from tests.smtp_server import ScriptedSmtpServer, Step, unused_port
from tests.test_delivery_faults import queue, smtp, states
from tests.test_rate_limit import FakeWall
from tests.test_send_faults import FAIRWELL, SEND, delivered, environment, rejected

LETTERS = 12
# Short waits between tries: the relay's outage is what is tested, not its length.
QUICK = {"slow_down_seconds": "0.2", "retry_base_seconds": "0.1", "claim_batch": "5"}
ENOUGH = 300  # seconds: a bound against a hang, far above what any of these takes


@pytest.mark.parametrize("processes", ["1", "2"])
def test_send_to_a_relay_nobody_listens_on_says_why_once_and_leaves_the_batch_queued(
    tmp_path: Path, database_url: str, processes: str
) -> None:
    port = unused_port()
    runtime = rejected(tmp_path, database_url, port, LETTERS)
    env = environment(database_url, port, relay_tries="3", **QUICK)

    done = subprocess.run(
        [FAIRWELL, *SEND, "--processes", processes],
        env=env,
        capture_output=True,
        text=True,
        timeout=ENOUGH,
    )

    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    why = f"cannot reach 127.0.0.1:{port}: Connection refused"
    trying = [line for line in done.stderr.splitlines() if "every worker tries again" in line]
    assert len(trying) == 1 and why in trying[0], "one line says why, however many tries"
    assert f"fairwell: the relay took no letter in 3 tries ({why}); batch 1 stays queued" in (
        " ".join(done.stderr.split())
    )
    assert "@example.com" not in said and "Doe" not in said, "no candidate on the terminal"
    counts = runtime.store.outbox_status().counts
    assert counts.keys() <= {"queued", "retry"} and sum(counts.values()) == LETTERS
    runtime.close()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_send_goes_on_when_the_relay_comes_up_after_its_first_refusals(
    tmp_path: Path, database_url: str, processes: str
) -> None:
    port = unused_port()
    runtime = rejected(tmp_path, database_url, port, LETTERS)
    env = environment(database_url, port, relay_tries="1000", **QUICK)
    send = subprocess.Popen(
        [FAIRWELL, *SEND, "--processes", processes],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert send.stdout is not None and send.stderr is not None
    said: list[str] = []
    watchdog = threading.Timer(ENOUGH, send.kill)  # a hang fails the test, not the suite
    watchdog.start()
    try:
        # The relay is down until the command has said so; then it comes up on that port.
        for line in send.stderr:
            said.append(line)
            if "every worker tries again" in line:
                break
        assert "cannot reach" in "".join(said), "".join(said)
        with MailSink(tmp_path / "mail", port=port) as sink:
            rest = threading.Thread(target=said.extend, args=(send.stderr,))
            rest.start()
            stdout = send.stdout.read()
            send.wait()
            rest.join()
            received = delivered(sink)
    finally:
        watchdog.cancel()
        send.kill()
        send.wait()

    stderr = "".join(said)
    assert send.returncode == 0, stdout + stderr
    assert "the relay takes letters again" in stderr
    counts = runtime.store.outbox_status().counts
    assert "queued" not in counts and counts.keys() <= {"sent", "retry"}, counts
    assert sum(received.values()) == counts["sent"] > 0, "each letter sent went once"
    assert set(received.values()) == {1}
    assert counts["sent"] + counts.get("retry", 0) == LETTERS
    runtime.close()


def test_a_batch_run_stops_waiting_after_the_relay_tries_and_not_before(
    store: SqlStore, tmp_path: Path, clock: FixedClock
) -> None:
    """run_batch, in process: three claims in a row refused with 421 end it when three tries
    are allowed; with four, the fourth claim goes through and the rest is delivered."""
    batch = queue(store, tmp_path, clock, 10)
    busy = [Step.refuse("MAIL", "421 4.3.2 busy, try later")] * 3

    def worker(relay: ScriptedSmtpServer, tries: int, wall: FakeWall) -> Deliverer:
        slow_down = SlowDown(SqlSendSlots(store.engine), 30.0, wall=wall, sleep=wall.sleep)
        policy = DeliveryPolicy(relay_tries=tries)
        return Deliverer(store, smtp(relay), clock, "w", policy, slow_down=slow_down)

    with ScriptedSmtpServer(*busy) as relay:
        wall = FakeWall()
        stats = run_batch(worker(relay, 3, wall), batch)
        assert (stats.relay_failures, stats.sent) == (3, 0)
        assert states(store) == {"queued": 7, "retry": 3}
        assert wall.slept == pytest.approx([30.0, 30.0]), "tried again after each slow-down"
        reason = SqlSendSlots(store.engine).backoff_reason()
        assert reason == "421 at MAIL FROM: 4.3.2 busy, try later"

    with ScriptedSmtpServer(*busy) as relay:
        stats = run_batch(worker(relay, 4, FakeWall()), batch)
    # Each refusal is one letter's own temporary failure, retried later, as before.
    assert (stats.relay_failures, stats.sent) == (3, 4)
    assert states(store) == {"sent": 4, "retry": 6}
