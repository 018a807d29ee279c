"""Import applicants from a CSV, .xlsx or JSON file: validated whole, written whole in one
transaction, or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fairwell.domain.duplicates import Merge
from fairwell.ports.pipeline import ImportCounts, choice_json
from fairwell.services.applicant_file import DEFAULT_LOCALE, ParsedFile, read_applicant_file

if TYPE_CHECKING:
    # The pipeline's seam, not the whole store: `fairwell import` then loads the pipeline
    # store alone, not every store module.
    from fairwell.ports.pipeline import PipelineStore


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    duplicates_merged: int
    counts: ImportCounts
    merges: list[Merge] = field(default_factory=list)
    file: str = ""

    def as_json(self) -> dict[str, object]:
        """The summary for `fairwell import --json`: counts, and each merge with its rows."""
        counts = self.counts
        return {
            "file": self.file,
            "applications": self.rows,
            "created": counts.applications_created,
            "updated": counts.applications_updated,
            "unchanged": counts.unchanged,
            "people_created": counts.people_created,
            "jobs_created": counts.jobs_created,
            "new_jobs": list(counts.new_jobs),
            "duplicate_rows_merged": self.duplicates_merged,
            "merges": [merge_json(merge) for merge in self.merges],
        }


def merge_json(merge: Merge) -> dict[str, object]:
    return {
        "email": merge.email,
        "job": merge.job,
        "rows": list(merge.rows),
        "decided": [choice_json(choice) for choice in merge.choices],
        "text": merge.describe(),
    }


def import_file(
    store: PipelineStore,
    path: Path,
    *,
    actor: str,
    now: datetime,
    strict: bool = False,
    profile: str | None = None,
    default_locale: str = DEFAULT_LOCALE,
) -> ImportReport:
    """Parse and validate every row first; only a file without problems reaches the database.

    Rows that are one application are merged by rule and each merge is kept for the plan;
    ``strict`` refuses a file whose rows for one application disagree instead. Importing the
    same file again changes nothing (every row is reported unchanged). ``profile`` reads an
    ATS's export instead of Fairwell's layout: a shipped profile's name (``greenhouse``) or a
    ``.toml`` file (see fairwell.services.export_profiles). A person none of whose rows
    gives a locale gets ``default_locale`` (the edge passes FAIRWELL_DEFAULT_LOCALE or
    ``--locale``); a row's own locale always wins.
    """
    if profile is not None:
        return _import_export(store, path, profile, strict, default_locale, actor, now)
    # Checked whole first (kept on disk, as checked), then read back a chunk at a time as it
    # is written: the rows of a big file are never all in memory at once.
    with read_applicant_file(path, strict=strict, default_locale=default_locale) as checked:
        counts = store.upsert_applicants(
            checked.rows(), now, actor, checked.merges, path.name, job_titles=checked.job_titles
        )
    return ImportReport(
        rows=checked.applications,
        duplicates_merged=checked.duplicates_merged,
        counts=counts,
        merges=checked.merges,
        file=path.name,
    )


def _import_export(
    store: PipelineStore,
    path: Path,
    profile: str,
    strict: bool,
    default_locale: str,
    actor: str,
    now: datetime,
) -> ImportReport:
    parsed = _parse_export(path, profile, strict, default_locale)
    titles = {row.job for row in parsed.rows}
    counts = store.upsert_applicants(
        parsed.rows, now, actor, parsed.merges, path.name, job_titles=titles
    )
    return ImportReport(
        rows=len(parsed.rows),
        duplicates_merged=parsed.duplicates_merged,
        counts=counts,
        merges=parsed.merges,
        file=path.name,
    )


def _parse_export(path: Path, profile: str, strict: bool, default_locale: str) -> ParsedFile:
    from fairwell.services.export_profiles import load_profile, parse_export

    return parse_export(path, load_profile(profile), strict=strict, default_locale=default_locale)
