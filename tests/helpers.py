"""Small builders shared by the tests: applicant files and a wired-up runtime."""

from __future__ import annotations

import csv
from pathlib import Path

from fairwell.demo_data import HEADER

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
