"""Server time of the recruiter's pages on a job of 20,000 applicants, next to the CLI's plan.

    .venv/bin/python bench/web.py --n 20000

Measures, in one process and one run, the time the app spends answering (FastAPI's in-process
TestClient: no network, so the figure is server time) for the pipeline page, a stage filter,
a name search, select-all -> reject, and the send plan; and, as the yardstick measured in the
same run, the time `fairwell plan` spends computing the same plan. Only same-run ratios mean
anything on a noisy machine. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

import benchdata
from fairwell.config import load_settings
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan
from fairwell.services.users import add_user
from fairwell.web.app import create_app

PASSWORD = secrets.token_urlsafe(16)


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timings(action: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "runs": len(ordered)}


def setup(workdir: Path, n: int) -> Runtime:
    settings = load_settings(
        database_url=f"sqlite:///{workdir / 'web.db'}",
        from_address=benchdata.FROM_ADDRESS,
        org_name=benchdata.ORG_NAME,
        secret_key="bench-" + "k" * 40,
    )
    init_database(settings)
    runtime = open_runtime(settings)
    csv_path = workdir / "applicants.csv"
    benchdata.write_applicants_csv(csv_path, benchdata.applicant_rows(n))
    note(f"importing {n} applicants")
    import_file(runtime.store, csv_path, actor="bench", now=runtime.clock.now())
    users = runtime.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="bench", now=runtime.clock.now())
    return runtime


def signed_in_client(runtime: Runtime) -> tuple[TestClient, str]:
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    form = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    client.post("/signin", data={"username": "rita", "password": PASSWORD, "csrf": csrf[1]})
    page = client.get("/jobs/1")
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return client, token[1]


def ok(client: TestClient, path: str) -> Callable[[], object]:
    def get() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return get


def measure(runtime: Runtime, repeat: int, plan_repeat: int) -> dict[str, Any]:
    client, token = signed_in_client(runtime)
    results: dict[str, Any] = {}
    note("pipeline pages")
    results["pipeline"] = percentiles(timings(ok(client, "/jobs/1"), repeat))
    results["pipeline_page_200"] = percentiles(timings(ok(client, "/jobs/1?page=200"), repeat))
    results["filter_stage"] = percentiles(timings(ok(client, "/jobs/1?stage=onsite"), repeat))
    results["search_name"] = percentiles(timings(ok(client, "/jobs/1?q=m%C3%BCller"), repeat))
    note("select all -> reject")

    def reject_all() -> object:
        response = client.post(
            "/jobs/1/reject", data={"reason": benchdata.REASON, "csrf": token, "who": "matching"}
        )
        assert response.status_code == 303, response.status_code
        return response

    results["select_all_reject"] = percentiles(timings(reject_all, 1))
    note("the plan: web page, then the CLI's own computation")
    results["plan_page"] = percentiles(timings(ok(client, "/jobs/1/plan"), plan_repeat))

    def cli_plan() -> object:
        return make_plan(
            runtime.store, runtime.composer, benchdata.JOB_TITLE, runtime.clock.now()
        ).ready

    results["cli_plan"] = percentiles(timings(cli_plan, plan_repeat))
    return results


def print_table(n: int, results: dict[str, Any]) -> None:
    baseline = results["cli_plan"]["p50_ms"]
    print(f"{n} applicants; server time in ms; ratio = p50 / the CLI's plan p50 (same run)")
    print(f"{'what':<22}{'p50':>10}{'p95':>10}{'runs':>6}{'ratio':>8}")
    for name, figures in results.items():
        ratio = figures["p50_ms"] / baseline
        print(
            f"{name:<22}{figures['p50_ms']:>10.1f}{figures['p95_ms']:>10.1f}"
            f"{figures['runs']:>6}{ratio:>8.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="applicants in the job")
    parser.add_argument("--repeat", type=int, default=30, help="runs per page")
    parser.add_argument("--plan-repeat", type=int, default=5, help="runs of the plan")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fairwell-web-bench-") as folder:
        runtime = setup(Path(folder), args.n)
        try:
            results = measure(runtime, args.repeat, args.plan_repeat)
        finally:
            runtime.close()
    if args.json:
        print(json.dumps({"n": args.n, "results": results}, indent=2))
    else:
        print_table(args.n, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
