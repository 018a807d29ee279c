"""SqlPipeline: jobs, applicants and decisions (the PipelineStore port). One method, one
transaction."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, exists, func, literal, or_, select, update
from sqlalchemy.engine import Row

from fairwell.domain.eligibility import LETTER_BLOCKING_STAGES, REJECTION_BLOCKING_STAGES
from fairwell.domain.model import (
    ApplicantRow,
    DecisionState,
    FeedbackState,
    Job,
    Source,
    Stage,
)
from fairwell.errors import NotFound
from fairwell.ports import (
    ApplicantFilter,
    ApplicantPage,
    ApplicantView,
    ImportCounts,
    JobSummary,
    StoredMerge,
)
from fairwell.ports.pipeline import Rejectable
from fairwell.storage.base import INSERT_CHUNK, SqlBase
from fairwell.storage.bulk import BulkInsert
from fairwell.storage.rows import applicant_query, applicant_view, audit, decision_key
from fairwell.storage.tables import (
    applications,
    competencies,
    decisions,
    jobs,
    outbox,
    persons,
    scorecards,
)

if TYPE_CHECKING:
    from fairwell.domain.duplicates import Merge


class SqlPipeline(SqlBase):
    """The PipelineStore port: jobs, applicants and decisions, and what imports write."""

    def upsert_applicants(
        self,
        rows: Iterable[ApplicantRow],
        now: datetime,
        actor: str,
        merges: Sequence[Merge] = (),
        source_file: str = "",
        job_titles: Collection[str] | None = None,
    ) -> ImportCounts:
        """Create or update people, jobs and applications; unchanged rows stay untouched.

        The rows are written a chunk at a time and the merges kept (storage/importer.py), all
        in one transaction.
        """
        # The import's writer is loaded when an import runs: `fairwell jobs` starts without it.
        from fairwell.storage.importer import ApplicantWriter

        with self._bulk_write() as conn:
            writer = ApplicantWriter(conn, now, actor)
            return writer.write(rows, merges, source_file, job_titles)

    def import_merges(self, job_id: int, limit: int | None = None) -> list[StoredMerge]:
        from fairwell.storage.importer import read_merges

        with self._read() as conn:
            return read_merges(conn, job_id, limit)

    def import_merge_count(self, job_id: int) -> int:
        from fairwell.storage.importer import count_merges

        with self._read() as conn:
            return count_merges(conn, job_id)

    def jobs(self) -> list[JobSummary]:
        """Each job with its applicants per stage as the pipeline shows it: everyone with an
        active decision counts as rejected, whatever stage they had reached."""
        job_columns = (
            jobs.c.id,
            jobs.c.title,
            jobs.c.sender_name,
            jobs.c.closed_at,
            jobs.c.auto_send_by,
        )
        shown = select(applications.c.job_id, shown_stage().label("stage")).subquery("shown")
        query = (
            select(*job_columns, shown.c.stage, func.count(shown.c.job_id).label("people"))
            .outerjoin(shown, shown.c.job_id == jobs.c.id)
            .group_by(*job_columns, shown.c.stage)
            .order_by(jobs.c.title)
        )
        summaries: dict[int, tuple[Job, dict[str, int]]] = {}
        with self._read() as conn:
            for row in conn.execute(query):
                job = Job(row.id, row.title, row.sender_name, row.closed_at, row.auto_send_by)
                _, stages = summaries.setdefault(row.id, (job, {}))
                if row.stage is not None:
                    stages[row.stage] = row.people
        return [
            JobSummary(job=job, stages=stages, total=sum(stages.values()))
            for job, stages in summaries.values()
        ]

    def job_by_title(self, title: str) -> Job:
        with self._read() as conn:
            found = conn.execute(select(jobs).where(jobs.c.title == title)).first()
        if found is None:
            raise NotFound(f"no job titled {title!r}; `fairwell jobs` lists them")
        return Job(found.id, found.title, found.sender_name, found.closed_at, found.auto_send_by)

    def job_by_id(self, job_id: int) -> Job:
        with self._read() as conn:
            found = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if found is None:
            raise NotFound(f"no job #{job_id}")
        return Job(found.id, found.title, found.sender_name, found.closed_at, found.auto_send_by)

    def set_job_sender(self, job_id: int, name: str | None, actor: str, now: datetime) -> None:
        """Who signs the job's letters from now on; None: the installation's sender name.

        Letters already queued keep the signature they were written with.
        """
        with self._write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(sender_name=name))
            # Whether a name is set, never the name: the audit log holds no personal data.
            audit(conn, actor, "job.sender", "job", job_id, {"named": name is not None}, now)

    def set_job_auto_send(self, job_id: int, by: str | None, actor: str, now: datetime) -> None:
        """Turn the job's auto-send rule on (``by``: the user answerable for it) or off."""
        with self._write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(auto_send_by=by))
            action = "job.auto_send_on" if by else "job.auto_send_off"
            audit(conn, actor, action, "job", job_id, {}, now)

    def auto_send_jobs(self) -> list[Job]:
        """The open jobs whose letters the worker plans and releases itself."""
        query = (
            select(jobs)
            .where(jobs.c.auto_send_by.is_not(None), jobs.c.closed_at.is_(None))
            .order_by(jobs.c.id)
        )
        with self._read() as conn:
            return [
                Job(row.id, row.title, row.sender_name, row.closed_at, row.auto_send_by)
                for row in conn.execute(query)
            ]

    def set_job_closed(self, job_id: int, closed: bool, actor: str, now: datetime) -> bool:
        """Close (or reopen) the job; False when it already was. Closing starts the
        retention clock of its applications no letter reached."""
        state = jobs.c.closed_at.is_(None) if closed else jobs.c.closed_at.is_not(None)
        with self._write() as conn:
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, state)
                .values(closed_at=now if closed else None)
            ).rowcount
            if changed:
                action = "job.closed" if closed else "job.reopened"
                audit(conn, actor, action, "job", job_id, {}, now)
        return bool(changed)

    def applicants(self, job_id: int) -> list[ApplicantView]:
        with self._read() as conn:
            return [applicant_view(row) for row in conn.execute(applicant_query(job_id))]

    def applicant_page(
        self, job_id: int, shown: ApplicantFilter, offset: int, limit: int
    ) -> ApplicantPage:
        """One page of the job's pipeline, filtered and counted in the database."""
        matching = self._matching(shown)
        counted = (
            select(func.count())
            .select_from(applications.join(persons, persons.c.id == applications.c.person_id))
            .where(applications.c.job_id == job_id, *matching)
        )
        ordered = applicant_query(job_id).order_by(None).order_by(*_pipeline_order(shown))
        page = ordered.where(*matching).offset(offset).limit(limit)
        with self._read() as conn:
            total = conn.execute(counted).scalar_one()
            views = [applicant_view(row) for row in conn.execute(page)]
        return ApplicantPage(total=int(total), views=views)

    def applicant_emails(self, job_id: int, shown: ApplicantFilter) -> list[str]:
        """The addresses of every applicant the filter matches, in pipeline order."""
        query = (
            select(persons.c.email)
            .join(applications, applications.c.person_id == persons.c.id)
            .where(applications.c.job_id == job_id, *self._matching(shown))
            .order_by(applications.c.id)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def _matching(self, shown: ApplicantFilter) -> list[Any]:
        conditions: list[Any] = []
        if shown.stage:
            conditions.append(shown_stage() == shown.stage)
        if shown.unsent:
            conditions.append(_decided_unsent())
        if shown.search:
            fold = func.lower if self._postgres else func.casefold
            name = persons.c.first_name + " " + persons.c.last_name
            needle = shown.search.casefold()
            conditions.append(
                or_(
                    fold(name).contains(needle, autoescape=True),
                    fold(persons.c.email).contains(needle, autoescape=True),
                )
            )
        return conditions

    def pending_letters(
        self, job_id: int, after: int = 0, until: int | None = None
    ) -> Iterator[ApplicantView]:
        """Decided applications of the job that have no letter yet, streamed in id order.

        ``after`` and ``until`` bound the application ids (after < id <= until), so several
        processes can each compose one range.
        """
        bounds = {"job_id": job_id, "until": until}
        rows = self._paged(_pending_page(bounded=until is not None), bounds, after)
        for view in map(applicant_view, rows):
            if view.decision is not None:
                yield view

    def pending_letters_among(
        self, job_id: int, application_ids: Sequence[int]
    ) -> Iterator[ApplicantView]:
        """Decided applications among these ids that have no letter yet (a plan's changes)."""
        ids = sorted(application_ids)
        for start in range(0, len(ids), INSERT_CHUNK):
            chunk = ids[start : start + INSERT_CHUNK]
            query = applicant_query(job_id).where(
                outbox.c.id.is_(None), applications.c.id.in_(chunk)
            )
            with self._read() as conn:
                views = [applicant_view(row) for row in conn.execute(query)]
            yield from (view for view in views if view.decision is not None)

    def streamed_applicants(self, job_id: int) -> Iterator[ApplicantView]:
        """Every applicant of the job, read a chunk at a time (a plan of 20,000 people)."""
        return self._streamed(applicant_query(job_id), 0)

    def maybe_skipped(self, job_id: int) -> Iterator[ApplicantView]:
        """The job's applicants a plan may give no letter, in id order, read a chunk at a
        time: all but the decided ones with no letter, no draft feedback, not erased, not
        suppressed and at a stage that gets a letter. A plan of a million letters all ready
        builds no view; the plan still says of each one read here whether it is skipped."""
        query = applicant_query(job_id)
        row = query.selected_columns
        query = query.where(
            or_(
                row.decision_id.is_(None),
                row.letter_state.is_not(None),
                row.feedback_state == FeedbackState.DRAFT.value,
                row.erased_at.is_not(None),
                row.suppressed.is_not(None),
                row.stage.in_(sorted(stage.value for stage in LETTER_BLOCKING_STAGES)),
            )
        )
        return self._streamed(query, 0)

    def rejectable(self, job_id: int) -> Iterator[Rejectable]:
        """The job's applications nothing stops a rejection of (domain/eligibility.py): not
        erased, at an open stage, with no active decision. Three columns a row, a chunk at a
        time: a bulk rejection of a million people builds no view of them."""
        query = (
            select(applications.c.id.label("application_id"), persons.c.email, applications.c.stage)
            .join(persons, persons.c.id == applications.c.person_id)
            .where(applications.c.job_id == job_id, *_rejectable())
            .order_by(applications.c.id)
        )
        stages = _STAGES
        for app_id, email, stage in self._pages(query, 0, REJECTABLE_PAGE):
            yield Rejectable(app_id, email, stages[stage])

    def not_rejectable(self, job_id: int) -> Iterator[ApplicantView]:
        """The job's other applicants: erased, at a closed stage, or with an active decision."""
        return self._streamed(applicant_query(job_id).where(~and_(*_rejectable())), 0)

    def may_need_draft(self, job_id: int) -> Iterator[ApplicantView]:
        """Decided applicants with no letter yet who have scorecards or feedback: everyone a
        feedback draft may be made for, and none of the many with neither."""
        query = applicant_query(job_id)
        row = query.selected_columns
        query = query.where(
            row.decision_id.is_not(None),
            row.letter_state.is_(None),
            or_(row.feedback_state.is_not(None), exists(_rated())),
        )
        return self._streamed(query, 0)

    def plain_without_scorecards(self, job_id: int) -> int:
        """Decided applicants who applied themselves, with no letter, no feedback and no
        scorecard, counted: none needs a draft; each gets a plain letter."""
        query = applicant_query(job_id)
        row = query.selected_columns
        applied = [source.value for source in Source if source.applied_themselves]
        query = query.where(
            row.decision_id.is_not(None),
            row.letter_state.is_(None),
            row.feedback_state.is_(None),
            row.source.in_(applied),
            ~exists(_rated()),
        )
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        with self._read() as conn:
            return int(conn.execute(counted).scalar_one())

    def _streamed(self, query: Any, after: int) -> Iterator[ApplicantView]:
        return map(applicant_view, self._pages(query, after))

    def _pages(self, query: Any, after: int, size: int = INSERT_CHUNK) -> Iterator[Row[Any]]:
        """The rows of ``query`` (ordered by application id, which it selects as
        ``application_id``) after ``after``, read ``size`` at a time, each page in a short
        read of its own."""
        # One statement for every page, the last id bound: its cache key is made once, not
        # once a page (a job of 100,000 people is 200 pages).
        paged = query.where(applications.c.id > bindparam("after")).limit(size)
        return self._paged(paged, {}, after)

    def _paged(self, paged: Any, values: dict[str, Any], after: int) -> Iterator[Row[Any]]:
        """The rows of a statement that reads one page after the id bound as ``after``."""
        last_id = after
        while True:
            with self._read() as conn:
                page = conn.execute(paged, {**values, "after": last_id}).all()
            if not page:
                return
            yield from page
            last_id = page[-1].application_id

    def application_count(self, job_id: int) -> int:
        query = select(func.count()).where(applications.c.job_id == job_id)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def application_chunks(self, job_id: int, size: int) -> list[tuple[int, int]]:
        """The job's applications in id order, cut into runs of ``size``: each run as the ids
        (after, until] that bound it. Only the bounds are read, never every id: a million
        applications are 4,000 pairs, not a list of a million."""
        numbered = (
            select(
                applications.c.id,
                func.row_number().over(order_by=applications.c.id).label("number"),
                func.count().over().label("total"),
            )
            .where(applications.c.job_id == job_id)
            .subquery()
        )
        last_of_run = or_(numbered.c.number % size == 0, numbered.c.number == numbered.c.total)
        query = select(numbered.c.id).where(last_of_run).order_by(numbered.c.id)
        with self._read() as conn:
            ends = list(conn.execute(query).scalars())
        return list(zip([0, *ends], ends, strict=False))

    def record_decisions(
        self,
        application_ids: Sequence[int],
        reason_code: str,
        note: str | None,
        actor: str,
        now: datetime,
        reason_chosen: bool = False,
    ) -> int:
        state = DecisionState.ACTIVE.value
        with self._write() as conn:
            # Every row but its application binds the same values: each is bound once, and a
            # chunk of rows at a time goes to the driver (a million decisions are no million
            # dicts at once).
            write = BulkInsert(conn, decisions, _DECISION_COLUMNS)
            write(
                (app_id, reason_code, reason_chosen, note, state, actor, now)
                for app_id in application_ids
            )
            audit(
                conn,
                actor,
                "decision.reject",
                "decision",
                None,
                {"count": len(application_ids), "reason": reason_code},
                now,
            )
        return len(application_ids)


# The rows of a bulk rejection's read are three small columns: ten pages of 500 at once.
REJECTABLE_PAGE = 10 * INSERT_CHUNK
_STAGES = {stage.value: stage for stage in Stage}

_DECISION_COLUMNS = (
    "application_id",
    "reason_code",
    "reason_chosen",
    "note",
    "state",
    "decided_by",
    "decided_at",
)


def _rejectable() -> list[Any]:
    """Nothing stops a rejection (domain/eligibility.py rejection_blocked_by): a letter sent
    needs an active decision, so none is one of these either."""
    return [
        persons.c.erased_at.is_(None),
        applications.c.stage.not_in(sorted(stage.value for stage in REJECTION_BLOCKING_STAGES)),
        ~exists(_active_decision()),
    ]


def _rated() -> Any:
    """The application's scorecards, as the feedback store reads its ratings."""
    return (
        select(scorecards.c.id)
        .join(competencies, competencies.c.id == scorecards.c.competency_id)
        .where(scorecards.c.application_id == applications.c.id)
    )


def _active_decision() -> Any:
    return select(decisions.c.id).where(
        decisions.c.application_id == applications.c.id,
        decisions.c.state == DecisionState.ACTIVE.value,
    )


def shown_stage() -> Any:
    """The stage the pipeline shows: rejected once a decision is active, else the stage."""
    return case(
        (exists(_active_decision()), literal(Stage.REJECTED.value)), else_=applications.c.stage
    )


def _decided_unsent() -> Any:
    """An active decision whose letter is not in the outbox yet."""
    queued = select(outbox.c.id).where(outbox.c.letter_key == decision_key(decisions.c.id))
    return exists(_active_decision().where(~exists(queued)))


def _pipeline_order(shown: ApplicantFilter) -> list[Any]:
    keys: dict[str, list[Any]] = {
        "name": [func.lower(persons.c.last_name), func.lower(persons.c.first_name)],
        "email": [persons.c.email],
        "stage": [shown_stage()],
        "decision": [
            select(decisions.c.reason_code)
            .where(
                decisions.c.application_id == applications.c.id,
                decisions.c.state == DecisionState.ACTIVE.value,
            )
            .scalar_subquery()
        ],
        "letter": [outbox.c.state],
    }
    chosen = keys.get(shown.order, [])
    ordered = [key.desc() if shown.descending else key.asc() for key in chosen]
    return [*ordered, applications.c.id]


@functools.cache
def _pending_page(*, bounded: bool) -> Any:
    """pending_letters' statement, made once a process (a plan's runs each read it): a page
    of the job's applications that have no letter, after the id bound as ``after`` and, when
    ``bounded``, up to ``until``; the job is bound too."""
    query = applicant_query(bindparam("job_id")).where(
        outbox.c.id.is_(None), applications.c.id > bindparam("after")
    )
    if bounded:
        query = query.where(applications.c.id <= bindparam("until"))
    return query.limit(INSERT_CHUNK)
