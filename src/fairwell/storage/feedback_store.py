"""Competencies, scorecards and feedback: the FeedbackStore port over SQLAlchemy Core."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.engine import Row

from fairwell.domain.feedback import Competency, CompetencyKind, Rating, Wording
from fairwell.domain.model import DecisionState, FeedbackState
from fairwell.domain.requests import RequestState
from fairwell.errors import InvalidInput, NotFound
from fairwell.ports import DraftText, RequestRecord, RubricRow, ScorecardInput
from fairwell.storage.rows import audit, decision_key
from fairwell.storage.tables import (
    applications,
    competencies,
    competency_wording,
    decisions,
    feedback,
    feedback_requests,
    jobs,
    outbox,
    persons,
    scorecards,
)


class SqlFeedbackStore:
    """Every method is one transaction, like SqlStore's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_competency(
        self,
        job_id: int,
        name: str,
        bar: int,
        actor: str,
        now: datetime,
        kind: CompetencyKind | None = None,
    ) -> None:
        """Add a competency or change its bar (and its kind, when given)."""
        Competency(name, bar)  # the same checks as everywhere else
        with self.engine.begin() as conn:
            found = self._competency_id(conn, job_id, name)
            if found is None:
                chosen = kind or CompetencyKind.COMPETENCY
                conn.execute(
                    insert(competencies).values(
                        job_id=job_id, name=name, bar=bar, kind=chosen.value, created_at=now
                    )
                )
            else:
                values: dict[str, object] = {"bar": bar}
                if kind is not None:
                    values["kind"] = kind.value
                conn.execute(update(competencies).where(competencies.c.id == found).values(values))
            detail: dict[str, object] = {"bar": bar, "kind": kind.value if kind else None}
            audit(conn, actor, "competency.set", "job", job_id, detail, now)

    @staticmethod
    def _competency_id(conn: Connection, job_id: int, name: str) -> int | None:
        found = conn.execute(
            select(competencies.c.id).where(
                competencies.c.job_id == job_id, competencies.c.name == name
            )
        ).scalar()
        return None if found is None else int(found)

    def competencies(self, job_id: int) -> list[Competency]:
        query = (
            select(competencies.c.name, competencies.c.bar, competencies.c.kind)
            .where(competencies.c.job_id == job_id)
            .order_by(competencies.c.name)
        )
        with self.engine.begin() as conn:
            return [
                Competency(name, bar, CompetencyKind(kind))
                for name, bar, kind in conn.execute(query).tuples()
            ]

    def set_wording(
        self, job_id: int, name: str, locale: str, wording: Wording, actor: str, now: datetime
    ) -> None:
        """Store the competency's wording in one language, replacing what was there."""
        values = {
            "gap": wording.gap,
            "next_step": wording.next_step,
            "strength": wording.strength,
            "updated_by": actor,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            competency_id = self._competency_id(conn, job_id, name)
            if competency_id is None:
                raise NotFound(f"{name!r} is not a competency of this job")
            key = (
                competency_wording.c.competency_id == competency_id,
                competency_wording.c.locale == locale,
            )
            changed = conn.execute(update(competency_wording).where(*key).values(values))
            if changed.rowcount == 0:
                conn.execute(
                    insert(competency_wording).values(
                        competency_id=competency_id, locale=locale, **values
                    )
                )
            detail: dict[str, object] = {"competency_id": competency_id, "locale": locale}
            audit(conn, actor, "competency.wording", "job", job_id, detail, now)

    def save_rubric(self, rows: Sequence[RubricRow], actor: str, now: datetime) -> None:
        """Competencies and their wording, all in one transaction; a job that does not exist
        refuses the whole set, naming its rows."""
        with self.engine.begin() as conn:
            titles = {row.job for row in rows}
            found = conn.execute(select(jobs.c.title, jobs.c.id).where(jobs.c.title.in_(titles)))
            job_ids = {title: job_id for title, job_id in found.tuples()}
            unknown = [
                f"row {row.row}: no job titled {row.job!r}"
                for row in rows
                if row.job not in job_ids
            ]
            if unknown:
                raise InvalidInput("; ".join(unknown[:10]))
            for row in rows:
                self._save_rubric_row(conn, job_ids[row.job], row, actor, now)
            detail: dict[str, object] = {"rows": len(rows)}
            audit(conn, actor, "competency.rubric", "job", None, detail, now)

    def _save_rubric_row(
        self, conn: Connection, job_id: int, row: RubricRow, actor: str, now: datetime
    ) -> None:
        competency_id = self._competency_id(conn, job_id, row.name)
        if competency_id is None:
            kind = (row.kind or CompetencyKind.COMPETENCY).value
            inserted = conn.execute(
                insert(competencies).values(
                    job_id=job_id, name=row.name, bar=row.bar, kind=kind, created_at=now
                )
            ).inserted_primary_key
            assert inserted is not None
            competency_id = int(inserted[0])
        else:
            values: dict[str, object] = {"bar": row.bar}
            if row.kind is not None:
                values["kind"] = row.kind.value
            conn.execute(
                update(competencies).where(competencies.c.id == competency_id).values(values)
            )
        if row.locale is not None and row.wording is not None:
            self._merge_wording(conn, competency_id, row.locale, row.wording, actor, now)

    @staticmethod
    def _merge_wording(
        conn: Connection,
        competency_id: int,
        locale: str,
        wording: Wording,
        actor: str,
        now: datetime,
    ) -> None:
        key = (
            competency_wording.c.competency_id == competency_id,
            competency_wording.c.locale == locale,
        )
        old = conn.execute(
            select(
                competency_wording.c.gap,
                competency_wording.c.next_step,
                competency_wording.c.strength,
            ).where(*key)
        ).first()
        given = {"gap": wording.gap, "next_step": wording.next_step, "strength": wording.strength}
        if old is None:
            conn.execute(
                insert(competency_wording).values(
                    competency_id=competency_id,
                    locale=locale,
                    updated_by=actor,
                    updated_at=now,
                    **given,
                )
            )
            return
        kept = {part: text or getattr(old, part) for part, text in given.items()}
        conn.execute(
            update(competency_wording).where(*key).values(**kept, updated_by=actor, updated_at=now)
        )

    def wordings(self, job_id: int) -> dict[str, dict[str, Wording]]:
        """The job's wording: locale -> competency name -> words."""
        query = (
            select(
                competency_wording.c.locale,
                competencies.c.name,
                competency_wording.c.gap,
                competency_wording.c.next_step,
                competency_wording.c.strength,
            )
            .join(competencies, competencies.c.id == competency_wording.c.competency_id)
            .where(competencies.c.job_id == job_id)
        )
        found: dict[str, dict[str, Wording]] = defaultdict(dict)
        with self.engine.begin() as conn:
            for locale, name, gap, step, strength in conn.execute(query).tuples():
                found[locale][name] = Wording(gap, step, strength)
        return dict(found)

    def save_scorecards(self, rows: Sequence[ScorecardInput], actor: str, now: datetime) -> int:
        """Record ratings; a rating given again replaces the old one. All rows or none."""
        with self.engine.begin() as conn:
            applications_by_key = self._applications(conn, rows)
            competency_ids = self._competency_ids(conn, rows)
            problems = _unknown(rows, applications_by_key, competency_ids)
            if problems:
                raise InvalidInput("; ".join(problems[:10]))
            for row in rows:
                self._save_one(conn, row, applications_by_key, competency_ids, now)
            audit(conn, actor, "scorecards.saved", "scorecard", None, {"count": len(rows)}, now)
        return len(rows)

    @staticmethod
    def _applications(
        conn: Connection, rows: Sequence[ScorecardInput]
    ) -> dict[tuple[str, str], int]:
        query = (
            select(persons.c.email, jobs.c.title, applications.c.id)
            .join(persons, persons.c.id == applications.c.person_id)
            .join(jobs, jobs.c.id == applications.c.job_id)
            .where(persons.c.email.in_({row.email for row in rows}))
        )
        return {(email, title): app_id for email, title, app_id in conn.execute(query).tuples()}

    @staticmethod
    def _competency_ids(
        conn: Connection, rows: Sequence[ScorecardInput]
    ) -> dict[tuple[str, str], int]:
        query = select(jobs.c.title, competencies.c.name, competencies.c.id).join(
            jobs, jobs.c.id == competencies.c.job_id
        )
        return {(title, name): cid for title, name, cid in conn.execute(query).tuples()}

    @staticmethod
    def _save_one(
        conn: Connection,
        row: ScorecardInput,
        apps: dict[tuple[str, str], int],
        competency_ids: dict[tuple[str, str], int],
        now: datetime,
    ) -> None:
        key = {
            "application_id": apps[(row.email, row.job)],
            "competency_id": competency_ids[(row.job, row.competency)],
            "interviewer": row.interviewer,
        }
        values = {
            "rating": row.rating,
            "internal_note": row.internal_note,
            "note_for_candidate": row.note_for_candidate,
        }
        changed = conn.execute(
            update(scorecards)
            .where(*(scorecards.c[name] == value for name, value in key.items()))
            .values(**values)
        )
        if changed.rowcount == 0:
            conn.execute(insert(scorecards).values(**key, **values, created_at=now))

    def ratings(self, application_ids: Sequence[int]) -> dict[int, list[Rating]]:
        query = (
            select(
                scorecards.c.application_id,
                scorecards.c.interviewer,
                competencies.c.name,
                scorecards.c.rating,
                scorecards.c.internal_note,
                scorecards.c.note_for_candidate,
            )
            .join(competencies, competencies.c.id == scorecards.c.competency_id)
            .where(scorecards.c.application_id.in_(application_ids))
            .order_by(scorecards.c.id)
        )
        found: dict[int, list[Rating]] = defaultdict(list)
        with self.engine.begin() as conn:
            for app_id, interviewer, name, rating, internal, for_candidate in conn.execute(query):
                found[app_id].append(Rating(interviewer, name, rating, internal, for_candidate))
        return dict(found)

    def review_counts(self) -> dict[int, dict[str, int]]:
        """Per job, feedback per state (draft, approved, plain) whose letter has not been
        queued yet: what a hiring manager may still review. One query, whatever the jobs."""
        query = (
            select(applications.c.job_id, feedback.c.state, func.count(feedback.c.id))
            .join(decisions, decisions.c.id == feedback.c.decision_id)
            .join(applications, applications.c.id == decisions.c.application_id)
            .outerjoin(outbox, outbox.c.letter_key == decision_key(decisions.c.id))
            .where(decisions.c.state == DecisionState.ACTIVE.value, outbox.c.id.is_(None))
            .group_by(applications.c.job_id, feedback.c.state)
        )
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        with self.engine.begin() as conn:
            for job_id, state, count in conn.execute(query).tuples():
                counts[job_id][state] = count
        return dict(counts)

    def save_draft(self, decision_id: int, draft: DraftText, actor: str, now: datetime) -> None:
        """A new draft, or a fresh one in place of a draft nobody has approved yet."""
        values = {
            "state": FeedbackState.DRAFT.value,
            "text": draft.text,
            "next_steps": draft.next_steps,
            "lint_findings": draft.findings,
            "holds": "\n".join(draft.holds),
            "basis": draft.basis,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            replaced = conn.execute(
                update(feedback)
                .where(
                    feedback.c.decision_id == decision_id,
                    feedback.c.state == FeedbackState.DRAFT.value,
                )
                .values(values)
            ).rowcount
            if not replaced:
                conn.execute(
                    insert(feedback).values(decision_id=decision_id, created_at=now, **values)
                )
            detail: dict[str, object] = {
                "lint_findings": draft.findings,
                "holds": len(draft.holds),
                "redrafted": bool(replaced),
            }
            audit(conn, actor, "feedback.drafted", "decision", decision_id, detail, now)

    def edit(self, decision_id: int, draft: DraftText, actor: str, now: datetime) -> None:
        """New wording goes back to draft: it must be approved again."""
        self._update(
            decision_id,
            "feedback.edited",
            actor,
            now,
            {"findings": draft.findings, "holds": len(draft.holds)},
            state=FeedbackState.DRAFT.value,
            text=draft.text,
            next_steps=draft.next_steps,
            lint_findings=draft.findings,
            holds="\n".join(draft.holds),
            override_reason=None,
            reviewed_by=None,
            reviewed_at=None,
        )

    def review(
        self,
        decision_ids: Sequence[int],
        state: FeedbackState,
        actor: str,
        now: datetime,
        override_reason: str | None = None,
    ) -> None:
        for decision_id in decision_ids:
            self._update(
                decision_id,
                f"feedback.{state.value}",
                actor,
                now,
                {"override": override_reason is not None},
                state=state.value,
                override_reason=override_reason,
                reviewed_by=actor,
                reviewed_at=now,
            )

    def _update(
        self,
        decision_id: int,
        action: str,
        actor: str,
        now: datetime,
        detail: dict[str, object],
        **values: object,
    ) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(feedback)
                .where(feedback.c.decision_id == decision_id)
                .values(**values, updated_at=now)
            )
            if result.rowcount != 1:
                raise NotFound(f"no feedback for decision {decision_id}")
            audit(conn, actor, action, "decision", decision_id, detail, now)


def _unknown(
    rows: Sequence[ScorecardInput],
    apps: dict[tuple[str, str], int],
    competency_ids: dict[tuple[str, str], int],
) -> list[str]:
    problems = []
    for row in rows:
        if (row.email, row.job) not in apps:
            problems.append(f"row {row.row}: no such applicant for that job")
        elif (row.job, row.competency) not in competency_ids:
            problems.append(f"row {row.row}, field 'competency': not a competency of the job")
    return problems


def _request_query() -> Any:
    return (
        select(
            feedback_requests.c.id,
            feedback_requests.c.decision_id,
            feedback_requests.c.state,
            feedback_requests.c.question,
            feedback_requests.c.received_at,
            feedback_requests.c.due_at,
            feedback_requests.c.answered_at,
            decisions.c.application_id,
            persons.c.email,
            jobs.c.title,
            applications.c.job_id,
        )
        .join(decisions, decisions.c.id == feedback_requests.c.decision_id)
        .join(applications, applications.c.id == decisions.c.application_id)
        .join(persons, persons.c.id == applications.c.person_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
        .order_by(feedback_requests.c.due_at, feedback_requests.c.id)
    )


def _request(row: Row[Any]) -> RequestRecord:
    return RequestRecord(
        id=row.id,
        decision_id=row.decision_id,
        application_id=row.application_id,
        email=row.email,
        job_title=row.title,
        job_id=row.job_id,
        state=RequestState(row.state),
        question=row.question,
        received_at=row.received_at,
        due_at=row.due_at,
        answered_at=row.answered_at,
    )


class SqlRequestStore:
    """Feedback requests: the RequestStore port. Every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        decision_id: int,
        question: str,
        received_at: datetime,
        due_at: datetime,
        actor: str,
    ) -> int:
        with self.engine.begin() as conn:
            inserted = conn.execute(
                insert(feedback_requests).values(
                    decision_id=decision_id,
                    state=RequestState.OPEN.value,
                    question=question,
                    received_at=received_at,
                    due_at=due_at,
                )
            ).inserted_primary_key
            assert inserted is not None
            audit(
                conn,
                actor,
                "request.received",
                "request",
                inserted[0],
                {"decision_id": decision_id},
                received_at,
            )
            return int(inserted[0])

    def all(self, open_only: bool) -> list[RequestRecord]:
        query = _request_query()
        if open_only:
            query = query.where(feedback_requests.c.state == RequestState.OPEN.value)
        with self.engine.begin() as conn:
            return [_request(row) for row in conn.execute(query)]

    def get(self, request_id: int) -> RequestRecord:
        with self.engine.begin() as conn:
            row = conn.execute(_request_query().where(feedback_requests.c.id == request_id)).first()
        if row is None:
            raise NotFound(f"no feedback request {request_id}; `fairwell requests` lists them")
        return _request(row)

    def mark_answered(self, request_id: int, answer: str, actor: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(feedback_requests)
                .where(
                    feedback_requests.c.id == request_id,
                    feedback_requests.c.state == RequestState.OPEN.value,
                )
                .values(
                    state=RequestState.ANSWERED.value,
                    answer=answer,
                    answered_by=actor,
                    answered_at=now,
                )
            )
            if changed.rowcount != 1:
                raise InvalidInput(f"feedback request {request_id} is already answered")
            audit(conn, actor, "request.answered", "request", request_id, {}, now)
