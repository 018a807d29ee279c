"""What the ``letter.sent`` webhook trigger (migration 0020) costs a worker recording results.

    .venv/bin/python bench/webhook_trigger.py --n 20000 --rounds 5
    .venv/bin/python bench/webhook_trigger.py --n 20000 --postgres postgresql+psycopg://postgres@127.0.0.1/postgres

A worker commits its results every FAIRWELL_COMMIT_EVERY (20) letters with one UPDATE that
marks them sent (SqlStore.record_outcomes). Since 0020 a row trigger on ``outbox`` fires when a
letter's state becomes ``sent`` and queues a webhook delivery per subscriber. Three variants,
each on the same database in alternating rounds:

- ``baseline``: the trigger dropped (as before 0020);
- ``no subscriber``: the trigger, no subscription (every installation that uses no webhooks);
- ``one subscriber``: the trigger and one subscription to ``letter.sent`` (a row per letter).

N letters are written once (untimed) in state ``sending``; each round puts them back into
``sending`` (untimed; that update does not fire the trigger) and times recording them sent in
commits of 20. Printed: microseconds per letter, medians over the rounds, and each variant's
ratio to the baseline measured in the same run. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, delete, insert, text, update

from fairwell.domain.model import OutboxState
from fairwell.ports import Outcome
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import (
    applications,
    batches,
    jobs,
    outbox,
    persons,
    webhook_deliveries,
    webhook_subscriptions,
)

WHEN = datetime(2026, 12, 8, tzinfo=UTC)
_SPEC = importlib.util.spec_from_file_location(
    "migration_0020",
    Path(migrate.__file__).parent / "migrations" / "versions" / "0020_ats_and_webhooks.py",
)
assert _SPEC is not None and _SPEC.loader is not None
migration = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(migration)
COMMIT_EVERY = 20
OWNER = "bench"
CHUNK = 5000


def fill(engine: Engine, n: int) -> list[int]:
    with engine.begin() as conn:
        conn.execute(insert(jobs).values(id=1, title="Bench", created_at=WHEN))
        conn.execute(
            insert(batches).values(id=1, job_id=1, state="active", created_by="b", created_at=WHEN)
        )
        for start in range(0, n, CHUNK):
            numbers = range(start, min(n, start + CHUNK))
            conn.execute(insert(persons), [_person(i) for i in numbers])
            conn.execute(insert(applications), [_application(i) for i in numbers])
            conn.execute(insert(outbox), [_letter(i) for i in numbers])
    return list(range(1, n + 1))


def _person(i: int) -> dict[str, object]:
    return {
        "id": i + 1,
        "email": f"p{i}@example.com",
        "first_name": "Pat",
        "last_name": f"Doe{i}",
        "locale": "en",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def _application(i: int) -> dict[str, object]:
    return {
        "id": i + 1,
        "ref": f"FW-{i:010d}",
        "job_id": 1,
        "person_id": i + 1,
        "stage": "screen",
        "source": "applied",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def _letter(i: int) -> dict[str, object]:
    return {
        "id": i + 1,
        "batch_id": 1,
        "letter_key": f"bench:{i}",
        "application_id": i + 1,
        "kind": "rejection",
        "locale": "en",
        "sender": "careers@example.com",
        "recipient": f"p{i}@example.com",
        "message_id": f"<{i}@bench>",
        "planned_stage": "screen",
        "state": OutboxState.SENDING.value,
        "attempts": 1,
        "next_attempt_at": WHEN,
        "lease_owner": OWNER,
        "possible_duplicates": 0,
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(outbox).values(state=OutboxState.SENDING.value, lease_owner=OWNER, sent_at=None)
        )
        conn.execute(delete(webhook_deliveries))
        conn.execute(text("DELETE FROM audit_log"))


def record_all(store: SqlStore, ids: list[int]) -> float:
    """Seconds to record every letter sent, in commits of COMMIT_EVERY."""
    started = time.perf_counter()
    for start in range(0, len(ids), COMMIT_EVERY):
        outcomes = [Outcome(i, OutboxState.SENT) for i in ids[start : start + COMMIT_EVERY]]
        store.record_outcomes(outcomes, OWNER, WHEN)
    return time.perf_counter() - started


def set_variant(engine: Engine, variant: str) -> None:
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(delete(webhook_subscriptions))
        exists = _trigger_exists(conn, postgres)
        if variant == "baseline" and exists:
            conn.execute(
                text("DROP TRIGGER webhook_letter_sent" + (" ON outbox" if postgres else ""))
            )
        if variant != "baseline" and not exists:
            _create_trigger(conn, postgres)
        if variant == "one subscriber":
            conn.execute(
                insert(webhook_subscriptions).values(
                    url="https://receiver.example.com/",
                    secret="s" * 32,
                    events="letter.sent",
                    active=True,
                    created_by="bench",
                    created_at=WHEN,
                )
            )


def _trigger_exists(conn: object, postgres: bool) -> bool:
    query = (
        "SELECT 1 FROM pg_trigger WHERE tgname = 'webhook_letter_sent'"
        if postgres
        else "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'webhook_letter_sent'"
    )
    return conn.execute(text(query)).first() is not None  # type: ignore[attr-defined]


def _create_trigger(conn: object, postgres: bool) -> None:
    event, table, timing, when, entity, moment = migration.TRIGGERS["webhook_letter_sent"]
    insert_sql = migration._fan_out(event, entity, moment, postgres=postgres)
    if postgres:
        statement = (
            f"CREATE TRIGGER webhook_letter_sent {timing} ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION webhook_letter_sent()"
        )
    else:
        statement = (
            f"CREATE TRIGGER webhook_letter_sent {timing} ON {table} WHEN {when} "
            f"BEGIN {insert_sql}; END"
        )
    conn.execute(text(statement))  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="letters recorded per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL to a scratch database (else SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.postgres or f"sqlite:///{Path(scratch) / 'bench.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        ids = fill(engine, args.n)
        store = SqlStore(engine)
        variants = ("baseline", "no subscriber", "one subscriber")
        timings: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.rounds):
            for variant in variants:
                set_variant(engine, variant)
                reset(engine)
                timings[variant].append(record_all(store, ids) / args.n * 1e6)
        engine.dispose()
    base = statistics.median(timings["baseline"])
    print(
        f"{engine.dialect.name}: {args.n} letters recorded sent in commits of {COMMIT_EVERY}, "
        f"{args.rounds} alternating rounds (median, range) µs/letter"
    )
    for variant in variants:
        values = timings[variant]
        median = statistics.median(values)
        print(
            f"  {variant:15} {median:7.1f}  ({min(values):.1f}–{max(values):.1f})  "
            f"{median / base:.2f}x baseline"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
