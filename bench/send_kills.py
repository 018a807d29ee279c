"""`kill -9` of a worker mid-batch, again and again: letters lost, sent twice, and counted.

    .venv/bin/python bench/send_kills.py                         # 6,000 letters, 3 kills
    .venv/bin/python bench/send_kills.py --against /tmp/old/src  # beside another checkout

Each checkout gets its own SQLite database and runs every step as the user would, each a
process: `init`, `users add`, `import`, `reject`, `send --no-wait`. Then `fairwell worker`
(default claim and commit sizes, a 3 s lease) is started and killed with SIGKILL when the sink
has received each of the kill points, waiting out the lease after each kill; then one
`fairwell worker --once` finishes what is due. It prints, per checkout: letters received out of
all, what the outbox says, the letters the sink really received twice, and the "possible
duplicates" figure operators read. Not a test: kill points land wherever the worker is.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.services.applicant_file import COLUMNS

CLI = (
    "import sys; import fairwell.cli as cli; sys.argv[0] = 'fairwell'; "
    "sys.exit(getattr(cli, 'run', cli.main)())"  # run: the program (main in older trees)
)
LEASE_SECONDS = 3.0
JOB = "Data Analyst"


def fairwell(env: dict[str, str], *arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def step(env: dict[str, str], *arguments: str) -> None:
    process = fairwell(env, *arguments)
    _, error = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"fairwell {' '.join(arguments)}: {error.decode().strip()}")


def write_applicants(path: Path, n: int) -> None:
    fixed = {"job": JOB, "stage": "screen", "source": "applied", "locale": "en"}
    fixed |= {"country": "GB", "timezone": "Europe/London", "applied_at": "2026-10-01"}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), restval="")
        writer.writeheader()
        for i in range(n):
            writer.writerow(
                {**fixed, "email": f"p{i}@example.com", "first_name": "Pat", "last_name": f"D{i}"}
            )


def environment(folder: Path, port: int, src: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "FAIRWELL_DATABASE_URL": f"sqlite:///{folder / 'fairwell.db'}",
        "FAIRWELL_SMTP_PORT": str(port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_LEASE_SECONDS": str(LEASE_SECONDS),
        "FAIRWELL_SEND_WINDOWS": "off",
        "FAIRWELL_USER": "rita",
    }
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def queued(env: dict[str, str], folder: Path, n: int) -> None:
    """The user's steps up to a queued batch, each its own process."""
    password = folder / "password"
    password.write_text("correct horse battery staple\n")
    write_applicants(folder / "applicants.csv", n)
    step(env, "init")
    user = ("--username", "rita", "--role", "admin", "--password-file", str(password))
    step(env, "users", "add", *user)
    step(env, "import", str(folder / "applicants.csv"))
    step(env, "reject", "--job", JOB, "--all-except-hired", "--reason", "position-filled")
    step(env, "send", "--job", JOB, "--yes", "--no-wait", "--processes", "1")


def measure(src: Path | None, n: int, kills: list[int]) -> str:
    folder = Path(tempfile.mkdtemp(prefix="fairwell-kills-"))
    with MailSink(folder / "mail", port=0) as sink:
        env = environment(folder, sink.port, src)
        queued(env, folder, n)
        for at in kills:
            worker = fairwell(env, "worker", "--poll", "0.1")
            while len(list(sink.directory.glob("*.json"))) < at:
                time.sleep(0.01)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's leases run out
        step(env, "worker", "--once")
        received = Counter(message.rcpt_tos[0] for message in read_sink(sink.directory))
        twice = sum(count - 1 for count in received.values())
        status = subprocess.run(
            [sys.executable, "-c", CLI, "outbox", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    outbox = json.loads(status)
    return (
        f"{src or 'this checkout'}: received {len(received)} of {n}; outbox {outbox['counts']}; "
        f"sent twice {twice}; counted as possible duplicates {outbox['possible_duplicates']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=6000, help="letters (default 6000)")
    parser.add_argument("--against", type=Path, help="also measure with this src folder first")
    arguments = parser.parse_args()
    kills = [arguments.n * k // 5 + 111 for k in (1, 2, 3)]
    for src in (None, arguments.against) if arguments.against else (None,):
        print(measure(src, arguments.n, kills), flush=True)


if __name__ == "__main__":
    main()
