"""Import applicants from a CSV or JSON file: validated whole, written whole, or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fairwell.ports import ImportCounts, Store
from fairwell.services.applicant_file import parse_applicant_file


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    duplicates_merged: int
    counts: ImportCounts


def import_file(store: Store, path: Path, *, actor: str, now: datetime) -> ImportReport:
    """Parse and validate every row first; only a file without problems reaches the database.

    Importing the same file again changes nothing (every row is reported unchanged).
    """
    parsed = parse_applicant_file(path)
    counts = store.upsert_applicants(parsed.rows, now, actor)
    return ImportReport(
        rows=len(parsed.rows), duplicates_merged=parsed.duplicates_merged, counts=counts
    )
