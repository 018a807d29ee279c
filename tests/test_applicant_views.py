"""An applicant's view is read from a row of the applicant query by the query's own column
names: the same view as reading each column of the row by name, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from fairwell.storage.rows import applicant_query, applicant_view, view_from
from fairwell.storage.store import SqlStore
from fairwell.storage.tables import decisions, feedback, jobs, suppressions
from tests.conftest import FixedClock
from tests.helpers import applicant, import_and_reject_all

PEOPLE = [
    applicant("a@example.com", "Ann", "Ames"),
    applicant("b@example.com", "Bo", "Berg", stage="hired"),
    applicant(
        "c@example.com",
        "Cy",
        "Cole",
        source="referred",
        referred_by="dana@corp.example",
        locale="de",
        country="DE",
        timezone="Europe/Berlin",
    ),
    applicant("d@example.com", "Di", "Dunn", stage="onsite", last_interview_at="2026-10-20"),
]


def test_a_view_is_every_column_read_by_name(any_store: SqlStore, tmp_path: Path) -> None:
    now = FixedClock().now()
    import_and_reject_all(any_store, tmp_path / "people.csv", PEOPLE, now)
    with any_store.engine.begin() as conn:
        conn.execute(
            suppressions.insert().values(email="a@example.com", reason="t", created_at=now)
        )
        decided = conn.execute(select(decisions.c.id).order_by(decisions.c.id)).scalars().first()
        values = {"state": "draft", "text": "t", "next_steps": "n", "lint_findings": 0}
        conn.execute(
            feedback.insert().values(
                decision_id=decided,
                holds="needs wording\n",
                created_at=now,
                updated_at=now,
                **values,
            )
        )
        job_id = conn.execute(select(jobs.c.id)).scalar_one()
        rows = conn.execute(applicant_query(job_id)).all()
    assert len(rows) == len(PEOPLE)
    views = [applicant_view(row) for row in rows]
    assert views == [view_from(row._mapping) for row in rows]
    # The rows hold what the check above compares: decided, undecided, suppressed, feedback.
    assert {view.decision is None for view in views} == {True, False}
    assert any(view.suppression for view in views)
    assert any(view.feedback and view.feedback.holds == ("needs wording",) for view in views)
