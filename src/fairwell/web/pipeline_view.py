"""The pipeline page: a job's applicants filtered, sorted and paged, with bulk selection.

Shared by the page itself (web/app.py) and the rejection form (web/sending.py), which shows
the page again, with what was chosen kept, when it refuses a rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import Response

from fairwell.domain.model import Job, Stage
from fairwell.domain.reasons import REASONS
from fairwell.errors import NotFound
from fairwell.ports import ApplicantFilter
from fairwell.runtime import Runtime
from fairwell.web.common import PAGE_SIZE, Current, render, runtime_of, visible_jobs

SORTS = {
    "name": "Name",
    "email": "Email",
    "stage": "Stage",
    "decision": "Decision",
    "letter": "Letter",
}
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True, slots=True)
class PipelineView:
    """What the pipeline page was asked to show: filter, sort and page."""

    stage: str = ""
    q: str = ""
    sort: str = ""
    descending: bool = False
    page: int = 1
    size: int = PAGE_SIZE

    def query(self, **changes: object) -> str:
        """This view's query string with some values changed (page links, sort links)."""
        values = {
            "stage": self.stage,
            "q": self.q,
            "sort": self.sort,
            "dir": "desc" if self.descending else "",
            "size": self.size if self.size != PAGE_SIZE else "",
            "page": self.page,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    @classmethod
    def chosen(
        cls,
        stage: str | None,
        q: str | None,
        page: int,
        sort: str | None,
        direction: str | None,
        size: int,
    ) -> PipelineView:
        """The view from the query string; a value the page does not offer is its default."""
        return cls(
            stage=stage if stage in {s.value for s in Stage} else "",
            q=(q or "").strip(),
            sort=sort if sort in SORTS else "",
            descending=direction == "desc",
            page=page,
            size=size if size in PAGE_SIZES else PAGE_SIZE,
        )

    def sort_link(self, key: str) -> str:
        """Sorting by ``key``, or the other way round when it is already sorted by it."""
        flip = self.sort == key and not self.descending
        return self.query(sort=key, dir="desc" if flip else "", page=1)


def _job(runtime: Runtime, job_id: int) -> Job | None:
    try:
        return runtime.pipeline.job_by_id(job_id)
    except NotFound:
        return None


def pipeline_page(
    request: Request,
    job_id: int,
    current: Current,
    view: PipelineView,
    *,
    status: int = 200,
    error: str | None = None,
    kept: Mapping[str, object] | None = None,
) -> Response:
    """The job's pipeline; a refused rejection shows it again with the error and the form
    as it was filled in (``kept``)."""
    runtime = runtime_of(request)
    # A job this user may not see answers exactly like a job that does not exist.
    allowed = visible_jobs(request, current[0])
    job = _job(runtime, job_id) if allowed is None or job_id in allowed else None
    if job is None:
        raise HTTPException(status_code=404, detail="there is no job with this number for you")
    shown = ApplicantFilter(
        stage=view.stage or None,
        search=view.q or None,
        order=view.sort or "id",
        descending=view.descending,
    )
    found = runtime.pipeline.applicant_page(job.id, shown, (view.page - 1) * view.size, view.size)
    return render(
        request,
        "pipeline.html",
        status,
        user=current[0],
        csrf=current[1].csrf,
        job=job,
        applicants=found.views,
        total=found.total,
        view=view,
        pages=max(1, -(-found.total // view.size)),
        filtered=bool(shown.stage or shown.search),
        stages=[s.value for s in Stage],
        sorts=SORTS,
        page_sizes=PAGE_SIZES,
        reasons=REASONS,
        default_signer=runtime.composer.signer(Job(job.id, job.title)),
        error=error,
        kept=kept or {},
    )
