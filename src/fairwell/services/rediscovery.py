"""Rediscovery: when a job opens, rank the people on file and, for those a recruiter picks,
queue a "a role that may fit you has opened" letter through the guarded outbox.

Only people with valid talent-pool consent (not withdrawn, not expired) who were not erased
are ranked or written to; consent is checked again when the letter is queued and once more
when it is sent. A ranking never rejects anyone: it is a list for a person to read.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fairwell.domain.matching import Match, PoolMember, Requirement, rank
from fairwell.domain.model import Job, LetterKind
from fairwell.errors import InvalidInput
from fairwell.guard.roster import Roster
from fairwell.ports import ApplicantView, NewLetter, Store
from fairwell.ports.rediscovery import OnFile, RediscoveryStore
from fairwell.services.compose import Composer, outbox_letter
from fairwell.services.semantic import NOT_USED, Semantic, scores
from fairwell.services.status_letters import long_date


@dataclass(frozen=True, slots=True)
class Ranked:
    person: OnFile
    match: Match


@dataclass(frozen=True, slots=True)
class RediscoveryReport:
    job: Job
    requirements: list[Requirement]
    ranked: list[Ranked]
    semantic: str  # whether semantic similarity was used, and if not, why
    semantic_used: bool

    def as_json(self) -> dict[str, object]:
        return {
            "job": self.job.title,
            "job_id": self.job.id,
            "requirements": [{"name": r.name, "bar": r.bar} for r in self.requirements],
            "semantic": self.semantic,
            "semantic_used": self.semantic_used,
            "matches": [_ranked_json(n, r) for n, r in enumerate(self.ranked, start=1)],
        }


def _ranked_json(position: int, ranked: Ranked) -> dict[str, object]:
    found, person = ranked.match, ranked.person
    return {
        "rank": position,
        "person_id": person.person_id,
        "email": person.email,
        "name": person.name,
        "consent_until": person.consent_until.isoformat(),
        "score": found.score,
        "met": list(found.met),
        "competencies": [
            {
                "name": c.name,
                "bar": c.bar,
                "rating": c.rating,
                "ratings": c.ratings,
                "jobs": list(c.jobs),
                "met": c.met,
            }
            for c in found.competencies
        ],
        "titles": list(person.titles),
        "semantic": found.semantic,
        "tied_with": list(found.tied_with),
        "explanation": found.explanation(),
    }


def rediscover(
    pool: RediscoveryStore,
    job: Job,
    now: datetime,
    meaning: Semantic = NOT_USED,
) -> RediscoveryReport:
    """Everyone on file with valid consent, best match for ``job`` first, each explained.

    With ``meaning.model``, similarity in meaning is part of each score and explanation.
    Names and addresses stay here: the model only reads titles and competency names.
    """
    requirements = pool.requirements(job.id)
    people = {p.person_id: p for p in pool.on_file(job.id, now)}
    members = [PoolMember(p.person_id, p.titles, p.evidence) for p in people.values()]
    model = meaning.model
    similar = scores(model, job.title, requirements, members) if model else None
    matches = rank(members, job.title, requirements, similar)
    ranked = [Ranked(people[m.person_id], m) for m in matches]
    return RediscoveryReport(job, requirements, ranked, meaning.status, model is not None)


@dataclass(frozen=True, slots=True)
class Invited:
    batch_id: int | None
    queued: int
    refused: list[tuple[int, str]]  # (person id, why no letter)


def invite(
    store: Store,
    pool: RediscoveryStore,
    composer: Composer,
    job: Job,
    person_ids: Sequence[int],
    *,
    actor: str,
    now: datetime,
) -> Invited:
    """Queue a role-opened letter for each picked person who still has valid consent."""
    if not person_ids:
        raise InvalidInput("pick at least one person to write to")
    on_file = {p.person_id: p for p in pool.on_file(job.id, now)}
    already = pool.invited(job.id)
    letters: list[NewLetter] = []
    refused: list[tuple[int, str]] = []
    roster = composer.roster(store)
    for person_id in dict.fromkeys(person_ids):
        why = _refusal(person_id, on_file, already)
        letter = None if why else _letter(store, composer, job, on_file[person_id], roster, now)
        if isinstance(letter, str) or why:
            refused.append((person_id, why or str(letter)))
        elif letter is not None:
            letters.append(letter)
    if not letters:
        return Invited(None, 0, refused)
    detail: dict[str, object] = {"kind": LetterKind.ROLE_OPENED.value, "refused": len(refused)}
    batch_id, count = store.create_batch(
        job.id, letters, actor, now, None, detail=functools.partial(dict, detail)
    )
    return Invited(batch_id, count, refused)


def _refusal(person_id: int, on_file: dict[int, OnFile], already: set[int]) -> str | None:
    if person_id not in on_file:
        return "not on file with valid consent"
    if person_id in already:
        return "already written to about this job"
    return None


def _letter(
    store: Store, composer: Composer, job: Job, person: OnFile, roster: Roster, now: datetime
) -> NewLetter | str:
    """The letter, or why the privacy guard refused it (the rule's name, no personal data)."""
    view = _view(store, person)
    kept_until = long_date(person.consent_until, view.person.locale)
    letter = composer.compose(
        view, job, roster, now, kind=LetterKind.ROLE_OPENED, extra={"kept_until": kept_until}
    )
    if letter.findings:
        return f"blocked by the privacy guard ({letter.findings[0].rule})"
    key = f"rediscovery:{job.id}:{person.person_id}"
    return outbox_letter(letter, composer.sender, letter_key=key)


def _view(store: Store, person: OnFile) -> ApplicantView:
    """The consented application as the composer reads it (its job's applicant list)."""
    views = store.applicants(person.application_job_id)
    return next(v for v in views if v.application.id == person.application_id)
