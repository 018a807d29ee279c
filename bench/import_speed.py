"""`fairwell import FILE.csv` as a recruiter runs it, beside another checkout in the same run.

    .venv/bin/python bench/import_speed.py --against /tmp/old/src
    .venv/bin/python bench/import_speed.py --n 10000 --n 100000 --rounds 3 --against OLD/src --json

OLD/src is an older tree's sources, e.g. ``git archive HEAD~1 src | tar -x -C /tmp/old``.
The bench's applicants (benchdata, the same file user_seat.py imports) are written once per N.
Then, round after round, each code under test imports the file as a fresh process into a
fresh SQLite database (``fairwell init`` first, untimed): wall time from spawn to exit, and
the process's peak RSS (VmHWM, user_seat.PeakWatcher). The table gives each code's median and
fastest time, rows a second, the largest peak, and how many times faster this tree is than
the other (ratio of medians, same rounds). The machine is shared: only same-run ratios mean
anything. A benchmark, not a test; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchdata
from user_seat import RECRUITER, PeakWatcher

CLI = (
    "import sys; import fairwell.cli as cli; sys.argv[0] = 'fairwell'; "
    "sys.exit(getattr(cli, 'run', cli.main)())"  # run: the program (main in older trees)
)
MIB = 1024.0


def environment(source: Path, scratch: Path) -> dict[str, str]:
    """Fairwell from ``source``; its bytecode kept under ``scratch``, as an install keeps it."""
    env = {**os.environ, "PYTHONPATH": str(source), "FAIRWELL_USER": RECRUITER}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache" / source.as_posix().strip("/"))
    return env


def import_once(csv: Path, env: dict[str, str], scratch: Path) -> tuple[float, float]:
    """One import into a fresh database: (seconds, peak RSS in MiB)."""
    directory = Path(tempfile.mkdtemp(dir=scratch))
    env = {**env, "FAIRWELL_DATABASE_URL": f"sqlite:///{directory / 'fairwell.db'}"}
    try:
        run([sys.executable, "-c", CLI, "init"], env)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "import", str(csv)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        watcher = PeakWatcher(process.pid)
        watcher.start()
        _, errors = process.communicate()
        seconds = time.perf_counter() - started
        watcher.stop()
        if process.returncode != 0:
            sys.exit(f"import failed ({env['PYTHONPATH']}):\n{errors.decode(errors='replace')}")
        return seconds, watcher.peak_kib / MIB
    finally:
        shutil.rmtree(directory)


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[2:])} failed:\n{done.stderr.decode(errors='replace')}")


def measure(
    sizes: list[int], rounds: int, codes: dict[str, Path], scratch: Path
) -> list[dict[str, object]]:
    envs = {name: environment(source, scratch) for name, source in codes.items()}
    results: list[dict[str, object]] = []
    for n in sizes:
        csv = scratch / f"applicants-{n}.csv"
        benchdata.write_applicants_csv(csv, benchdata.iter_applicant_rows(n))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
        for env in envs.values():  # warm the file and bytecode caches, untimed
            import_once(csv, env, scratch)
        for number in range(rounds):
            print(f"{n} rows: round {number + 1}/{rounds}", file=sys.stderr, flush=True)
            for name, env in envs.items():
                times[name].append(import_once(csv, env, scratch))
        results.append(figures(n, times))
    return results


def figures(n: int, times: dict[str, list[tuple[float, float]]]) -> dict[str, object]:
    row: dict[str, object] = {"rows": n}
    for name, runs in times.items():
        median = statistics.median(seconds for seconds, _ in runs)
        row[name] = {
            "median_s": round(median, 3),
            "fastest_s": round(min(seconds for seconds, _ in runs), 3),
            "rows_per_s": round(n / median),
            "peak_rss_mib": round(max(peak for _, peak in runs), 1),
        }
    if "against" in times:
        ours, theirs = row["this"], row["against"]
        assert isinstance(ours, dict) and isinstance(theirs, dict)
        row["times_faster"] = round(theirs["median_s"] / ours["median_s"], 2)
    return row


def table(results: list[dict[str, object]], rounds: int) -> str:
    lines = [
        f"fairwell import FILE.csv, SQLite, {rounds} rounds (each a fresh process and database)",
        f"{'rows':>8} {'code':<8} {'median':>8} {'fastest':>8} {'rows/s':>8} {'peak':>8}",
    ]
    for result in results:
        for name in ("this", "against"):
            figure = result.get(name)
            if isinstance(figure, dict):
                lines.append(
                    f"{result['rows']!s:>8} {name:<8} {figure['median_s']:>7.2f}s "
                    f"{figure['fastest_s']:>7.2f}s {figure['rows_per_s']:>8} "
                    f"{figure['peak_rss_mib']:>5.0f} MiB"
                )
        if "times_faster" in result:
            lines.append(f"{'':>8} this is {result['times_faster']}× as fast as against")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append", help="rows (10000 and 100000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another tree's src, timed alongside")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    codes = {"this": Path(__file__).resolve().parents[1] / "src"}
    if args.against:
        codes["against"] = args.against.resolve()
    scratch = Path(tempfile.mkdtemp(prefix="fairwell-import-"))
    try:
        results = measure(args.n or [10_000, 100_000], args.rounds, codes, scratch)
    finally:
        shutil.rmtree(scratch)
    if args.json:
        print(json.dumps({"rounds": args.rounds, "results": results}, indent=2))
    else:
        print(table(results, args.rounds))


if __name__ == "__main__":
    main()
