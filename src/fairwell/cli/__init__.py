"""The command line: every job a recruiter or operator runs (Typer + Rich).

Exit codes, relied on by scripts: 0 ok; 1 refused (bad input, unknown job, a plan that
changed, letters held or failed); 2 wrong usage; 3 configuration error. A failure prints one
line on standard error. Personal data goes to standard output only, never to logs.
"""

from __future__ import annotations

# Importing the command modules registers their commands on the app.
from fairwell.cli import (  # noqa: F401
    ats,
    competencies,
    deadlines,
    feedback,
    inbox,
    jobs,
    operations,
    privacy,
    records,
    rediscover,
    requests,
    retention,
    sending,
    users,
    webhooks,
)
from fairwell.cli.base import app


def main() -> None:
    app()
