"""A job's wording is the source of truth: written one at a time, from a rubric file or in the
browser, checked like any import, and the library only ever suggests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink
from fairwell.domain.feedback import CompetencyKind, Wording
from fairwell.domain.users import Role
from fairwell.errors import ImportFileError, InvalidInput
from fairwell.ports import RubricRow
from fairwell.runtime import init_database, open_runtime
from fairwell.services.importing import import_file
from fairwell.services.users import add_user
from fairwell.services.wording import parse_rubric_file
from fairwell.storage.feedback_store import SqlFeedbackStore
from fairwell.storage.store import SqlStore
from fairwell.web.app import create_app
from tests.conftest import settings_for
from tests.helpers import USER_PASSWORD, add_cli_user, applicant, write_csv
from tests.test_web import KEY, PASSWORD, csrf_of, sign_in

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JOB = "Data Engineer"
SPARK_EN = "Your Spark job shuffled all the data twice."
SPARK_DE = "Ihr Spark-Job verteilte die Daten zweimal neu."


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def said(text: str) -> str:
    """Output as one line: the console wraps long lines at the terminal's width."""
    return " ".join(text.split())


@pytest.fixture
def env(tmp_path: Path, sink: MailSink) -> dict[str, str]:
    found = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_WORDING_CLASSIFIER": "off",
    }
    rows = [
        applicant("ann@example.com", "Ann", "Alder", job=JOB, stage="onsite"),
        applicant("greta@example.com", "Greta", "Gruber", job=JOB, stage="onsite", locale="de"),
    ]
    assert run(found, "init")[0] == 0
    assert run(found, "import", str(write_csv(tmp_path / "a.csv", rows)))[0] == 0
    add_cli_user(found, tmp_path, "rita", "recruiter")
    return {**found, "FAIRWELL_USER": "rita"}  # decisions and approvals are made by a named user


# --- the store, on SQLite and PostgreSQL --------------------------------------------------------


def test_a_rubric_is_saved_whole_and_empty_parts_keep_what_was_written(
    any_store: SqlStore, tmp_path: Path
) -> None:
    people = write_csv(tmp_path / "a.csv", [applicant("ann@example.com", "Ann", "A", job=JOB)])
    import_file(any_store, people, actor="t", now=NOW)
    store = SqlFeedbackStore(any_store.engine)
    job = any_store.job_by_title(JOB)
    store.save_rubric(
        [
            RubricRow(2, JOB, "Spark", 3, None, "en", Wording(SPARK_EN, "Partition first.", "")),
            RubricRow(3, JOB, "Experience", 3, CompetencyKind.REQUIREMENT),
        ],
        "hm",
        NOW,
    )
    store.save_rubric(
        [RubricRow(2, JOB, "Spark", 2, None, "en", Wording("", "", "Your Spark was fast."))],
        "hm",
        NOW,
    )
    assert store.wordings(job.id) == {
        "en": {"Spark": Wording(SPARK_EN, "Partition first.", "Your Spark was fast.")}
    }
    kinds = {c.name: (c.bar, c.kind) for c in store.competencies(job.id)}
    assert kinds == {
        "Spark": (2, CompetencyKind.COMPETENCY),
        "Experience": (3, CompetencyKind.REQUIREMENT),
    }
    with pytest.raises(InvalidInput, match="row 7: no job titled 'Nope'"):
        store.save_rubric(
            [RubricRow(6, JOB, "Airflow", 3), RubricRow(7, "Nope", "Airflow", 3)], "hm", NOW
        )
    assert "Airflow" not in {c.name for c in store.competencies(job.id)}, "all or nothing"


# --- the command line ---------------------------------------------------------------------------


def test_competency_add_writes_wording_per_language_and_list_shows_what_is_missing(
    env: dict[str, str],
) -> None:
    base = ["competency", "add", "--job", JOB, "--name", "Spark", "--bar", "3"]
    assert run(env, *base)[0] == 0
    code, _, _ = run(env, *base, "--lang", "en", "--gap", SPARK_EN, "--next-step", "Partition.")
    assert code == 0
    listed = json.loads(run(env, "competency", "list", "--job", JOB, "--json")[1])
    assert listed == [
        {
            "name": "Spark",
            "bar": 3,
            "kind": "competency",
            "wording": {"en": {"gap": SPARK_EN, "next_step": "Partition.", "strength": ""}},
            "needs_wording_in": ["de"],
            "suggested": [],
        }
    ]
    assert run(env, *base, "--lang", "de", "--gap", SPARK_DE)[0] == 0
    listed = json.loads(run(env, "competency", "list", "--job", JOB, "--json")[1])
    assert listed[0]["needs_wording_in"] == []


def test_wording_in_the_wrong_language_or_without_a_language_is_refused(
    env: dict[str, str],
) -> None:
    base = ["competency", "add", "--job", JOB, "--name", "Spark", "--bar", "3"]
    code, _, err = run(env, *base, "--lang", "de", "--gap", SPARK_EN)
    assert code == 1 and "--gap: reads as English, not German" in said(err)
    code, _, err = run(env, *base, "--gap", SPARK_EN)
    assert code == 2 and "need --lang" in err
    code, _, err = run(env, *base, "--lang", "fr", "--gap", "Votre Spark")
    assert code == 1 and "--lang: must be one of en, de" in said(err)


def test_adding_a_library_competency_shows_the_suggestion_but_writes_no_wording(
    env: dict[str, str],
) -> None:
    code, out, _ = run(env, "competency", "add", "--job", JOB, "--name", "SQL", "--bar", "3")
    assert code == 0 and "suggested en wording from the library" in said(out)
    listed = json.loads(run(env, "competency", "list", "--job", JOB, "--json")[1])
    assert listed[0]["wording"] == {} and listed[0]["suggested"] == ["de", "en"]


RUBRIC_TOML = f'''
[[competency]]
job = "{JOB}"
name = "Spark"
bar = 3
[competency.en]
gap = "{SPARK_EN}"
next_step = "Partition by the join key first."
strength = "Your Spark jobs were efficient."
[competency.de]
gap = "{SPARK_DE}"

[[competency]]
job = "{JOB}"
name = "Data engineering experience"
bar = 3
kind = "requirement"
'''


def test_a_toml_rubric_imports_competencies_and_wording_for_many_at_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(RUBRIC_TOML, encoding="utf-8")
    code, out, err = run(env, "competency", "import", str(path))
    assert code == 0, err
    assert "imported 3 competency row(s), 2 with wording" in said(out)
    listed = {
        c["name"]: c for c in json.loads(run(env, "competency", "list", "--job", JOB, "--json")[1])
    }
    assert listed["Spark"]["wording"]["de"]["gap"] == SPARK_DE
    assert listed["Data engineering experience"]["kind"] == "requirement"


def test_a_csv_rubric_with_problems_imports_nothing_and_names_file_row_and_field(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "rubric.csv"
    path.write_text(
        "job,competency,bar,kind,lang,gap,next_step,strength\n"
        f"{JOB},Spark,3,,en,{SPARK_EN},,\n"
        f"{JOB},Airflow,5,,en,Your DAG was not idempotent.,,\n"
        f"{JOB},Data modelling,3,,de,Your model mixed facts and dimensions.,,\n"
        f"{JOB},Kafka,3,skill,,,,\n",
        encoding="utf-8",
    )
    code, _, err = run(env, "competency", "import", str(path))
    assert code == 1 and "nothing was imported" in said(err)
    assert "rubric.csv, row 3, field 'bar': must be a whole number from 1 to 4" in err
    assert "rubric.csv, row 4, field 'gap': reads as English, not German" in err
    assert "rubric.csv, row 5, field 'kind': must be competency or requirement" in err
    assert json.loads(run(env, "competency", "list", "--job", JOB, "--json")[1]) == []


def test_the_same_language_twice_in_one_file_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "rubric.csv"
    path.write_text(
        "job,competency,bar,lang,gap\n"
        f"{JOB},Spark,3,en,{SPARK_EN}\n"
        f"{JOB},spark,3,en,Your Spark jobs were slow on the large data set.\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as caught:
        parse_rubric_file(path)
    assert "row 3, field 'lang'" in str(caught.value)


def test_writing_the_missing_wording_drafts_again_what_waited_for_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    base = ["competency", "add", "--job", JOB, "--name", "Spark", "--bar", "3"]
    assert run(env, *base)[0] == 0
    cards = tmp_path / "cards.csv"
    cards.write_text(
        f"email,job,interviewer,competency,rating\nann@example.com,{JOB},Kim,Spark,1\n",
        encoding="utf-8",
    )
    assert run(env, "import-scorecards", str(cards))[0] == 0
    code, out, _ = run(
        env, "reject", "--job", JOB, "--email", "ann@example.com", "--reason", "skills-mismatch"
    )
    assert code == 0 and "1 held for missing wording" in said(out)
    code, out, _ = run(env, "plan", "--job", JOB)
    assert "needs wording for Spark" in said(out) and "held for missing wording: 1" in said(out)
    code, _, err = run(env, "feedback", "approve", "--job", JOB)
    assert code == 1 and "needs wording for Spark" in said(err)
    review = json.loads(run(env, "feedback", "review", "--job", JOB, "--json")[1])
    assert review[0]["holds"] == ["needs wording for Spark"]

    code, out, _ = run(env, *base, "--lang", "en", "--gap", SPARK_EN)
    assert code == 0 and "1 draft(s) that waited for wording drafted again" in said(out)
    assert run(env, "feedback", "approve", "--job", JOB)[0] == 0
    plan = json.loads(run(env, "plan", "--job", JOB, "--json")[1])
    assert (plan["ready"], plan["with_feedback"], plan["held_for_wording"]) == (1, 1, 0)


def test_a_reason_chosen_for_the_person_that_contradicts_the_feedback_is_flagged(
    env: dict[str, str], tmp_path: Path, sink: MailSink
) -> None:
    base = ["competency", "add", "--job", JOB, "--name", "Spark", "--bar", "3"]
    assert run(env, *base, "--lang", "en", "--gap", SPARK_EN)[0] == 0
    cards = tmp_path / "cards.csv"
    cards.write_text(
        f"email,job,interviewer,competency,rating\nann@example.com,{JOB},Kim,Spark,1\n",
        encoding="utf-8",
    )
    assert run(env, "import-scorecards", str(cards))[0] == 0
    run(env, "reject", "--job", JOB, "--email", "ann@example.com", "--reason", "position-filled")
    assert run(env, "feedback", "approve", "--job", JOB)[0] == 0
    out = run(env, "plan", "--job", JOB)[1]
    assert "ann@example.com: the reason chosen for this person (position-filled)" in said(out)
    plan = json.loads(run(env, "plan", "--job", JOB, "--json")[1])
    assert plan["reason_contradicts_feedback"] == [
        {"email": "ann@example.com", "reason": "position-filled"}
    ]
    # The web plan page lists it too (issue 15), from the staged plan.
    settings = settings_for(
        env["FAIRWELL_DATABASE_URL"], sink.port, secret_key=KEY, wording_classifier="off"
    )
    runtime = open_runtime(settings)
    try:
        client = TestClient(create_app(settings, runtime), follow_redirects=False)
        sign_in(client, "rita", USER_PASSWORD)
        job_id = runtime.store.job_by_title(JOB).id
        page = client.get(f"/jobs/{job_id}/plan").text
    finally:
        runtime.close()
    assert "Reasons that disagree with the approved feedback" in page
    assert "<tr><td>ann@example.com</td><td>position-filled</td></tr>" in page


# --- the web app ------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, sink: MailSink) -> TestClient:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'web.db'}", sink.port, secret_key=KEY, wording_classifier="off"
    )
    init_database(settings)
    runtime = open_runtime(settings)
    rows = [applicant("ann@example.com", "Ann", "Alder", job=JOB, stage="onsite")]
    rows.append(applicant("bo@example.com", "Bo", "Zed", job="Other job"))
    import_file(runtime.store, write_csv(tmp_path / "a.csv", rows), actor="t", now=NOW)
    users = runtime.users
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=NOW)
    henry = add_user(users, "henry", PASSWORD, Role.HIRING_MANAGER, actor="t", now=NOW)
    other = runtime.store.job_by_title("Other job")
    runtime.job_managers.assign(other.id, henry.id, "t", NOW)
    runtime.feedback_store.add_competency(runtime.store.job_by_title(JOB).id, "SQL", 3, "t", NOW)
    return TestClient(create_app(settings, runtime), follow_redirects=False)


def test_the_jobs_wording_page_saves_a_language_and_shows_suggestions_unfilled(
    client: TestClient,
) -> None:
    sign_in(client, "rita")
    job_id = client.get("/api/jobs").json()[0]["id"]
    page = client.get(f"/jobs/{job_id}/wording")
    assert page.status_code == 200
    assert "Suggestion from the built-in library (not used unless you write it)" in page.text
    assert "The SQL exercise needed joins" in page.text
    assert (
        '<textarea id="gap-1-en" name="gap" rows="2" cols="80" lang="en"></textarea>' in page.text
    )
    form = {
        "csrf": csrf_of(page.text),
        "name": "SQL",
        "bar": "3",
        "lang": "en",
        "gap": "Your queries missed the join on customer id.",
        "next_step": "",
        "strength": "",
    }
    saved = client.post(f"/jobs/{job_id}/wording", data=form)
    assert saved.status_code == 303
    api = client.get(f"/api/jobs/{job_id}/wording").json()
    assert api["competencies"][0]["wording"]["en"]["gap"].startswith("Your queries missed")
    assert api["competencies"][0]["needs_wording_in"] == ["de"]
    wrong = client.post(f"/jobs/{job_id}/wording", data={**form, "lang": "de"})
    assert wrong.status_code == 400 and "reads as English, not German" in wrong.text
    assert "Competencies and feedback wording" in client.get(f"/jobs/{job_id}").text


def test_a_hiring_manager_cannot_reach_another_jobs_wording(client: TestClient) -> None:
    sign_in(client, "rita")
    job_id = next(j["id"] for j in client.get("/api/jobs").json() if j["title"] == JOB)
    client.post("/signout", data={"csrf": csrf_of(client.get("/jobs").text)})
    sign_in(client, "henry")
    assert client.get(f"/jobs/{job_id}/wording").status_code == 404
