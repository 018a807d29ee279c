"""The privacy guard per letter, and the roster's memory, for rosters of 1k, 100k and 1M people.

    .venv/bin/python bench/guard.py --sizes 1000,100000,1000000

For each roster size: the time and memory (RSS growth) to build the job's roster automaton,
and microseconds per letter for the whole guard (parse the bytes, scan every header and part
for every other person's address, name and reference). The yardstick in the same run is a
naive loop over the same roster (`identifier in text` for each person) on the same letter;
the ratio is naive / guard. The naive loop runs once per letter only (it is slow by design).
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, datetime

from fairwell.demo_data import FIRST, LAST
from fairwell.domain.eligibility import History
from fairwell.domain.model import Application, Decision, Job, Person, Source, Stage
from fairwell.domain.privacy import Expectation, inspect
from fairwell.domain.roster import Roster, RosterEntry, fold
from fairwell.ports import ApplicantView
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JOB = Job(1, "Bench Analyst")
PAGE = 4096


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


def entries(n: int, rng: random.Random) -> list[RosterEntry]:
    people = []
    for index in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower().replace(" ", "-").encode("ascii", "ignore").decode()
        people.append(
            RosterEntry(
                index + 1, f"{local}.{index}@example.com", f"{first} {last}", (f"FW-{index:010d}",)
            )
        )
    return people


def letter_for(entry: RosterEntry) -> bytes:
    first, _, last = entry.full_name.partition(" ")
    person = Person(entry.person_id, entry.email, first, last, "en")
    application = Application(
        id=entry.person_id,
        ref=entry.application_refs[0],
        job_id=1,
        person_id=entry.person_id,
        stage=Stage.ONSITE,
        source=Source.APPLIED,
    )
    decision = Decision(entry.person_id, entry.person_id, "skills-mismatch", None, WHEN)
    view = ApplicantView(application, person, History(has_active_decision=True), decision)
    composer = Composer(LetterTemplates(), Sender("careers@bench.example.com", "", "Bench"))
    return composer.compose(view, JOB, Roster([entry]), WHEN).body


def naive_scan(text: str, roster: list[RosterEntry], addressee: int) -> int:
    folded = fold(text)
    found = 0
    for entry in roster:
        if entry.person_id == addressee:
            continue
        for identifier in (entry.email, entry.full_name, *entry.application_refs):
            found += fold(identifier) in folded
    return found


def measure(n: int, letters: int, rng: random.Random) -> dict[str, float]:
    people = entries(n, rng)
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    roster = Roster(people)
    build = time.perf_counter() - started
    grown = rss_mib() - before
    sample = rng.sample(people, min(letters, n))
    bodies = [(entry, letter_for(entry)) for entry in sample]
    started = time.perf_counter()
    for entry, body in bodies:
        expectation = Expectation(entry.email, entry.person_id, "en", Stage.ONSITE, roster)
        findings = inspect(body, expectation)
        assert not findings, findings
    guard_us = (time.perf_counter() - started) / len(bodies) * 1e6
    entry, body = bodies[0]
    started = time.perf_counter()
    naive_scan(body.decode("ascii", "replace"), people, entry.person_id)
    naive_us = (time.perf_counter() - started) * 1e6
    return {
        "n": n,
        "build_s": build,
        "roster_mib": grown,
        "guard_us": guard_us,
        "naive_us": naive_us,
        "letter_bytes": len(body),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--letters", type=int, default=500, help="letters guarded per size")
    args = parser.parse_args(argv)
    rng = random.Random(2026)
    print(f"{'roster':>9}{'build s':>9}{'RSS MiB':>9}{'guard µs':>10}{'naive µs':>12}{'ratio':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"measuring a roster of {size}", file=sys.stderr, flush=True)
        r = measure(size, args.letters, rng)
        print(
            f"{size:>9}{r['build_s']:>9.2f}{r['roster_mib']:>9.1f}{r['guard_us']:>10.1f}"
            f"{r['naive_us']:>12.0f}{r['naive_us'] / r['guard_us']:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
