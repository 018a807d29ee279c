"""Duplicate rows merge by rule, and say so: the import summary and the plan list each merge
with the rows it came from, on SQLite and PostgreSQL; `--strict` refuses the file instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.delivery.sink import MailSink
from fairwell.domain.duplicates import Merge, MergeChoice
from fairwell.domain.model import Source, Stage
from fairwell.domain.users import Role
from fairwell.errors import ImportFileError
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services import erasure, planning
from fairwell.services.applicant_file import parse_applicant_file
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.services.planning import make_plan
from fairwell.services.users import add_user
from fairwell.storage.tables import audit_log, import_merges
from fairwell.web.app import create_app
from tests.conftest import FixedClock, settings_for
from tests.helpers import applicant, write_csv
from tests.test_web import KEY, PASSWORD, sign_in

JOB = "Data Analyst"


def rows_of(tmp_path: Path, rows: list[dict[str, str]], *, strict: bool = False) -> Any:
    return parse_applicant_file(write_csv(tmp_path / "a.csv", rows), strict=strict)


def only_merge(parsed: Any) -> Merge:
    assert len(parsed.merges) == 1, parsed.merges
    merge: Merge = parsed.merges[0]
    return merge


def choice(merge: Merge, field: str) -> MergeChoice:
    return next(c for c in merge.choices if c.field == field)


# --- the rules (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stages", "kept"),
    [
        (["screen", "onsite"], "onsite"),
        (["onsite", "applied", "phone"], "onsite"),
        (["onsite", "withdrawn"], "withdrawn"),
        (["withdrawn", "offer"], "offer"),
        (["offer", "hired", "withdrawn"], "hired"),
        (["rejected", "screen"], "screen"),
        (["onsite", "rejected"], "onsite"),
        (["rejected", "withdrawn"], "withdrawn"),
        (["rejected", "rejected"], "rejected"),
        # Declined our offer: protected, above withdrawn, below a live offer or a hire.
        (["onsite", "declined"], "declined"),
        (["declined", "withdrawn"], "declined"),
        (["declined", "offer"], "offer"),
    ],
)
def test_rows_disagreeing_on_the_stage_merge_to_the_protected_or_furthest_stage(
    tmp_path: Path, stages: list[str], kept: str
) -> None:
    rows = [applicant("Ann@Example.com", "Ann", "Lee", stage=stage) for stage in stages]
    rows[1]["email"] = "ann@example.COM"  # the same address in other case

    parsed = rows_of(tmp_path, rows)

    assert [row.stage for row in parsed.rows] == [Stage(kept)]
    assert parsed.duplicates_merged == len(stages) - 1
    merge = only_merge(parsed)
    assert merge.rows == tuple(range(2, 2 + len(stages)))
    if len(set(stages)) > 1:
        decided = choice(merge, "stage")
        assert decided.kept == kept and stages[decided.from_row - 2] == kept
        assert {value for _, value in decided.others} == set(stages) - {kept}


def test_a_rejected_row_beside_a_live_one_is_said_to_be_a_closed_duplicate(
    tmp_path: Path,
) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", stage="rejected"),
        applicant("ann@example.com", "Ann", "Lee", stage="phone"),
    ]
    text = choice(only_merge(rows_of(tmp_path, rows)), "stage").describe()
    assert text.startswith("stage phone from row 3") and "closed duplicate" in text


def test_the_earliest_application_date_and_the_latest_interview_are_kept(tmp_path: Path) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", applied_at="2026-09-10", last_interview_at=""),
        applicant(
            "ann@example.com", "Ann", "Lee", applied_at="2026-08-01", last_interview_at="2026-10-02"
        ),
        applicant(
            "ann@example.com",
            "Ann",
            "Lee",
            applied_at="2026-09-20",
            last_interview_at="2026-10-20T15:00:00Z",
        ),
    ]
    parsed = rows_of(tmp_path, rows)
    row = parsed.rows[0]
    assert row.applied_at == datetime(2026, 8, 1, tzinfo=UTC)
    assert row.last_interview_at == datetime(2026, 10, 20, 15, tzinfo=UTC)
    merge = only_merge(parsed)
    assert (choice(merge, "applied_at").kept, choice(merge, "applied_at").from_row) == (
        "2026-08-01",
        3,
    )
    assert choice(merge, "last_interview_at").from_row == 4


def test_a_referral_beside_an_own_application_means_applied_and_keeps_the_referrer(
    tmp_path: Path,
) -> None:
    rows = [
        applicant(
            "ann@example.com",
            "Ann",
            "Lee",
            source="referred",
            referred_by="Carol Chen",
            referral_aware="no",
            applied_at="2026-08-01",
        ),
        applicant("ann@example.com", "Ann", "Lee", source="applied", applied_at="2026-09-01"),
    ]
    parsed = rows_of(tmp_path, rows)
    row = parsed.rows[0]
    assert (row.source, row.referred_by) == (Source.APPLIED, "Carol Chen")
    merge = only_merge(parsed)
    assert (choice(merge, "source").kept, choice(merge, "source").from_row) == ("applied", 3)
    assert "own application" in choice(merge, "source").rule
    assert "referred_by" not in {c.field for c in merge.choices}, "only one row names one"


def test_two_referrers_keep_the_earliest_referral_without_naming_either(tmp_path: Path) -> None:
    rows = [
        applicant(
            "ann@example.com",
            "Ann",
            "Lee",
            source="referred",
            referred_by="Dan Dole",
            applied_at="2026-09-01",
        ),
        applicant(
            "ann@example.com",
            "Ann",
            "Lee",
            source="referred",
            referred_by="Carol Chen",
            applied_at="2026-08-01",
        ),
    ]
    parsed = rows_of(tmp_path, rows)
    assert parsed.rows[0].referred_by == "Carol Chen"
    referrer = choice(only_merge(parsed), "referred_by")
    assert (referrer.kept, referrer.from_row, referrer.others) == (None, 3, ((2, None),))


def test_the_same_person_referred_for_one_job_and_applying_for_another_keeps_both_sources(
    tmp_path: Path,
) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", source="referred", referred_by="Carol"),
        applicant("ann@example.com", "Ann", "Lee", job="Designer", source="applied"),
    ]
    parsed = rows_of(tmp_path, rows)
    assert [(row.job, row.source) for row in parsed.rows] == [
        (JOB, Source.REFERRED),
        ("Designer", Source.APPLIED),
    ]
    assert parsed.merges == [], "nothing about the person disagrees"


def test_a_referral_beside_sourcing_is_a_referral(tmp_path: Path) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", source="sourced"),
        applicant("ann@example.com", "Ann", "Lee", source="referred", referred_by="Carol"),
    ]
    assert rows_of(tmp_path, rows).rows[0].source is Source.REFERRED


@pytest.mark.parametrize(
    ("said", "kept"),
    [(["yes", "no"], False), (["no", "yes"], False), (["yes", ""], True), (["yes", "yes"], True)],
)
def test_referral_awareness_is_yes_only_when_every_row_says_yes(
    tmp_path: Path, said: list[str], kept: bool
) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", source="referred", referral_aware=answer)
        for answer in said
    ]
    assert rows_of(tmp_path, rows).rows[0].referral_aware is kept


def test_name_and_language_come_from_the_row_of_the_furthest_stage(tmp_path: Path) -> None:
    rows = [
        applicant("jose@example.com", "Jose", "Garcia", stage="screen", locale="en"),
        applicant(
            "JOSE@example.com",
            "José",
            "García",
            stage="onsite",
            locale="de",
            country="DE",
            timezone="Europe/Berlin",
        ),
        applicant("jose@example.com", "J.", "Garcia", stage="phone", locale=""),
    ]
    parsed = rows_of(tmp_path, rows)
    row = parsed.rows[0]
    assert (row.first_name, row.last_name, row.locale) == ("José", "García", "de")
    assert (row.country, row.timezone) == ("DE", "Europe/Berlin")
    merge = only_merge(parsed)
    name = choice(merge, "name")
    assert (name.kept, name.from_row, name.others) == (None, 3, ((2, None), (4, None)))
    assert (choice(merge, "locale").kept, choice(merge, "locale").others) == ("de", ((2, "en"),))


def test_one_address_with_two_names_across_jobs_is_one_person_named_by_rule(
    tmp_path: Path,
) -> None:
    rows = [
        applicant("ann@example.com", "Ann", "Lee", stage="screen"),
        applicant("ann@example.com", "Anne", "Lee", job="Designer", stage="onsite"),
    ]
    parsed = rows_of(tmp_path, rows)
    assert {(row.first_name, row.last_name) for row in parsed.rows} == {("Anne", "Lee")}
    assert [merge.rows for merge in parsed.merges] == [(2,), (3,)]
    assert all(choice(merge, "name").from_row == 3 for merge in parsed.merges)


def test_what_a_merge_says_never_holds_a_name_an_address_or_a_referrer(tmp_path: Path) -> None:
    rows = [
        applicant(
            "zoe.quill@example.com",
            "Zoë",
            "Quill",
            source="referred",
            referred_by="Xavier Ymir",
            stage="rejected",
            locale="de",
        ),
        applicant("ZOE.QUILL@example.com", "Zoe", "Quillon", stage="phone", locale="en"),
    ]
    merge = only_merge(rows_of(tmp_path, rows))
    said = merge.describe() + json.dumps([c.others for c in merge.choices])
    for secret in ("zoe", "quill", "xavier", "ymir", "example.com"):
        assert secret not in said.casefold(), secret
    assert {c.field for c in merge.choices} == {"stage", "source", "name", "locale"}


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("stage", ("screen", "onsite")),
        ("first_name", ("Ann", "Anne")),
        ("locale", ("en", "de")),
        ("source", ("referred", "applied")),
        ("referred_by", ("Carol Chen", "Dan Dole")),
    ],
)
def test_strict_refuses_duplicates_that_disagree_and_imports_nothing(
    tmp_path: Path, field: str, values: tuple[str, str]
) -> None:
    rows = [applicant("ann@example.com", "Ann", "Lee", **{field: value}) for value in values]
    with pytest.raises(ImportFileError) as caught:
        rows_of(tmp_path, rows, strict=True)
    problem = caught.value.problems[0]
    assert (problem.row, problem.field) == (3, field)
    assert rows_of(tmp_path, rows).rows, "without --strict the same file merges"


ROW_FIELDS = st.fixed_dictionaries(
    {
        "stage": st.sampled_from([stage.value for stage in Stage]),
        "source": st.sampled_from([source.value for source in Source]),
        "applied_at": st.sampled_from(["", "2026-01-05", "2026-03-01", "2025-12-24"]),
        "last_interview_at": st.sampled_from(["", "2026-02-01", "2026-04-09"]),
        "referral_aware": st.sampled_from(["", "yes", "no"]),
    }
)


@settings(max_examples=60, deadline=None)
@given(fields=st.lists(ROW_FIELDS, min_size=2, max_size=5), data=st.data())
def test_the_merged_application_does_not_depend_on_the_order_of_the_rows(
    tmp_path_factory: pytest.TempPathFactory, fields: list[dict[str, str]], data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("order")
    rows = [applicant("ann@example.com", "Ann", "Lee", **values) for values in fields]
    shuffled = data.draw(st.permutations(rows))

    def outcome(given_rows: list[dict[str, str]]) -> tuple[object, ...]:
        row = rows_of(folder, given_rows).rows[0]
        return (row.stage, row.source, row.referral_aware, row.applied_at, row.last_interview_at)

    assert outcome(rows) == outcome(list(shuffled))
    stage = outcome(rows)[0]
    order = ["withdrawn", "declined", "offer", "hired"]  # declining an offer is past withdrawing
    protected = [Stage(v["stage"]) for v in fields if v["stage"] in order]
    if protected:
        assert stage is max(protected, key=order.index)


# --- kept for the plan, on SQLite and PostgreSQL ----------------------------------------------


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port, secret_key=KEY)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


DUPLICATES = [
    applicant("ann@example.com", "Ann", "Lee", stage="screen"),
    applicant("bo@example.com", "Bo", "Berg"),
    applicant("ANN@example.com", "Ann", "Lee", stage="onsite", last_interview_at="2026-10-20"),
    applicant("cy@example.com", "Cy", "Cole", source="referred", referred_by="Carol"),
    applicant("Cy@Example.com", "Cy", "Cole", source="applied", applied_at="2026-11-01"),
]


def test_the_plan_lists_each_merge_with_its_rows_long_after_the_import(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    report = import_file(
        runtime.store, write_csv(tmp_path / "ats.csv", DUPLICATES), actor="t", now=clock.now()
    )
    assert (report.rows, report.duplicates_merged, len(report.merges)) == (3, 2, 2)
    clock.advance(days=3)
    plan = make_plan(runtime.store, runtime.composer, JOB, clock.now())

    listed = plan.as_json()["merges"]
    assert isinstance(listed, list)
    assert [(m["email"], m["file"], m["rows"]) for m in listed] == [
        ("ann@example.com", "ats.csv", [2, 4]),
        ("cy@example.com", "ats.csv", [5, 6]),
    ]
    ann, cy = listed
    # Only the onsite row has an interview date: a value one row alone gives is no disagreement.
    assert [(d["field"], d["kept"], d["from_row"]) for d in ann["decided"]] == [
        ("stage", "onsite", 4)
    ]
    assert ("source", "applied", 6) in [
        (d["field"], d["kept"], d["from_row"]) for d in cy["decided"]
    ]


def test_a_plan_lists_a_bounded_number_of_merges_and_counts_the_rest(
    runtime: Runtime, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", DUPLICATES), actor="t", now=clock.now()
    )
    monkeypatch.setattr(planning, "MERGES_LISTED", 1)
    plan = planning.make_plan(runtime.store, runtime.composer, JOB, clock.now()).as_json()
    assert [m["rows"] for m in plan["merges"]] == [[2, 4]]  # type: ignore[index]
    assert plan["merges_not_listed"] == 1


def test_merges_are_audited_by_row_number_and_field_only(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", DUPLICATES), actor="t", now=clock.now()
    )
    with runtime.engine.begin() as conn:
        details = (
            conn.execute(
                select(audit_log.c.detail).where(audit_log.c.action == "application.merged")
            )
            .scalars()
            .all()
        )
    assert sorted(json.loads(d)["rows"] for d in details) == [[2, 4], [5, 6]]
    assert all("@" not in d and "Carol" not in d and "Lee" not in d for d in details)


def test_importing_the_same_file_again_keeps_its_merges_and_audits_nothing_new(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    path = write_csv(tmp_path / "a.csv", DUPLICATES)
    import_file(runtime.store, path, actor="t", now=clock.now())
    clock.advance(hours=1)
    again = import_file(runtime.store, path, actor="t", now=clock.now())
    assert again.counts.unchanged == 3 and len(again.merges) == 2
    merges = runtime.store.import_merges(runtime.store.job_by_title(JOB).id)
    assert [m.rows for m in merges] == [(2, 4), (5, 6)]
    with runtime.engine.begin() as conn:
        audited = conn.execute(
            select(func.count()).where(audit_log.c.action == "application.merged")
        ).scalar()
    assert audited == 2


def test_a_later_import_replaces_or_drops_the_merge_it_touches(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", DUPLICATES), actor="t", now=clock.now()
    )
    # Ann again from one row (her values now come from it); Cy's two rows again, elsewhere.
    later = [DUPLICATES[2], applicant("dee@example.com", "Dee", "Dunn"), *DUPLICATES[3:]]
    import_file(runtime.store, write_csv(tmp_path / "b.csv", later), actor="t", now=clock.now())

    merges = runtime.store.import_merges(runtime.store.job_by_title(JOB).id)
    assert [(m.email, m.source_file, m.rows) for m in merges] == [
        ("cy@example.com", "b.csv", (4, 5))
    ]


def test_erasing_a_person_erases_their_merges(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", DUPLICATES), actor="t", now=clock.now()
    )
    privacy = runtime.privacy
    erasure.erase_person(
        privacy, erasure.person_by_email(privacy, "ann@example.com"), "t", clock.now()
    )
    with runtime.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(import_merges)).scalar() == 1


def test_the_web_plan_page_shows_the_merges_with_the_address(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    import_file(
        runtime.store, write_csv(tmp_path / "a.csv", DUPLICATES), actor="t", now=clock.now()
    )
    reject(
        runtime.store,
        JOB,
        Selection(all_except_hired=True),
        "role-closed",
        note=None,
        actor="t",
        now=clock.now(),
    )
    add_user(
        runtime.users,
        "rita",
        PASSWORD,
        Role.RECRUITER,
        actor="t",
        now=clock.now(),
    )
    client = TestClient(create_app(runtime.settings, runtime), follow_redirects=False)
    sign_in(client, "rita")
    job_id = runtime.store.job_by_title(JOB).id
    page = client.get(f"/jobs/{job_id}/plan").text
    assert "Merged by the import" in page
    assert "ann@example.com" in page and "a.csv: rows 2, 4" in page
    assert "stage onsite from row 4 (the furthest stage; row 2: screen)" in page


# --- the CLI --------------------------------------------------------------------------------


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def env(tmp_path: Path, sink: MailSink) -> dict[str, str]:
    environment = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
    }
    assert run(environment, "init")[0] == 0
    return environment


def test_the_import_summary_lists_each_merge_and_its_json_too(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = str(write_csv(tmp_path / "ats.csv", DUPLICATES))
    code, out, _ = run(env, "import", path)
    assert code == 0, out
    assert "2 duplicate row(s) merged" in out
    assert (
        "merged ann@example.com (Data Analyst): rows 2, 4: "
        "stage onsite from row 4 (the furthest stage; row 2: screen)" in out
    )
    code, out, _ = run(env, "import", path, "--json")
    summary = json.loads(out)
    assert (summary["applications"], summary["unchanged"]) == (3, 3)
    assert [m["rows"] for m in summary["merges"]] == [[2, 4], [5, 6]]
    plan = json.loads(run(env, "plan", "--job", JOB, "--json")[1])
    assert [m["rows"] for m in plan["merges"]] == [[2, 4], [5, 6]]
    assert "merged by the import" in run(env, "plan", "--job", JOB)[1]


def test_strict_keeps_refusing_a_file_with_disagreeing_duplicates(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = str(write_csv(tmp_path / "ats.csv", DUPLICATES))
    code, out, err = run(env, "import", path, "--strict")
    assert code == 1 and out == ""
    assert "row 4, field 'stage'" in err and "nothing was imported" in err
    assert json.loads(run(env, "jobs", "--json")[1]) == []
