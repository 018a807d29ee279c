"""The guard covers everyone on file: a letter of any kind that names a person of another job,
past or present, is held; erased people and the addressee's own identifiers never count.

The people, on SQLite and PostgreSQL alike: Pat (Data Analyst, interviewed, rejected; also an
applicant for Designer), Rae (referred for Data Analyst), Wai (interviewed for Data Analyst,
no decision yet), Dana Lee (Designer: another job) and Olga Past (Archivist: rejected and
written to long ago, a past candidate).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from fairwell.config import Settings
from fairwell.delivery.sink import MailSink
from fairwell.domain.model import LetterKind
from fairwell.errors import EditRefused, InvalidInput
from fairwell.ports import WordingCheck
from fairwell.rendering import LetterTemplates, template_name
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.runtime import wording_check as wording_check_of
from fairwell.services import feedback as feedback_service
from fairwell.services import portal_actions
from fairwell.services.consent_renewal import renewals
from fairwell.services.deadlines import notice_rules
from fairwell.services.decisions import Selection, reject
from fairwell.services.erasure import erase_person
from fairwell.services.importing import import_file
from fairwell.services.planning import Plan, make_plan, queue_plan
from fairwell.services.portal import PortalLinks
from fairwell.services.rediscovery import invite
from fairwell.services.requests import answer as answer_request
from fairwell.services.status_letters import plan_status_letters, queue_status_letters
from fairwell.storage.tables import applications, consents, persons
from fairwell.worker.embedded import run_batch
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv, write_wording
from tests.test_feedback_flow import card

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
INTERVIEW = NOW - timedelta(days=35)
KEY = "everyone-on-file-" + "k" * 32
PORTAL_URL = "http://testserver/p"
JOB, OTHER_JOB, PAST_JOB = "Data Analyst", "Designer", "Archivist"
PAT, RAE, WAI = "pat@example.com", "rae@example.com", "wai@example.com"
DANA, OLGA = "dana.lee@example.com", "olga.past@example.com"
LEAK = "no-other-candidate"


def _interviewed(email: str, first: str, last: str, **fields: str) -> dict[str, str]:
    when = INTERVIEW.isoformat()
    return applicant(email, first, last, stage="onsite", last_interview_at=when, **fields)


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY, portal_url=PORTAL_URL)
    init_database(settings)
    opened = open_runtime(settings)
    opened.clock = FixedClock(NOW)
    rows = [
        _interviewed(PAT, "Pat", "Doe"),
        applicant(RAE, "Rae", "Ferred", source="referred", referred_by="Kim", applied_at=""),
        # In Ontario, where the 45-day notice applies (the shipped rules, by region).
        _interviewed(WAI, "Wai", "Ting", country="CA", region="CA-ON", timezone="America/Toronto"),
        applicant(PAT, "Pat", "Doe", job=OTHER_JOB),
        applicant(DANA, "Dana", "Lee", job=OTHER_JOB),
        applicant(OLGA, "Olga", "Past", job=PAST_JOB),
    ]
    import_file(opened.store, write_csv(tmp_path / "on-file.csv", rows), actor="t", now=NOW)
    for job, emails in ((JOB, (PAT, RAE)), (PAST_JOB, (OLGA,))):
        selected = Selection(emails=emails)
        reject(opened.store, job, selected, "position-filled", note=None, actor="t", now=NOW)
    past = queue_plan(opened.store, opened.composer, PAST_JOB, actor="t", now=NOW, send_now=True)
    assert run_batch(make_deliverer(opened), past.batch_id).sent == 1
    try:
        yield opened
    finally:
        opened.close()


# --- helpers ---------------------------------------------------------------------------------


def ref_of(runtime: Runtime, email: str, job: str) -> str:
    views = runtime.store.applicants(runtime.store.job_by_title(job).id)
    return next(v.application.ref for v in views if v.person.email == email)


def person_of(runtime: Runtime, email: str) -> int:
    person_id = runtime.privacy.person_id(email)
    assert person_id is not None
    return person_id


def identifier(runtime: Runtime, kind: str) -> str:
    """Dana's (another job's candidate) identifier of this kind, as a letter might carry it."""
    return {
        "full name": "Dana Lee",
        "address": DANA,
        "reference": ref_of(runtime, DANA, OTHER_JOB),
    }[kind]


def blocked(plan: Plan) -> dict[str, set[str]]:
    return {b.email: {f.rule for f in b.findings} for b in plan.blocked}


def plan(runtime: Runtime) -> Plan:
    return make_plan(runtime.store, runtime.composer, JOB, runtime.clock.now(), send_now=True)


def word_lists(settings: Settings) -> WordingCheck:
    """The wording check's word lists alone: these tests are about the guard, and the meaning
    classifier (rightly) flags a note that compares the candidate with someone by name."""
    return wording_check_of(settings, meaning=False)


def note_for_pat(runtime: Runtime, note: str) -> None:
    """A note for Pat on the scorecard, drafted into feedback and approved."""
    now = runtime.clock.now()
    write_wording(runtime.feedback_store, JOB, now)  # the job's own words for SQL
    runtime.feedback_store.save_scorecards([card(PAT, "SQL", 1, for_candidate=note)], "t", now)
    check = word_lists(runtime.settings)
    args = (runtime.store, runtime.feedback_store)
    job_id = runtime.store.job_by_title(JOB).id
    feedback_service.draft_job_feedback(*args, check, job_id, actor="t", now=now)
    assert feedback_service.approve(*args, check, job_id, actor="hm", now=now).approved == 1


def leaky_template(runtime: Runtime, kind: LetterKind, words: str) -> None:
    """The English template of ``kind`` with ``words`` in its body, saved past the editor's
    checks (as a template folder or a hand-edited database would hold it)."""
    name = template_name(kind.value, "en")
    source = LetterTemplates().default_source(name)
    assert "{% block body %}" in source
    leaky = source.replace("{% block body %}", "{% block body %}" + words + "\n", 1)
    runtime.letter_settings.save_template(name, leaky, "t", runtime.clock.now())
    runtime.overrides.invalidate()


def on_file_until(runtime: Runtime, email: str, until: datetime) -> int:
    """A talent-pool consent, as the portal records it; returns the person's id."""
    with runtime.engine.begin() as conn:
        person_id, application_id = conn.execute(
            select(persons.c.id, applications.c.id)
            .join(applications, applications.c.person_id == persons.c.id)
            .where(persons.c.email == email)
        ).one()
        conn.execute(
            insert(consents).values(
                person_id=person_id,
                application_id=application_id,
                purpose="talent-pool",
                given_at=NOW - timedelta(days=10),
                until=until,
            )
        )
    return int(person_id)


# --- what the hiring team writes -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["full name", "address", "reference"])
def test_a_note_for_the_candidate_naming_a_candidate_of_another_job_is_held(
    runtime: Runtime, kind: str
) -> None:
    note_for_pat(runtime, f"Compare your SQL with {identifier(runtime, kind)} next time.")

    assert blocked(plan(runtime)) == {PAT: {LEAK}}


def test_an_edited_draft_naming_a_candidate_of_another_job_is_held(runtime: Runtime) -> None:
    note_for_pat(runtime, "Practise joins.")
    assert blocked(plan(runtime)) == {}
    check = word_lists(runtime.settings)
    args = (runtime.store, runtime.feedback_store, check, runtime.store.job_by_title(JOB).id, PAT)
    feedback_service.edit(*args, "Dana Lee wrote better joins.", actor="hm", now=NOW)
    feedback_service.approve(
        runtime.store,
        runtime.feedback_store,
        check,
        runtime.store.job_by_title(JOB).id,
        actor="hm",
        now=NOW,
    )

    assert blocked(plan(runtime)) == {PAT: {LEAK}}


@pytest.mark.parametrize("kind", ["full name", "address", "reference"])
def test_a_feedback_answer_naming_a_candidate_of_another_job_is_refused(
    runtime: Runtime, kind: str
) -> None:
    views = runtime.store.applicants(runtime.store.job_by_title(JOB).id)
    view = next(v for v in views if v.person.email == PAT)
    assert view.decision is not None
    request_id = runtime.request_store.add(view.decision.id, "Why?", NOW, NOW, "candidate")
    leak = f"Thank you for asking. Another candidate, {identifier(runtime, kind)}, was faster."
    check = word_lists(runtime.settings)
    args = (runtime.store, runtime.request_store, runtime.composer, check, request_id)

    with pytest.raises(InvalidInput, match=rf"privacy guard blocks this answer: {LEAK}"):
        answer_request(*args, leak, actor="hm", now=NOW)
    assert answer_request(*args, "Thank you for asking. It was close.", actor="hm", now=NOW)


# --- every kind of letter --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "who"), [(LetterKind.REJECTION, PAT), (LetterKind.REFERRAL_CLOSED, RAE)]
)
def test_a_decision_letter_naming_a_past_candidate_of_another_job_is_held(
    runtime: Runtime, kind: LetterKind, who: str
) -> None:
    assert blocked(plan(runtime)) == {}
    leaky_template(runtime, kind, "We also wrote to Olga Past.")

    assert blocked(plan(runtime)) == {who: {LEAK}}


def test_a_status_letter_naming_a_candidate_of_another_job_is_held(runtime: Runtime) -> None:
    leaky_template(runtime, LetterKind.STATUS, "Dana Lee is waiting too.")
    notices = runtime.notices
    rules = notice_rules(runtime.settings)
    status = plan_status_letters(runtime.store, notices, notices, rules, NOW)
    assert [c.item.record.email for c in status.ready] == [WAI]

    done = queue_status_letters(
        runtime.store, runtime.composer, status, expected=1, actor="t", now=NOW
    )

    assert (done.queued, [rule for _, rule in done.blocked]) == (0, [LEAK])


def test_a_role_opened_letter_naming_a_candidate_of_another_job_is_refused(
    runtime: Runtime,
) -> None:
    olga = on_file_until(runtime, OLGA, NOW + timedelta(days=150))
    leaky_template(runtime, LetterKind.ROLE_OPENED, "Dana Lee applied already.")
    pool, job = runtime.rediscovery, runtime.store.job_by_title(JOB)

    done = invite(runtime.store, pool, runtime.composer, job, [olga], actor="t", now=NOW)

    assert (done.queued, done.refused) == (0, [(olga, f"blocked by the privacy guard ({LEAK})")])


def test_a_consent_renewal_naming_a_candidate_of_another_job_is_refused(
    runtime: Runtime,
) -> None:
    on_file_until(runtime, OLGA, NOW + timedelta(days=5))
    leaky_template(runtime, LetterKind.CONSENT_RENEWAL, "Dana Lee renewed hers.")

    report = renewals(runtime, NOW)

    assert report.queued == 0
    assert [why for _, why in report.refused] == [f"blocked by the privacy guard ({LEAK})"]


def test_a_fresh_portal_link_naming_a_candidate_of_another_job_is_not_sent(
    runtime: Runtime,
) -> None:
    batch = queue_plan(runtime.store, runtime.composer, JOB, actor="t", now=NOW, send_now=True)
    assert run_batch(make_deliverer(runtime), batch.batch_id).sent == 2
    wiring = portal_actions.FreshLinks(
        runtime.store,
        runtime.portal,
        runtime.privacy,
        runtime.templates,
        runtime.composer,
        PortalLinks(PORTAL_URL, KEY),
    )
    leaky_template(runtime, LetterKind.PORTAL_LINK, "Dana Lee asked for one too.")
    assert portal_actions.send_fresh_links(wiring, RAE, NOW) == 0

    runtime.letter_settings.reset_template(template_name("portal_link", "en"), "t", NOW)
    runtime.overrides.invalidate()
    assert portal_actions.send_fresh_links(wiring, RAE, NOW) == 1


# --- templates -------------------------------------------------------------------------------


def test_a_template_naming_a_past_candidate_of_a_closed_job_cannot_be_saved(
    runtime: Runtime,
) -> None:
    editor = runtime.letter_editor
    key = "en-rejection"
    source = editor.default_source(key)
    leaky = source.replace("{% block body %}", "{% block body %}As Olga Past found, \n", 1)
    assert leaky != source

    report = editor.check_template(key, leaky)
    assert {p.check for p in report.problems} == {"privacy"}
    assert LEAK in report.problems[0].message
    with pytest.raises(EditRefused):
        editor.save_template(key, leaky, "admin", NOW)
    assert editor.check_template(key, source).ok, "the template as shipped names nobody on file"
    wording = "the role went to Olga Past, who applied earlier"
    assert {p.check for p in editor.check_wording("position-filled", "en", wording)} == {"privacy"}


# --- who never counts ------------------------------------------------------------------------


def test_an_erased_person_no_longer_counts_nor_does_their_tombstone(runtime: Runtime) -> None:
    dana = person_of(runtime, DANA)
    erase_person(runtime.privacy, dana, "t", NOW)

    note_for_pat(runtime, f"Compare with Dana Lee and erased-{dana}@erased.invalid.")

    assert blocked(plan(runtime)) == {}


def test_the_addressees_own_identifiers_never_count_in_any_of_their_jobs(
    runtime: Runtime,
) -> None:
    own = (ref_of(runtime, PAT, JOB), ref_of(runtime, PAT, OTHER_JOB))
    note_for_pat(runtime, f"Pat Doe ({PAT}): see {own[0]}, and {own[1]} for Designer.")

    assert blocked(plan(runtime)) == {}


def test_people_imported_for_another_job_are_seen_by_the_next_plan_without_a_rebuild(
    runtime: Runtime, tmp_path: Path
) -> None:
    assert blocked(plan(runtime)) == {}
    builds = runtime.rosters.builds
    newcomer = applicant("noor@example.com", "Noor", "Haddad", job=OTHER_JOB)
    import_file(runtime.store, write_csv(tmp_path / "b.csv", [newcomer]), actor="t", now=NOW)
    note_for_pat(runtime, "Noor Haddad has a similar background.")

    assert blocked(plan(runtime)) == {PAT: {LEAK}}
    assert (runtime.rosters.builds, runtime.rosters.updates) == (builds, 1)
