"""Letters per second from 1, 2 and 4 delivery processes on PostgreSQL: Celery and embedded.

    .venv/bin/python bench/celery_send.py --n 10000

For each engine and process count: N letters are queued (committed, untimed) in a fresh
PostgreSQL database, the workers are started and left to become ready, and then the clock
runs from the moment delivery may begin until the last letter's result is committed. Every
letter goes to the same local sink (Postfix's smtp-sink when installed). Only the ratios
measured in this one run mean anything; see bench/README.md. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchdata
from sinks import SinkProcess, resolve_kind

ENGINES = ("celery", "embedded")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT = 60.0
POLL_SECONDS = 0.05


@dataclass
class Run:
    engine: str
    processes: int
    letters: int
    seconds: float
    received: int
    # CPU seconds used while delivering, by the worker processes and by the database's
    # backends serving this database; and the 1-minute load average just before.
    worker_cpu: float = 0.0
    database_cpu: float = 0.0
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


def environment(database_url: str, port: int, queue: str, broker: str) -> dict[str, str]:
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
        "FAIRWELL_FROM": benchdata.FROM_ADDRESS,
        "FAIRWELL_ORG_NAME": benchdata.ORG_NAME,
        "FAIRWELL_BROKER_URL": broker,
        "FAIRWELL_CELERY_QUEUE": queue,
        # Every letter goes at once whatever the hour; the bench measures sending.
        "FAIRWELL_SEND_WINDOWS": "off",
        # No beat runs: the bench's one kick starts delivery, so nothing waits for a timer.
        "FAIRWELL_BEAT_DELIVERY_SECONDS": "3600",
    }


# Settings a reader may want to vary between runs (the table prints them).
PASSED_THROUGH = ("FAIRWELL_SMTP_CONNECTIONS", "FAIRWELL_CLAIM_BATCH", "FAIRWELL_COMMIT_EVERY")


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
    """CPU seconds of each PostgreSQL backend connected to this database, by pid."""
    from sqlalchemy import text

    with database.connect() as conn:
        query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = list(conn.execute(query).scalars())
    return {pid: stat[1] for pid in pids if (stat := _stat(pid))}


def load_average() -> float:
    return os.getloadavg()[0]


# --- one timed run ------------------------------------------------------------------------------


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
    engine_name: str,
    processes: int,
    n: int,
    env: dict[str, str],
    workdir: Path,
    sink: SinkProcess,
    analyze: bool = False,
) -> Run:
    from fairwell.storage.engine import make_engine

    tag = f"{engine_name}{processes}"
    note(f"{engine_name} x{processes}: queueing {n} letters (untimed) ...")
    _, batch_id = queue_letters(env, workdir, n, tag)
    database = make_engine(env["FAIRWELL_DATABASE_URL"])
    if analyze:
        refresh_statistics(database)
    log = workdir / f"worker-{tag}.log"
    workers = _start_workers(engine_name, processes, env, log, database)
    groups = {worker.pid for worker in workers}
    try:
        before = sink.received()
        note(f"{engine_name} x{processes}: delivering ...")
        load = load_average()
        cpu_before, db_before = group_cpu(groups), backend_cpu(database)
        started = datetime.now(UTC)
        _begin_delivery(engine_name, env, database)
        deadline = time.monotonic() + 300.0 + 0.05 * n
        while (count := sent_so_far(database, batch_id))[0] < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{engine_name} x{processes}: only {count[0]} of {n} sent")
            time.sleep(POLL_SECONDS)
        worker_cpu = group_cpu(groups) - cpu_before
        db_after = backend_cpu(database)
        last = count[1]
        assert last is not None
        received = sink.received_after(before, n)
    finally:
        for worker in workers:
            stop(worker)
        database.dispose()
    # A backend that connected after the kick counts from zero.
    database_cpu = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    seconds = (last - started).total_seconds()
    return Run(engine_name, processes, n, seconds, received, worker_cpu, database_cpu, load)


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


def report(args: argparse.Namespace, sink: SinkProcess, runs: list[Run]) -> dict[str, Any]:
    base = {run.engine: run.rate for run in runs if run.processes == 1}
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "n": args.n,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sink": sink.description,
        "database": "PostgreSQL, a fresh database for each run, dropped afterwards"
        + (", ANALYZE after queueing" if args.analyze else ""),
        "broker": args.broker,
        "runs": [
            {
                **asdict(run),
                "letters_per_second": run.rate,
                "vs_1_process": run.rate / base[run.engine] if base.get(run.engine) else None,
                "letters_per_worker_cpu_second": run.letters / run.worker_cpu
                if run.worker_cpu
                else None,
            }
            for run in runs
        ],
        "settings": {k: v for k, v in os.environ.items() if k in PASSED_THROUGH},
    }


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"fairwell delivery processes on PostgreSQL: N={figures['n']} per run, "
        f"{figures['cpus']} cpus, Python {figures['python']}, {figures['date']}"
    )
    print(f"sink: {figures['sink']}; broker: {figures['broker']}")
    print(f"database: {figures['database']}")
    print(f"{'engine':<10} {'processes':>9} {'letters':>8} {'received':>9} {'seconds':>8} ", end="")
    print(f"{'letters/s':>10} {'vs 1 process':>13} {'worker CPU s':>13} {'db CPU s':>9} ", end="")
    print(f"{'load':>5}")
    for run in figures["runs"]:
        ratio = run["vs_1_process"]
        print(
            f"{run['engine']:<10} {run['processes']:>9} {run['letters']:>8} "
            f"{run['received']:>9} {run['seconds']:>8.2f} {run['letters_per_second']:>10.1f} "
            f"{'-' if ratio is None else f'{ratio:.2f}x':>13} {run['worker_cpu']:>13.2f} "
            f"{run['database_cpu']:>9.2f} {run['load_before']:>5.2f}"
        )
    print(
        "seconds: from the kick (celery) or the outbox's resume (embedded) to the commit of "
        "the last letter's result; the workers had started and were ready before. CPU s: used "
        "meanwhile by the worker processes and by the database's backends for this database; "
        "load: the 1-minute load average just before"
    )
    if figures["settings"]:
        print(f"FAIRWELL_* settings from the environment: {figures['settings']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="letters per run (10000)")
    parser.add_argument(
        "--processes",
        type=lambda text: [int(p) for p in text.split(",")],
        default=[1, 2, 4],
        help="process counts, comma-separated (1,2,4)",
    )
    parser.add_argument(
        "--engines",
        type=lambda text: text.split(","),
        default=list(ENGINES),
        help="celery, embedded or both (celery,embedded)",
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
    if unknown or args.n < 1:
        parser.error(f"unknown engine(s) {sorted(unknown)}" if unknown else "--n must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from fairwell.config import load_settings
    from fairwell.runtime import init_database

    workdir = Path(tempfile.mkdtemp(prefix="fairwell-celery-bench-"))
    queue = f"fairwell-bench-{os.getpid()}"
    runs: list[Run] = []
    try:
        with SinkProcess(resolve_kind(args.sink), workdir / "sink") as sink:
            note(f"sink: {sink.description} on {sink.host}:{sink.port}")
            for engine_name in args.engines:
                for processes in args.processes:
                    # A database of its own for each run, so no run reads the tables that
                    # earlier runs filled.
                    name = f"fairwell_bench_{os.getpid()}_{engine_name}{processes}"
                    database_url = create_database(args.admin_url, name)
                    try:
                        init_database(load_settings(database_url=database_url))
                        env = environment(database_url, sink.port, queue, args.broker)
                        run = run_engine(
                            engine_name, processes, args.n, env, workdir, sink, args.analyze
                        )
                        runs.append(run)
                    finally:
                        if args.keep:
                            note(f"kept database {name}")
                        else:
                            drop_database(args.admin_url, name)
            figures = report(args, sink, runs)
    finally:
        delete_queue(args.broker, queue)
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    problems = [
        f"{run.engine} x{run.processes}: the sink received {run.received}"
        for run in runs
        if run.received != run.letters
    ]
    return benchdata.finish(figures, args.json, print_table, problems)


if __name__ == "__main__":
    sys.exit(main())
