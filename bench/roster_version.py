"""What a worker pays before each claim to know whether a job's roster changed.

    .venv/bin/python bench/roster_version.py --sizes 10000,100000,1000000

A worker keeps each job's roster and asks, before every claim of FAIRWELL_CLAIM_BATCH
letters, whether it changed. Up to migration 0012 it asked by counting the job's applications
and taking the newest ``persons.updated_at`` among them (the baseline below, the same query
kept here); since 0013 it reads ``jobs.roster_version``, a counter database triggers keep.

For each size: a fresh SQLite database migrated to the head, one job with N applicants written
with plain INSERTs (untimed; the triggers run, as on any import), then both questions asked
REPEAT times. Printed: microseconds per question and the ratio, measured in the same run, and
what that adds to delivering the job at 100 letters a claim. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

import benchdata
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import applications, jobs, persons

CLAIM_BATCH = 100
CHUNK = 10_000
WHEN = datetime(2026, 11, 26, tzinfo=UTC)


def count_and_newest(engine: Engine, job_id: int) -> tuple[int, str]:
    """The question as 0012 asked it: a read of the whole job."""
    query = (
        select(func.count(applications.c.id), func.max(persons.c.updated_at))
        .join(persons, persons.c.id == applications.c.person_id)
        .where(applications.c.job_id == job_id)
    )
    with engine.connect() as conn:
        count, latest = conn.execute(query).one()
    return int(count), str(latest)


def fill(engine: Engine, n: int) -> int:
    """One job with N applicants, written in chunks of plain INSERTs."""
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(jobs).values(title=benchdata.JOB_TITLE, created_at=WHEN)
        ).inserted_primary_key
        assert job_id is not None
        for start in range(0, n, CHUNK):
            numbers = range(start, min(n, start + CHUNK))
            conn.execute(insert(persons), [_person(i) for i in numbers])
            conn.execute(insert(applications), [_application(i, job_id[0]) for i in numbers])
    return int(job_id[0])


def _person(i: int) -> dict[str, Any]:
    return {
        "id": i + 1,
        "email": f"p{i}@example.com",
        "first_name": "Pat",
        "last_name": f"Doe{i}",
        "locale": "en",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def _application(i: int, job_id: int) -> dict[str, Any]:
    return {
        "ref": f"FW-{i:08d}",
        "job_id": job_id,
        "person_id": i + 1,
        "stage": "screen",
        "source": "applied",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def per_call(ask: Callable[[], object], repeat: int) -> float:
    """Seconds per call, the best of three rounds (the machine is shared)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            ask()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best


def measure(n: int, workdir: Path, repeat: int) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{workdir / f'n{n}.db'}")
    try:
        migrate.upgrade(engine)
        job_id = fill(engine, n)
        store = SqlStore(engine)
        old = per_call(lambda: count_and_newest(engine, job_id), max(3, repeat * 1000 // n))
        new = per_call(lambda: store.roster_version(job_id), repeat)
    finally:
        engine.dispose()
    claims = n / CLAIM_BATCH
    return {
        "n": n,
        "old_us": old * 1e6,
        "new_us": new * 1e6,
        "ratio": old / new,
        "old_seconds_per_job": old * claims,
        "new_seconds_per_job": new * claims,
    }


def print_table(rows: list[dict[str, float]]) -> None:
    print(f"roster-version check before each claim, SQLite, {CLAIM_BATCH} letters a claim")
    columns = ("people", "0012 µs", "0013 µs", "ratio", "0012 s/job", "0013 s/job")
    print("{:>9} {:>11} {:>9} {:>9} {:>11} {:>11}".format(*columns))
    for r in rows:
        print(
            f"{r['n']:>9.0f} {r['old_us']:>11.0f} {r['new_us']:>9.1f} {r['ratio']:>8.0f}×"
            f" {r['old_seconds_per_job']:>11.2f} {r['new_seconds_per_job']:>11.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[10_000, 100_000, 1_000_000],
    )
    parser.add_argument("--repeat", type=int, default=2000, help="questions per round (2000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-roster-version-"))
    try:
        rows = []
        for n in args.sizes:
            print(f"N={n} ...", file=sys.stderr, flush=True)
            rows.append(measure(n, workdir, args.repeat))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return benchdata.finish(rows, args.json, print_table, [])


if __name__ == "__main__":
    sys.exit(main())
