"""Retention: what a letter promises is what the run deletes on, and not a day earlier.

A frozen clock walks a UK and a German application through day 0, 182 and 183 after their
letters were really delivered to the SMTP sink, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.retention import (
    Action,
    PolicyError,
    RetentionFacts,
    parse_book,
    verdict,
)
from fairwell.errors import ConfigurationError, InvalidInput
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.consent import keep_on_file, offered_until
from fairwell.services.erasure import person_by_email
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.retention import load_book, run_retention
from fairwell.storage.erasure_store import SqlPrivacyStore
from fairwell.storage.portal_store import SqlPortalStore
from fairwell.storage.retention_store import SqlRetentionStore
from fairwell.storage.tables import applications, outbox, persons
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, import_and_reject_all

ANN, BERT, CARA, DANA = (
    "ann@example.com",
    "bert@example.com",
    "cara@example.com",
    "dana@example.com",
)
DELIVERED = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SHIPPED = {
    "default": {"keep_days": 182, "consent_days": 365, "action": "delete", "basis": "b"},
    "FR": {"keep_days": 730, "consent_days": 0, "action": "delete", "basis": "b"},
}


# --- the rule itself ---------------------------------------------------------------------


def test_the_clock_starts_at_delivery_and_never_ends_before_the_promise() -> None:
    book = parse_book(SHIPPED, None)
    dated = DELIVERED
    on_time = verdict(book, RetentionFacts("GB", dated, DELIVERED))
    assert on_time.keep_until == date(2027, 5, 27)
    assert not on_time.due(date(2027, 5, 27)) and on_time.due(date(2027, 5, 28))
    late = verdict(book, RetentionFacts("GB", dated, DELIVERED + timedelta(days=3)))
    assert late.keep_until == date(2027, 5, 30), "a late delivery moves the date later"
    early = verdict(book, RetentionFacts("GB", dated, DELIVERED - timedelta(days=3)))
    assert early.keep_until == date(2027, 5, 27), "never earlier than the letter promised"
    assert "promised" in early.reason


def test_nothing_is_due_before_the_letter_was_delivered() -> None:
    pending = verdict(parse_book(SHIPPED, None), RetentionFacts("DE", DELIVERED, None))
    assert pending.keep_until is None and not pending.due(date(2099, 1, 1))


def test_consent_extends_retention_as_far_as_the_policy_allows() -> None:
    book = parse_book(SHIPPED, None)
    consent = DELIVERED + timedelta(days=365)
    kept = verdict(book, RetentionFacts("GB", DELIVERED, DELIVERED, consent))
    assert kept.keep_until == consent.date() and "consent" in kept.reason


def test_a_region_a_country_and_the_default_are_looked_up_in_that_order() -> None:
    book = parse_book({**SHIPPED, "CA-ON": {**SHIPPED["FR"], "keep_days": 1096}}, None)
    assert book.policy_for("ca", "on").keep_days == 1096
    assert book.policy_for("FR").keep_days == 730
    assert book.policy_for("CA").key == "default" and book.policy_for(None).key == "default"


def test_an_override_changes_single_fields_and_bad_ones_are_refused() -> None:
    book = parse_book(SHIPPED, {"fr": {"keep_days": 365}, "NL": {"action": "anonymise"}})
    assert (book.policy_for("FR").keep_days, book.policy_for("FR").consent_days) == (365, 0)
    assert book.policy_for("NL").action is Action.ANONYMISE
    assert book.policy_for("NL").keep_days == 182, "a new key starts from the default"
    with pytest.raises(PolicyError, match=r"\[GB\] action"):
        parse_book(SHIPPED, {"GB": {"action": "shred"}})
    with pytest.raises(PolicyError, match="unknown field"):
        parse_book(SHIPPED, {"GB": {"keep_months": 6}})


def test_the_shipped_policies_load_and_a_broken_override_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    book = load_book(None)
    assert book.policy_for("DE").keep_days == 182 and book.policy_for("CA").keep_days == 1096
    broken = tmp_path / "policies.toml"
    broken.write_text("[GB]\nkeep_days = -1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="RETENTION_POLICIES"):
        load_book(broken)


# --- the walk over a real database and a real SMTP sink ----------------------------------


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


def deliver_letters(runtime: Runtime, tmp_path: Path) -> None:
    rows = [
        applicant(ANN, "Ann", "Archer"),
        applicant(BERT, "Bert", "Brandt", locale="de", country="DE", timezone="Europe/Berlin"),
        applicant(CARA, "Cara", "Cole"),
        applicant(DANA, "Dana", "Dunn"),
    ]
    now = runtime.clock.now()
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now)
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", now)
    batch = queue_plan(
        runtime.store, runtime.composer, "Data Analyst", actor="t", now=now, expected=plan.ready
    )
    run_batch(make_deliverer(runtime), batch.batch_id)


def promised_dates(sink: MailSink) -> dict[str, str]:
    """What each delivered letter says, read from the bytes the sink received."""
    found = {}
    for message in read_sink(sink.directory):
        part = message_from_bytes(message.data).get_payload()[0]  # type: ignore[index]
        text = part.get_payload(decode=True).decode("utf-8")
        match = re.search(r"(?:until|bis zum) (\d+\.? \w+ \d{4})", text)
        assert match, "every rejection states how long it is kept"
        found[message.rcpt_tos[0]] = match.group(1)
    return found


def is_erased(runtime: Runtime, email: str) -> bool:
    query = select(func.count()).select_from(persons).where(persons.c.email == email)
    with runtime.store.engine.connect() as conn:
        return conn.execute(query).scalar() == 0


def count(runtime: Runtime, table: object) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)  # type: ignore[arg-type]


def day(clock: FixedClock, number: int) -> None:
    clock.current = DELIVERED + timedelta(days=number)


def test_uk_and_german_letters_are_kept_until_the_promised_day_and_not_a_day_longer(
    runtime: Runtime, clock: FixedClock, sink: MailSink, tmp_path: Path
) -> None:
    deliver_letters(runtime, tmp_path)
    promised = promised_dates(sink)
    assert promised[ANN] == "27 May 2027" and promised[BERT] == "27. Mai 2027"
    privacy = SqlPrivacyStore(runtime.store.engine)
    privacy.add_hold(person_by_email(privacy, CARA), "pending claim", "admin", clock.now())
    dana = SqlPortalStore(runtime.store.engine)
    dana_app = dana.applications_of(person_by_email(privacy, DANA))[0]
    facts = SqlRetentionStore(runtime.store.engine).application_facts(dana_app.application_id)
    keep_on_file(dana, dana_app, offered_until(load_book(None), facts, clock.now()), clock.now())

    for number in (0, 182):
        day(clock, number)
        assert run_retention(runtime, None, dry_run=False).due == [], f"nothing due on day {number}"
    assert not is_erased(runtime, ANN) and not is_erased(runtime, BERT)

    day(clock, 183)
    preview = run_retention(runtime, None, dry_run=True)
    assert {item.keep_until for item in preview.due} == {date(2027, 5, 27)}
    assert {item.action for item in preview.due} == {Action.ANONYMISE, Action.DELETE}
    assert preview.counts["held"] == 1 and not is_erased(runtime, ANN), "a dry run changes nothing"

    done = run_retention(runtime, None, dry_run=False)
    assert (done.counts["anonymised"], done.counts["deleted"], done.counts["held"]) == (1, 1, 1)
    assert is_erased(runtime, ANN) and is_erased(runtime, BERT)
    assert not is_erased(runtime, CARA), "the legal hold keeps Cara"
    assert not is_erased(runtime, DANA), "Dana agreed to be kept on file"
    assert count(runtime, outbox) == 2, "only Cara's and Dana's letters are left"
    assert count(runtime, applications) == 3, "Ann's anonymous application stays; Bert's went"

    day(clock, 366)
    later = run_retention(runtime, None, dry_run=False)
    assert later.counts["anonymised"] == 1 and is_erased(runtime, DANA), "consent ran out"
    assert run_retention(runtime, None, dry_run=False).counts["anonymised"] == 0


def test_a_policy_shortened_after_the_letters_went_out_does_not_break_their_promise(
    runtime: Runtime, clock: FixedClock, sink: MailSink, tmp_path: Path
) -> None:
    deliver_letters(runtime, tmp_path)
    assert promised_dates(sink)[ANN] == "27 May 2027"
    shorter = tmp_path / "shorter.toml"
    shorter.write_text("[GB]\nkeep_days = 30\n[DE]\nkeep_days = 30\n", encoding="utf-8")
    runtime.settings = runtime.settings.model_copy(update={"retention_policies": shorter})

    day(clock, 182)
    assert run_retention(runtime, None, dry_run=False).due == [], "the letters named 27 May"
    day(clock, 183)
    due = run_retention(runtime, None, dry_run=True).due
    assert {item.keep_until for item in due} == {date(2027, 5, 27)}
    assert {item.reason for item in due} == {
        "GB: the date the letter promised",
        "DE: the date the letter promised",
    }
    with runtime.store.engine.connect() as conn:
        stored = set(conn.execute(select(outbox.c.keep_until)).scalars())
    assert stored == {date(2027, 5, 27)}, "each letter's promise is kept with it"


def test_a_real_run_refuses_a_future_date(runtime: Runtime) -> None:
    future = runtime.clock.now().date() + timedelta(days=1)
    with pytest.raises(InvalidInput, match="--dry-run"):
        run_retention(runtime, future, dry_run=False)


def test_the_cli_prints_one_json_object_and_a_dry_run_deletes_nothing(
    runtime: Runtime, sink: MailSink, tmp_path: Path
) -> None:
    deliver_letters(runtime, tmp_path)
    env = {"FAIRWELL_DATABASE_URL": runtime.settings.database_url}
    runner = CliRunner()
    soon = (runtime.clock.now() + timedelta(days=183)).date().isoformat()
    args = ["retention", "run", "--dry-run", "--as-of", soon, "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"as_of", "due", "counts"} and document["as_of"] == soon
    assert {entry["action"] for entry in document["due"]} == {"anonymise", "delete"}
    assert set(document["due"][0]) >= {"application_id", "action", "reason"}
    assert document["counts"]["due"] == 4
    assert not is_erased(runtime, ANN)
    refused = runner.invoke(app, ["retention", "run", "--as-of", soon], env=env)
    assert refused.exit_code == 1
    today = runner.invoke(app, ["retention", "run", "--json"], env=env)
    assert json.loads(today.stdout)["due"] == []
