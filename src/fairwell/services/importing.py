"""Import applicants from a CSV or JSON file: validated whole, written whole, or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fairwell.ports import ImportCounts, Store
from fairwell.services.applicant_file import ParsedFile, parse_applicant_file


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    duplicates_merged: int
    counts: ImportCounts


def import_file(
    store: Store, path: Path, *, actor: str, now: datetime, profile: str | None = None
) -> ImportReport:
    """Parse and validate every row first; only a file without problems reaches the database.

    Importing the same file again changes nothing (every row is reported unchanged).
    ``profile`` reads an ATS's export instead of Fairwell's layout: a shipped profile's name
    (``greenhouse``) or a ``.toml`` file (see fairwell.integrations.profiles).
    """
    parsed = parse_applicant_file(path) if profile is None else _parse_export(path, profile)
    counts = store.upsert_applicants(parsed.rows, now, actor)
    return ImportReport(
        rows=len(parsed.rows), duplicates_merged=parsed.duplicates_merged, counts=counts
    )


def _parse_export(path: Path, profile: str) -> ParsedFile:
    from fairwell.integrations.profiles import load_profile, parse_export

    return parse_export(path, load_profile(profile))
