"""A big import is checked in one pass and written back a chunk at a time: the result is the
one the whole file in memory gives, rows merged across chunks included, and a file the
database refuses half-way leaves nothing behind."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fairwell.delivery.sink import MailSink
from fairwell.domain.duplicates import merge_rows
from fairwell.errors import ImportFileError
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services import applicant_file
from fairwell.services.applicant_file import COLUMNS, OPTIONAL_COLUMNS, parse_applicant_file
from fairwell.services.importing import import_file
from fairwell.services.tabular import parse_file
from fairwell.storage.tables import applications, jobs, persons
from tests.conftest import FixedClock, settings_for

ROWS = 2_300  # more than a spool chunk (1,000) and an insert chunk (500), several times over


def person(index: int, **changes: str) -> dict[str, str]:
    row = {
        "email": f"Person.{index}@Example.org",
        "first_name": f"First{index}",
        "last_name": "Last",
        "job": "Analyst" if index % 3 else "Designer",
        "stage": ("applied", "screen", "phone", "onsite")[index % 4],
        "source": "applied",
        "referred_by": "",
        "referral_aware": "",
        "locale": "" if index % 5 else "de",
        "country": "",
        "timezone": "",
        "applied_at": "2026-01-05",
        "last_interview_at": "",
        "region": "",
    }
    row.update(changes)
    return row


def big_file(folder: Path) -> Path:
    """People 0..ROWS-1, then rows that repeat early people far down the file: the same job
    (merged), another job (a second application of one person) and another spelling."""
    rows = [person(index) for index in range(ROWS)]
    rows.insert(1_700, person(3, stage="offer", applied_at="2025-12-01"))
    rows.insert(1_900, person(4, job="Designer", first_name="Other"))
    rows.insert(2_100, person(7, email="PERSON.7@example.org", job="analyst"))
    rows.append(person(1_999, stage="hired"))
    path = folder / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def in_memory(path: Path) -> Any:
    """The file parsed whole, rows in a list, merged in one call: what streaming must equal."""

    def merge(rows: list[Any], _: Any) -> Any:
        return rows, merge_rows(rows, applicant_file.DEFAULT_LOCALE)

    return parse_file(
        path,
        COLUMNS,
        optional=OPTIONAL_COLUMNS,
        noun="applicants",
        parse_row=applicant_file._parse_row,
        merge=merge,
    )


def test_streaming_gives_what_the_whole_file_in_memory_gives(tmp_path: Path) -> None:
    path = big_file(tmp_path)
    rows, expected = in_memory(path)
    parsed = parse_applicant_file(path)
    assert parsed.rows == expected.rows
    assert parsed.merges == expected.merges
    assert parsed.duplicates_merged == len(rows) - len(expected.rows) == 3
    with applicant_file.read_applicant_file(path) as checked:
        assert checked.applications == len(expected.rows)
        assert checked.job_titles == {row.job for row in expected.rows}


def test_strict_refuses_rows_that_disagree_across_chunks(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_applicant_file(big_file(tmp_path), strict=True)
    assert {(problem.row, problem.field) for problem in caught.value.problems} >= {
        (1_702, "stage"),
        (1_902, "first_name"),
    }


def test_problems_are_the_same_in_a_big_file(tmp_path: Path) -> None:
    """Problems found by the one pass: every row and field named, in row order."""
    path = big_file(tmp_path)
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text[10] = text[10].replace("@Example.org", "@")
    text[2_000] = text[2_000].replace(",applied,", ",maybe,", 1)
    path.write_text("".join(text), encoding="utf-8", newline="")
    with pytest.raises(ImportFileError) as caught:
        parse_applicant_file(path)
    problems = [(problem.row, problem.field) for problem in caught.value.problems]
    assert problems == [(11, "email"), (2_001, "source")]
    with pytest.raises(ImportFileError) as whole:
        in_memory(path)
    assert caught.value.problems == whole.value.problems


def test_utf8_and_layout_problems_stop_reading_as_before(tmp_path: Path) -> None:
    path = big_file(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"Person.2000@")
    data[at : at + 1] = b"\xff"
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError) as caught:
        parse_applicant_file(path)
    with pytest.raises(ImportFileError) as whole:
        in_memory(path)
    assert caught.value.problems == whole.value.problems
    assert "is not valid UTF-8" in caught.value.problems[0].message


# --- written back a chunk at a time, in one transaction, on SQLite and PostgreSQL ---------------


@pytest.fixture
def runtime(database_url: str, sink: MailSink, clock: FixedClock) -> Iterator[Runtime]:
    settings = settings_for(database_url, sink.port)
    init_database(settings)
    wired = open_runtime(settings)
    wired.clock = clock
    yield wired
    wired.close()


def stored(runtime: Runtime) -> list[tuple[str, str, str]]:
    query = (
        select(persons.c.email, jobs.c.title, applications.c.stage)
        .join(persons, persons.c.id == applications.c.person_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .order_by(applications.c.id)
    )
    with runtime.store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_a_big_import_stores_the_merged_rows_in_file_order_and_again_changes_nothing(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    path = big_file(tmp_path)
    _, expected = in_memory(path)
    report = import_file(runtime.store, path, actor="t", now=clock.now())
    assert (report.rows, report.duplicates_merged) == (len(expected.rows), 3)
    assert report.counts.applications_created == len(expected.rows)
    assert report.counts.new_jobs == ("Analyst", "Designer")
    assert stored(runtime) == [(r.email, r.job, r.stage.value) for r in expected.rows]
    for title in ("Analyst", "Designer"):
        merges = [merge for merge in expected.merges if merge.job == title]
        assert runtime.store.import_merge_count(runtime.store.job_by_title(title).id) == len(merges)

    again = import_file(runtime.store, path, actor="t", now=clock.now())
    assert again.counts.unchanged == len(expected.rows)
    assert again.counts.applications_created == again.counts.applications_updated == 0


def test_an_import_that_fails_half_way_leaves_nothing(
    runtime: Runtime, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are read back as they are written: a failure after the first chunks were
    written rolls them back with the rest."""
    real = applicant_file.ApplicantFile.rows

    def failing(self: applicant_file.ApplicantFile) -> Iterator[Any]:
        for number, row in enumerate(real(self)):
            if number == 1_800:
                raise OSError("the disk went away")
            yield row

    monkeypatch.setattr(applicant_file.ApplicantFile, "rows", failing)
    with pytest.raises(OSError, match="disk"):
        import_file(runtime.store, big_file(tmp_path), actor="t", now=clock.now())
    assert stored(runtime) == []
    assert runtime.store.jobs() == []
