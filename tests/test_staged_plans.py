"""The plan is the batch: letters are composed once, stored, and released as they are.

Database triggers note whatever would change a staged letter; a stale plan is refused with
what changed, and the next plan recomposes only the letters that changed. On SQLite and on
the real PostgreSQL, delivering to the real (aiosmtpd) sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select, update
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.errors import PlanChanged, PlanStale
from fairwell.ports.plans import StagedLetter
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.preview import preview_for_job
from fairwell.services.scheduling import Override
from fairwell.services.sending import StagedPlan, confirm, make_plan
from fairwell.storage.tables import (
    decisions,
    letter_bodies,
    outbox,
    plan_changes,
    staged_letters,
    suppressions,
)
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all

PEOPLE = [applicant(f"p{i}@example.com", f"Pat{i}", "Lee") for i in range(5)]


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = FixedClock()
    import_and_reject_all(wired.store, tmp_path / "people.csv", PEOPLE, wired.clock.now())
    yield wired
    wired.close()


def staged_body(conn: Connection, recipient: str) -> bytes:
    """The stored bytes of the staged letter to ``recipient``."""
    s = staged_letters.c
    query = (
        select(letter_bodies.c.body)
        .join(staged_letters, s.body_id == letter_bodies.c.id)
        .where(s.recipient == recipient)
    )
    return bytes(conn.execute(query).scalar_one())


def plan_of(runtime: Runtime) -> StagedPlan:
    job_id = runtime.store.job_by_title("Data Analyst").id
    return make_plan(runtime.store, runtime.composer, job_id, runtime.clock.now())


def release(runtime: Runtime, staged: StagedPlan, expected: int | None = None) -> int:
    ready = staged.plan.ready if expected is None else expected
    windows = Override.WINDOWS
    batch = confirm(
        runtime.store, staged.plan_id, ready, actor="t", now=runtime.clock.now(), windows=windows
    )
    return batch.batch_id


def staged_ids(runtime: Runtime) -> dict[int, str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(staged_letters.c.application_id, staged_letters.c.message_id))
        return {row.application_id: row.message_id for row in rows}


def test_a_plan_made_again_with_nothing_changed_composes_nothing(runtime: Runtime) -> None:
    first = plan_of(runtime)
    again = plan_of(runtime)
    assert (first.composed, first.plan.ready) == (5, 5)
    assert (again.composed, again.plan_id) == (0, first.plan_id)


def test_preview_is_the_staged_bytes_and_the_bytes_the_smtp_server_received(
    runtime: Runtime, tmp_path: Path
) -> None:
    staged = plan_of(runtime)
    job_id = staged.plan.job.id
    now = runtime.clock.now()
    shown = preview_for_job(runtime.store, runtime.composer, job_id, "p2@example.com", now)
    with runtime.engine.connect() as conn:
        stored = staged_body(conn, "p2@example.com")
    assert shown.staged and shown.body == bytes(stored)
    batch_id = release(runtime, staged)
    run_batch(make_deliverer(runtime), batch_id)
    (mail,) = [m for m in read_sink(tmp_path / "mail") if m.rcpt_tos == ["p2@example.com"]]
    assert mail.data == shown.body, "preview = stored = sent, byte for byte"
    assert b"Message-ID: " in mail.data and b"Date: " in mail.data


def test_confirming_composes_nothing_and_queues_the_stored_letters(runtime: Runtime) -> None:
    staged = plan_of(runtime)
    before = staged_ids(runtime)
    batch_id = release(runtime, staged)
    with runtime.engine.connect() as conn:
        queued = dict(
            conn.execute(
                select(outbox.c.application_id, outbox.c.message_id).where(
                    outbox.c.batch_id == batch_id
                )
            ).all()
        )
        bodies = conn.execute(select(letter_bodies.c.id)).all()
    assert queued == before and len(bodies) == 5


def test_confirming_moves_no_bytes_the_outbox_points_at_the_staged_bodies(
    runtime: Runtime,
) -> None:
    staged = plan_of(runtime)
    with runtime.engine.connect() as conn:
        s = staged_letters.c
        pointed = dict(conn.execute(select(s.letter_key, s.body_id)).all())
        held = dict(conn.execute(select(letter_bodies.c.id, letter_bodies.c.body)).all())
    batch_id = release(runtime, staged)
    with runtime.engine.connect() as conn:
        query = select(outbox.c.letter_key, outbox.c.body_id).where(outbox.c.batch_id == batch_id)
        queued = dict(conn.execute(query).all())
        after = dict(conn.execute(select(letter_bodies.c.id, letter_bodies.c.body)).all())
    assert len(pointed) == 5 and queued == pointed, "each letter keeps the body it was staged with"
    assert after == held, "no body was written, copied or deleted"


def test_a_changed_decision_makes_the_plan_stale_and_only_its_letter_is_composed_again(
    runtime: Runtime,
) -> None:
    staged = plan_of(runtime)
    before = staged_ids(runtime)
    with runtime.engine.begin() as conn:
        # A writer that is not Fairwell's services: the trigger notes it all the same.
        first = conn.execute(select(decisions.c.id).order_by(decisions.c.id)).scalars().first()
        conn.execute(
            update(decisions).where(decisions.c.id == first).values(reason_code="skills-mismatch")
        )
    with pytest.raises(PlanStale) as refused:
        release(runtime, staged)
    assert str(refused.value) == "the plan is stale: a decision changed since it was made"
    again = plan_of(runtime)
    after = staged_ids(runtime)
    assert again.composed == 1 and again.plan_id != staged.plan_id
    changed = [app for app in before if before[app] != after[app]]
    assert len(changed) == 1, "the four other letters are the stored ones"
    release(runtime, again)


def test_a_suppression_and_a_template_change_are_counted_and_the_template_recomposes_all(
    runtime: Runtime,
) -> None:
    staged = plan_of(runtime)
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        for who in ("p0@example.com", "p1@example.com"):
            conn.execute(suppressions.insert().values(email=who, reason="t", created_at=now))
    runtime.letter_settings.save_wording("position-filled", "en", "The role is filled.", "t", now)
    with pytest.raises(PlanStale) as refused:
        release(runtime, staged)
    assert str(refused.value) == (
        "the plan is stale: 2 addresses were suppressed, a reason's wording changed "
        "since it was made"
    )
    again = plan_of(runtime)
    assert (again.composed, again.plan.ready) == (3, 3), "everything composed again"


def test_an_old_plan_is_refused_and_made_again(runtime: Runtime) -> None:
    staged = plan_of(runtime)
    clock = runtime.clock
    assert isinstance(clock, FixedClock)
    clock.advance(minutes=61)
    with pytest.raises(PlanStale, match="made 61 minutes ago"):
        release(runtime, staged)
    assert plan_of(runtime).composed == 5


def test_the_count_confirmed_must_be_the_staged_count(runtime: Runtime) -> None:
    staged = plan_of(runtime)
    with pytest.raises(PlanChanged, match="the plan has 5 letters, not the 4 confirmed"):
        release(runtime, staged, expected=4)
    release(runtime, staged)
    with pytest.raises(PlanStale, match="it was sent already"):
        release(runtime, staged)


def test_send_right_after_plan_composes_nothing_and_a_stale_send_says_why(
    runtime: Runtime, database_url: str, sink: MailSink, tmp_path: Path
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_HOST": "127.0.0.1",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_SMTP_SECURITY": "none",
        "FAIRWELL_FROM_ADDRESS": "careers@acme.example.com",
        "FAIRWELL_ORG_NAME": "Acme",
    }
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "--job", "Data Analyst"], env=env)
    assert planned.exit_code == 0, planned.output
    assert "5 letter(s) composed and stored" in planned.output
    shown = runner.invoke(
        app, ["preview", "--job", "Data Analyst", "--email", "p3@example.com"], env=env
    )
    assert shown.exit_code == 0 and "staged in the send plan" in shown.output
    with runtime.engine.connect() as conn:
        stored = staged_body(conn, "p3@example.com")
    assert bytes(stored).decode("ascii").replace("\r\n", "\n") in shown.output
    sent = runner.invoke(app, ["send", "--job", "Data Analyst", "--yes"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "nothing changed since it was made; nothing composed" in sent.output
    assert len(read_sink(tmp_path / "mail")) == 5


# Writers that are not Fairwell's services (a hand-run UPDATE, another tool): each is noted.
WRITERS = {
    "an applicant was erased": (
        "UPDATE persons SET erased_at = created_at WHERE email = 'p1@example.com'"
    ),
    "a stage changed": (
        "UPDATE applications SET stage = 'withdrawn' WHERE id = (SELECT min(id) FROM applications)"
    ),
    "the job's letter settings changed": "UPDATE jobs SET sender_name = 'Sam'",
    "a template changed": (
        "INSERT INTO template_overrides (name, source, updated_by, updated_at) "
        "VALUES ('rejection.en.txt', 'x', 't', CURRENT_TIMESTAMP)"
    ),
}


@pytest.mark.parametrize("reason", list(WRITERS))
def test_each_writer_that_would_change_a_letter_is_noted_by_the_database(
    runtime: Runtime, reason: str
) -> None:
    staged = plan_of(runtime)
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql(WRITERS[reason])
    with pytest.raises(PlanStale) as refused:
        release(runtime, staged)
    assert refused.value.reasons == {reason: 1}


# Bulk writes of decisions and feedback, a statement each, as a reject or an erasure makes
# them: (what the statement does, the reason noted, how many rows it writes).
BULK_WRITES = [
    (
        "INSERT INTO feedback (decision_id, state, text, next_steps, lint_findings, created_at, "
        "updated_at) SELECT id, 'draft', 't', 'n', 0, decided_at, decided_at FROM decisions",
        "feedback changed",
        5,
    ),
    ("UPDATE feedback SET text = 'u'", "feedback changed", 5),
    ("DELETE FROM feedback", "feedback changed", 5),
    (
        "INSERT INTO decisions (application_id, reason_code, state, decided_by, decided_at) "
        "SELECT application_id, 'skills-mismatch', 'revoked', 't', decided_at FROM decisions",
        "a decision changed",
        5,
    ),
    ("UPDATE decisions SET note = 'n'", "a decision changed", 10),
    ("DELETE FROM decisions WHERE state = 'revoked'", "a decision changed", 5),
]


@pytest.mark.parametrize("plan_open", [True, False], ids=["plan-open", "no-plan"])
def test_every_decision_and_feedback_row_written_is_noted_while_a_plan_is_open(
    runtime: Runtime, plan_open: bool
) -> None:
    """On SQLite migration 0029 skips these triggers while no plan is open; with one open,
    each row still notes its change, and with none open nothing is noted, as before."""
    if plan_open:
        plan_of(runtime)
    for statement, reason, rows in BULK_WRITES:
        with runtime.engine.begin() as conn:
            mark = conn.execute(select(func.coalesce(func.max(plan_changes.c.id), 0))).scalar()
            conn.exec_driver_sql(statement)
            noted = conn.execute(
                select(plan_changes.c.reason, func.count())
                .where(plan_changes.c.id > mark)
                .group_by(plan_changes.c.reason)
            ).all()
        assert dict(noted) == ({reason: rows} if plan_open else {}), statement


def test_erasing_someone_erases_their_staged_letter_and_makes_the_plan_stale(
    runtime: Runtime,
) -> None:
    from fairwell.services import erasure

    staged = plan_of(runtime)
    person_id = erasure.person_by_email(runtime.privacy, "p1@example.com")
    counts = erasure.erase_person(runtime.privacy, person_id, "admin", runtime.clock.now())
    with runtime.engine.connect() as conn:
        # Every letter's bytes on file: the other four staged letters' only.
        bodies = [bytes(b) for b in conn.execute(select(letter_bodies.c.body)).scalars()]
        recipients = set(conn.execute(select(staged_letters.c.recipient)).scalars())
    # The letter was the person's name and address in a plan nobody may ever send or redo.
    assert counts["staged_letters"] == 1 and len(bodies) == 4
    assert "p1@example.com" not in recipients
    assert not any(b"Pat1" in body or b"p1@example.com" in body for body in bodies)
    with pytest.raises(PlanStale) as refused:
        release(runtime, staged)
    # Erasure deletes the applications before it anonymises the person: "deleted" is noted.
    assert "an applicant was deleted" in str(refused.value)


def _shares_of(runtime: Runtime) -> tuple[int, list[StagedLetter]]:
    """A composing plan, and its letters as a worker process stores them (its share)."""
    from fairwell.services.planning import compose_pending
    from fairwell.services.sending import fingerprint, staged_letters

    job = runtime.store.job_by_title("Data Analyst")
    now = runtime.clock.now()
    plan = runtime.store.begin_plan(job.id, "t", now, False, fingerprint(runtime.composer, False))
    roster = runtime.rosters.current()
    composed = compose_pending(runtime.store, runtime.composer, job, roster, now)
    return plan.id, list(staged_letters(composed, runtime.composer, now))


def stored_plans(runtime: Runtime) -> set[int]:
    with runtime.engine.connect() as conn:
        return set(conn.execute(select(staged_letters.c.plan_id)).scalars())


def test_shares_stored_by_a_plan_that_died_composing_go_when_the_next_plan_begins(
    runtime: Runtime,
) -> None:
    dead, letters = _shares_of(runtime)
    assert runtime.store.stage_share(dead, letters[:2]) == 2
    assert stored_plans(runtime) == {dead}, "stored, but not a staged plan anyone sees"
    assert runtime.store.open_plan(runtime.store.job_by_title("Data Analyst").id) is None

    staged = plan_of(runtime)  # the dead plan's process never came back

    assert stored_plans(runtime) == {staged.plan_id} and staged.plan.ready == 5
    with pytest.raises(PlanChanged):
        runtime.store.stage_share(dead, letters[2:])
    assert stored_plans(runtime) == {staged.plan_id}


def test_a_plan_given_up_takes_its_shares_with_it_and_takes_no_more(runtime: Runtime) -> None:
    plan_id, letters = _shares_of(runtime)
    runtime.store.stage_share(plan_id, letters[:3])
    runtime.store.abandon_plan(plan_id)
    assert stored_plans(runtime) == set()
    with pytest.raises(PlanChanged):
        runtime.store.stage_share(plan_id, letters[3:])
    assert stored_plans(runtime) == set()


def test_no_line_of_a_letter_stays_in_memory_once_the_plan_is_made(runtime: Runtime) -> None:
    from fairwell.domain import mime
    from fairwell.guard import privacy

    plan_of(runtime)
    # The encoder and the guard share a batch's template lines, but some lines name a person:
    # once the letters are guarded, none is remembered (an erasure must not miss them).
    assert mime._qp_line.cache_info().currsize == 0
    assert privacy._line_words.cache_info().currsize == 0
