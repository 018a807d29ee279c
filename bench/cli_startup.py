"""How long the CLI takes to start, as a user meets it: each command a fresh process.

    .venv/bin/python bench/cli_startup.py               # the table
    .venv/bin/python bench/cli_startup.py --rounds 30   # more rounds on a noisy machine
    .venv/bin/python bench/cli_startup.py --json        # one JSON object on stdout
    .venv/bin/python bench/cli_startup.py --against /tmp/old/src   # beside another checkout

A fresh SQLite database in a temporary directory gets the demo's job (untimed). Then, round
after round, each command runs once as its own process, in the same order, beside the
baseline `python -c pass` (the interpreter starting and doing nothing) measured in the same
rounds. The table gives each command's median and fastest wall time, its median less the
baseline's (what Fairwell adds to a bare interpreter), and the ratio of the medians. "The
libraries alone" imports what a database command cannot do without (Typer, Rich, SQLAlchemy,
pydantic-settings) and nothing of Fairwell: the floor such a command starts from; SQLAlchemy
and pydantic are also timed alone, the two largest parts of that floor. A
benchmark, not a test: the machine is shared, so read the ratios; an absolute figure from
another run means little. `python -X importtime -c "import fairwell.cli"` shows where the
import time goes. With ``--against SRC`` every command also runs with ``PYTHONPATH=SRC`` (an
older checkout's ``src``, say) in the same rounds, and the table adds its median and how many
times faster this code starts. "A send's worker process starts" is what each process of a
big send's pool (worker/pool.py) does before its first letter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from fairwell.demo.data import write_demo_csv

# The console script's body: the same interpreter and environment as this script.
CLI = (
    "import sys; import fairwell.cli as cli; sys.argv[0] = 'fairwell'; "
    "sys.exit(getattr(cli, 'run', cli.main)())"  # run: the program (main in older trees)
)
BASELINE = "python -c pass"
LIBRARIES = "import typer, rich.console, rich.table, sqlalchemy, pydantic_settings"
# The two largest parts of that floor, each alone. Typer (0.2x) reads every option through a
# pydantic TypeAdapter, so a command that takes an option loads pydantic even without settings.
SQLALCHEMY = "import sqlalchemy"
PYDANTIC = "from pydantic import BaseModel, TypeAdapter"
# What each process of a big send's pool does before its first letter: multiprocessing runs the
# console script again (``import fairwell.cli``), then the pool's initializer opens a runtime,
# then the process builds its deliverer (tests/test_cli_lean_start.py lists what it must not
# import).
WORKER_START = (
    "import os, fairwell.cli; from fairwell.config import load_settings; "
    "from fairwell.runtime import make_deliverer; from fairwell.worker import pool; "
    # The shared values it is given (None here) vary between versions: --against an older tree.
    "shared = [None] * (pool._start_process.__code__.co_argcount - 2); "
    "pool._start_process(load_settings().model_dump(), os.getppid(), *shared); "
    "make_deliverer(pool._runtime())"
)
# What is timed, by name: a command line after `fairwell`, or Python code (the baseline and
# the import of the command modules alone).
COMMANDS: dict[str, tuple[str, ...]] = {
    BASELINE: ("-c", "pass"),
    # What a database command cannot start without, whatever Fairwell does: the floor.
    "the libraries alone": ("-c", LIBRARIES),
    "of which SQLAlchemy alone": ("-c", SQLALCHEMY),
    "of which pydantic alone": ("-c", PYDANTIC),
    'python -c "import fairwell.cli"': ("-c", "import fairwell.cli"),
    "fairwell --help": ("-c", CLI, "--help"),
    "fairwell reject --help": ("-c", CLI, "reject", "--help"),
    "fairwell jobs": ("-c", CLI, "jobs"),
    "fairwell outbox status": ("-c", CLI, "outbox", "status"),
    "fairwell reasons": ("-c", CLI, "reasons"),
    "a send's worker process starts": ("-c", WORKER_START),
}


def run(arguments: Sequence[str], env: dict[str, str]) -> float:
    """One process, start to exit, in seconds; a failed command stops the bench."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *arguments], env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed:\n{done.stderr.decode(errors='replace')}")
    return elapsed


def prepared(directory: Path) -> dict[str, str]:
    """The environment of every timed process: a fresh database with the demo's job in it.

    Compiled bytecode is kept, as in an installed Fairwell: with PYTHONDONTWRITEBYTECODE set
    every process would compile Fairwell's modules again (some 40 ms a start), so it is kept
    in the temporary directory instead (PYTHONPYCACHEPREFIX), never in the source tree."""
    env = {**os.environ, "FAIRWELL_DATABASE_URL": f"sqlite:///{directory / 'fairwell.db'}"}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(directory / "pycache")
    write_demo_csv(directory / "applicants.csv")
    run(("-c", CLI, "init"), env)
    run(("-c", CLI, "import", str(directory / "applicants.csv")), env)
    return env


def measure(rounds: int, envs: dict[str, dict[str, str]]) -> dict[str, dict[str, list[float]]]:
    """Per code under test (``this``, and the ``--against`` checkout): each command's times."""
    times = {code: {name: [] for name in COMMANDS} for code in envs}
    for env in envs.values():
        for arguments in COMMANDS.values():  # warm the file and bytecode caches, untimed
            run(arguments, env)
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}", file=sys.stderr)
        for name, arguments in COMMANDS.items():
            for code, env in envs.items():
                times[code][name].append(run(arguments, env))
    return times


def figures(times: dict[str, dict[str, list[float]]]) -> list[dict[str, object]]:
    ours = times["this"]
    base = statistics.median(ours[BASELINE])
    rows: list[dict[str, object]] = []
    for name, seconds in ours.items():
        median = statistics.median(seconds)
        row: dict[str, object] = {
            "command": name,
            "median_s": round(median, 4),
            "fastest_s": round(min(seconds), 4),
            "added_s": round(median - base, 4),
            "ratio_to_python": round(median / base, 1),
        }
        if "against" in times:
            theirs = statistics.median(times["against"][name])
            row["against_median_s"] = round(theirs, 4)
            row["times_faster"] = round(theirs / median, 2)
        rows.append(row)
    return rows


def table(rows: list[dict[str, object]], rounds: int) -> str:
    head = f"{'command':<34} {'median':>8} {'fastest':>8} {'added':>8} {'× python':>9}"
    compared = "against_median_s" in rows[0]
    if compared:
        head += f" {'against':>8} {'faster':>7}"
    lines = [f"CLI start-up, {rounds} rounds (each command a fresh process)", head]
    for row in rows:
        line = (
            f"{row['command']!s:<34} {row['median_s']:>7.3f}s {row['fastest_s']:>7.3f}s "
            f"{row['added_s']:>7.3f}s {row['ratio_to_python']:>8.1f}×"
        )
        if compared:
            line += f" {row['against_median_s']:>7.3f}s {row['times_faster']:>6.2f}×"
        lines.append(line)
    load = os.getloadavg()
    lines.append(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="times each command runs")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--against", type=Path, help="also run every command with this src folder first"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fairwell-cli-") as folder:
        env = prepared(Path(folder))
        envs = {"this": env}
        if args.against is not None:
            path = os.pathsep.join([str(args.against.resolve()), env.get("PYTHONPATH", "")])
            envs["against"] = {**env, "PYTHONPATH": path}
        rows = figures(measure(args.rounds, envs))
    if args.json:
        print(json.dumps({"rounds": args.rounds, "commands": rows}, indent=2))
    else:
        print(table(rows, args.rounds))


if __name__ == "__main__":
    main()
