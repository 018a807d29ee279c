"""Letters per second from the user's seat: the fairwell CLI, one process per step, vs mailmerge.

    .venv/bin/python bench/user_seat.py --n 10000
    .venv/bin/python bench/user_seat.py --n 10000 --n 100000 --json

A recruiter runs `fairwell init`, `fairwell import FILE`, `fairwell reject --job J
--all-except-hired --reason R` and `fairwell send --job J --yes`, each a fresh process with its
start-up and imports. That whole sequence is timed here and set beside the `mailmerge` CLI
sending the same people, run once before and once after fairwell in the same run (the machine
is noisy: only same-run ratios mean anything). Each step's wall time and peak RSS (the step's
process and its children: the largest VmHWM read from /proc every 20 ms) are reported. The
deliver step's rate (first letter handed to the relay to the last, from the outbox's sent_at)
is set beside Postfix's
smtp-source sending one of the same letters N times over 4 connections. A benchmark, not a
test; see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import benchdata
from send import Result, run_mailmerge, run_smtp_source, stored_letters
from sinks import SinkProcess, resolve_kind

MIB = 1024.0  # ru_maxrss is in KiB on Linux
SMTP_SOURCE_SESSIONS = 4
RECRUITER = "rita"


@dataclass
class Step:
    name: str
    seconds: float
    peak_rss_mib: float


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fairwell_env(directory: Path, port: int) -> dict[str, str]:
    """The bench's settings; any FAIRWELL_* variable of the caller's wins (printed with the run).
    Fairwell's bytecode is kept as an install keeps it (benchdata.with_bytecode)."""
    env = {
        **os.environ,
        "FAIRWELL_DATABASE_URL": f"sqlite:///{directory / 'fairwell.db'}",
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(port),
        "FAIRWELL_SMTP_SECURITY": "none",
        "FAIRWELL_FROM": benchdata.FROM_ADDRESS,
        "FAIRWELL_ORG_NAME": benchdata.ORG_NAME,
        # The bench measures sending, not waiting for the candidates' business hours.
        "FAIRWELL_SEND_WINDOWS": "off",
        "FAIRWELL_USER": RECRUITER,  # decisions are made by a named user
        **{k: v for k, v in os.environ.items() if k.startswith("FAIRWELL_")},
    }
    return benchdata.with_bytecode(env)


def run_step(name: str, arguments: list[str], env: dict[str, str]) -> Step:
    """One CLI command as a user runs it: a fresh process, timed from spawn to exit.

    Peak RSS is the largest VmHWM of the step's process and its children, read from /proc
    while they run: ``ru_maxrss`` from wait4 would carry over this (big) bench process's own
    high-water mark through fork and exec, and report it for every step.
    """
    fairwell = Path(sys.executable).parent / "fairwell"
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(fairwell), *arguments],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watcher = PeakWatcher(process.pid)
    watcher.start()
    _, status, _ = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    watcher.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"fairwell {name} exited {process.returncode}: {errors[-2000:]}")
    return Step(name, seconds, watcher.peak_kib / MIB)


class PeakWatcher(threading.Thread):
    """The largest VmHWM (the kernel's per-process peak RSS) of a process and its children."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kib = pid, every, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            for pid in [self.pid, *_descendants(self.pid)]:
                self.peak_kib = max(self.peak_kib, _high_water_kib(pid))
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _high_water_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _add_recruiter(directory: Path, env: dict[str, str]) -> None:
    secret = directory / "recruiter.password"
    secret.write_text("a long bench password, not a common one", encoding="utf-8")
    add = ["users", "add", "--username", RECRUITER, "--role", "recruiter"]
    run_step("users add", [*add, "--password-file", str(secret)], env)


def deliver_rate(database: Path) -> float | None:
    """Letters a second from the first letter handed to the relay to the last one."""
    query = "SELECT count(*), min(sent_at), max(sent_at) FROM outbox WHERE state = 'sent'"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        count, first, last = connection.execute(query).fetchone()
    if not count or count < 2:
        return None
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    return (count - 1) / span if span > 0 else None


def measure(n: int, workdir: Path, sink: SinkProcess, with_plan: bool = False) -> dict[str, Any]:
    directory = workdir / f"n{n}"
    directory.mkdir()
    applicants = directory / "applicants.csv"
    benchdata.write_applicants_csv(applicants, benchdata.iter_applicant_rows(n))
    note(f"{n}: mailmerge (before) ...")
    before = _mailmerge(directory / "mailmerge-before", n, sink, {})
    env = fairwell_env(directory, sink.port)
    job = benchdata.JOB_TITLE
    commands = {
        "init": ["init"],
        "import": ["import", str(applicants)],
        "reject": ["reject", "--job", job, "--all-except-hired", "--reason", benchdata.REASON],
        "send": ["send", "--job", job, "--yes"],
    }
    if with_plan:  # the recruiter reads the plan, then sends it
        commands = {
            **{k: v for k, v in commands.items() if k != "send"},
            "plan": ["plan", "--job", job],
        }
        commands["send"] = ["send", "--job", job, "--yes"]
    steps: list[Step] = []
    received_before = sink.received()
    for name, arguments in commands.items():
        note(f"{n}: fairwell {name} ...")
        steps.append(run_step(name, arguments, env))
        if name == "init":  # the recruiter's account exists before their day starts: untimed
            _add_recruiter(directory, env)
    received = sink.received_after(received_before, n)
    database = directory / "fairwell.db"
    refs = benchdata.application_refs(database)
    source = _smtp_source(directory, database, n, sink)
    note(f"{n}: mailmerge (after) ...")
    after = _mailmerge(directory / "mailmerge-after", n, sink, refs)
    return _figures(n, steps, received, deliver_rate(database), source, before, after)


def _mailmerge(directory: Path, n: int, sink: SinkProcess, refs: dict[str, str]) -> Result:
    directory.mkdir()
    before = sink.received()
    result = run_mailmerge(directory, n, sink.host, sink.port, refs)
    result.received = sink.received_after(before, n)
    return result


def _smtp_source(directory: Path, database: Path, n: int, sink: SinkProcess) -> Result | None:
    letters = stored_letters(database)
    if not letters:
        return None
    note(f"{n}: smtp-source x{SMTP_SOURCE_SESSIONS} ...")
    return run_smtp_source(directory, letters[0], n, sink, SMTP_SOURCE_SESSIONS)


def _figures(
    n: int,
    steps: list[Step],
    received: int,
    deliver: float | None,
    source: Result | None,
    before: Result,
    after: Result,
) -> dict[str, Any]:
    total = sum(step.seconds for step in steps)
    rate = n / total
    mailmerge = (before.rate + after.rate) / 2
    return {
        "n": n,
        "received": received,
        "steps": {s.name: {"seconds": s.seconds, "peak_rss_mib": s.peak_rss_mib} for s in steps},
        "fairwell_seconds": total,
        "fairwell_rate": rate,
        "mailmerge_rate_before": before.rate,
        "mailmerge_rate_after": after.rate,
        "ratio_vs_mailmerge": rate / mailmerge if mailmerge else None,
        "deliver_rate": deliver,
        "smtp_source_x4_rate": source.rate if source else None,
        "deliver_vs_smtp_source_x4": deliver / source.rate if deliver and source else None,
        "mailmerge_received": [before.received, after.received],
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"# fairwell from the user's seat ({report['date']}, {report['cpus']} CPUs)")
    print(f"sink: {report['sink']}\n")
    print("| letters | fairwell end to end | mailmerge before / after | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    for row in report["sizes"]:
        print(
            f"| {row['n']:,} | {row['fairwell_rate']:.0f}/s ({row['fairwell_seconds']:.1f} s) | "
            f"{row['mailmerge_rate_before']:.0f}/s / {row['mailmerge_rate_after']:.0f}/s | "
            f"{row['ratio_vs_mailmerge']:.2f}x |"
        )
    print("\n| letters | step | seconds | peak RSS |")
    print("| ---: | --- | ---: | ---: |")
    for row in report["sizes"]:
        for name, step in row["steps"].items():
            seconds, rss = step["seconds"], step["peak_rss_mib"]
            print(f"| {row['n']:,} | {name} | {seconds:.2f} | {rss:.0f} MiB |")
    print("\n| letters | deliver step | smtp-source x4 | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    for row in report["sizes"]:
        deliver, source = row["deliver_rate"], row["smtp_source_x4_rate"]
        ratio = row["deliver_vs_smtp_source_x4"]
        print(
            f"| {row['n']:,} | {_rate(deliver)} | {_rate(source)} | "
            f"{f'{ratio:.2f}' if ratio else '-'} |"
        )


def _rate(value: float | None) -> str:
    return f"{value:.0f}/s" if value else "-"


def problems_of(report: dict[str, Any]) -> list[str]:
    problems = []
    for row in report["sizes"]:
        if row["received"] != row["n"]:
            problems.append(f"{row['n']}: the sink received {row['received']} fairwell letters")
        if row["mailmerge_received"] != [row["n"], row["n"]]:
            problems.append(f"{row['n']}: mailmerge delivered {row['mailmerge_received']}")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append", help="letters (repeatable)")
    parser.add_argument("--sink", choices=("auto", "postfix", "fairwell"), default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--with-plan", action="store_true", help="run `fairwell plan` before `send`, as a recruiter"
    )
    args = parser.parse_args(argv)
    args.n = args.n or [10_000]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-user-seat-"))
    kind = resolve_kind(args.sink)
    try:
        with SinkProcess(kind, workdir) as sink:
            sizes = [measure(n, workdir, sink, args.with_plan) for n in args.n]
            report = {
                **benchdata.run_facts(max(args.n), sink.description),
                "sizes": sizes,
                "fairwell_env": {k: v for k, v in os.environ.items() if k.startswith("FAIRWELL_")},
            }
    finally:
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return benchdata.finish(report, args.json, print_table, problems_of(report))


if __name__ == "__main__":
    sys.exit(main())
