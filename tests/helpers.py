"""Small builders shared by the tests: applicant files and a wired-up runtime."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.demo.data import HEADER
from fairwell.domain.feedback import Wording
from fairwell.ports import FeedbackStore, RubricRow, Store
from fairwell.services.decisions import Selection, reject
from fairwell.services.importing import import_file
from fairwell.storage.tables import letter_bodies, outbox

DEFAULTS = {
    "job": "Data Analyst",
    "stage": "screen",
    "source": "applied",
    "referred_by": "",
    "referral_aware": "",
    "locale": "en",
    "country": "GB",
    "timezone": "Europe/London",
    "applied_at": "2026-10-01",
    "last_interview_at": "",
}


def applicant(email: str, first: str, last: str, **fields: str) -> dict[str, str]:
    return {**DEFAULTS, "email": email, "first_name": first, "last_name": last, **fields}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def tamper_with_letter(engine: Engine, *, last: bool, old: bytes, new: bytes) -> int:
    """Change a queued letter's stored bytes behind Fairwell's back; return its outbox id."""
    order = outbox.c.id.desc() if last else outbox.c.id
    with engine.begin() as conn:
        outbox_id, body_id, body = conn.execute(
            select(outbox.c.id, letter_bodies.c.id, letter_bodies.c.body)
            .join(letter_bodies, letter_bodies.c.id == outbox.c.body_id)
            .order_by(order)
        ).first()  # type: ignore[misc]
        conn.execute(
            update(letter_bodies)
            .where(letter_bodies.c.id == body_id)
            .values(body=body.replace(old, new))
        )
    return int(outbox_id)


def people(count: int, **fields: str) -> list[dict[str, str]]:
    """``count`` applicants for the Data Analyst job: p0@example.com, Pat Doe0, ..."""
    return [applicant(f"p{i}@example.com", "Pat", f"Doe{i}", **fields) for i in range(count)]


def import_and_reject_all(
    store: Store,
    csv_path: Path,
    rows: list[dict[str, str]],
    now: datetime,
    reason: str = "position-filled",
) -> None:
    """Import the rows and reject everyone in the Data Analyst job but the hired."""
    import_file(store, write_csv(csv_path, rows), actor="t", now=now)
    reject(
        store,
        "Data Analyst",
        Selection(all_except_hired=True),
        reason,
        note=None,
        actor="t",
        now=now,
    )


USER_PASSWORD = "correct horse battery staple"


def add_cli_user(env: dict[str, str], folder: Path, username: str, role: str) -> None:
    """Add a Fairwell user through the CLI, as an admin would, for commands run --as them."""
    secret = folder / f"{username}.password"
    secret.write_text(USER_PASSWORD, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["users", "add", "--username", username, "--role", role, "--password-file", str(secret)],
        env=env,
    )
    assert result.exit_code == 0, result.output


# The job's own wording for SQL, as a hiring team would write it with `competency add --lang`.
SQL_WORDING = Wording(
    "The SQL exercise needed joins and aggregations beyond what you completed in the time.",
    "Work through exercises that combine joins with GROUP BY and window functions.",
    "Your SQL was accurate and easy to follow.",
)


def write_wording(
    feedback_store: FeedbackStore,
    job: str,
    now: datetime,
    name: str = "SQL",
    wording: Wording = SQL_WORDING,
    bar: int = 3,
    locale: str = "en",
) -> None:
    """Add the competency to the job with its wording in one language."""
    feedback_store.save_rubric([RubricRow(0, job, name, bar, None, locale, wording)], "t", now)
