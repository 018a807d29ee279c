"""Letters per second: fairwell's full send path against mailmerge and a raw smtplib loop.

    .venv/bin/python bench/send.py --n 10000

All three send the same N letters to the same local SMTP sink, which runs in another process;
the ratios are measured in one run because only same-run ratios mean anything on a noisy
machine. See bench/README.md for what each figure means. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchdata
from sinks import DelayedSink, SinkProcess, postfix_tool, resolve_kind

METHODS = ("fairwell", "mailmerge", "raw", "smtp-source")
# Every rate is also shown as a ratio to these, measured in the same run.
RATIO_BASES = ("mailmerge", "raw", "smtp-source x4")
RAW_CONNECTIONS = 4  # as many as smtp-source below: the "4 connections"
PLACEMENTS = ("none", "same", "split")
MIB = 1024.0  # ru_maxrss is in KiB on Linux
SMTP_TIMEOUT = 30.0


def _child_timeout(n: int) -> float:
    # Generous, but bounded: even 20 letters a second finishes well inside it.
    return 300.0 + 0.05 * n


@dataclass
class Result:
    method: str
    letters: int
    seconds: float
    received: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.letters / self.seconds if self.seconds > 0 else 0.0


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the fairwell path, run in a child process -------------------------------------------------


def fairwell_child(
    csv_path: Path, directory: Path, port: int, deliver: bool, processes: int = 1
) -> dict[str, Any]:
    """Import, reject all, queue and deliver; return timings and peak RSS.

    With ``processes`` above 1, composing and delivering run in a
    :class:`fairwell.worker.pool.WorkerPool` (its start-up is inside the timed figure).
    """
    from fairwell.runtime import init_database, make_deliverer, open_runtime
    from fairwell.services.decisions import Selection, reject
    from fairwell.services.importing import import_file
    from fairwell.services.planning import queue_plan
    from fairwell.services.rosters import RosterCache
    from fairwell.worker.embedded import run_batch
    from fairwell.worker.pool import WorkerPool

    settings = benchdata.sqlite_settings(directory, port)
    init_database(settings)
    runtime = open_runtime(settings)
    store, now, clock = runtime.store, runtime.clock.now, time.perf_counter
    cpu = time.process_time  # this process's CPU: what other processes on the CPU cannot add
    try:
        t0 = clock()
        imported = import_file(store, csv_path, actor="bench", now=now())
        t1 = clock()
        decided = reject(
            store,
            benchdata.JOB_TITLE,
            Selection(all_except_hired=True),
            benchdata.REASON,
            note=None,
            actor="bench",
            now=now(),
        )
        t2 = clock()
        setup = _memory()
        resettable = _reset_peak()
        t3, c3 = clock(), cpu()
        pool = WorkerPool(settings, processes) if processes > 1 else None
        composing = pool.composing(now()) if pool else None
        batch = queue_plan(
            store,
            runtime.composer,
            benchdata.JOB_TITLE,
            actor="bench",
            now=now(),
            composing=composing,
            # A roster of its own, not the runtime's (`fairwell send` shares one): the deliver
            # step builds the runtime's, as a worker process on its own would, so its row is
            # what such a worker does.
            rosters=RosterCache(store),
        )
        t4, c4 = clock(), cpu()
        queued = _memory()
        _reset_peak()
        t5, c5 = clock(), cpu()
        stats = None
        if deliver:
            stats = (
                pool.deliver(batch.batch_id)
                if pool
                else run_batch(make_deliverer(runtime), batch.batch_id)
            )
        t6, c6 = clock(), cpu()
        if pool:
            pool.__exit__(None, None, None)
        delivered = _memory()
    finally:
        runtime.close()
    return {
        "imported": imported.rows,
        "decided": len(decided.decided),
        "queued": batch.queued,
        "blocked": batch.blocked,
        "sent": stats.sent if stats else 0,
        "not_sent": _not_sent(stats) if stats else {},
        "import_seconds": t1 - t0,
        "reject_seconds": t2 - t1,
        "queue_seconds": t4 - t3,
        "deliver_seconds": t6 - t5,
        # CPU seconds of this process alone (a pool's workers are not counted): on a shared
        # machine they move less than wall time when other work takes turns on the CPU.
        "queue_cpu_seconds": c4 - c3,
        "deliver_cpu_seconds": c6 - c5,
        # Peak RSS of the whole process (import and reject included) and, when the kernel
        # lets us reset the high-water mark, RSS when queueing began and the peaks of the
        # queue and deliver steps.
        "maxrss_kib": max(setup["peak"], queued["peak"], delivered["peak"]),
        "letters_start_kib": setup["rss"] if resettable else None,
        "queue_peak_kib": queued["peak"] if resettable else None,
        "deliver_peak_kib": delivered["peak"] if resettable else None,
        "processes": processes,
        "workers_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "claim_batch": settings.claim_batch,
        "commit_every": settings.commit_every,
    }


def _memory() -> dict[str, int]:
    """Current and peak RSS of this process in KiB (VmRSS, VmHWM)."""
    status = Path("/proc/self/status").read_text()
    figures = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rss": int(figures.get("VmRSS", 0)), "peak": int(figures.get("VmHWM", peak))}


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _not_sent(stats: Any) -> dict[str, int]:
    names = ("retried", "failed", "held", "quarantined", "released", "possible_duplicates")
    return {name: getattr(stats, name) for name in names if getattr(stats, name)}


def run_fairwell(
    workdir: Path,
    n: int,
    port: int,
    *,
    deliver: bool = True,
    profile: Path | None = None,
    processes: int = 1,
) -> dict[str, Any]:
    """Run :func:`fairwell_child` for N applicants in a fresh directory and interpreter."""
    directory = workdir / f"fairwell-{n}-p{processes}"
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "applicants.csv"
    benchdata.write_applicants_csv(csv_path, benchdata.applicant_rows(n))
    python = [sys.executable]
    if profile is not None:
        python += ["-m", "cProfile", "-o", str(profile)]
    command = [*python, str(Path(__file__).resolve()), "--child-fairwell", str(directory)]
    command += ["--n", str(n), "--port", str(port), "--processes", str(processes)]
    if not deliver:
        command.append("--queue-only")
    done = subprocess.run(
        command, stdout=subprocess.PIPE, check=False, timeout=_child_timeout(n), text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"the fairwell child failed with exit code {done.returncode}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["database"] = str(directory / "fairwell.db")
    return figures


def fairwell_name(processes: int) -> str:
    return "fairwell" if processes == 1 else f"fairwell x{processes}"


def fairwell_result(figures: dict[str, Any], received: int | None) -> Result:
    seconds = figures["queue_seconds"] + figures["deliver_seconds"]
    name = fairwell_name(figures["processes"])
    return Result(name, figures["sent"], seconds, received, figures)


def deliver_only_result(figures: dict[str, Any]) -> Result:
    """The deliver step alone: the same run's letters, all committed before it started.

    Not a separate run: the same letters and seconds as the ``deliver`` part of the
    end-to-end row, shown as a rate of its own (what a worker does with a queue waiting).
    """
    name = fairwell_name(figures["processes"]) + " deliver"
    details = {"processes": figures["processes"], "of": fairwell_name(figures["processes"])}
    return Result(name, figures["sent"], figures["deliver_seconds"], None, details)


# --- mailmerge ---------------------------------------------------------------------------------


def mailmerge_command(paths: dict[str, Path], *extra: str) -> list[str]:
    script = Path(sys.executable).parent / "mailmerge"
    executable = str(script) if script.exists() else shutil.which("mailmerge")
    if executable is None:
        raise SystemExit("mailmerge is not installed: pip install -e '.[bench]'")
    return [
        executable,
        "--template",
        str(paths["template"]),
        "--database",
        str(paths["database"]),
        "--config",
        str(paths["config"]),
        "--output-format",
        "text",
        *extra,
    ]


def run_mailmerge(workdir: Path, n: int, host: str, port: int, refs: dict[str, str]) -> Result:
    """Send N letters with the mailmerge CLI; it opens one SMTP connection per message."""
    directory = workdir / "mailmerge"
    rows = benchdata.applicant_rows(n)
    paths = benchdata.write_mailmerge_inputs(directory, rows, refs, host, port)
    # Its fixed cost (interpreter, imports, reading the files), measured by sending nothing.
    startup = _timed_mailmerge(mailmerge_command(paths, "--no-dry-run", "--limit", "0"), n)[0]
    output = directory / "mailmerge.out"
    command = mailmerge_command(paths, "--no-dry-run", "--no-limit")
    seconds, done = _timed_mailmerge(command, n, output)
    if done.returncode != 0:
        raise RuntimeError(f"mailmerge failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    sent = len(re.findall(rb"^>>> message \d+ sent$", output.read_bytes(), re.MULTILINE))
    return Result("mailmerge", sent, seconds, details={"startup_seconds": startup})


def _timed_mailmerge(
    command: list[str], n: int, output: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    # stdin is /dev/null, so a password prompt would fail at once instead of waiting.
    with open(output or os.devnull, "wb") as out:
        start = time.perf_counter()
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=_child_timeout(n),
        )
        return time.perf_counter() - start, done


# --- raw smtplib over one connection ------------------------------------------------------------


def stored_letters(database: Path) -> list[tuple[str, str, bytes]]:
    """(sender, recipient, bytes) of every letter fairwell queued, in outbox order."""
    query = (
        "SELECT sender, recipient, body FROM outbox JOIN letter_bodies "
        "ON letter_bodies.id = outbox.body_id ORDER BY outbox.id"
    )
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [(s, r, bytes(b)) for s, r, b in connection.execute(query)]


def run_raw(
    letters: list[tuple[str, str, bytes]], host: str, port: int, connections: int = 1
) -> Result:
    """Send the pre-rendered bytes with smtplib.sendmail over persistent connections.

    With several connections, each is a thread sending every ``connections``-th letter, all
    in this one Python process.
    """
    sent = [0] * connections

    def lane(index: int) -> None:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as connection:
            for sender, recipient, body in letters[index::connections]:
                refused = connection.sendmail(sender, [recipient], body)
                sent[index] += not refused

    lanes = [threading.Thread(target=lane, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()
    name = "raw" if connections == 1 else f"raw x{connections}"
    return Result(name, sum(sent), time.perf_counter() - start)


# --- Postfix's smtp-source: the C ceiling --------------------------------------------------------


def run_smtp_source(
    workdir: Path, letter: tuple[str, str, bytes], n: int, sink: Sink, sessions: int
) -> Result | None:
    """N copies of one stored letter from Postfix's smtp-source, ``sessions`` connections at
    once, each kept open (``-d``). None when smtp-source is not installed."""
    tool = postfix_tool("smtp-source")
    if tool is None:
        return None
    sender, recipient, body = letter
    message = workdir / "smtp-source-letter.eml"
    # -F sends the file's lines, dot-stuffed, each ending in CRLF: give it bare LF lines.
    message.write_bytes(body.replace(b"\r\n", b"\n"))
    command = [tool, "-4", "-d", "-s", str(sessions), "-m", str(n), "-F", str(message)]
    command += ["-f", sender, "-t", recipient, f"{sink.host}:{sink.port}"]
    before = sink.received()
    start = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=_child_timeout(n)
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"smtp-source failed ({done.returncode}): {done.stderr[-2000:]}")
    received = sink.received_after(before, n)
    name = "smtp-source" if sessions == 1 else f"smtp-source x{sessions}"
    # It reports nothing per message; without -A it stops at the first refusal, so a clean
    # exit means all N were accepted.
    return Result(name, n, seconds, received, {"sessions": sessions, "tool": tool})


# --- the run -------------------------------------------------------------------------------------


Sink = SinkProcess | DelayedSink


def measure(args: argparse.Namespace, workdir: Path, sink: Sink) -> dict[str, Any]:
    wanted = [args.only] if args.only else list(METHODS)
    results: dict[str, Result] = {}
    rss: dict[str, dict[str, float | None]] = {}
    fairwell_db: Path | None = None
    if "fairwell" in wanted:
        small = max(1, args.n // 10)
        note(f"fairwell: {small} letters (peak RSS only) ...")
        rss[str(small)] = _rss(run_fairwell(workdir, small, sink.port))
        for processes in args.processes:
            note(f"fairwell: {args.n} letters, {processes} process(es) ...")
            before = sink.received()
            profile = Path(args.profile) if args.profile and processes == 1 else None
            figures = run_fairwell(workdir, args.n, sink.port, profile=profile, processes=processes)
            if processes == 1:
                rss[str(args.n)] = _rss(figures)
            result = fairwell_result(figures, sink.received_after(before, args.n))
            results[result.method] = result
            deliver_only = deliver_only_result(figures)
            results[deliver_only.method] = deliver_only
            fairwell_db = fairwell_db or Path(figures.pop("database"))
    if "mailmerge" in wanted:
        note(f"mailmerge: {args.n} letters ...")
        refs = benchdata.application_refs(fairwell_db) if fairwell_db else {}
        before = sink.received()
        result = run_mailmerge(workdir, args.n, sink.host, sink.port, refs)
        result.received = sink.received_after(before, args.n)
        results["mailmerge"] = result
    if "raw" in wanted:
        if fairwell_db is None:
            note(f"raw: queueing {args.n} letters with fairwell to get their bytes ...")
            queued = run_fairwell(workdir, args.n, sink.port, deliver=False)
            fairwell_db = Path(queued.pop("database"))
        letters = stored_letters(fairwell_db)
        for connections in (1, RAW_CONNECTIONS):
            note(f"raw: {len(letters)} letters over {connections} connection(s) ...")
            before = sink.received()
            result = run_raw(letters, sink.host, sink.port, connections)
            result.received = sink.received_after(before, len(letters))
            results[result.method] = result
    if "smtp-source" in wanted:
        measure_smtp_source(args, workdir, sink, results, fairwell_db)
    return _report(args, sink, results, rss)


def measure_rounds(args: argparse.Namespace, workdir: Path, sink: Sink) -> dict[str, Any]:
    """Alternate fairwell and mailmerge ``args.rounds`` times; a ratio per round.

    On a shared machine the speed of everything drifts by tens of percent within minutes;
    a ratio taken from two runs a minute apart, repeated, shows how much of a gap is real.
    """
    rounds: list[dict[str, Any]] = []
    problems: list[str] = []
    refs: dict[str, str] = {}
    for index in range(1, args.rounds + 1):
        note(f"round {index}/{args.rounds}: fairwell, then mailmerge, {args.n} letters each ...")
        before = sink.received()
        figures = run_fairwell(workdir / f"round-{index}", args.n, sink.port)
        fairwell_received = sink.received_after(before, args.n)
        refs = refs or benchdata.application_refs(Path(figures["database"]))
        before = sink.received()
        mailmerge = run_mailmerge(workdir / f"round-{index}", args.n, sink.host, sink.port, refs)
        mailmerge.received = sink.received_after(before, args.n)
        problems += _round_problems(index, args.n, figures["sent"], fairwell_received, mailmerge)
        rounds.append(_round(index, figures, mailmerge))
    deliver = [r["deliver_vs_mailmerge"] for r in rounds]
    end_to_end = [r["end_to_end_vs_mailmerge"] for r in rounds]
    return {
        **benchdata.run_facts(args.n, sink.description),
        "pin": args.pin,
        "rounds": rounds,
        "summary": {"deliver_vs_mailmerge": _spread(deliver), "end_to_end": _spread(end_to_end)},
        "problems": problems,
        "fairwell_env": {k: v for k, v in os.environ.items() if k.startswith("FAIRWELL_")},
    }


def _round(index: int, figures: dict[str, Any], mailmerge: Result) -> dict[str, Any]:
    deliver = figures["sent"] / figures["deliver_seconds"]
    end_to_end = figures["sent"] / (figures["queue_seconds"] + figures["deliver_seconds"])
    return {
        "round": index,
        "mailmerge_per_second": mailmerge.rate,
        "deliver_per_second": deliver,
        "deliver_cpu_us_per_letter": 1e6 * figures["deliver_cpu_seconds"] / figures["sent"],
        "end_to_end_per_second": end_to_end,
        "deliver_vs_mailmerge": deliver / mailmerge.rate,
        "end_to_end_vs_mailmerge": end_to_end / mailmerge.rate,
    }


def _round_problems(
    index: int, n: int, sent: int, received: int | None, mailmerge: Result
) -> list[str]:
    counts = {
        "fairwell sent": sent,
        "the sink received from fairwell": received,
        "mailmerge sent": mailmerge.letters,
        "the sink received from mailmerge": mailmerge.received,
    }
    wrong = {what: count for what, count in counts.items() if count != n}
    return [f"round {index}: {what} {count}, not {n}" for what, count in wrong.items()]


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def print_rounds(report: dict[str, Any]) -> None:
    print(
        f"fairwell vs mailmerge, {len(report['rounds'])} alternating rounds: N={report['n']}, "
        f"{report['cpus']} cpus, Python {report['python']}, {report['date']}"
    )
    print(f"sink: {report['sink']}; CPU placement: {report['pin']}")
    columns = "{:>5} {:>12} {:>13} {:>12} {:>10} {:>14} {:>10}"
    header = ("round", "mailmerge/s", "deliver/s", "deliver CPU", "deliver", "queue+deliver")
    print(columns.format(*header, "end to end"))
    for r in report["rounds"]:
        print(
            columns.format(
                r["round"],
                f"{r['mailmerge_per_second']:.1f}",
                f"{r['deliver_per_second']:.1f}",
                f"{r['deliver_cpu_us_per_letter']:.0f} us",
                _ratio(r["deliver_vs_mailmerge"]),
                f"{r['end_to_end_per_second']:.1f}",
                _ratio(r["end_to_end_vs_mailmerge"]),
            )
        )
    for name, label in (("deliver_vs_mailmerge", "deliver"), ("end_to_end", "end to end")):
        spread = report["summary"][name]
        print(
            f"{label} vs mailmerge: median {_ratio(spread['median'])}, "
            f"range {_ratio(spread['min'])} to {_ratio(spread['max'])}"
        )
    print(
        "deliver: one worker process sending letters all committed before it started; "
        "end to end: queue (render, MIME, guard, commit) then deliver, in one process"
    )


def measure_smtp_source(
    args: argparse.Namespace,
    workdir: Path,
    sink: Sink,
    results: dict[str, Result],
    fairwell_db: Path | None,
) -> None:
    if postfix_tool("smtp-source") is None:
        note("smtp-source: not installed (apt-get install postfix); skipped")
        return
    if fairwell_db is None:
        note("smtp-source: queueing letters with fairwell to get one ...")
        queued = run_fairwell(workdir, min(args.n, 100), sink.port, deliver=False)
        fairwell_db = Path(queued.pop("database"))
    letter = stored_letters(fairwell_db)[0]
    for sessions in (1, RAW_CONNECTIONS):
        note(f"smtp-source: {args.n} copies of one letter over {sessions} connection(s) ...")
        result = run_smtp_source(workdir, letter, args.n, sink, sessions)
        if result is not None:
            results[result.method] = result


def _rss(figures: dict[str, Any]) -> dict[str, float | None]:
    names = {
        "maxrss_kib": "process",
        "letters_start_kib": "at_queue",
        "queue_peak_kib": "queue_peak",
        "deliver_peak_kib": "deliver_peak",
    }
    return {new: None if figures[old] is None else figures[old] / MIB for old, new in names.items()}


def _report(
    args: argparse.Namespace,
    sink: Sink,
    results: dict[str, Result],
    rss: dict[str, dict[str, float | None]],
) -> dict[str, Any]:
    rates = {name: result.rate for name, result in results.items()}
    ratios = {
        name: {f"vs_{base}": rates[name] / rates[base] for base in RATIO_BASES if rates.get(base)}
        for name in rates
    }
    return {
        **benchdata.run_facts(args.n, sink.description),
        "pin": args.pin,
        "methods": {
            name: {**asdict(r), "letters_per_second": r.rate} for name, r in results.items()
        },
        "ratios": ratios,
        "peak_rss_mib": rss,
        "fairwell_env": {k: v for k, v in os.environ.items() if k.startswith("FAIRWELL_")},
    }


def print_table(report: dict[str, Any]) -> None:
    print(
        f"fairwell send benchmark: N={report['n']}, {report['cpus']} cpus, "
        f"Python {report['python']}, {report['date']}"
    )
    print(f"sink: {report['sink']}; CPU placement: {report['pin']}")
    header = ("method", "letters", "received", "seconds", "letters/s", "vs mailmerge", "vs raw")
    columns = "{:<20} {:>8} {:>9} {:>9} {:>10} {:>13} {:>8} {:>17}"
    print(columns.format(*header, "vs smtp-source x4"))
    for name, figures in report["methods"].items():
        ratio = report["ratios"][name]
        received = "-" if figures["received"] is None else str(figures["received"])
        print(
            f"{name:<20} {figures['letters']:>8} {received:>9} {figures['seconds']:>9.2f} "
            f"{figures['letters_per_second']:>10.1f} {_ratio(ratio.get('vs_mailmerge')):>13} "
            f"{_ratio(ratio.get('vs_raw')):>8} {_ratio(ratio.get('vs_smtp-source x4')):>17}"
        )
    _print_notes(report)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _print_notes(report: dict[str, Any]) -> None:
    methods = report["methods"]
    for name, figures in methods.items():
        if not name.startswith("fairwell") or name.endswith(" deliver"):
            continue
        d = figures["details"]
        print(
            f"{name} letter path = queue {d['queue_seconds']:.2f} s (render, MIME, guard, "
            f"one commit) + deliver {d['deliver_seconds']:.2f} s (claim, send-time guard, SMTP); "
            f"CPU of the process {d['queue_cpu_seconds']:.2f} + {d['deliver_cpu_seconds']:.2f} s"
        )
        if d["processes"] > 1:
            workers = d["workers_maxrss_kib"] / MIB
            print(f"{name}: peak RSS of one worker process {workers:.1f} MiB")
    if "fairwell" in methods:
        d = methods["fairwell"]["details"]
        print(
            f"fairwell not timed: import {d['imported']} rows {d['import_seconds']:.2f} s, "
            f"reject {d['decided']} {d['reject_seconds']:.2f} s; queued {d['queued']}, "
            f"blocked {d['blocked']}, not sent {d['not_sent'] or 0}"
        )
    if any(name.endswith(" deliver") for name in methods):
        print(
            "'<name> deliver' rows: the deliver step of the run above them on its own (letters "
            "already committed), not a separate run"
        )
    for name, figures in methods.items():
        if name.startswith("smtp-source"):
            print(f"{name}: one stored letter sent N times by {figures['details']['tool']}")
    if "mailmerge" in methods:
        startup = methods["mailmerge"]["details"]["startup_seconds"]
        print(f"mailmerge seconds include its start-up, {startup:.2f} s when sending nothing")
    for n, mib in report["peak_rss_mib"].items():
        line = f"peak RSS, fairwell in a fresh process, N={n}: {mib['process']:.1f} MiB"
        if mib["at_queue"] is not None:
            line += (
                f"; {mib['at_queue']:.1f} when queueing starts, peak while queueing "
                f"{mib['queue_peak']:.1f}, while delivering {mib['deliver_peak']:.1f}"
            )
        print(line)
    if report["fairwell_env"]:
        print(f"FAIRWELL_* settings from the environment: {report['fairwell_env']}")


def warnings_for(report: dict[str, Any]) -> list[str]:
    problems = []
    for name, figures in report["methods"].items():
        if figures["letters"] != report["n"]:
            problems.append(f"{name}: sent {figures['letters']} of {report['n']} letters")
        received = figures["received"]
        if received is not None and received != figures["letters"]:
            problems.append(f"{name}: the sink received {received}, not {figures['letters']}")
    return problems


def place(placement: str, sink: Sink) -> None:
    """Pin the sink and this process (whose children inherit it) to CPUs."""
    if placement == "none":
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit(f"--pin {placement} needs two CPUs; this process may use {cpus}")
    sink.pin({cpus[0]} if placement == "same" else {cpus[1]})
    os.sched_setaffinity(0, {cpus[0]})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="letters per method (10000)")
    parser.add_argument("--only", choices=METHODS, help="measure one method only")
    parser.add_argument("--sink", choices=("auto", "postfix", "fairwell"), default="auto")
    parser.add_argument(
        "--pin",
        choices=PLACEMENTS,
        default="none",
        help="CPU placement: none (the OS decides), same (sink and senders share CPU 0), "
        "split (sink on CPU 1, senders on CPU 0)",
    )
    parser.add_argument(
        "--processes",
        type=lambda text: [int(p) for p in text.split(",")],
        default=[1, 2],
        help="fairwell runs with these process counts, comma-separated (1,2); more than one "
        "composes and delivers with a WorkerPool",
    )
    parser.add_argument(
        "--reply-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold back every reply of the sink this long (a relay far away), e.g. 0.002",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="K",
        help="instead of one of each method: K alternating rounds of fairwell (one process) "
        "and mailmerge, each ratio from its own round, then their median and range",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the fairwell N run to FILE")
    # Internal: the fairwell path in a fresh process, for its timing and its peak RSS.
    parser.add_argument("--child-fairwell", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--queue-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_fairwell:
        directory = Path(args.child_fairwell)
        figures = fairwell_child(
            directory / "applicants.csv",
            directory,
            args.port,
            not args.queue_only,
            args.processes[0],
        )
        print(json.dumps(figures))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-bench-"))
    try:
        with SinkProcess(resolve_kind(args.sink), workdir / "sink") as real_sink:
            sink: Sink = real_sink
            if args.reply_delay:
                sink = DelayedSink(real_sink, args.reply_delay).__enter__()
            try:
                note(f"sink: {sink.description} on {sink.host}:{sink.port}")
                place(args.pin, sink)
                if args.rounds > 1:
                    report = measure_rounds(args, workdir, sink)
                    return benchdata.finish(report, args.json, print_rounds, report["problems"])
                report = measure(args, workdir, sink)
            finally:
                if isinstance(sink, DelayedSink):
                    sink.__exit__(None, None, None)
    finally:
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return benchdata.finish(report, args.json, print_table, warnings_for(report))


if __name__ == "__main__":
    sys.exit(main())
