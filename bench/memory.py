"""Peak memory of `fairwell send` and of a delivering worker, for 10k, 100k and 1M letters,
or for a batch of 100 letters with 10k, 100k and 1M people on file.

    .venv/bin/python bench/memory.py --sizes 10000,100000,1000000
    .venv/bin/python bench/memory.py --sizes 1000,10000          # a quick run
    .venv/bin/python bench/memory.py --on-file --sizes 10000,100000,1000000 --letters 100

For each size, in a fresh directory and a fresh database: N synthetic applicants (the people of
bench/send.py) are imported and all rejected (untimed, their own process). With ``--on-file``,
N is the people already on file instead (one application each, for past jobs of 100, written
with plain INSERTs), and ``--letters`` more are imported for the bench's job and rejected.
Every letter is guarded against everyone on file, so the roster has N (+ letters) people
either way. Then

* **send**: a fresh process runs what `fairwell send --no-wait` runs: the plan it shows
  (`make_plan`: every letter composed and guarded, nothing kept), then `queue_plan` (composed
  and guarded again, written to the outbox in one transaction);
* **worker**: a fresh process delivers the batch as a worker does (`run_batch`: claims of
  FAIRWELL_CLAIM_BATCH letters, send-time guard on the stored bytes, SMTP to a local sink).

Each process reports its RSS when its work starts and its peak during each step: Linux lets a
process reset its high-water mark (/proc/self/clear_refs), so the peak of one step does not
hide in the peak of the one before. "process" is the peak of the whole process, imports
included (what ru_maxrss would say). The in-run baseline is a fresh process that only imports
the same modules. A benchmark, not a test; see bench/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import benchdata
from sinks import SinkProcess, resolve_kind

MIB = 1024.0  # /proc and ru_maxrss figures are in KiB
# fairwell imports files of up to 50 MB: a million people go in four files.
ROWS_PER_FILE = 300_000
MODULES = (
    "fairwell.cli",
    "fairwell.runtime",
    "fairwell.services.planning",
    "fairwell.worker.embedded",
)


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- measuring inside a child ---------------------------------------------------------------


class Peaks:
    """RSS now, and the peak of each step since the last one (VmHWM, reset in between)."""

    def __init__(self, trace: bool) -> None:
        self.figures: dict[str, float] = {}
        self.process_peak = 0.0
        self.trace = trace
        self.resettable = True
        if trace:
            tracemalloc.start()

    def start(self, name: str) -> None:
        rss, peak = _status()
        self.process_peak = max(self.process_peak, peak)
        self.figures[f"{name}_start_mib"] = rss
        self._reset()

    def end(self, name: str) -> None:
        _, peak = _status()
        self.process_peak = max(self.process_peak, peak)
        self.figures[f"{name}_peak_mib"] = peak if self.resettable else float("nan")
        if self.trace:
            self.figures[f"{name}_python_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        self.figures["process_peak_mib"] = self.process_peak

    def _reset(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.resettable = False
        if self.trace:
            tracemalloc.reset_peak()


def _status() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    status = Path("/proc/self/status").read_text()
    figures = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    peak = figures.get("VmHWM", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return int(figures.get("VmRSS", 0)) / MIB, int(peak) / MIB


def _import_modules() -> None:
    """What a `fairwell` command imports before it starts (the CLI among them)."""
    for module in MODULES:
        __import__(module)


def child_baseline() -> dict[str, Any]:
    _import_modules()
    rss, peak = _status()
    return {"rss_mib": rss, "peak_mib": peak}


def child_setup(directory: Path, port: int, on_file: int) -> dict[str, Any]:
    """Import the CSV and reject everyone: the state `fairwell send` starts from."""
    from fairwell.runtime import init_database, open_runtime
    from fairwell.services.decisions import Selection, reject
    from fairwell.services.importing import import_file

    settings = benchdata.sqlite_settings(directory, port)
    init_database(settings)
    runtime = open_runtime(settings)
    try:
        started = time.perf_counter()
        benchdata.put_on_file(runtime.engine, on_file)
        imported = 0
        for path in sorted(directory.glob("applicants-*.csv")):
            report = import_file(runtime.store, path, actor="bench", now=runtime.clock.now())
            imported += report.rows
        imported_at = time.perf_counter()
        decided = reject(
            runtime.store,
            benchdata.JOB_TITLE,
            Selection(all_except_hired=True),
            benchdata.REASON,
            note=None,
            actor="bench",
            now=runtime.clock.now(),
        )
        rejected_at = time.perf_counter()
    finally:
        runtime.close()
    return {
        "on_file": on_file,
        "imported": imported,
        "decided": len(decided.decided),
        "import_seconds": imported_at - started,
        "reject_seconds": rejected_at - imported_at,
        "peak_mib": _status()[1],
    }


def child_send(directory: Path, port: int, processes: int, trace: bool) -> dict[str, Any]:
    """What `fairwell send --yes --no-wait` runs: the plan it prints, then the queueing."""
    from fairwell.runtime import open_runtime
    from fairwell.services.planning import make_plan, queue_plan
    from fairwell.worker.pool import WorkerPool

    _import_modules()
    peaks = Peaks(trace)
    runtime = open_runtime(benchdata.sqlite_settings(directory, port))
    clock = time.perf_counter
    try:
        peaks.start("plan")
        started = clock()
        # As `fairwell send` does: the runtime's roster of everyone on file, for the plan and
        # the queueing (the plan builds it: its time is the roster_seconds below).
        runtime.rosters.current()
        roster_built = clock()
        title, composer = benchdata.JOB_TITLE, runtime.composer
        plan = make_plan(runtime.store, composer, title, runtime.clock.now())
        planned = clock()
        peaks.end("plan")
        peaks.start("queue")
        pool = WorkerPool(runtime.settings, processes) if processes > 1 else None
        now = runtime.clock.now()
        batch = queue_plan(
            runtime.store,
            runtime.composer,
            benchdata.JOB_TITLE,
            actor="bench",
            now=now,
            expected=plan.ready,
            composing=pool.composing(now) if pool else None,
        )
        if pool:
            pool.__exit__(None, None, None)
        queued = clock()
        peaks.end("queue")
    finally:
        runtime.close()
    return {
        **peaks.figures,
        "ready": plan.ready,
        "queued": batch.queued,
        "blocked": batch.blocked,
        "batch_id": batch.batch_id,
        "roster_seconds": roster_built - started,
        "roster_people": runtime.rosters.current().size,
        "plan_seconds": planned - roster_built,
        "queue_seconds": queued - planned,
        "processes": processes,
        "pool_process_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / MIB,
    }


def child_worker(directory: Path, port: int, batch_id: int, trace: bool) -> dict[str, Any]:
    """Deliver the batch as `fairwell worker` does: claim, guard, send, record, repeat."""
    from fairwell.runtime import make_deliverer, open_runtime
    from fairwell.worker.embedded import run_batch

    _import_modules()
    peaks = Peaks(trace)
    runtime = open_runtime(benchdata.sqlite_settings(directory, port))
    try:
        peaks.start("deliver")
        started = time.perf_counter()
        runtime.rosters.current()  # what the first claim would build: timed on its own
        roster_built = time.perf_counter()
        stats = run_batch(make_deliverer(runtime), batch_id)
        delivered = time.perf_counter()
        peaks.end("deliver")
    finally:
        runtime.close()
    return {
        **peaks.figures,
        "sent": stats.sent,
        "not_sent": stats.claimed - stats.sent,
        "roster_seconds": roster_built - started,
        "deliver_seconds": delivered - roster_built,
        "claim_batch": runtime.settings.claim_batch,
    }


# --- the parent -------------------------------------------------------------------------------


def run_child(mode: str, *arguments: str, timeout: float) -> dict[str, Any]:
    """Run this script as a fresh child in ``mode``; its JSON result, and its ru_maxrss."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as result:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
        command += [*arguments, "--out", result.name]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        started = time.monotonic()
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                process.kill()
                raise RuntimeError(f"the {mode} child took more than {timeout:.0f} s")
            time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"the {mode} child failed with exit code {process.returncode}")
        figures: dict[str, Any] = json.loads(Path(result.name).read_text())
    figures["ru_maxrss_mib"] = usage.ru_maxrss / MIB
    return figures


def measure_size(
    n: int, workdir: Path, sink: SinkProcess, args: argparse.Namespace
) -> dict[str, Any]:
    directory = workdir / f"n{n}"
    directory.mkdir(parents=True)
    on_file, letters = (n, args.letters) if args.on_file else (0, n)
    write_applicant_files(directory, letters, start=on_file)
    timeout = 1800 + 0.01 * (n + letters)
    port, place = str(sink.port), str(directory)
    trace = ["--trace"] if args.trace else []
    note(f"N={n}: import and reject ...")
    on_file_option = ["--people-on-file", str(on_file)]
    setup = run_child("setup", place, "--port", port, *on_file_option, timeout=timeout)
    note(f"N={n}: send (plan, then queue) ...")
    processes = ["--processes", str(args.processes)]
    send = run_child("send", place, "--port", port, *processes, *trace, timeout=timeout)
    note(f"N={n}: worker (deliver) ...")
    before = sink.received()
    batch = ["--batch", str(send["batch_id"])]
    worker = run_child("worker", place, "--port", port, *batch, *trace, timeout=timeout)
    received = sink.received_after(before, worker["sent"])
    if not args.keep:
        shutil.rmtree(directory, ignore_errors=True)
    note(
        f"N={n}: send peak {send['process_peak_mib']:.1f} MiB, worker peak "
        f"{worker['process_peak_mib']:.1f} MiB, sent {worker['sent']}, received {received}"
    )
    row = {"n": letters, "on_file": on_file, "setup": setup, "send": send, "worker": worker}
    return {**row, "received": received}


def write_applicant_files(directory: Path, n: int, start: int = 0) -> None:
    """bench/send.py's N people, ROWS_PER_FILE to a file, without holding them all."""
    rows = benchdata.iter_applicant_rows(n, start=start)
    for number, start in enumerate(range(0, n, ROWS_PER_FILE)):
        part = itertools.islice(rows, min(ROWS_PER_FILE, n - start))
        benchdata.write_applicants_csv(directory / f"applicants-{number:03d}.csv", part)


def print_table(report: dict[str, Any]) -> None:
    base = report["baseline"]
    print(
        f"fairwell memory benchmark, {report['date']}, {os.cpu_count()} cpus, sink: "
        f"{report['sink']}; send with {report['processes']} process(es)"
    )
    print(
        f"baseline: a fresh process that imports {', '.join(MODULES)}: "
        f"RSS {base['rss_mib']:.1f} MiB, ru_maxrss {base['ru_maxrss_mib']:.1f} MiB"
    )
    header = (
        "{:>9} {:>9} {:>9} | {:>7} {:>7} {:>7} {:>8} | {:>7} {:>8} {:>8} | {:>8} {:>7} {:>7} {:>8}"
    )
    columns = (
        "letters on_file roster start plan queue process start deliver process roster_s "
        "plan_s queue_s deliver_s"
    )
    print(header.format(*(column.replace("_", " ") for column in columns.split(" "))))
    print(f"{'':>9} {'':>9} {'':>9} | {'send: RSS and peaks, MiB':<33} | {'worker, MiB':<26} |")
    for row in report["sizes"]:
        s, w = row["send"], row["worker"]
        print(
            f"{row['n']:>9} {row['on_file']:>9} {row['roster']:>9} | {s['plan_start_mib']:>7.1f} "
            f"{s['plan_peak_mib']:>7.1f} {s['queue_peak_mib']:>7.1f} {s['process_peak_mib']:>8.1f}"
            f" | {w['deliver_start_mib']:>7.1f} {w['deliver_peak_mib']:>8.1f} "
            f"{w['process_peak_mib']:>8.1f} | {s['roster_seconds']:>8.1f} "
            f"{s['plan_seconds']:>7.1f} {s['queue_seconds']:>7.1f} {w['deliver_seconds']:>8.1f}"
        )
    for row in report["sizes"]:
        s, w, setup = row["send"], row["worker"], row["setup"]
        on_file = f" (+{row['on_file']} on file)" if row["on_file"] else ""
        line = (
            f"N={row['n']}{on_file}: queued {s['queued']}, blocked {s['blocked']}, "
            f"sent {w['sent']}, "
            f"sink received {row['received']}; import {setup['import_seconds']:.1f} s "
            f"+ reject {setup['reject_seconds']:.1f} s untimed (that process peaked at "
            f"{setup['peak_mib']:.0f} MiB)"
        )
        if s["processes"] > 1:
            line += f"; composing pool processes peaked at {s['pool_process_peak_mib']:.1f} MiB"
        if "plan_python_peak_mib" in s:
            line += (
                f"; tracemalloc peaks: plan {s['plan_python_peak_mib']:.1f}, queue "
                f"{s['queue_python_peak_mib']:.1f}, deliver {w['deliver_python_peak_mib']:.1f} MiB"
            )
        print(line)


def problems_in(report: dict[str, Any]) -> list[str]:
    problems = []
    for row in report["sizes"]:
        n, sent = row["n"], row["worker"]["sent"]
        if row["send"]["queued"] != n or sent != n or row["received"] != n:
            problems.append(
                f"N={n}: queued {row['send']['queued']}, sent {sent}, received {row['received']}"
            )
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[10_000, 100_000, 1_000_000],
        help="letters per run, comma-separated (10000,100000,1000000)",
    )
    parser.add_argument("--sink", choices=("auto", "postfix", "fairwell"), default="auto")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="send composes the queued letters with this many processes (1; above 1 a "
        "WorkerPool, as `fairwell send` uses for big batches)",
    )
    parser.add_argument(
        "--on-file",
        action="store_true",
        help="sizes are people already on file (past jobs); --letters more get a letter",
    )
    parser.add_argument("--letters", type=int, default=100, help="letters with --on-file (100)")
    parser.add_argument("--trace", action="store_true", help="also tracemalloc peaks (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # Internal: one measured step in a fresh process.
    parser.add_argument("--child", choices=("baseline", "setup", "send", "worker"))
    parser.add_argument("directory", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--people-on-file", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_as_child(args: argparse.Namespace) -> int:
    directory = Path(args.directory or ".")
    if args.child == "baseline":
        figures = child_baseline()
    elif args.child == "setup":
        figures = child_setup(directory, args.port, args.people_on_file)
    elif args.child == "send":
        figures = child_send(directory, args.port, args.processes, args.trace)
    else:
        figures = child_worker(directory, args.port, args.batch, args.trace)
    Path(args.out).write_text(json.dumps(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_as_child(args)
    from fairwell.guard.roster import COMPACT_FROM

    workdir = Path(tempfile.mkdtemp(prefix="fairwell-memory-"))
    try:
        baseline = run_child("baseline", timeout=120)
        with SinkProcess(resolve_kind(args.sink), workdir / "sink") as sink:
            note(f"sink: {sink.description} on {sink.host}:{sink.port}")
            sizes = []
            for n in args.sizes:
                row = measure_size(n, workdir, sink, args)
                people = row["send"]["roster_people"]
                row["roster"] = "compact" if people >= COMPACT_FROM else "automaton"
                sizes.append(row)
            description = sink.description
    finally:
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "sink": description,
        "processes": args.processes,
        "baseline": baseline,
        "sizes": sizes,
    }
    return benchdata.finish(report, args.json, print_table, problems_in(report))


if __name__ == "__main__":
    sys.exit(main())
