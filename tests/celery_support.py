"""Real brokers and real Celery processes for tests/test_celery*.py.

Redis: each test starts its own ``redis-server`` on a free port, so it can stop and restart
it without disturbing anything else on the machine. RabbitMQ: the server on 127.0.0.1:5672.
In CI a missing broker fails the test loudly; elsewhere it skips and says why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

RABBITMQ_URL = os.environ.get("FAIRWELL_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def require(problem: str | None, what: str) -> None:
    """Fail in CI, skip elsewhere, when a live service the test needs is missing."""
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI and is not available: {problem}")
    pytest.skip(f"{what} not available: {problem}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], seconds: float, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {seconds} s")


class RedisServer:
    """A private redis-server that keeps nothing on disk, as the broker of one test."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, "redis-server answering PING")

    def answers(self) -> bool:
        reply = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
        )
        return reply.stdout.strip() == b"PONG"

    def shutdown(self) -> None:
        """What an operator's `redis-cli shutdown nosave` does: the queue is gone."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], check=False)
        if self._process is not None:
            self._process.wait(10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None


@contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    require(f"{', '.join(missing)} not installed" if missing else None, "Redis")
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rabbitmq_problem(url: str = RABBITMQ_URL) -> str | None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


def fairwell_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("fairwell")), *args]


def start_group(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group, so a kill takes its children with it."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill_group(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    """`kill -9` of a Celery worker: its main process and its prefork children at once."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    process.wait(20)
