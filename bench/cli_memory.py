"""Peak RSS and time of each CLI step, as a user runs them, at 100,000 and 1,000,000 letters.

    .venv/bin/python bench/cli_memory.py --n 100000
    .venv/bin/python bench/cli_memory.py --n 100000 --steps import,reject --against /tmp/old/src
    .venv/bin/python bench/cli_memory.py --n 1000000 --steps import,reject

The steps of bench/user_seat.py (`fairwell init`, `import`, `reject --all-except-hired`, `plan`,
`send --yes`), each a fresh process, on the synthetic people of bench/benchdata.py; no
mailmerge. Each step's wall time and peak RSS (ru_maxrss of the step's process and its children,
from wait4) are printed. A CSV file may hold 128 MB, so N people go in files of at most a
million rows (120 MB), each its own `fairwell import` (the table gives the largest peak and the
summed time).
`--steps` leaves out the later steps (plan and send need a sink; one is started). With
``--against SRC`` the same steps also run with ``PYTHONPATH=SRC`` (an older checkout's ``src``)
in a directory of their own, in the same run, so the two can be compared. A benchmark, not a
test; see bench/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import benchdata
from sinks import SinkProcess, resolve_kind
from user_seat import Step, _add_recruiter, fairwell_env, note, run_step

ROWS_PER_FILE = 1_000_000
STEPS = ("init", "import", "reject", "plan", "send")


def write_inputs(directory: Path, n: int) -> list[Path]:
    """N people in files of at most ROWS_PER_FILE rows (a CSV may hold 128 MB)."""
    files = []
    for number, start in enumerate(range(0, n, ROWS_PER_FILE)):
        path = directory / f"applicants-{number}.csv"
        size = min(ROWS_PER_FILE, n - start)
        benchdata.write_applicants_csv(path, benchdata.iter_applicant_rows(size, start=start))
        files.append(path)
    return files


def measure(
    n: int, files: list[Path], directory: Path, port: int, steps: list[str], src: str | None
) -> dict[str, dict[str, float]]:
    directory.mkdir()
    env = fairwell_env(directory, port)
    if src is not None:
        env["PYTHONPATH"] = src
    job = benchdata.JOB_TITLE
    commands: dict[str, list[list[str]]] = {
        "init": [["init"]],
        "import": [["import", str(path)] for path in files],
        "reject": [["reject", "--job", job, "--all-except-hired", "--reason", benchdata.REASON]],
        "plan": [["plan", "--job", job]],
        "send": [["send", "--job", job, "--yes"]],
    }
    figures: dict[str, dict[str, float]] = {}
    for name in steps:
        note(f"{n} ({src or 'this tree'}): fairwell {name} ...")
        runs: list[Step] = [run_step(name, arguments, env) for arguments in commands[name]]
        figures[name] = {
            "seconds": sum(run.seconds for run in runs),
            "peak_rss_mib": max(run.peak_rss_mib for run in runs),
        }
        seconds, peak = figures[name]["seconds"], figures[name]["peak_rss_mib"]
        note(f"{n} ({src or 'this tree'}): fairwell {name}: {seconds:.1f} s, {peak:.0f} MiB")
        if name == "init":
            _add_recruiter(directory, env)
    return figures


def print_table(report: dict[str, Any]) -> None:
    print(f"# peak RSS of each CLI step ({report['date']}, {report['cpus']} CPUs)\n")
    codes = list(report["runs"][0]["codes"])
    header = " | ".join(f"{code}: seconds | {code}: peak RSS" for code in codes)
    print(f"| letters | step | {header} |")
    print("| ---: | --- |" + " ---: | ---: |" * len(codes))
    for run in report["runs"]:
        for step in run["codes"][codes[0]]:
            cells = " | ".join(
                f"{run['codes'][code][step]['seconds']:.2f} | "
                f"{run['codes'][code][step]['peak_rss_mib']:.0f} MiB"
                for code in codes
            )
            print(f"| {run['n']:,} | {step} | {cells} |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append", help="letters (repeatable)")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated, in order")
    parser.add_argument("--against", help="also run with PYTHONPATH=AGAINST (an older src)")
    parser.add_argument("--sink", choices=("auto", "postfix", "fairwell"), default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    args.n = args.n or [100_000]
    args.steps = [step for step in STEPS if step in args.steps.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fairwell-cli-memory-"))
    codes: dict[str, str | None] = {"this": None}
    if args.against:
        codes["against"] = str(Path(args.against).resolve())
    runs = []
    try:
        with SinkProcess(resolve_kind(args.sink), workdir) as sink:
            for n in args.n:
                inputs = workdir / f"inputs-{n}"
                inputs.mkdir()
                files = write_inputs(inputs, n)
                measured = {
                    code: measure(n, files, workdir / f"{code}-{n}", sink.port, args.steps, src)
                    for code, src in codes.items()
                }
                runs.append({"n": n, "codes": measured})
            report = {**benchdata.run_facts(max(args.n), sink.description), "runs": runs}
    finally:
        if args.keep:
            note(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["against"] = codes.get("against")
    return benchdata.finish(report, args.json, print_table, [])


if __name__ == "__main__":
    sys.exit(main())
