"""Pulling a job from Greenhouse (Harvest v3) and Lever, from fake servers on 127.0.0.1.

The same checks and merge as a file import; pages committed one by one with a checkpoint, so
a pull stopped by a 500 resumes where it stopped and nothing is imported twice; a 429 waits
as long as Retry-After says; expired credentials end in one clear line; nothing logs a
secret or a token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.config import Settings, load_settings
from fairwell.domain.model import Source, Stage
from fairwell.errors import AtsAuthError, PulledPageError, PullStopped
from fairwell.integrations.greenhouse import connector as greenhouse_connector
from fairwell.integrations.greenhouse.connector import connect as connect_greenhouse
from fairwell.integrations.lever import connector as lever_connector
from fairwell.integrations.lever.connector import connect as connect_lever
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.ats_pull import PullReport, pull_job
from fairwell.services.export_profiles import load_profile
from fairwell.storage.tables import applications, ats_links
from tests.conftest import FixedClock, settings_for
from tests.fake_ats import FakeGreenhouse, FakeLever, Fault, serving

JOB = "4001"


@pytest.fixture
def greenhouse() -> Iterator[FakeGreenhouse]:
    fake = FakeGreenhouse()
    fake.add_job(4001, "Data Analyst")
    fake.add_application(1001, 4001, "Ada", "Quill")
    fake.add_application(1002, 4001, "Ben", "Rook", stage="Face to Face", source="Referral")
    fake.add_application(1003, 4001, "Dee", "Fern", stage="Recruiter Phone Screen", prospect=True)
    fake.add_application(1004, 4001, "Eli", "Moss", stage="Offer", status="hired")
    fake.add_application(1005, 4001, "Fay", "Lark", stage="Phone Interview")
    fake.add_job(4002, "Designer")
    fake.add_application(2001, 4002, "Gil", "Oak")
    with serving(fake):
        yield fake


def greenhouse_settings(
    database_url: str, fake: FakeGreenhouse, smtp_port: int = 2525, **extra: object
) -> Settings:
    return settings_for(
        database_url,
        smtp_port,
        greenhouse_url=f"{fake.origin}/v3",
        greenhouse_auth_url=f"{fake.origin}/token",
        greenhouse_client_id=fake.client_id,
        greenhouse_client_secret=fake.client_secret,
        greenhouse_user_id=fake.user_id,
        ats_max_attempts=3,
        **extra,
    )


@pytest.fixture
def runtime(database_url: str, greenhouse: FakeGreenhouse, clock: FixedClock) -> Iterator[Runtime]:
    settings = greenhouse_settings(database_url, greenhouse)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two applications a page: five applications make three pages."""
    monkeypatch.setattr(greenhouse_connector, "PAGE_SIZE", 2)
    monkeypatch.setattr(lever_connector, "PAGE_SIZE", 2)


def pull(runtime: Runtime, sleeps: list[float] | None = None, **options: object) -> PullReport:
    connector = connect_greenhouse(
        runtime.settings, sleep=(sleeps if sleeps is not None else []).append
    )
    try:
        return pull_job(
            connector,
            runtime.ats_store,
            load_profile(str(options.pop("profile", "greenhouse"))),
            str(options.pop("job", JOB)),
            as_job=options.pop("as_job", None),  # type: ignore[arg-type]
            restart=bool(options.pop("restart", False)),
            actor="test",
            clock=runtime.clock,
        )
    finally:
        connector.close()


def pulled(runtime: Runtime, job: str = "Data Analyst") -> dict[str, tuple[Stage, Source]]:
    views = runtime.store.applicants(runtime.store.job_by_title(job).id)
    return {v.person.email: (v.application.stage, v.application.source) for v in views}


def count(runtime: Runtime, table: object) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


GREENHOUSE_JOB = {
    "ada.quill@example.org": (Stage.APPLIED, Source.APPLIED),
    "ben.rook@example.org": (Stage.ONSITE, Source.REFERRED),
    "dee.fern@example.org": (Stage.SCREEN, Source.SOURCED),
    "eli.moss@example.org": (Stage.HIRED, Source.APPLIED),
    "fay.lark@example.org": (Stage.PHONE, Source.APPLIED),
}


@pytest.mark.usefixtures("small_pages")
def test_a_greenhouse_job_is_pulled_page_by_page_and_linked_to_its_applications(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    report = pull(runtime)
    assert (report.pages, report.applications, report.job_title) == (3, 5, "Data Analyst")
    assert pulled(runtime) == GREENHOUSE_JOB
    assert count(runtime, ats_links) == 5
    assert greenhouse.issued == 1, "one token for the whole pull"
    cursors = [s for s in greenhouse.requests("GET", "/v3/applications") if "cursor" in s.query]
    assert len(cursors) == 2 and all(list(s.query) == ["cursor"] for s in cursors)
    ben = next(
        v
        for v in runtime.store.applicants(runtime.store.job_by_title("Data Analyst").id)
        if v.person.first_name == "Ben"
    )
    assert ben.application.referred_by == "Cara Vale"
    assert ben.person.email == "ben.rook@example.org", "the personal address, not the work one"


def test_pulling_the_same_job_again_imports_nothing_twice(runtime: Runtime) -> None:
    pull(runtime)
    again = pull(runtime)
    assert again.counts.applications_created == 0 and again.counts.unchanged == 5
    assert count(runtime, applications) == 5 and count(runtime, ats_links) == 5


def test_as_job_names_the_fairwell_job(runtime: Runtime) -> None:
    pull(runtime, as_job="Analyst (Berlin)")
    assert len(pulled(runtime, "Analyst (Berlin)")) == 5


@pytest.mark.usefixtures("small_pages")
def test_a_pull_interrupted_by_a_500_resumes_at_that_page_without_duplicates(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.fail(
        Fault(
            "GET", "/v3/applications", 500, body={"message": "boom"}, times=3, query_has="cursor="
        )
    )
    with pytest.raises(PullStopped) as stopped:
        pull(runtime)
    assert stopped.value.pages == 1, "the first page is committed"
    assert "failed 3 times (last: HTTP 500)" in str(stopped.value)
    assert count(runtime, applications) == 2
    first_pages = len(
        [s for s in greenhouse.requests("GET", "/v3/applications") if "job_ids" in s.query]
    )

    report = pull(runtime)
    assert report.resumed_at == 2 and report.pages == 2
    requested_again = [
        s for s in greenhouse.requests("GET", "/v3/applications") if "job_ids" in s.query
    ]
    assert len(requested_again) == first_pages, "the committed page is not pulled again"
    assert pulled(runtime) == GREENHOUSE_JOB
    assert count(runtime, applications) == 5 and count(runtime, ats_links) == 5


@pytest.mark.usefixtures("small_pages")
def test_a_500_that_clears_is_retried_with_backoff_inside_the_pull(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.fail(Fault("GET", "/v3/applications", 503, times=2, query_has="cursor="))
    sleeps: list[float] = []
    report = pull(runtime, sleeps)
    assert report.pages == 3 and sleeps == [1.0, 2.0]


def test_a_429_waits_as_long_as_retry_after_says(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.fail(
        Fault("GET", "/v3/candidates", 429, {"Retry-After": "7"}, {"message": "Too many requests"})
    )
    sleeps: list[float] = []
    pull(runtime, sleeps)
    assert sleeps == [7.0]
    assert len(pulled(runtime)) == 5


def test_a_429_asking_for_a_long_wait_stops_the_pull_to_resume_later(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.fail(Fault("GET", "/v3/applications", 429, {"Retry-After": "900"}))
    sleeps: list[float] = []
    with pytest.raises(PullStopped, match="rate limited; asked to wait 900 s"):
        pull(runtime, sleeps)
    assert sleeps == [], "a wait longer than FAIRWELL_ATS_MAX_WAIT_SECONDS is not slept"
    assert pull(runtime).applications == 5


def test_an_expired_token_is_renewed_once_and_the_pull_goes_on(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.fail(Fault("GET", "/v3/candidates", 401, body={"message": "token expired"}))
    pull(runtime)
    assert greenhouse.issued == 2
    assert len(pulled(runtime)) == 5


def test_refused_credentials_end_the_pull_with_one_clear_line(
    runtime: Runtime, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = runtime.settings.model_copy(
        update={"greenhouse_client_secret": SecretStr("not-the-secret-at-all")}
    )
    connector = connect_greenhouse(wrong)
    with pytest.raises(AtsAuthError) as refused:
        pull_job(
            connector,
            runtime.ats_store,
            load_profile("greenhouse"),
            JOB,
            as_job=None,
            restart=False,
            actor="t",
            clock=runtime.clock,
        )
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("greenhouse: the token endpoint refused the client")
    assert "not-the-secret" not in str(refused.value) + caplog.text
    assert count(runtime, applications) == 0


def test_a_page_with_bad_rows_names_each_application_and_imports_nothing_of_it(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    greenhouse.candidates[501003]["email_addresses"] = []
    greenhouse.applications[1005]["current_stage"] = {"id": 1, "name": "Culture Coffee"}
    with pytest.raises(PulledPageError) as caught:
        pull(runtime)
    shown = [str(problem) for problem in caught.value.problems]
    assert (
        "greenhouse application 1003, field 'candidate email_addresses': is required but empty"
        in shown
    )
    assert any(
        "stage names the greenhouse profile does not know: 'Culture Coffee' (application 1005)"
        in line
        for line in shown
    )
    assert count(runtime, applications) == 0


def test_a_job_that_does_not_exist_is_one_clear_line(runtime: Runtime) -> None:
    with pytest.raises(Exception, match="there is no job 999"):
        pull(runtime, job="999")


def test_no_secret_or_token_is_ever_logged(
    runtime: Runtime, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    greenhouse.fail(Fault("GET", "/v3/applications", 500, times=1))
    pull(runtime)
    assert "gh-token" not in caplog.text and greenhouse.client_secret not in caplog.text
    assert "example.org" not in caplog.text, "no address reaches the log either"
    assert "GET /v3/applications: HTTP 500" in caplog.text


# --- the command line -------------------------------------------------------------------------


def cli_env(database_url: str, fake: FakeGreenhouse) -> dict[str, str]:
    return {
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_GREENHOUSE_URL": f"{fake.origin}/v3",
        "FAIRWELL_GREENHOUSE_AUTH_URL": f"{fake.origin}/token",
        "FAIRWELL_GREENHOUSE_CLIENT_ID": fake.client_id,
        "FAIRWELL_GREENHOUSE_CLIENT_SECRET": fake.client_secret,
        "FAIRWELL_GREENHOUSE_USER_ID": fake.user_id,
        "COLUMNS": "300",
    }


def test_ats_pull_prints_what_it_imported_like_import_does(
    sqlite_url: str, greenhouse: FakeGreenhouse
) -> None:
    env = cli_env(sqlite_url, greenhouse)
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["ats", "pull", "greenhouse", "--job-id", JOB], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "imported 5 application(s) from greenhouse job 4001 ('Data Analyst') in 1 page(s): "
        "5 new, 0 updated, 0 unchanged; 5 new people, 1 new jobs; 0 duplicate row(s) merged"
    )


def test_a_pull_is_in_the_installations_default_locale_as_greenhouse_gives_none(
    sqlite_url: str, greenhouse: FakeGreenhouse
) -> None:
    env = {**cli_env(sqlite_url, greenhouse), "FAIRWELL_DEFAULT_LOCALE": "de"}
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["ats", "pull", "greenhouse", "--job-id", JOB], env=env)
    assert result.exit_code == 0, result.stderr
    people = runner.invoke(app, ["applicants", "--job", "Data Analyst", "--json"], env=env)
    assert {person["locale"] for person in json.loads(people.stdout)} == {"de"}


def test_a_401_from_expired_credentials_is_one_line_and_exit_1(
    sqlite_url: str, greenhouse: FakeGreenhouse
) -> None:
    env = {**cli_env(sqlite_url, greenhouse), "FAIRWELL_GREENHOUSE_CLIENT_SECRET": "expired-0000"}
    runner = CliRunner()
    runner.invoke(app, ["init"], env=env)
    result = runner.invoke(app, ["ats", "pull", "greenhouse", "--job-id", JOB], env=env)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("fairwell: greenhouse: the token endpoint refused the client")
    assert "expired-0000" not in result.stderr + result.stdout


def test_the_cli_says_how_to_resume_a_stopped_pull(
    sqlite_url: str, greenhouse: FakeGreenhouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(greenhouse_connector, "PAGE_SIZE", 2)
    env = {**cli_env(sqlite_url, greenhouse), "FAIRWELL_ATS_MAX_ATTEMPTS": "1"}
    greenhouse.fail(Fault("GET", "/v3/applications", 500, times=1, query_has="cursor="))
    runner = CliRunner()
    runner.invoke(app, ["init"], env=env)
    stopped = runner.invoke(app, ["ats", "pull", "greenhouse", "--job-id", JOB], env=env)
    assert stopped.exit_code == 1
    assert "1 page(s) imported; run the same command again to resume at page 2" in stopped.stderr
    resumed = runner.invoke(app, ["ats", "pull", "greenhouse", "--job-id", JOB], env=env)
    assert resumed.exit_code == 0
    assert "in 2 page(s) (resumed at page 2)" in resumed.stdout


def test_the_wrong_job_option_for_the_vendor_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ats", "pull", "lever", "--job-id", "1"])
    assert result.exit_code == 2
    assert "lever needs --posting-id ID" in result.stderr


def test_a_vendor_without_credentials_is_a_configuration_error(tmp_path: Path) -> None:
    env = {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(app, ["ats", "pull", "greenhouse", "--job-id", "1"], env=env)
    assert result.exit_code == 3
    assert "set FAIRWELL_GREENHOUSE_CLIENT_ID" in result.stderr


# --- Lever ------------------------------------------------------------------------------------


@pytest.fixture
def lever() -> Iterator[FakeLever]:
    fake = FakeLever()
    fake.add_posting("post-1", "Backend Engineer")
    fake.add_opportunity("o1", "post-1", "Gus Wren")
    fake.add_opportunity("o2", "post-1", "Hana Birch", stage="stage-screen", origin="referred")
    fake.add_opportunity("o3", "post-1", "Ivo de la Cruz", stage="lead-new", origin="sourced")
    fake.add_opportunity(
        "o4", "post-1", "Jo Ash", stage="stage-onsite", archived_reason="reason-withdrew"
    )
    fake.add_opportunity("o5", "post-1", "Kit Elm", stage="offer", archived_reason="reason-hired")
    fake.add_opportunity(
        "o6", "post-1", "Lu Fir", stage="stage-onsite", archived_reason="reason-underqualified"
    )
    with serving(fake):
        yield fake


@pytest.mark.usefixtures("small_pages")
def test_a_lever_posting_is_pulled_with_offset_paging(
    database_url: str, lever: FakeLever, clock: FixedClock
) -> None:
    settings = settings_for(
        database_url,
        2525,
        lever_url=f"{lever.origin}/v1",
        lever_api_key=lever.api_key,
        lever_perform_as=lever.perform_as,
    )
    init_database(settings)
    runtime = open_runtime(settings)
    connector = connect_lever(settings)
    report = pull_job(
        connector,
        runtime.ats_store,
        load_profile("lever"),
        "post-1",
        as_job=None,
        restart=False,
        actor="t",
        clock=clock,
    )
    connector.close()
    assert (report.pages, report.applications) == (3, 6)
    offsets = [s.query.get("offset") for s in lever.requests("GET", "/v1/opportunities")]
    assert offsets == [None, ["2"], ["4"]]
    got = {
        v.person.email.split("@")[0]: (v.application.stage, v.application.source)
        for v in runtime.store.applicants(runtime.store.job_by_title("Backend Engineer").id)
    }
    assert got == {
        "gus.o1": (Stage.APPLIED, Source.APPLIED),
        "hana.o2": (Stage.SCREEN, Source.REFERRED),
        "ivo.o3": (Stage.APPLIED, Source.SOURCED),
        "jo.o4": (Stage.WITHDRAWN, Source.APPLIED),
        "kit.o5": (Stage.HIRED, Source.APPLIED),
        "lu.o6": (Stage.REJECTED, Source.APPLIED),
    }
    runtime.close()


def test_a_spent_rate_limit_window_makes_the_next_request_wait_for_its_reset(
    runtime: Runtime, greenhouse: FakeGreenhouse
) -> None:
    reset = int(time.time()) + 3
    greenhouse.extra_headers.append(
        ("/v3/applications", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    )
    sleeps: list[float] = []
    pull(runtime, sleeps)
    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0
    assert len(pulled(runtime)) == 5


@pytest.mark.usefixtures("small_pages")
def test_lever_is_asked_at_most_ten_times_a_second(
    sqlite_url: str, lever: FakeLever, clock: FixedClock
) -> None:
    settings = settings_for(
        sqlite_url, 2525, lever_url=f"{lever.origin}/v1", lever_api_key=lever.api_key
    )
    init_database(settings)
    runtime = open_runtime(settings)
    sleeps: list[float] = []
    now = [100.0]  # a clock that moves only when the client sleeps: requests take no time

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    connector = connect_lever(settings, sleep=sleep, monotonic=lambda: now[0])
    pull_job(
        connector,
        runtime.ats_store,
        load_profile("lever"),
        "post-1",
        as_job=None,
        restart=False,
        actor="t",
        clock=clock,
    )
    connector.close()
    runtime.close()
    assert len(sleeps) == len(lever.seen) - 1 and set(sleeps) == {0.1}


def test_a_refused_lever_key_is_one_line_without_the_key(sqlite_url: str, lever: FakeLever) -> None:
    env = {
        "FAIRWELL_DATABASE_URL": sqlite_url,
        "FAIRWELL_LEVER_URL": f"{lever.origin}/v1",
        "FAIRWELL_LEVER_API_KEY": "revoked-lever-key-9999",
    }
    runner = CliRunner()
    runner.invoke(app, ["init"], env=env)
    result = runner.invoke(app, ["ats", "pull", "lever", "--posting-id", "post-1"], env=env)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("fairwell: lever: the credentials were refused (401")
    assert "revoked-lever-key" not in result.stderr + result.stdout


def test_credentials_come_from_files_and_never_show_in_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gh").write_text("gh-secret-from-a-file\n", encoding="utf-8")
    (tmp_path / "lever").write_text("lever-key-from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("FAIRWELL_GREENHOUSE_CLIENT_SECRET_FILE", str(tmp_path / "gh"))
    monkeypatch.setenv("FAIRWELL_LEVER_API_KEY_FILE", str(tmp_path / "lever"))
    settings = load_settings()
    assert settings.greenhouse_client_secret is not None
    assert settings.greenhouse_client_secret.get_secret_value() == "gh-secret-from-a-file"
    assert settings.lever_api_key is not None
    assert settings.lever_api_key.get_secret_value() == "lever-key-from-a-file"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "from-a-file" not in shown
