"""The privacy guard per letter, and the roster's memory, for 10k, 100k and 1M people on file.

    .venv/bin/python bench/guard.py --sizes 10000,100000,1000000

For each roster size and each kind of roster (the Aho-Corasick automaton and the hashed
roster of guard/compact_roster.py), in a fresh process: the time and memory (RSS growth) to
build it, microseconds per letter for the whole guard (parse the bytes, scan every header and
part for every other person's address, name and reference, the other rules) and for the
roster's scan alone, in wall time and in this process's CPU time (the machine is shared),
each the best of three rounds.
The letters are a batch: consecutive people, as a job's applicants imported together are
(``--order random`` picks them anywhere on the roster instead).

Then the roster takes in ``--changes`` people added since it was built (an import), as a
process's roster does (Roster.updated: a small automaton over the base): the time and memory
that costs, against the build, and the guard per letter with them in place.

The yardstick in the same run is a naive loop over the same roster (`identifier in text` for
each person) on one letter; the ratio is naive / guard. The naive loop runs once (it is slow
by design). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fairwell.demo.data import FIRST, LAST
from fairwell.domain.eligibility import History
from fairwell.domain.model import Application, Decision, Job, Person, Source, Stage
from fairwell.guard.privacy import Expectation, inspect, inspect_many, parse_letter
from fairwell.guard.roster import Roster, RosterEntry, fold
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


def build(kind: str, people: list[RosterEntry]) -> Roster:
    """A roster of this kind whatever its size (the threshold moved to 0 or out of reach)."""
    return Roster(people, compact_from=0 if kind == "compact" else 10**12)


def batch_of(people: list[RosterEntry], letters: int, order: str, rng: random.Random) -> list:
    """The people written to: a run of consecutive ones (a batch), or anyone (random)."""
    count = min(letters, len(people))
    if order == "random":
        return rng.sample(people, count)
    start = rng.randrange(len(people) - count + 1)
    return people[start : start + count]


ROUNDS = 3


def per_letter(step: Callable[[], None], count: int) -> tuple[float, float]:
    """Wall and CPU microseconds per letter for ``step`` over ``count`` letters, each the
    best of ROUNDS rounds (the machine is shared)."""
    wall_best = cpu_best = float("inf")
    for _ in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        wall_best = min(wall_best, time.perf_counter() - wall)
        cpu_best = min(cpu_best, time.process_time() - cpu)
    return wall_best / count * 1e6, cpu_best / count * 1e6


def guarded(roster: Roster, bodies: list[tuple[RosterEntry, bytes]]) -> Callable[[], None]:
    def step() -> None:
        for entry, body in bodies:
            expectation = Expectation(entry.email, entry.person_id, "en", Stage.ONSITE, roster)
            findings = inspect(body, expectation)
            assert not findings, findings

    return step


def guarded_in_batches(
    roster: Roster, bodies: list[tuple[RosterEntry, bytes]], batch: int
) -> Callable[[], None]:
    """The guard as plans and workers run it: ``batch`` letters at a time (inspect_many)."""

    def step() -> None:
        for first in range(0, len(bodies), batch):
            letters = [
                (body, Expectation(entry.email, entry.person_id, "en", Stage.ONSITE, roster))
                for entry, body in bodies[first : first + batch]
            ]
            assert not any(inspect_many(letters))

    return step


def scanned(roster: Roster, texts: list[tuple[int, str]]) -> Callable[[], None]:
    def step() -> None:
        for person_id, text in texts:
            assert roster.mentions_of_others(text, person_id) == []

    return step


def newcomers(n: int, count: int, rng: random.Random) -> dict[int, RosterEntry | None]:
    """``count`` people added after the roster was built (the next ids), as a delta."""
    return {entry.person_id + n: _renumbered(entry, n) for entry in entries(count, rng)}


def _renumbered(entry: RosterEntry, offset: int) -> RosterEntry:
    number = entry.person_id + offset
    email = entry.email.replace("@", f"-new{number}@")
    return RosterEntry(number, email, entry.full_name, (f"FW-N{number:09d}",))


def measure(
    n: int, kind: str, letters: int, order: str, changes: int, batch: int
) -> dict[str, float | str]:
    """One roster of ``kind`` for ``n`` people, in this (fresh) process."""
    if kind == "compact":
        import numpy  # noqa: F401  its import (about 16 MiB) is not the roster's memory

    rng = random.Random(2026)
    people = entries(n, rng)
    bodies = [(entry, letter_for(entry)) for entry in batch_of(people, letters, order, rng)]
    delta = newcomers(n, changes, rng)
    gc.collect()
    # The bench's own million entries are no process's: the collector leaves them alone.
    gc.freeze()
    before = rss_mib()
    started = time.perf_counter()
    roster = build(kind, people)
    build_s = time.perf_counter() - started
    grown = rss_mib() - before
    assert roster.kind == kind
    texts = [(entry.person_id, parse_letter(body).all_text()) for entry, body in bodies]
    for person_id, text in texts[:20]:  # warm the caches both kinds keep
        roster.mentions_of_others(text, person_id)
    guard_us, guard_cpu_us = per_letter(guarded(roster, bodies), len(bodies))
    batch_us, batch_cpu_us = per_letter(guarded_in_batches(roster, bodies, batch), len(bodies))
    scan_us, scan_cpu_us = per_letter(scanned(roster, texts), len(texts))
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    updated = roster.updated(delta)
    update_s = time.perf_counter() - started
    update_mib = rss_mib() - before
    assert updated.size == n + changes
    changed_us, changed_cpu_us = per_letter(guarded_in_batches(updated, bodies, batch), len(bodies))
    entry, body = bodies[0]
    started = time.perf_counter()
    naive_scan(body.decode("ascii", "replace"), people, entry.person_id)
    naive_us = (time.perf_counter() - started) * 1e6
    return {
        "n": n,
        "kind": kind,
        "order": order,
        "build_s": build_s,
        "roster_mib": grown,
        "guard_us": guard_us,
        "guard_cpu_us": guard_cpu_us,
        "batch": batch,
        "batch_us": batch_us,
        "batch_cpu_us": batch_cpu_us,
        "scan_us": scan_us,
        "scan_cpu_us": scan_cpu_us,
        "changes": changes,
        "update_s": update_s,
        "update_mib": update_mib,
        "changed_guard_us": changed_us,
        "changed_guard_cpu_us": changed_cpu_us,
        "naive_us": naive_us,
        "letter_bytes": len(body),
    }


def in_child(n: int, kind: str, args: argparse.Namespace) -> dict[str, float | str]:
    command = [sys.executable, __file__, "--child", kind, "--sizes", str(n)]
    command += ["--letters", str(args.letters), "--order", args.order]
    command += ["--changes", str(args.changes), "--batch", str(args.batch)]
    done = subprocess.run(command, stdout=subprocess.PIPE, check=True, text=True)
    result: dict[str, float | str] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="automaton,compact")
    parser.add_argument("--letters", type=int, default=500, help="letters guarded per size")
    parser.add_argument("--order", choices=("batch", "random"), default="batch")
    parser.add_argument("--changes", type=int, default=1000, help="people added after the build")
    parser.add_argument("--batch", type=int, default=100, help="letters guarded together")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--child", choices=("automaton", "compact"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.child:
        figures = measure(sizes[0], args.child, args.letters, args.order, args.changes, args.batch)
        print(json.dumps(figures))
        return 0
    print(
        f"letters: {args.letters} ({args.order}), guarded one at a time, then {args.batch} at "
        f"a time; then {args.changes} people added; µs per letter, wall / CPU"
    )
    print(
        f"{'roster':>9} {'kind':>9}{'build s':>9}{'RSS MiB':>9}{'guard µs':>13}{'batch µs':>13}"
        f"{'scan µs':>13}{'add s':>7}{'add MiB':>8}{'batch µs':>13}{'naive µs':>11}{'ratio':>8}"
    )
    for size in sizes:
        for kind in args.kinds.split(","):
            print(f"measuring a {kind} roster of {size}", file=sys.stderr, flush=True)
            r = in_child(size, kind, args)
            if args.json:
                print(json.dumps(r), flush=True)
                continue
            print(
                f"{size:>9} {kind:>9}{r['build_s']:>9.2f}{r['roster_mib']:>9.1f}"
                f"{r['guard_us']:>7.1f}/{r['guard_cpu_us']:<5.1f}"
                f"{r['batch_us']:>7.1f}/{r['batch_cpu_us']:<5.1f}"
                f"{r['scan_us']:>7.1f}/{r['scan_cpu_us']:<5.1f}"
                f"{r['update_s']:>7.2f}{r['update_mib']:>8.1f}"
                f"{r['changed_guard_us']:>7.1f}/{r['changed_guard_cpu_us']:<5.1f}"
                f"{r['naive_us']:>11.0f}{float(r['naive_us']) / float(r['batch_us']):>8.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
