"""What the served demo adds, so every page has something to try in the browser.

After `fairwell demo` has sent its letters, the Business Product Manager job is done. The
served demo adds a second opening, "Data Analyst", where nobody has been rejected yet (try a
bulk rejection), whose onsite candidates are rejected with feedback drafts waiting for the
hiring manager's approval, and one feedback request on the first job. The second job's
competencies are not in the built-in library: the demo writes their wording itself, and
leaves "Statistics" without German words, so German drafts below the bar on it wait for
the hiring manager to write them on the job's wording page.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from fairwell.demo.data import (
    HEADER,
    JOB_TITLE,
    SECOND_COMPETENCIES,
    SECOND_REQUIREMENTS,
    SECOND_WORDING,
    demo_rows,
    demo_scorecards,
)
from fairwell.domain.feedback import CompetencyKind, Wording
from fairwell.errors import NotFound
from fairwell.ports import RubricRow
from fairwell.runtime import Runtime
from fairwell.services.decisions import Selection, reject
from fairwell.services.feedback import draft_job_feedback
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
        runtime.pipeline.job_by_title(SECOND_JOB)
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
    job = runtime.pipeline.job_by_title(SECOND_JOB)
    runtime.feedback_store.save_rubric(_second_job_rubric(), ACTOR, now)
    scorecards = demo_scorecards(rows, 11, SECOND_COMPETENCIES, SECOND_REQUIREMENTS)
    cards = [replace(card, job=SECOND_JOB) for card in scorecards]
    runtime.feedback_store.save_scorecards(cards, ACTOR, now)
    _onsite_rejected_with_drafts(runtime)
    _one_feedback_request(runtime)
    return job.id


def _second_job_rubric() -> list[RubricRow]:
    """The second job's competencies and the wording its hiring team wrote for them."""
    kinds = {name: CompetencyKind.COMPETENCY for name, _ in SECOND_COMPETENCIES}
    kinds |= {name: CompetencyKind.REQUIREMENT for name, _ in SECOND_REQUIREMENTS}
    rows = [
        RubricRow(0, SECOND_JOB, name, bar, kinds[name])
        for name, bar in (*SECOND_COMPETENCIES, *SECOND_REQUIREMENTS)
    ]
    bars = dict((*SECOND_COMPETENCIES, *SECOND_REQUIREMENTS))
    for locale, entries in SECOND_WORDING.items():
        for name, (gap, step, strength) in entries.items():
            wording = Wording(gap, step, strength)
            rows.append(RubricRow(0, SECOND_JOB, name, bars[name], kinds[name], locale, wording))
    return rows


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
        runtime.pipeline,
        runtime.feedback_store,
        runtime.wording_check,
        runtime.pipeline.job_by_title(SECOND_JOB).id,
        actor=ACTOR,
        now=now,
        show_scores=runtime.settings.show_scores,
    )


def _onsite_emails(runtime: Runtime) -> list[str]:
    job = runtime.pipeline.job_by_title(SECOND_JOB)
    return [
        view.person.email
        for view in runtime.pipeline.applicants(job.id)
        if view.application.stage.value == "onsite"
    ]


def _one_feedback_request(runtime: Runtime) -> None:
    job = runtime.pipeline.job_by_title(JOB_TITLE)
    written_to = next(
        view
        for view in runtime.pipeline.applicants(job.id)
        if view.letter_state is not None and view.application.last_interview_at is not None
    )
    receive(
        runtime.pipeline,
        runtime.request_store,
        job.id,
        written_to.person.email,
        QUESTION,
        business_days=runtime.settings.request_due_business_days,
        actor=ACTOR,
        now=runtime.clock.now(),
    )
