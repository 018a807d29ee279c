"""The SMTP sink for bench/send.py, run as a separate process on a free 127.0.0.1 port.

``postfix``: Postfix's smtp-sink, which reads every message and throws it away (no ``-d``/``-D``,
so nothing is written to disk); ``-c`` makes it print running counters, from which we read how
many messages it received. ``fairwell``: fairwell's own sink (``fairwell mailsink``), which
stores every message as two files; we count the files.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
SETTLE_TIMEOUT = 5.0
_POSTFIX_COUNTER = re.compile(rb"mesg=(\d+)")


def postfix_tool(name: str) -> str | None:
    """Where Postfix's test tool ``name`` (smtp-sink, smtp-source) is, if installed.

    Debian installs them in /usr/sbin, which is often not on a user's PATH.
    """
    fallback = f"/usr/sbin/{name}"
    return shutil.which(name) or (fallback if os.access(fallback, os.X_OK) else None)


def postfix_sink_path() -> str | None:
    return postfix_tool("smtp-sink")


def resolve_kind(kind: str) -> str:
    """auto -> postfix when smtp-sink is installed, else fairwell."""
    if kind == "auto":
        return "postfix" if postfix_sink_path() else "fairwell"
    if kind == "postfix" and not postfix_sink_path():
        raise SystemExit("--sink postfix: smtp-sink is not installed (apt-get install postfix)")
    return kind


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class SinkProcess:
    """A sink in its own process: started, checked to answer SMTP, counted, stopped."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.directory = directory
        self.host = HOST
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = directory / "sink.out"

    @property
    def description(self) -> str:
        if self.kind == "postfix":
            return f"postfix smtp-sink ({postfix_sink_path()}; discards messages)"
        return f"fairwell mailsink (stores each message as files in {self.directory / 'mail'})"

    def _command(self) -> list[str]:
        address = f"{self.host}:{self.port}"
        if self.kind == "postfix":
            command = [str(postfix_sink_path()), "-4", "-c"]
            if os.geteuid() == 0:
                command += ["-u", "nobody"]  # smtp-sink refuses to run as root without -u
            return [*command, address, "1024"]
        script = Path(sys.executable).parent / "fairwell"
        launcher = (
            [str(script)]
            if script.exists()
            else [sys.executable, "-c", "from fairwell.cli import main; main()"]
        )
        mail = str(self.directory / "mail")
        return [*launcher, "mailsink", "--host", self.host, "--port", str(self.port), "--dir", mail]

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the sink exited: {self._log.read_text(errors='replace')}")
            if _answers_smtp(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the sink did not answer on {self.host}:{self.port} in time")

    def pin(self, cpus: set[int]) -> None:
        """Run the sink on these CPUs only."""
        assert self._process is not None
        os.sched_setaffinity(self._process.pid, cpus)

    def received(self) -> int:
        """How many messages the sink has received so far."""
        if self.kind == "postfix":
            counters = _POSTFIX_COUNTER.findall(self._log.read_bytes()[-200:])
            return int(counters[-1]) if counters else 0
        mail = self.directory / "mail"
        if not mail.exists():
            return 0
        with os.scandir(mail) as entries:
            return sum(1 for e in entries if e.name.endswith(".json") and e.name[0] != ".")

    def received_after(self, before: int, expected: int) -> int:
        """Messages received since ``before``, waiting briefly for counters to catch up."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            got = self.received() - before
            if got >= expected or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT)
        self._process = None

    def __enter__(self) -> SinkProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _answers_smtp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as connection:
            greeting = connection.recv(512)
            connection.sendall(b"QUIT\r\n")
            return greeting.startswith(b"220")
    except OSError:
        return False


class DelayedSink:
    """A sink behind bench/delay_proxy.py: every reply arrives ``delay`` seconds late.

    Stands for a relay that is not on this machine. Counting and pinning go to the sink.
    """

    def __init__(self, sink: SinkProcess, delay: float) -> None:
        self.sink, self.delay = sink, delay
        self.host = HOST
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def description(self) -> str:
        return f"{self.sink.description}, every reply held back {self.delay * 1000:g} ms by a proxy"

    def __enter__(self) -> DelayedSink:
        self.port = free_port()
        script = Path(__file__).with_name("delay_proxy.py")
        self._process = subprocess.Popen(
            [sys.executable, str(script), str(self.port), str(self.sink.port), str(self.delay)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_smtp(self.host, self.port):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError("the delay proxy did not start")
            time.sleep(0.05)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(STOP_TIMEOUT)
            self._process = None

    @property
    def pid(self) -> int | None:
        """The proxy's process id while it runs (bench/celery_send.py reads its CPU time)."""
        return self._process.pid if self._process is not None else None

    def pin(self, cpus: set[int]) -> None:
        self.sink.pin(cpus)

    def received(self) -> int:
        return self.sink.received()

    def received_after(self, before: int, expected: int) -> int:
        return self.sink.received_after(before, expected)
