"""The guard's seal: a letter the whole guard passed at plan time is checked at send time on
its send-time facts alone, while its bytes, addressee, roster and guard are what they were;
anything else about it changed and the whole guard reads its bytes again.

On SQLite and on the real PostgreSQL, delivering to the real (aiosmtpd) sink.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.guard.seal import seal
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.rosters import RosterCache
from fairwell.storage.tables import applications, letter_bodies, outbox, persons, staged_letters
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all, write_csv
from tests.test_staged_plans import plan_of, release

PEOPLE = [applicant(f"p{i}@example.com", f"Pat{i}", "Lee") for i in range(4)]
LEAK = "no-other-candidate"


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = FixedClock()
    import_and_reject_all(wired.store, tmp_path / "people.csv", PEOPLE, wired.clock.now())
    yield wired
    wired.close()


def planned_and_released(runtime: Runtime) -> int:
    staged = plan_of(runtime)
    assert staged.plan.ready == len(PEOPLE)
    return release(runtime, staged)


def deliver_with_own_roster(runtime: Runtime, batch_id: int) -> tuple[RosterCache, dict[str, int]]:
    """Deliver with a roster cache of the worker's own, to see whether it read the roster."""
    rosters = RosterCache(runtime.store)
    deliverer = dataclasses.replace(make_deliverer(runtime), rosters=rosters)
    stats = run_batch(deliverer, batch_id)
    return rosters, {"sent": stats.sent, "held": stats.held}


def held_rules(runtime: Runtime, batch_id: int) -> dict[str, str | None]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.recipient, outbox.c.held_rule).where(outbox.c.batch_id == batch_id)
        )
        return {row.recipient: row.held_rule for row in rows}


def test_every_planned_letter_is_sealed_and_the_seal_goes_with_its_body(runtime: Runtime) -> None:
    batch_id = planned_and_released(runtime)
    with runtime.engine.connect() as conn:
        seals = conn.execute(
            select(letter_bodies.c.guard_seal)
            .join(outbox, outbox.c.body_id == letter_bodies.c.id)
            .where(outbox.c.batch_id == batch_id)
        ).scalars()
        staged = conn.execute(select(staged_letters.c.body_id)).scalars().all()
    found = list(seals)
    assert len(found) == len(PEOPLE) and all(found) and len(set(found)) == len(PEOPLE)
    assert staged == [], "the released plan's staged letters are gone"


def test_sealed_letters_are_sent_without_reading_the_roster(
    runtime: Runtime, tmp_path: Path
) -> None:
    batch_id = planned_and_released(runtime)
    rosters, counts = deliver_with_own_roster(runtime, batch_id)
    assert counts == {"sent": len(PEOPLE), "held": 0}
    assert rosters.builds == 0, "every seal held: nobody's identifiers needed searching"
    assert len(read_sink(tmp_path / "mail")) == len(PEOPLE)


def test_bytes_changed_after_planning_are_guarded_in_full_and_held(runtime: Runtime) -> None:
    batch_id = planned_and_released(runtime)
    with runtime.engine.begin() as conn:
        first = conn.execute(
            select(outbox.c.body_id).where(outbox.c.recipient == "p0@example.com")
        ).scalar_one()
        body = bytes(
            conn.execute(
                select(letter_bodies.c.body).where(letter_bodies.c.id == first)
            ).scalar_one()
        )
        # Another candidate's name slipped into the stored bytes, the seal left as it was.
        leaked = body.replace(b"Kind regards,", b"Kind regards, Pat1 Lee,", 1)
        assert leaked != body
        conn.execute(update(letter_bodies).where(letter_bodies.c.id == first).values(body=leaked))
    rosters, counts = deliver_with_own_roster(runtime, batch_id)
    # The first letter is held, and a leak pauses its batch: nothing else went.
    assert counts == {"sent": 0, "held": 1}
    assert rosters.builds == 1, "the letter whose seal broke was searched for everyone on file"
    assert held_rules(runtime, batch_id)["p0@example.com"] == LEAK


def test_someone_new_on_file_after_planning_unseals_every_letter(
    runtime: Runtime, tmp_path: Path
) -> None:
    batch_id = planned_and_released(runtime)
    newcomer = [applicant("new@example.com", "Noor", "New", job="Designer")]
    now = runtime.clock.now()
    import_file(runtime.store, write_csv(tmp_path / "new.csv", newcomer), actor="t", now=now)
    rosters, counts = deliver_with_own_roster(runtime, batch_id)
    assert counts == {"sent": len(PEOPLE), "held": 0}
    assert rosters.builds == 1, "the roster moved on: the letters were guarded in full"


def test_send_time_facts_still_hold_a_sealed_letter(runtime: Runtime) -> None:
    batch_id = planned_and_released(runtime)
    person = select(persons.c.id).where(persons.c.email == "p3@example.com").scalar_subquery()
    with runtime.engine.begin() as conn:
        # Hired after planning (an ATS sync, a person at the database): the letter must not go.
        conn.execute(
            update(applications).where(applications.c.person_id == person).values(stage="hired")
        )
    _, counts = deliver_with_own_roster(runtime, batch_id)
    assert counts == {"sent": len(PEOPLE) - 1, "held": 1}
    assert held_rules(runtime, batch_id)["p3@example.com"] == "still-eligible"


@given(
    body=st.binary(max_size=64),
    recipient=st.emails(),
    addressee=st.integers(min_value=1, max_value=10**9),
    locale=st.sampled_from(["en", "de", "fr"]),
    version=st.integers(min_value=0, max_value=10**9),
)
def test_a_seal_names_every_input_of_the_verdict(
    body: bytes, recipient: str, addressee: int, locale: str, version: int
) -> None:
    made = seal(body, recipient, addressee, locale, version)
    assert made == seal(body, recipient, addressee, locale, version)
    others = [
        seal(body + b"x", recipient, addressee, locale, version),
        seal(body, "x" + recipient, addressee, locale, version),
        seal(body, recipient, addressee + 1, locale, version),
        seal(body, recipient, addressee, locale + "-x", version),
        seal(body, recipient, addressee, locale, version + 1),
    ]
    assert made not in others
