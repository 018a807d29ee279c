"""Pull one job's applications from an ATS: the same profile, checks and merge as a file.

Page by page: each page is read through the vendor's profile (its stage, status and source
names), checked by Fairwell's own rules, and committed with the pull's checkpoint in one
transaction. A page with any problem is not written and the pull stops there, naming each
application and field; a pull stopped by the ATS (a 500 that outlasted the retries, a rate
limit asking for a long wait) resumes at that page on the next run. Pages already committed
are not pulled again, and pulling a job again changes only what changed (ATS ids are linked
to applications, so nothing is imported twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fairwell.errors import AtsError, ImportFileError
from fairwell.errors import PulledPageError as PulledPageError
from fairwell.errors import PullStopped as PullStopped
from fairwell.ports import Clock, ImportCounts
from fairwell.ports.ats import AtsConnector, AtsStore, Origin, PulledApplication, PullState
from fairwell.services.applicant_file import DEFAULT_LOCALE, ParsedFile, parse_applicant_records
from fairwell.services.export_profiles import ColumnProblems, Profile, Translation
from fairwell.services.tabular import parse_name


@dataclass(slots=True)
class PullReport:
    """What a pull did, summed over its pages (``resumed_at``: the page it started from)."""

    job_title: str
    pages: int = 0
    applications: int = 0
    duplicates_merged: int = 0
    resumed_at: int | None = None
    counts: ImportCounts = field(default_factory=lambda: ImportCounts(0, 0, 0, 0, 0, ()))


def pull_job(
    connector: AtsConnector,
    store: AtsStore,
    profile: Profile,
    ats_job_id: str,
    *,
    as_job: str | None,
    restart: bool,
    actor: str,
    clock: Clock,
    default_locale: str = DEFAULT_LOCALE,
) -> PullReport:
    """Pull every page not committed yet; raise PulledPageError or PullStopped part-way.

    An application whose ATS gives no language is in ``default_locale``."""
    vendor = connector.vendor
    checkpoint = store.checkpoint(vendor, ats_job_id)
    resuming = (
        not restart
        and checkpoint is not None
        and checkpoint.state is not PullState.DONE
        and checkpoint.cursor is not None
    )
    if resuming and checkpoint is not None:
        report = PullReport(checkpoint.job_title, resumed_at=checkpoint.pages + 1)
        cursor: str | None = checkpoint.cursor
        page_number = checkpoint.pages
    else:
        title = parse_name(as_job) if as_job else _title(connector, ats_job_id)
        store.begin_pull(vendor, ats_job_id, title, clock.now())
        report = PullReport(title)
        cursor, page_number = None, 0
    while True:
        page_number += 1
        try:
            page = connector.page(ats_job_id, cursor)
        except AtsError as error:
            store.interrupt_pull(vendor, ats_job_id, error.detail, clock.now())
            raise PullStopped(error, report.pages, report.resumed_at) from None
        parsed, origins = _checked(
            connector, profile, report.job_title, page.applications, report, default_locale
        )
        counts = store.import_page(
            vendor, ats_job_id, parsed.rows, origins, page.next_cursor, clock.now(), actor
        )
        _add(report, parsed, counts)
        if page.next_cursor is None:
            return report
        cursor = page.next_cursor


def _title(connector: AtsConnector, ats_job_id: str) -> str:
    return parse_name(connector.job_title(ats_job_id))


def _checked(
    connector: AtsConnector,
    profile: Profile,
    job_title: str,
    applications: list[PulledApplication],
    report: PullReport,
    default_locale: str,
) -> tuple[ParsedFile, dict[int, Origin]]:
    """The page's applications as checked rows, with the ATS application of each row."""
    if not applications:
        return ParsedFile([], 0), {}
    ids = {number: app.ats_application_id for number, app in enumerate(applications, 1)}
    problems = ColumnProblems(
        f"{connector.vendor} job",
        connector.api_fields,
        where=lambda row: f"application {ids.get(row, '?')}",
        label=_labeller(connector.vendor, ids),
    )
    translation = Translation(profile)
    records = [
        translation.record(number, {**app.values, "job": job_title}, problems)
        for number, app in enumerate(applications, 1)
    ]
    translation.finish(problems)
    try:
        parsed = parse_applicant_records(records, problems, default_locale=default_locale)
    except ImportFileError as error:
        raise PulledPageError(error.problems, report.pages) from None
    origins = {
        number: Origin(app.ats_application_id, app.ats_candidate_id)
        for number, app in enumerate(applications, 1)
    }
    return parsed, origins


def _labeller(vendor: str, ids: Mapping[int, str]) -> Callable[[int | None], tuple[str, None]]:
    def label(row: int | None) -> tuple[str, None]:
        if row is None:
            return f"{vendor} pull", None
        return f"{vendor} application {ids.get(row, '?')}", None

    return label


def _add(report: PullReport, parsed: ParsedFile, counts: ImportCounts) -> None:
    report.pages += 1
    report.applications += len(parsed.rows)
    report.duplicates_merged += parsed.duplicates_merged
    before = report.counts
    report.counts = ImportCounts(
        before.people_created + counts.people_created,
        before.applications_created + counts.applications_created,
        before.applications_updated + counts.applications_updated,
        before.unchanged + counts.unchanged,
        before.jobs_created + counts.jobs_created,
        before.new_jobs + counts.new_jobs,
    )
