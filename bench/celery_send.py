"""Letters per second from 1, 2 and 4 delivery processes on PostgreSQL: Celery and embedded.

    .venv/bin/python bench/celery_send.py --n 10000 --relay-delay 0,0.002,0.010

For each relay delay, SMTP connection count, engine and process count: N letters are queued
(committed, untimed) in a fresh PostgreSQL database, the workers are started and left to
become ready, and then the clock runs from the moment delivery may begin until the last
letter's result is committed. Every letter goes to the same local sink (Postfix's smtp-sink
when installed), through bench/delay_proxy.py when the delay is not 0, so the relay looks
that many milliseconds away. Only the ratios measured in this one run mean anything; see
bench/README.md. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import benchdata
from sinks import DelayedSink, SinkProcess, resolve_kind

ENGINES = ("celery", "embedded")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT = 60.0
POLL_SECONDS = 0.05
# Polling for the end costs the database a count over the batch (~2 ms of CPU) each time and
# changes no figure (the end is the last result's commit time), so it is not done often.
DONE_POLL_SECONDS = 0.5
Number = TypeVar("Number", int, float)
PROBES = 100  # NOOP round trips that measure the relay's delay as the workers will see it


@dataclass
class Run:
    engine: str
    processes: int
    letters: int
    seconds: float
    received: int
    # The relay's added delay (seconds) and SMTP sessions per process of this run.
    delay: float = 0.0
    connections: int = 1
    # CPU seconds used while delivering, by the worker processes, by the database's
    # backends serving this database and by the delay proxy; and the 1-minute load average
    # just before.
    worker_cpu: float = 0.0
    database_cpu: float = 0.0
    proxy_cpu: float = 0.0
    load_before: float = 0.0

    @property
    def rate(self) -> float:
        return self.letters / self.seconds if self.seconds > 0 else 0.0


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the database ------------------------------------------------------------------------------


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(
    database_url: str, port: int, queue: str, broker: str, connections: int
) -> dict[str, str]:
    """What every worker process and the queueing code see (FAIRWELL_* from here only)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("FAIRWELL_")}
    kept = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    return {
        **inherited,
        **kept,
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(port),
        "FAIRWELL_SMTP_SECURITY": "none",
        "FAIRWELL_SMTP_CONNECTIONS": str(connections),
        "FAIRWELL_FROM": benchdata.FROM_ADDRESS,
        "FAIRWELL_ORG_NAME": benchdata.ORG_NAME,
        "FAIRWELL_BROKER_URL": broker,
        "FAIRWELL_CELERY_QUEUE": queue,
        # Every letter goes at once whatever the hour; the bench measures sending.
        "FAIRWELL_SEND_WINDOWS": "off",
        # No beat runs: the bench's one kick starts delivery, so nothing waits for a timer.
        "FAIRWELL_BEAT_DELIVERY_SECONDS": "3600",
    }


# Settings a reader may want to vary between runs (the table prints them). SMTP connections
# are --smtp-connections, a column of their own.
PASSED_THROUGH = ("FAIRWELL_CLAIM_BATCH", "FAIRWELL_COMMIT_EVERY")


# --- queueing, untimed -------------------------------------------------------------------------


def queue_letters(env: dict[str, str], workdir: Path, n: int, tag: str) -> tuple[str, int]:
    """Import N new people for a job of their own, reject them, queue their letters."""
    from fairwell.config import load_settings
    from fairwell.runtime import open_runtime
    from fairwell.services.decisions import Selection, reject
    from fairwell.services.importing import import_file
    from fairwell.services.planning import queue_plan

    title = f"{benchdata.JOB_TITLE} {tag}"
    rows = [
        {**row, "job": title, "email": row["email"].replace("@", f".{tag}@")}
        for row in benchdata.applicant_rows(n)
    ]
    csv_path = workdir / f"applicants-{tag}.csv"
    benchdata.write_applicants_csv(csv_path, rows)
    runtime = open_runtime(load_settings(**_settings_from(env)))
    try:
        store, now = runtime.store, runtime.clock.now
        import_file(store, csv_path, actor="bench", now=now())
        reject(
            store,
            title,
            Selection(all_except_hired=True),
            benchdata.REASON,
            note=None,
            actor="bench",
            now=now(),
        )
        batch = queue_plan(store, runtime.composer, title, actor="bench", now=now())
    finally:
        runtime.close()
    return title, batch.batch_id


def _settings_from(env: dict[str, str]) -> dict[str, Any]:
    names = {
        "FAIRWELL_DATABASE_URL": "database_url",
        "FAIRWELL_SMTP_HOST": "smtp_host",
        "FAIRWELL_SMTP_PORT": "smtp_port",
        "FAIRWELL_SMTP_SECURITY": "smtp_security",
        "FAIRWELL_FROM": "from_address",
        "FAIRWELL_ORG_NAME": "org_name",
        "FAIRWELL_SEND_WINDOWS": "send_windows",
    }
    return {field: env[variable] for variable, field in names.items()}


# --- workers -------------------------------------------------------------------------------------


def fairwell_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("fairwell")), *args]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group, so stopping it stops its children too."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the main process (Celery's warm shutdown: it stops its own children; the
    embedded worker's stop), then SIGKILL to the whole group if it is stuck."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30.0)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10.0)


def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{what}: not within {seconds} s")


def logged(log: Path, text: bytes, count: int = 1) -> bool:
    return log.exists() and log.read_bytes().count(text) >= count


def refresh_statistics(database: Any) -> None:
    """ANALYZE, as autovacuum does within a minute or so of a table filling up."""
    with database.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


# --- CPU accounting (Linux /proc) ---------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds so far) of one process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    # After the command: state, ppid, pgrp, ..., utime (14th field) and stime (15th).
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS


def group_cpu(groups: set[int]) -> float:
    """CPU seconds of every live process in these process groups (workers and children)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[0] in groups:
            total += stat[1]
    return total


def backend_cpu(database: Any) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the workers, by pid.

    Not the bench's own connection, whose polling for the end is no part of delivering.
    """
    from sqlalchemy import text

    with database.connect() as conn:
        query = text(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = list(conn.execute(query).scalars())
    return {pid: stat[1] for pid in pids if (stat := _stat(pid))}


def load_average() -> float:
    return os.getloadavg()[0]


def proxy_cpu(relay: Relay) -> float:
    """CPU seconds the delay proxy has used so far (0 without one)."""
    pid = relay.pid if isinstance(relay, DelayedSink) else None
    stat = _stat(pid) if pid is not None else None
    return stat[1] if stat else 0.0


# --- the relay: the sink, or the sink behind the delay proxy -----------------------------------

Relay = SinkProcess | DelayedSink


@contextmanager
def relay_for(sink: SinkProcess, delay: float) -> Iterator[Relay]:
    """The sink itself for no delay; else a delay proxy in front of it, for as long as needed."""
    if not delay:
        yield sink
        return
    with DelayedSink(sink, delay) as delayed:
        yield delayed


def round_trip(relay: Relay) -> float:
    """Median seconds of an SMTP NOOP round trip to the relay.

    The delay the workers really see: the proxy's timers fire up to a millisecond late.
    """
    times: list[float] = []
    with socket.create_connection((relay.host, relay.port), timeout=10.0) as connection:
        replies = connection.makefile("rb")
        while replies.readline()[3:4] == b"-":  # the greeting, maybe several lines
            pass
        for _ in range(PROBES):
            started = time.perf_counter()
            connection.sendall(b"NOOP\r\n")
            replies.readline()
            times.append(time.perf_counter() - started)
        connection.sendall(b"QUIT\r\n")
    return statistics.median(times)


# --- one timed run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    engine: str
    processes: int
    delay: float
    connections: int

    @property
    def tag(self) -> str:
        """Unique within a run, and fit for a database name, an address and a file name."""
        return f"{self.engine}{self.processes}d{round(self.delay * 1e6)}c{self.connections}"

    @property
    def label(self) -> str:
        return (
            f"{self.engine} x{self.processes} ({self.delay * 1000:g} ms relay, "
            f"{self.connections} SMTP connection(s))"
        )


def sent_so_far(engine: Any, batch_id: int) -> tuple[int, datetime | None]:
    """Letters of the batch sent, and when the last of them was committed."""
    from sqlalchemy import func, select

    from fairwell.storage.tables import outbox

    query = select(func.count(), func.max(outbox.c.sent_at)).where(
        outbox.c.batch_id == batch_id, outbox.c.state == "sent"
    )
    with engine.connect() as conn:
        count, last = conn.execute(query).one()
    return int(count), last


def run_engine(
    case: Case, n: int, env: dict[str, str], workdir: Path, relay: Relay, analyze: bool = False
) -> Run:
    from fairwell.storage.engine import make_engine

    note(f"{case.label}: queueing {n} letters (untimed) ...")
    _, batch_id = queue_letters(env, workdir, n, case.tag)
    database = make_engine(env["FAIRWELL_DATABASE_URL"])
    if analyze:
        refresh_statistics(database)
    log = workdir / f"worker-{case.tag}.log"
    workers = _start_workers(case.engine, case.processes, env, log, database)
    groups = {worker.pid for worker in workers}
    try:
        before = relay.received()
        note(f"{case.label}: delivering ...")
        load = load_average()
        cpu_before, db_before = group_cpu(groups), backend_cpu(database)
        proxy_before = proxy_cpu(relay)
        started = datetime.now(UTC)
        _begin_delivery(case.engine, env, database)
        last = _wait_until_sent(database, batch_id, n, case.label)
        worker_cpu = group_cpu(groups) - cpu_before
        db_after, proxy_used = backend_cpu(database), proxy_cpu(relay) - proxy_before
        received = relay.received_after(before, n)
    finally:
        for worker in workers:
            stop(worker)
        database.dispose()
    # A backend that connected after the kick counts from zero.
    database_cpu = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    seconds = (last - started).total_seconds()
    return Run(
        case.engine,
        case.processes,
        n,
        seconds,
        received,
        case.delay,
        case.connections,
        worker_cpu,
        database_cpu,
        proxy_used,
        load,
    )


def _wait_until_sent(database: Any, batch_id: int, n: int, label: str) -> datetime:
    """Poll until all N letters are sent; return when the last result was committed."""
    # Generous: one letter a relay round trip, on one process, is about 100 a second at 10 ms.
    deadline = time.monotonic() + 300.0 + 0.05 * n
    while (count := sent_so_far(database, batch_id))[0] < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: only {count[0]} of {n} sent")
        time.sleep(DONE_POLL_SECONDS)
    assert count[1] is not None
    return count[1]


def _start_workers(
    engine_name: str, processes: int, env: dict[str, str], log: Path, database: Any
) -> list[subprocess.Popen[bytes]]:
    """Start the workers and wait until every one is ready to deliver."""
    if engine_name == "celery":
        command = fairwell_command("worker", "--engine", "celery", "--concurrency", str(processes))
        worker = start([*command, "--loglevel", "INFO"], env, log)
        wait_for(lambda: logged(log, b" ready."), READY_TIMEOUT, "the Celery worker ready")
        return [worker]
    # Embedded workers start polling at once: the outbox stays paused until all are up.
    _set_paused(database, True)
    workers = [
        start(fairwell_command("worker", "--poll", str(POLL_SECONDS)), env, log)
        for _ in range(processes)
    ]
    wait_for(
        lambda: logged(log, b"worker running", processes), READY_TIMEOUT, "the workers running"
    )
    return workers


def _begin_delivery(engine_name: str, env: dict[str, str], database: Any) -> None:
    if engine_name == "embedded":
        _set_paused(database, False)
        return
    from fairwell.config import load_settings
    from fairwell.worker.celery_app import kick_delivery, make_celery

    settings = load_settings(
        broker_url=env["FAIRWELL_BROKER_URL"], celery_queue=env["FAIRWELL_CELERY_QUEUE"]
    )
    app = make_celery(settings)
    try:
        kick_delivery(app)
    finally:
        app.close()


def _set_paused(database: Any, paused: bool) -> None:
    from fairwell.storage.store import SqlStore

    SqlStore(database).set_paused(paused, "bench", datetime.now(UTC))


def delete_queue(broker: str, queue: str) -> None:
    """Leave nothing on a shared broker: surplus kicks of this run's queue go with it."""
    from kombu import Connection

    with Connection(broker) as connection:
        connection.default_channel.queue_delete(queue)
    if broker.startswith("redis"):
        import redis

        # kombu's Redis transport keeps the queue's bindings in keys of their own.
        client = redis.Redis.from_url(broker)
        client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


# --- the report --------------------------------------------------------------------------------

# Above this share of a core the delay proxy's one loop may be what limits a run.
PROXY_BUSY = 0.5


def report(
    args: argparse.Namespace, sink: SinkProcess, runs: list[Run], round_trips: dict[float, float]
) -> dict[str, Any]:
    # Each run is compared with the 1-process run of the same engine, delay and connections.
    base = {(r.engine, r.delay, r.connections): r.rate for r in runs if r.processes == 1}
    return {
        **benchdata.run_facts(args.n, sink.description),
        "database": "PostgreSQL, a fresh database for each run, dropped afterwards"
        + (", ANALYZE after queueing" if args.analyze else ""),
        "broker": args.broker,
        "relay_round_trip_ms": {f"{d * 1000:g}": rtt * 1000 for d, rtt in round_trips.items()},
        "runs": [
            _run_figures(run, base.get((run.engine, run.delay, run.connections))) for run in runs
        ],
        "settings": {k: v for k, v in os.environ.items() if k in PASSED_THROUGH},
    }


def _run_figures(run: Run, base: float | None) -> dict[str, Any]:
    return {
        **asdict(run),
        "letters_per_second": run.rate,
        "vs_1_process": run.rate / base if base else None,
        "letters_per_worker_cpu_second": run.letters / run.worker_cpu if run.worker_cpu else None,
    }


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"fairwell delivery processes on PostgreSQL: N={figures['n']} per run, "
        f"{figures['cpus']} cpus, Python {figures['python']}, {figures['date']}"
    )
    print(f"sink: {figures['sink']}; broker: {figures['broker']}")
    print(f"database: {figures['database']}")
    trips = ", ".join(
        f"{d} ms -> {rtt:.2f} ms" for d, rtt in figures["relay_round_trip_ms"].items()
    )
    print(f"relay delay -> measured NOOP round trip (median of {PROBES}): {trips}")
    print(
        f"{'engine':<9} {'delay ms':>8} {'conns':>5} {'processes':>9} {'letters':>7} "
        f"{'received':>8} {'seconds':>8} {'letters/s':>9} {'vs 1 process':>12} "
        f"{'worker CPU s':>12} {'db CPU s':>8} {'proxy CPU s':>11} {'load':>5}"
    )
    for run in figures["runs"]:
        ratio = run["vs_1_process"]
        print(
            f"{run['engine']:<9} {run['delay'] * 1000:>8g} {run['connections']:>5} "
            f"{run['processes']:>9} {run['letters']:>7} {run['received']:>8} "
            f"{run['seconds']:>8.2f} {run['letters_per_second']:>9.1f} "
            f"{'-' if ratio is None else f'{ratio:.2f}x':>12} {run['worker_cpu']:>12.2f} "
            f"{run['database_cpu']:>8.2f} {run['proxy_cpu']:>11.2f} {run['load_before']:>5.2f}"
        )
    print(
        "seconds: from the kick (celery) or the outbox's resume (embedded) to the commit of "
        "the last letter's result; the workers had started and were ready before. vs 1 "
        "process: against the 1-process run of the same engine, delay and connections. CPU s: "
        "used meanwhile by the worker processes, by the database's backends for this database "
        "and by the delay proxy; load: the 1-minute load average just before"
    )
    if figures["settings"]:
        print(f"FAIRWELL_* settings from the environment: {figures['settings']}")


def problems_in(runs: list[Run]) -> list[str]:
    """Runs whose letters did not all arrive, or whose proxy may have been the bottleneck."""
    lost = [
        f"{run.engine} x{run.processes}, {run.delay * 1000:g} ms, {run.connections} "
        f"connection(s): the sink received {run.received} of {run.letters}"
        for run in runs
        if run.received != run.letters
    ]
    busy = [
        f"{run.engine} x{run.processes}, {run.delay * 1000:g} ms, {run.connections} "
        f"connection(s): the delay proxy used {run.proxy_cpu / run.seconds:.0%} of a core"
        for run in runs
        if run.seconds > 0 and run.proxy_cpu / run.seconds > PROXY_BUSY
    ]
    return lost + busy


# --- the run -------------------------------------------------------------------------------------


def _numbers(kind: Callable[[str], Number]) -> Callable[[str], list[Number]]:
    """An argparse type: a comma-separated list of numbers."""
    return lambda text: [kind(part) for part in text.split(",")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="letters per run (10000)")
    parser.add_argument(
        "--processes",
        type=_numbers(int),
        default=[1, 2, 4],
        help="process counts, comma-separated (1,2,4)",
    )
    parser.add_argument(
        "--engines",
        type=lambda text: text.split(","),
        default=list(ENGINES),
        help="celery, embedded or both (celery,embedded)",
    )
    parser.add_argument(
        "--relay-delay",
        type=_numbers(float),
        default=[0.0],
        metavar="SECONDS",
        help="hold back every reply of the sink this long, through bench/delay_proxy.py: a "
        "relay that far away; comma-separated for several in one run, e.g. 0,0.002,0.010 (0)",
    )
    parser.add_argument(
        "--smtp-connections",
        type=_numbers(int),
        default=[int(os.environ.get("FAIRWELL_SMTP_CONNECTIONS", "1"))],
        metavar="N",
        help="FAIRWELL_SMTP_CONNECTIONS (SMTP sessions per process), comma-separated for "
        "several in one run (that setting's value, else 1)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL server, any database")
    parser.add_argument("--broker", default=BROKER_URL, help="Celery broker (Redis or RabbitMQ)")
    parser.add_argument("--sink", choices=("auto", "postfix", "fairwell"), default="auto")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE after queueing (the default measures tables just filled, before "
        "autovacuum has refreshed the planner's statistics)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and the logs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine(s) {sorted(unknown)}")
    if args.n < 1 or min(args.processes) < 1 or min(args.smtp_connections) < 1:
        parser.error("--n, --processes and --smtp-connections must be >= 1")
    if min(args.relay_delay) < 0:
        parser.error("--relay-delay must be >= 0")
    return args


def run_case(args: argparse.Namespace, case: Case, relay: Relay, queue: str, workdir: Path) -> Run:
    """One timed run in a database of its own, so no run reads the tables earlier runs filled."""
    from fairwell.config import load_settings
    from fairwell.runtime import init_database

    name = f"fairwell_bench_{os.getpid()}_{case.tag}"
    database_url = create_database(args.admin_url, name)
    try:
        init_database(load_settings(database_url=database_url))
        env = environment(database_url, relay.port, queue, args.broker, case.connections)
        return run_engine(case, args.n, env, workdir, relay, args.analyze)
    finally:
        if args.keep:
            note(f"kept database {name}")
        else:
            drop_database(args.admin_url, name)


def run_delay(
    args: argparse.Namespace, relay: Relay, delay: float, queue: str, workdir: Path
) -> list[Run]:
    """Every connection count, engine and process count through one relay."""
    return [
        run_case(args, Case(engine, processes, delay, connections), relay, queue, workdir)
        for connections in args.smtp_connections
        for engine in args.engines
        for processes in args.processes
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-celery-bench-"))
    queue = f"fairwell-bench-{os.getpid()}"
    runs: list[Run] = []
    round_trips: dict[float, float] = {}
    try:
        with SinkProcess(resolve_kind(args.sink), workdir / "sink") as sink:
            note(f"sink: {sink.description} on {sink.host}:{sink.port}")
            for delay in args.relay_delay:
                with relay_for(sink, delay) as relay:
                    round_trips[delay] = round_trip(relay)
                    note(
                        f"relay {delay * 1000:g} ms: round trip {round_trips[delay] * 1000:.2f} ms"
                    )
                    runs += run_delay(args, relay, delay, queue, workdir)
            figures = report(args, sink, runs, round_trips)
    finally:
        delete_queue(args.broker, queue)
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return benchdata.finish(figures, args.json, print_table, problems_in(runs))


if __name__ == "__main__":
    sys.exit(main())
