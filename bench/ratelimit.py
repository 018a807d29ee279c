"""How close the shared rate limit keeps the observed send rate to the configured one.

    .venv/bin/python bench/ratelimit.py --rate 40 --n 400 --workers 2

Queues N letters, then runs W `fairwell worker --once` processes at the same time with
FAIRWELL_RATE_OVERALL set, all sending to one in-process fairwell SMTP sink. The observed rate
is read from the times the sink received the letters: (N - 1) / (last - first). Then the same
with a per-domain rate: letters to two domains, each limited, no overall limit. The ratio
observed / configured should stay within 0.95-1.05. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import benchdata
from fairwell.config import load_settings
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import init_database, open_runtime
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import queue_plan


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def queue_letters(workdir: Path, n: int, port: int, two_domains: bool) -> dict[str, str]:
    env = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{workdir / 'rate.db'}",
        "FAIRWELL_SMTP_PORT": str(port),
        "FAIRWELL_FROM": benchdata.FROM_ADDRESS,
        "FAIRWELL_ORG_NAME": benchdata.ORG_NAME,
        "FAIRWELL_SEND_WINDOWS": "off",
    }
    settings = load_settings(
        database_url=env["FAIRWELL_DATABASE_URL"],
        smtp_port=port,
        from_address=benchdata.FROM_ADDRESS,
        org_name=benchdata.ORG_NAME,
        send_windows="off",
    )
    init_database(settings)
    runtime = open_runtime(settings)
    rows = benchdata.applicant_rows(n)
    if two_domains:
        for index, row in enumerate(rows):
            if index % 2:
                row["email"] = row["email"].replace("@example.com", "@example.org")
    csv_path = workdir / "applicants.csv"
    benchdata.write_applicants_csv(csv_path, rows)
    now = runtime.clock.now()
    import_file(runtime.store, csv_path, actor="bench", now=now)
    selection = Selection(all_except_hired=True)
    reject(
        runtime.store,
        benchdata.JOB_TITLE,
        selection,
        benchdata.REASON,
        note=None,
        actor="bench",
        now=now,
    )
    queue_plan(runtime.store, runtime.composer, benchdata.JOB_TITLE, actor="bench", now=now)
    runtime.close()
    return env


def run_workers(env: dict[str, str], workers: int) -> None:
    fairwell = Path(sys.executable).with_name("fairwell")
    processes = [
        subprocess.Popen([str(fairwell), "worker", "--once"], env={**os.environ, **env})
        for _ in range(workers)
    ]
    for process in processes:
        if process.wait(timeout=3600) != 0:
            raise SystemExit(f"a worker exited with {process.returncode}")


def observed_rate(times: list[float]) -> float:
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0])


def measure(args: argparse.Namespace, per_domain: bool) -> list[tuple[str, float, float]]:
    with (
        tempfile.TemporaryDirectory(prefix="fairwell-rate-") as folder,
        MailSink(Path(folder) / "mail", port=0) as sink,
    ):
        workdir = Path(folder)
        env = queue_letters(workdir, args.n, sink.port, two_domains=per_domain)
        key = "FAIRWELL_RATE_PER_DOMAIN" if per_domain else "FAIRWELL_RATE_OVERALL"
        env[key] = str(args.rate)
        note(f"{args.workers} workers, {key}={args.rate}, {args.n} letters")
        run_workers(env, args.workers)
        received = read_sink(sink.directory)
        if len(received) != args.n:
            raise SystemExit(f"the sink received {len(received)} of {args.n}")
    if not per_domain:
        rate = observed_rate([m.received_at.timestamp() for m in received])
        return [("overall", args.rate, rate)]
    results = []
    for domain in ("example.com", "example.org"):
        times = [m.received_at.timestamp() for m in received if m.rcpt_tos[0].endswith(domain)]
        results.append((f"domain {domain}", args.rate, observed_rate(times)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="letters a second")
    parser.add_argument("--n", type=int, default=400, help="letters per run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)
    rows = measure(args, per_domain=False) + measure(args, per_domain=True)
    print(f"{'limit':<22}{'configured/s':>14}{'observed/s':>12}{'ratio':>8}")
    for name, configured, observed in rows:
        print(f"{name:<22}{configured:>14.1f}{observed:>12.2f}{observed / configured:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
