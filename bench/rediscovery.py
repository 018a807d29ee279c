"""Rediscovery ranking time per person, without and with semantic similarity, in one run.

    .venv/bin/python bench/rediscovery.py --n 1000

N synthetic people on file (1-3 past titles, 0-4 competencies each), ranked against one job
with the pure keyword/evidence ranking and then with all-MiniLM-L6-v2 from the `semantic`
extra. Only same-run ratios mean anything on a shared machine. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from fairwell.domain.matching import Evidence, PoolMember, Requirement, rank
from fairwell.services.semantic import INSTALL, load_minilm, scores

TITLES = (
    "Data Analyst", "Data Engineer", "ETL Developer", "Backend Developer", "Pastry Chef",
    "Nurse", "Sales Manager", "Product Manager", "BI Developer", "Warehouse Operative",
    "Machine Learning Engineer", "Accountant", "Support Engineer", "Site Reliability Engineer",
)  # fmt: skip
COMPETENCIES = (
    "SQL", "Spark", "Python", "Communication", "Stakeholder management", "Laminated dough",
    "Patient care", "Forecasting", "Airflow pipelines", "Customer service", "Kubernetes",
)  # fmt: skip
JOB = "Senior Data Engineer"
NEEDS = [Requirement("Spark", 3), Requirement("SQL pipelines", 3), Requirement("Python", 2)]


def people(n: int, seed: int = 6) -> list[PoolMember]:
    pick = random.Random(seed)
    members = []
    for person_id in range(1, n + 1):
        titles = tuple(sorted(pick.sample(TITLES, pick.randint(1, 3))))
        evidence = tuple(
            Evidence(name, titles[0], float(pick.randint(1, 4)), pick.randint(1, 3))
            for name in pick.sample(COMPETENCIES, pick.randint(0, 4))
        )
        members.append(PoolMember(person_id, titles, evidence))
    return members


def per_person_ms(seconds: float, n: int) -> str:
    return f"{1000 * seconds / n:.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="people on file")
    n = parser.parse_args().n
    pool = people(n)

    started = time.perf_counter()
    rank(pool, JOB, NEEDS)
    plain = time.perf_counter() - started
    print(f"without semantic: {n} people in {plain:.3f} s, {per_person_ms(plain, n)} a person")

    started = time.perf_counter()
    try:
        model = load_minilm()
    except ImportError as error:
        print(f"semantic extra not installed ({INSTALL}): {error}", file=sys.stderr)
        return 1
    print(f"model load (once per process): {time.perf_counter() - started:.2f} s")
    for run in ("first", "second"):
        started = time.perf_counter()
        rank(pool, JOB, NEEDS, scores(model, JOB, NEEDS, pool))
        took = time.perf_counter() - started
        print(
            f"with semantic ({run} ranking): {n} people in {took:.3f} s, "
            f"{per_person_ms(took, n)} a person, {took / plain:.0f}x the plain ranking"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
