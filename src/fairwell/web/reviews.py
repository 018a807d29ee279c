"""What the feedback and request pages share: who may review, which job, and the wording check.

Admins, recruiters and hiring managers review; a hiring manager only on the jobs assigned to
them. A job, draft or request the user may not see answers 404, exactly like one that does not
exist, so its id tells an outsider nothing. Interviewers get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from fairwell.domain.model import Job
from fairwell.domain.users import User
from fairwell.errors import FairwellError, NotFound
from fairwell.ports import WordingCheck, WordingFinding
from fairwell.web.common import READERS, Current, api_caller, runtime_of, visible_jobs


def page(app: FastAPI, path: str, handler: Callable[..., Response]) -> None:
    """A server-rendered page: HTML, and not part of the API's documentation."""
    app.get(path, response_class=HTMLResponse, include_in_schema=False)(handler)


def api_reviewer(current: Annotated[Current, Depends(api_caller)]) -> Current:
    """API writes for reviewers: a bearer token of an admin, recruiter or hiring manager."""
    if current[0].role not in READERS:
        raise HTTPException(status_code=403, detail="for recruiters and hiring managers")
    return current


def jobs_for(request: Request, user: User) -> list[Job]:
    """The jobs this user may review, by title."""
    allowed = visible_jobs(request, user)
    summaries = runtime_of(request).pipeline.jobs()
    return [s.job for s in summaries if allowed is None or s.job.id in allowed]


def visible_job(request: Request, user: User, job_id: int) -> Job:
    """The job, or 404 when it does not exist or is not this user's to see."""
    allowed = visible_jobs(request, user)
    try:
        if allowed is None or job_id in allowed:
            return runtime_of(request).pipeline.job_by_id(job_id)
    except NotFound:
        pass
    raise HTTPException(status_code=404, detail="no such job")


def may_see(request: Request, user: User, job: Job) -> bool:
    allowed = visible_jobs(request, user)
    return allowed is None or job.id in allowed


def checker(request: Request) -> WordingCheck:
    """The runtime's wording check, built once per process."""
    return runtime_of(request).wording_check


def status_of(error: FairwellError) -> int:
    """404 for something that is not there, 400 for input we refuse."""
    return 404 if isinstance(error, NotFound) else 400


def http_error(error: FairwellError) -> HTTPException:
    return HTTPException(status_code=status_of(error), detail=str(error).splitlines()[0])


def finding_json(finding: WordingFinding, text: str) -> dict[str, object]:
    """A finding for the API: the rule, the flagged words as written, why, and what to try."""
    start, end = finding.span
    return {
        "rule": finding.rule,
        "span": [start, end],
        "phrase": text[start:end],
        "why": finding.why,
        "suggestion": finding.suggestion,
    }


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text on one line; ``finding`` numbers the finding it belongs to (1, 2, ...)."""

    text: str
    finding: int | None = None
    closes: bool = False  # the last piece of its finding: the page puts the number after it


@dataclass(frozen=True, slots=True)
class Flag:
    """A finding as the page shows it: numbered, with the flagged words as written."""

    number: int
    rule: str
    phrase: str
    why: str
    suggestion: str


def flags(text: str, findings: tuple[WordingFinding, ...] | list[WordingFinding]) -> list[Flag]:
    return [
        Flag(n, f.rule, text[f.span[0] : f.span[1]], f.why, f.suggestion)
        for n, f in enumerate(findings, 1)
    ]


def marked_lines(
    text: str, findings: tuple[WordingFinding, ...] | list[WordingFinding]
) -> list[list[Piece]]:
    """The text split into lines of pieces, each flagged span marked with its finding's number.

    Where two findings overlap, the first one keeps the overlap. Blank lines are kept, so
    line numbers match the text's.
    """
    owner = [0] * len(text)
    for number, finding in enumerate(findings, 1):
        start, end = finding.span
        for index in range(max(start, 0), min(end, len(text))):
            owner[index] = owner[index] or number
    lines: list[list[Piece]] = [[]]
    for number, indices in groupby(range(len(text)), key=owner.__getitem__):
        run = "".join(text[i] for i in indices)
        for count, part in enumerate(run.split("\n")):
            if count:
                lines.append([])
            if part:
                lines[-1].append(Piece(part, number or None))
    return _closed(lines)


def _closed(lines: list[list[Piece]]) -> list[list[Piece]]:
    """Mark the last piece of each finding, where its number goes."""
    last: dict[int, tuple[int, int]] = {}
    for row, line in enumerate(lines):
        for column, piece in enumerate(line):
            if piece.finding:
                last[piece.finding] = (row, column)
    ends = set(last.values())
    return [
        [Piece(p.text, p.finding, (row, column) in ends) for column, p in enumerate(line)]
        for row, line in enumerate(lines)
    ]
