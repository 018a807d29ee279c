"""Rediscovery: the people on file ranked for a new job, explained; letters only to the picked
with valid consent, delivered to the real sink; never anyone without consent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.config import SemanticMode
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.matching import Evidence, PoolMember, Requirement, rank
from fairwell.domain.mimeread import read_letter
from fairwell.domain.users import Role
from fairwell.ports import SimilarityModel
from fairwell.runtime import Runtime, init_database, make_deliverer, open_runtime
from fairwell.services import erasure
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.rediscovery import invite, rediscover
from fairwell.services.scorecard_file import scorecard_from_options
from fairwell.services.semantic import Semantic, choose
from fairwell.services.users import add_user
from fairwell.storage.tables import applications, consents, outbox, persons
from fairwell.web.app import create_app
from fairwell.worker.embedded import run_batch
from tests.browser import PASSWORD, page, serious_violations, serve, shot  # noqa: F401
from tests.browser import sign_in as browser_sign_in
from tests.conftest import FixedClock, settings_for
from tests.helpers import add_cli_user, applicant, write_csv
from tests.test_web import KEY, csrf_of, sign_in

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OLD, NEW = "Data Analyst", "Senior Data Analyst"
# Rated well on SQL, but each is out of the pool for one reason: they must never be listed.
OUT_OF_POOL = ("nocon@example.com", "withdrawn@example.com", "expired@example.com")


# --- the ranking itself (pure) ------------------------------------------------------------


def test_someone_strong_on_the_jobs_competencies_ranks_above_someone_weak() -> None:
    needs = [Requirement("SQL", 3), Requirement("Communication", 2)]
    strong = PoolMember(
        1, (OLD,), (Evidence("sql", OLD, 4.0, 2), Evidence("Communication", OLD, 3, 1))
    )
    weak = PoolMember(
        2, (OLD,), (Evidence("SQL", OLD, 1.0, 1), Evidence("Communication", OLD, 2, 1))
    )

    first, second = rank([weak, strong], NEW, needs)

    assert (first.person_id, second.person_id) == (1, 2)
    assert first.met == ("SQL", "Communication") and second.met == ("Communication",)
    assert first.explanation()[0] == f"SQL (bar 3): met the bar, 4.0 from 2 ratings ({OLD})"
    assert second.explanation()[0] == f"SQL (bar 3): below the bar, 1.0 from 1 rating ({OLD})"
    assert "past job titles share: analyst, data" in first.explanation()


def test_equal_scores_are_listed_by_time_on_file_and_say_so() -> None:
    needs = [Requirement("SQL", 3)]
    later, earlier = PoolMember(9, (OLD,), ()), PoolMember(4, (OLD,), ())

    first, second = rank([later, earlier], NEW, needs)

    assert (first.person_id, second.person_id) == (4, 9)
    assert first.tied_with == (9,) and second.tied_with == (4,)
    assert "SQL (bar 3): no past rating" in first.explanation()
    assert any("not a judgement" in line for line in second.explanation())


# --- over the database ---------------------------------------------------------------------


@pytest.fixture
def runtime(database_url: str, sink: MailSink, tmp_path: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    opened = open_runtime(settings)
    opened.clock = FixedClock(NOW)
    try:
        _on_file(opened, tmp_path)
        yield opened
    finally:
        opened.close()


def _on_file(runtime: Runtime, tmp_path: Path) -> None:
    rows = [
        applicant("strong@example.com", "Sam", "Strong", job=OLD),
        applicant("weak@example.com", "Wes", "Weak", job=OLD),
        applicant("anna@example.com", "Anna", "Berg", job=OLD, locale="de", country="DE"),
        *(applicant(email, "Out", f"Side{n}", job=OLD) for n, email in enumerate(OUT_OF_POOL)),
        applicant("erased@example.com", "Era", "Sed", job=OLD),
        applicant("applying@example.com", "App", "Lying", job=OLD),
        applicant("applying@example.com", "App", "Lying", job=NEW),
    ]
    store, feedback = runtime.store, runtime.feedback_store
    import_file(store, write_csv(tmp_path / "on-file.csv", rows), actor="t", now=NOW)
    for job, needs in (
        (OLD, {"SQL": 3, "Communication": 3}),
        (NEW, {"SQL": 3, "Communication": 2}),
    ):
        for name, bar in needs.items():
            feedback.add_competency(store.job_by_title(job).id, name, bar, "t", NOW)
    ratings = {"strong": (4, 3), "weak": (1, 2), "nocon": (4, 4), "withdrawn": (4, 4)}
    ratings |= {"expired": (4, 4), "erased": (4, 4), "applying": (4, 4)}
    for who, (sql, talk) in ratings.items():
        for competency, rating in (("SQL", sql), ("Communication", talk)):
            _rate(runtime, f"{who}@example.com", competency, rating)
    reject(
        store,
        OLD,
        Selection(all_except_hired=True),
        "position-filled",
        note=None,
        actor="t",
        now=NOW,
    )
    _consent(runtime)
    erasure.erase_person(runtime.privacy, _person(runtime, "erased@example.com"), "t", NOW)


def _rate(runtime: Runtime, email: str, competency: str, rating: int) -> None:
    row = scorecard_from_options(
        {
            "email": email,
            "job": OLD,
            "interviewer": "Kim",
            "competency": competency,
            "rating": str(rating),
            "internal_note": "never read",
            "note_for_candidate": "",
        }
    )
    runtime.feedback_store.save_scorecards([row], "t", NOW)


def _consent(runtime: Runtime) -> None:
    """Consents as the portal records them: valid, withdrawn, expired; nocon has none."""
    later, earlier = NOW + timedelta(days=150), NOW - timedelta(days=1)
    given = {
        "strong@example.com": (later, None),
        "weak@example.com": (later, None),
        "anna@example.com": (later, None),
        "withdrawn@example.com": (later, NOW - timedelta(days=2)),
        "expired@example.com": (earlier, None),
        "erased@example.com": (later, None),
        "applying@example.com": (later, None),
    }
    with runtime.engine.begin() as conn:
        for email, (until, withdrawn_at) in given.items():
            person_id, application_id = conn.execute(
                select(persons.c.id, applications.c.id)
                .join(applications, applications.c.person_id == persons.c.id)
                .where(persons.c.email == email)
                .order_by(applications.c.id)
            ).first()  # type: ignore[misc]
            conn.execute(
                insert(consents).values(
                    person_id=person_id,
                    application_id=application_id,
                    purpose="talent-pool",
                    given_at=NOW - timedelta(days=10),
                    until=until,
                    withdrawn_at=withdrawn_at,
                )
            )


def _person(runtime: Runtime, email: str) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(persons.c.id).where(persons.c.email == email)).scalar_one())


def _report(runtime: Runtime) -> dict[str, Any]:
    pool = runtime.rediscovery
    return rediscover(pool, runtime.store.job_by_title(NEW), NOW).as_json()


def test_only_people_with_valid_consent_are_ranked_strong_above_weak(runtime: Runtime) -> None:
    report = _report(runtime)
    listed = [m["email"] for m in report["matches"]]

    assert listed == ["strong@example.com", "weak@example.com", "anna@example.com"]
    strong, weak, anna = report["matches"]
    assert strong["met"] == ["SQL", "Communication"] and weak["met"] == ["Communication"]
    assert anna["explanation"][0] == "SQL (bar 3): no past rating"
    assert "never read" not in json.dumps(report), "internal notes never reach a ranking"


def test_a_role_opened_letter_goes_only_to_the_picked_with_consent(
    runtime: Runtime, tmp_path: Path
) -> None:
    pool, job = runtime.rediscovery, runtime.store.job_by_title(NEW)
    picked = [_person(runtime, e) for e in ("strong@example.com", "anna@example.com")]
    withdrawn = _person(runtime, "withdrawn@example.com")

    done = invite(
        runtime.store, pool, runtime.composer, job, [*picked, withdrawn], actor="t", now=NOW
    )

    assert done.queued == 2 and done.refused == [(withdrawn, "not on file with valid consent")]
    assert done.batch_id is not None
    assert run_batch(make_deliverer(runtime), done.batch_id).sent == 2
    received = {m.rcpt_tos[0]: read_letter(m.data) for m in read_sink(tmp_path / "mail")}
    assert set(received) == {"strong@example.com", "anna@example.com"}
    english = dict(received["strong@example.com"].parts)["text/plain"]
    assert "A new role has opened that may fit you: Senior Data Analyst" in english
    assert "until 19 April 2027" in english
    assert "bis zum 19. April 2027" in dict(received["anna@example.com"].parts)["text/plain"]
    with runtime.engine.connect() as conn:
        keys = set(
            conn.execute(
                select(outbox.c.letter_key).where(outbox.c.kind == "role_opened")
            ).scalars()
        )
    assert keys == {f"rediscovery:{job.id}:{p}" for p in picked}
    again = invite(runtime.store, pool, runtime.composer, job, picked[:1], actor="t", now=NOW)
    assert again.queued == 0 and again.refused == [(picked[0], "already written to about this job")]


def test_a_role_opened_letter_is_held_when_consent_is_withdrawn_before_it_goes(
    runtime: Runtime, tmp_path: Path
) -> None:
    pool, job = runtime.rediscovery, runtime.store.job_by_title(NEW)
    weak = _person(runtime, "weak@example.com")
    done = invite(runtime.store, pool, runtime.composer, job, [weak], actor="t", now=NOW)
    with runtime.engine.begin() as conn:
        conn.execute(update(consents).where(consents.c.person_id == weak).values(withdrawn_at=NOW))

    assert done.batch_id is not None
    stats = run_batch(make_deliverer(runtime), done.batch_id)

    assert (stats.sent, stats.held) == (0, 1)
    assert read_sink(tmp_path / "mail") == []


def test_the_cli_prints_the_ranking_as_one_json_object_and_invites(
    runtime: Runtime, tmp_path: Path
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": str(runtime.settings.database_url),
        "FAIRWELL_REDISCOVERY_SEMANTIC": "off",
    }
    runner = CliRunner()
    add_cli_user(env, tmp_path, "rita", "recruiter")

    listed = runner.invoke(app, ["rediscover", "--job", NEW, "--json"], env=env)

    assert listed.exit_code == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["job"] == NEW and report["semantic"].startswith("not used: turned off")
    assert report["semantic_used"] is False
    assert [m["rank"] for m in report["matches"]] == [1, 2, 3]
    refused = runner.invoke(
        app,
        ["rediscover", "--job", NEW, "--invite", OUT_OF_POOL[0], "--yes", "--as", "rita"],
        env=env,
    )
    assert refused.exit_code == 1 and "not on file with valid consent" in refused.stderr


def test_an_import_that_opens_a_job_points_to_the_people_on_file_without_naming_them(
    runtime: Runtime, tmp_path: Path
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": str(runtime.settings.database_url),
        "FAIRWELL_REDISCOVERY_SEMANTIC": "off",
    }
    runner = CliRunner()
    opened = "Lead Data Analyst"
    rows = [applicant("new@example.com", "Nia", "New", job=opened)]
    imported = runner.invoke(app, ["import", str(write_csv(tmp_path / "n.csv", rows))], env=env)
    assert imported.exit_code == 0, imported.output
    said = " ".join(imported.stdout.split())
    ranked = json.loads(
        runner.invoke(app, ["rediscover", "--job", opened, "--json"], env=env).stdout
    )
    waiting = len(ranked["matches"])
    assert waiting >= 3
    assert f"new job 'Lead Data Analyst': {waiting} person(s) on file agreed" in said
    assert f"`fairwell rediscover --job '{opened}'`" in said
    assert "@example.com" not in said and "Strong" not in said, "a count, never a name"
    again = runner.invoke(app, ["import", str(tmp_path / "n.csv")], env=env)
    assert "on file agreed" not in again.stdout, "only when the job opens"


# --- with semantic similarity (the real model; tests/conftest.py `minilm`) ---------------


class Recording:
    """The real model, noting every text it is given."""

    def __init__(self, model: SimilarityModel) -> None:
        self.model = model
        self.name = model.name
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self.model.encode(texts)


def _stages(runtime: Runtime) -> list[tuple[int, str]]:
    with runtime.engine.connect() as conn:
        query = select(applications.c.id, applications.c.stage).order_by(applications.c.id)
        return [(row.id, row.stage) for row in conn.execute(query)]


def test_off_ranks_the_pool_exactly_as_before_semantic_existed(runtime: Runtime) -> None:
    pool, job = runtime.rediscovery, runtime.store.job_by_title(NEW)

    off = rediscover(pool, job, NOW, choose(SemanticMode.OFF)).as_json()

    assert [(m["email"], m["score"], m["semantic"]) for m in off["matches"]] == [
        ("strong@example.com", 2.8333, None),
        ("weak@example.com", 0.8333, None),
        ("anna@example.com", 0.3333, None),
    ]
    before = _report(runtime)
    assert [m | {"semantic": None} for m in off["matches"]] == before["matches"]


def test_with_semantic_each_match_says_how_similar_and_nobody_is_dropped_or_moved(
    runtime: Runtime, minilm: SimilarityModel
) -> None:
    pool, job = runtime.rediscovery, runtime.store.job_by_title(NEW)
    stages = _stages(runtime)
    model = Recording(minilm)

    report = rediscover(pool, job, NOW, Semantic(model, "used")).as_json()

    assert report["semantic_used"] is True
    listed = [m["email"] for m in report["matches"]]
    assert listed == ["strong@example.com", "weak@example.com", "anna@example.com"]
    for found in report["matches"]:
        assert 0 < found["semantic"] <= 1
        line = f"similar in meaning to the role's requirements: {found['semantic']:.2f} of 1"
        assert line in found["explanation"]
    assert _stages(runtime) == stages, "a ranking never changes a stage"
    sent = " | ".join(model.texts)
    assert "Senior Data Analyst. SQL; Communication" in model.texts
    for secret in ("@example.com", "Sam", "Strong", "Wes", "Anna", "Berg", "never read"):
        assert secret not in sent, "the model reads titles and competency names only"


def test_the_cli_says_semantic_similarity_was_used(
    runtime: Runtime, minilm: SimilarityModel
) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": str(runtime.settings.database_url),
        "FAIRWELL_REDISCOVERY_SEMANTIC": "on",
    }

    listed = CliRunner().invoke(app, ["rediscover", "--job", NEW, "--json"], env=env)
    shown = CliRunner().invoke(app, ["rediscover", "--job", NEW], env=env)

    assert listed.exit_code == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["semantic_used"] is True
    assert report["semantic"].startswith("used: all-MiniLM-L6-v2, a local model")
    assert all(isinstance(m["semantic"], float) for m in report["matches"])
    assert shown.exit_code == 0 and "semantic similarity: used: all-MiniLM-L6-v2" in shown.stdout


def test_the_page_says_whether_semantic_similarity_was_used(
    runtime: Runtime, minilm: SimilarityModel
) -> None:
    _recruiter(runtime)
    job = runtime.store.job_by_title(NEW)
    pages: dict[SemanticMode, str] = {}
    for mode in (SemanticMode.ON, SemanticMode.OFF):
        runtime.settings = runtime.settings.model_copy(update={"rediscovery_semantic": mode})
        client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
        sign_in(client, "rita")
        pages[mode] = client.get(f"/jobs/{job.id}/rediscover").text

    assert "Semantic similarity: used: all-MiniLM-L6-v2" in pages[SemanticMode.ON]
    assert "similar in meaning to the role" in pages[SemanticMode.ON]
    assert "Semantic similarity: not used: turned off" in pages[SemanticMode.OFF]
    assert "similar in meaning to the role" not in pages[SemanticMode.OFF]


def _recruiter(runtime: Runtime) -> None:
    users = runtime.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=NOW)


def test_a_recruiter_picks_people_on_the_page_with_its_csrf_token(runtime: Runtime) -> None:
    _recruiter(runtime)
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    sign_in(client, "rita")
    job = runtime.store.job_by_title(NEW)
    assert f'href="/jobs/{job.id}/rediscover"' in client.get(f"/jobs/{job.id}").text
    listing = client.get(f"/jobs/{job.id}/rediscover")
    assert listing.status_code == 200 and "strong@example.com" in listing.text
    assert "withdrawn@example.com" not in listing.text and "nocon@example.com" not in listing.text
    strong = str(_person(runtime, "strong@example.com"))

    forged = client.post(f"/jobs/{job.id}/rediscover", data={"person": strong, "csrf": "x"})
    assert forged.status_code == 403
    done = client.post(
        f"/jobs/{job.id}/rediscover", data={"person": strong, "csrf": csrf_of(listing.text)}
    )
    assert done.status_code == 200 and "Queued 1 letter." in done.text
    assert "written to" in done.text


def test_the_rediscovery_page_in_chromium_passes_axe(
    runtime: Runtime,
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    _recruiter(runtime)
    job = runtime.store.job_by_title(NEW)
    with serve(runtime) as site:
        browser_sign_in(page, site)
        page.goto(f"{site}/jobs/{job.id}/rediscover")
        assert serious_violations(page) == []
        shot(page, "rediscover")
        page.get_by_label("Write to Sam Strong").check()
        page.get_by_role("button", name="Write to the people ticked").click()
        page.get_by_text("Queued 1 letter.").wait_for()
        assert serious_violations(page) == []
        deadline = time.monotonic() + 15
        while not read_sink(tmp_path / "mail") and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [m.rcpt_tos for m in read_sink(tmp_path / "mail")] == [["strong@example.com"]]
