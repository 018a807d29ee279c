"""What the served demo adds, so every page has something to try in the browser.

After `fairwell demo` has sent its letters, the Business Product Manager job is done. The
served demo adds a second opening, "Data Analyst", where nobody has been rejected yet (try a
bulk rejection), whose onsite candidates are rejected with feedback drafts waiting for the
hiring manager's approval, and one feedback request on the first job.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from fairwell.demo_data import (
    COMPETENCIES,
    HEADER,
    JOB_TITLE,
    REQUIREMENTS,
    demo_rows,
    demo_scorecards,
)
from fairwell.errors import NotFound
from fairwell.runtime import Runtime, wording_check
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import draft_job_feedback, load_library
from fairwell.services.importing import import_file
from fairwell.services.requests import receive

SECOND_JOB = "Data Analyst"
SECOND_JOB_STAGES = (("applied", 10), ("screen", 20), ("phone", 15), ("onsite", 15))
ACTOR = "demo"
QUESTION = (
    "Thank you for your letter. Could you tell me more about which parts of the case study "
    "fell short, so that I can prepare better next time?"
)


def seed_for_the_browser(runtime: Runtime, directory: Path) -> int | None:
    """Add the second job and a request; return the second job's id (None if it exists)."""
    try:
        runtime.store.job_by_title(SECOND_JOB)
        return None
    except NotFound:
        pass
    rows = _second_job_rows()
    path = directory / "data-analyst.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    now = runtime.clock.now()
    import_file(runtime.store, path, actor=ACTOR, now=now)
    job = runtime.store.job_by_title(SECOND_JOB)
    for name, bar in (*COMPETENCIES, *REQUIREMENTS):
        runtime.feedback_store.add_competency(job.id, name, bar, ACTOR, now)
    cards = [replace(card, job=SECOND_JOB) for card in demo_scorecards(rows)]
    runtime.feedback_store.save_scorecards(cards, ACTOR, now)
    _onsite_rejected_with_drafts(runtime)
    _one_feedback_request(runtime)
    return job.id


def _second_job_rows() -> list[dict[str, str]]:
    """Sixty distinct people (new addresses), none hired yet, fifteen interviewed onsite."""
    applied = [row for row in demo_rows(seed=8) if row["source"] == "applied"]
    rows = [
        row
        for stage, count in SECOND_JOB_STAGES
        for row in [r for r in applied if r["stage"] == stage][:count]
    ]
    for index, row in enumerate(rows):
        local, _, domain = row["email"].partition("@")
        row.update(job=SECOND_JOB, email=f"{local}.analyst{index}@{domain}".lower())
    return rows


def _onsite_rejected_with_drafts(runtime: Runtime) -> None:
    now = runtime.clock.now()
    reject(
        runtime.store,
        SECOND_JOB,
        Selection(emails=tuple(_onsite_emails(runtime))),
        "skills-mismatch",
        note=None,
        actor=ACTOR,
        now=now,
    )
    draft_job_feedback(
        runtime.store,
        runtime.feedback_store,
        load_library(runtime.settings.feedback_library),
        wording_check(runtime.settings),
        SECOND_JOB,
        actor=ACTOR,
        now=now,
        show_scores=runtime.settings.show_scores,
    )


def _onsite_emails(runtime: Runtime) -> list[str]:
    job = runtime.store.job_by_title(SECOND_JOB)
    return [
        view.person.email
        for view in runtime.store.applicants(job.id)
        if view.application.stage.value == "onsite"
    ]


def _one_feedback_request(runtime: Runtime) -> None:
    job = runtime.store.job_by_title(JOB_TITLE)
    written_to = next(
        view
        for view in runtime.store.applicants(job.id)
        if view.letter_state is not None and view.application.last_interview_at is not None
    )
    receive(
        runtime.store,
        runtime.request_store,
        JOB_TITLE,
        written_to.person.email,
        QUESTION,
        business_days=runtime.settings.request_due_business_days,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
