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
from fairwell.domain.model import Stage
from fairwell.domain.retention import Action, RetentionFacts, Rule, parse_book, verdict
from fairwell.errors import ConfigurationError, InvalidInput, PolicyError
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services.consent import keep_on_file, offered_until
from fairwell.services.erasure import person_by_email
from fairwell.services.planning import make_plan, queue_plan
from fairwell.services.retention import load_book, run_retention
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
PERIODS = {
    "withdrawn_days": 182,
    "declined_days": 182,
    "hired_days": 90,
    "open_days": 365,
    "closed_days": 182,
    "notice_days": 0,
}
SHIPPED = {
    "default": {"keep_days": 182, "consent_days": 365, "action": "delete", "basis": "b", **PERIODS},
    "FR": {"keep_days": 730, "consent_days": 0},
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
    assert book.policy_for("DE").keep_days == 182 and book.policy_for("CA", "ON").keep_days == 1096
    assert book.policy_for("CA").key == "default", "Canada without a region is not Ontario"
    assert book.policy_for("FR", "CA-ON").key == "FR", "a region of another country is ignored"
    broken = tmp_path / "policies.toml"
    broken.write_text("[GB]\nkeep_days = -1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="RETENTION_POLICIES"):
        load_book(broken)


def test_every_entry_takes_what_it_does_not_set_from_the_default() -> None:
    book = parse_book(SHIPPED, {"default": {"hired_days": 30}})
    assert book.policy_for("FR").withdrawn_days == 182 and book.policy_for("FR").keep_days == 730
    assert book.policy_for("FR").hired_days == 30, "the organisation's default reaches FR"
    with pytest.raises(PolicyError, match=r"\[default\] lacks closed_days"):
        parse_book(
            {"default": {k: v for k, v in SHIPPED["default"].items() if k != "closed_days"}}, None
        )
    with pytest.raises(PolicyError, match="hired_days must be a whole number"):
        parse_book(SHIPPED, {"GB": {"hired_days": 0}})
    with pytest.raises(PolicyError, match="notice_days must be a whole number"):
        parse_book(SHIPPED, {"CA-ON": {"notice_days": True}})


# --- every application has an end date: the rule of each state --------------------------

STAGED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # the stage's last change


def end(stage: Stage, **facts: object) -> tuple[date | None, Rule | None]:
    """The end date and rule of one application in the UK with this stage, changed on STAGED."""
    given: dict[str, object] = {"letter_dated": None, "delivered_at": None, **facts}
    found = verdict(
        parse_book(SHIPPED, None),
        RetentionFacts(country="GB", stage=stage, stage_changed_at=STAGED, **given),  # type: ignore[arg-type]
    )
    return found.keep_until, found.rule


def test_a_hire_is_kept_for_the_handover_to_hr_then_its_recruiting_data_goes() -> None:
    assert end(Stage.HIRED) == (date(2026, 8, 30), Rule.HIRED)  # 90 days after the change


def test_a_withdrawn_application_and_a_declined_offer_are_kept_their_own_periods() -> None:
    assert end(Stage.WITHDRAWN) == (date(2026, 11, 30), Rule.WITHDRAWN)
    assert end(Stage.DECLINED) == (date(2026, 11, 30), Rule.DECLINED)


def test_a_still_open_application_ends_a_year_after_its_last_activity() -> None:
    assert end(Stage.SCREEN) == (date(2027, 6, 1), Rule.OPEN)
    assert end(Stage.OFFER) == (date(2027, 6, 1), Rule.OPEN), "an offer left open ends too"
    decided_later = STAGED + timedelta(days=10)
    assert end(Stage.ONSITE, decided_at=decided_later) == (date(2027, 6, 11), Rule.OPEN)


def test_a_closed_job_ends_the_applications_no_letter_reached() -> None:
    closed = STAGED + timedelta(days=20)
    assert end(Stage.PHONE, job_closed_at=closed) == (date(2026, 12, 20), Rule.CLOSED)
    assert end(Stage.REJECTED, job_closed_at=closed)[1] is Rule.CLOSED
    assert end(Stage.HIRED, job_closed_at=closed)[1] is Rule.HIRED, "a hire is a hire"


def test_a_rejection_made_elsewhere_is_kept_as_long_as_one_of_ours() -> None:
    assert end(Stage.REJECTED) == (date(2026, 11, 30), Rule.REJECTED)


def test_a_delivered_letter_outranks_a_closed_job_and_never_ends_before_its_promise() -> None:
    closed = DELIVERED + timedelta(days=400)
    kept, rule = end(
        Stage.SCREEN, delivered_at=DELIVERED, letter_dated=DELIVERED, job_closed_at=closed
    )
    assert (kept, rule) == (date(2027, 5, 27), Rule.LETTER)
    later, why = end(Stage.WITHDRAWN, delivered_at=DELIVERED, letter_dated=DELIVERED)
    assert (later, why) == (date(2027, 5, 27), Rule.LETTER), "withdrawn before: the promise holds"


def test_a_consent_keeps_any_state_longer_and_a_region_has_its_own_periods() -> None:
    consent = STAGED + timedelta(days=300)
    assert end(Stage.HIRED, consent_until=consent) == (consent.date(), Rule.CONSENT)
    book = load_book(None)
    ontario = verdict(
        book,
        RetentionFacts(
            "CA", None, None, region="CA-ON", stage=Stage.PHONE, stage_changed_at=STAGED
        ),
    )
    assert ontario.keep_until == date(2029, 6, 1) and ontario.reason.startswith("CA-ON")
    canada = verdict(
        book, RetentionFacts("CA", None, None, stage=Stage.PHONE, stage_changed_at=STAGED)
    )
    assert canada.keep_until == date(2027, 6, 1) and canada.reason.startswith("default")


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
    with runtime.engine.connect() as conn:
        return conn.execute(query).scalar() == 0


def count(runtime: Runtime, table: object) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)  # type: ignore[arg-type]


def day(clock: FixedClock, number: int) -> None:
    clock.current = DELIVERED + timedelta(days=number)


def test_uk_and_german_letters_are_kept_until_the_promised_day_and_not_a_day_longer(
    runtime: Runtime, clock: FixedClock, sink: MailSink, tmp_path: Path
) -> None:
    deliver_letters(runtime, tmp_path)
    promised = promised_dates(sink)
    assert promised[ANN] == "27 May 2027" and promised[BERT] == "27. Mai 2027"
    privacy = runtime.privacy
    privacy.add_hold(person_by_email(privacy, CARA), "pending claim", "admin", clock.now())
    dana = runtime.portal
    dana_app = dana.applications_of(person_by_email(privacy, DANA))[0]
    facts = runtime.retention.application_facts(dana_app.application_id)
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
    with runtime.engine.connect() as conn:
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
