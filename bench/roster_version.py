"""What a process pays to keep the organisation's roster up to date, against rebuilding it.

    .venv/bin/python bench/roster_version.py --sizes 10000,100000,1000000

A process keeps one roster of everyone on file (services/rosters.py) and asks, before every
claim and every plan, whether it changed: one row, ``roster_clock.version``, which database
triggers bump (migration 0015). When it moved, only the people changed since are read and
laid over the roster. The yardstick, measured in the same run, is what the process would pay
without the triggers' log of changes: building the roster again from everyone on file.

For each size: a fresh SQLite database migrated to the head, N people on file (one job each
of 100 applicants; plain INSERTs in chunks, the triggers running as on any import; timed, and
timed again with the triggers dropped, for what they add to writes), the roster built once,
then

* **check**: the version asked REPEAT times (µs each), nothing changed;
* **update**: ``--added`` people imported for another job (plain INSERTs), then the roster
  brought up to date (ms): the version, the changed people read and laid over it;
* **rebuild**: the roster built again from everyone on file (s).

A benchmark, not a test.
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

from sqlalchemy import Engine, insert, text

import benchdata
from fairwell.guard.roster import Roster
from fairwell.services.rosters import RosterCache
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import applications, jobs, persons

CHUNK = 10_000
PER_JOB = 100
WHEN = datetime(2026, 11, 26, tzinfo=UTC)


def fill(engine: Engine, start: int, n: int) -> None:
    """People ``start`` to ``start + n`` on file, PER_JOB to a job, in chunks of plain INSERTs."""
    with engine.begin() as conn:
        for first in range(start, start + n, CHUNK):
            numbers = range(first, min(start + n, first + CHUNK))
            job_rows = [
                {"id": i // PER_JOB + 1, "title": f"Job {i // PER_JOB}", "created_at": WHEN}
                for i in numbers
                if i % PER_JOB == 0
            ]
            if job_rows:
                conn.execute(insert(jobs), job_rows)
            conn.execute(insert(persons), [_person(i) for i in numbers])
            conn.execute(insert(applications), [_application(i) for i in numbers])


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


def _application(i: int) -> dict[str, Any]:
    return {
        "ref": f"FW-{i:08d}",
        "job_id": i // PER_JOB + 1,
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


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def insert_seconds(workdir: Path, n: int, triggers: bool) -> float:
    """Seconds to put N people on file in a fresh database, with or without the triggers."""
    engine = make_engine(f"sqlite:///{workdir / f'fill-{n}-{triggers}.db'}")
    try:
        migrate.upgrade(engine)
        if not triggers:
            with engine.begin() as conn:
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))
                for (name,) in names.all():
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
        return timed(lambda: fill(engine, 0, n))
    finally:
        engine.dispose()


def measure(n: int, workdir: Path, repeat: int, added: int) -> dict[str, float]:
    plain = insert_seconds(workdir, n, triggers=False)
    engine = make_engine(f"sqlite:///{workdir / f'n{n}.db'}")
    try:
        migrate.upgrade(engine)
        with_triggers = timed(lambda: fill(engine, 0, n))
        store = SqlStore(engine)
        cache = RosterCache(store)
        first_build = timed(cache.current)
        check = per_call(store.roster_version, repeat)
        fill(engine, n, added)
        update = timed(cache.current)
        assert (cache.builds, cache.updates, cache.current().size) == (1, 1, n + added)
        rebuild = timed(lambda: Roster(store.roster()))
    finally:
        engine.dispose()
    return {
        "n": n,
        "added": added,
        "insert_s": with_triggers,
        "insert_plain_s": plain,
        "build_s": first_build,
        "check_us": check * 1e6,
        "update_ms": update * 1e3,
        "rebuild_s": rebuild,
        "ratio": rebuild / update,
    }


def print_table(rows: list[dict[str, float]]) -> None:
    print("the organisation's roster on SQLite: checked, brought up to date, or built again")
    columns = ("people", "check µs", "+added", "update ms", "rebuild s", "ratio", "INSERTs s")
    print("{:>9} {:>9} {:>7} {:>10} {:>10} {:>8} {:>17}".format(*columns))
    for r in rows:
        inserts = f"{r['insert_s']:.1f} / {r['insert_plain_s']:.1f}"
        print(
            f"{r['n']:>9.0f} {r['check_us']:>9.0f} {r['added']:>7.0f} {r['update_ms']:>10.1f}"
            f" {r['rebuild_s']:>10.2f} {r['ratio']:>7.0f}× {inserts:>17}"
        )
    print("INSERTs: putting everyone on file, with the roster triggers / without them")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[10_000, 100_000, 1_000_000],
    )
    parser.add_argument("--repeat", type=int, default=2000, help="checks per round (2000)")
    parser.add_argument("--added", type=int, default=100, help="people added (100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-roster-version-"))
    try:
        rows = []
        for n in args.sizes:
            print(f"N={n} ...", file=sys.stderr, flush=True)
            rows.append(measure(n, workdir, args.repeat, args.added))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return benchdata.finish(rows, args.json, print_table, [])


if __name__ == "__main__":
    sys.exit(main())
