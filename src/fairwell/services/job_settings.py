"""A job's own settings: who signs its letters, and whether its search has ended.

Shared by `fairwell job ...` and the web job page. The sender name is checked as a header
value would be: it is one line that signs a letter, never a place for markup or line breaks.
"""

from __future__ import annotations

from datetime import datetime

from fairwell.domain.model import Job
from fairwell.errors import InvalidInput
from fairwell.ports.pipeline import PipelineStore

MAX_SENDER_NAME = 200


def clean_sender_name(text: str | None) -> str | None:
    """The name as it will sign letters; None for an empty one (the installation's name)."""
    name = " ".join((text or "").split())
    if not name:
        return None
    if len(name) > MAX_SENDER_NAME:
        raise InvalidInput(f"the sender name is longer than {MAX_SENDER_NAME} characters")
    if any(not char.isprintable() for char in name):
        raise InvalidInput("the sender name holds a character that cannot be printed")
    return name


def set_sender(
    store: PipelineStore, job_id: int, text: str | None, actor: str, now: datetime
) -> Job:
    """Who signs the job's letters from now on; an empty name goes back to the default."""
    name = clean_sender_name(text)
    store.set_job_sender(job_id, name, actor, now)
    return store.job_by_id(job_id)


def close_job(store: PipelineStore, job_id: int, closed: bool, actor: str, now: datetime) -> Job:
    """Close or reopen the job. Closing starts the retention clock of its applications that
    no letter of ours reached (docs/retention.md); it sends nothing and decides nothing."""
    if not store.set_job_closed(job_id, closed, actor, now):
        state = "closed" if closed else "open"
        raise InvalidInput(f"{store.job_by_id(job_id).title!r} is already {state}")
    return store.job_by_id(job_id)
