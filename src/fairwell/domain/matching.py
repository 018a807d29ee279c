"""Rediscovery: rank the people on file against a new job's competencies, and say why.

Pure: the caller passes the job's requirements (competency name and bar, 1-4) and, for each
person with valid consent, their past interviewers' ratings per competency name and the
titles of the jobs they applied for. The ranking is advice for a recruiter, never a decision:
nothing here rejects anyone, and a person without evidence is listed, not dropped.

The score adds up:
1. how many of the job's competencies the person met the bar on (past average rating >= bar);
2. how far above or below the bar they were, a quarter point per full step, capped;
3. how much their past job titles share words with this one (text similarity);
4. optional semantic similarity, in [0, 1] and worth at most one met competency, between
   the job's text (title and competencies) and the person's (past job titles and the
   competencies they were rated well on), computed by the caller with a local embedding
   model (services/semantic.py).
Equal scores are listed by how long the person has been on file (the lower person id first),
and the explanation says the order among them is not a judgement.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STEP_WEIGHT = 0.25  # per rating step above or below the bar
TITLE_WEIGHT = 0.5
# At most one met competency's worth: ratings from interviews are evidence, likeness of
# wording is a hint.
SEMANTIC_WEIGHT = 1.0
# A past average this high (of 4) puts the competency's name in the person's text.
WELL_RATED = 3.0
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Requirement:
    name: str
    bar: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """One past job's ratings of one competency: their average and how many there were."""

    competency: str
    job_title: str
    average: float
    ratings: int


@dataclass(frozen=True, slots=True)
class PoolMember:
    person_id: int
    titles: tuple[str, ...]  # the jobs they applied for
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class CompetencyMatch:
    name: str
    bar: int
    rating: float | None  # the average over every past rating of it; None: never rated
    ratings: int
    jobs: tuple[str, ...]

    @property
    def met(self) -> bool:
        return self.rating is not None and self.rating >= self.bar


@dataclass(frozen=True, slots=True)
class Match:
    person_id: int
    score: float
    competencies: tuple[CompetencyMatch, ...]
    shared_words: tuple[str, ...]  # words of this job's title found in their past titles
    title_similarity: float
    semantic: float | None
    tied_with: tuple[int, ...] = ()

    @property
    def met(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.competencies if c.met)

    def explanation(self) -> list[str]:
        """What the recruiter reads: each competency with its evidence, the titles, the tie."""
        lines = [_explain(c) for c in self.competencies]
        if self.shared_words:
            lines.append(f"past job titles share: {', '.join(self.shared_words)}")
        lines.extend(self._semantic_lines())
        if self.tied_with:
            lines.append(
                f"same score as {len(self.tied_with)} other(s); among them the order is by "
                "time on file, not a judgement"
            )
        return lines

    def _semantic_lines(self) -> list[str]:
        if self.semantic is None:
            return []
        lines = [f"similar in meaning to the role's requirements: {self.semantic:.2f} of 1"]
        if not self.met and not self.shared_words:
            lines.append(
                "no competency met and no title word shared: the similarity in meaning is "
                "what places them"
            )
        return lines


def _explain(found: CompetencyMatch) -> str:
    if found.rating is None:
        return f"{found.name} (bar {found.bar}): no past rating"
    verdict = "met the bar" if found.met else "below the bar"
    jobs = ", ".join(found.jobs)
    plural = "" if found.ratings == 1 else "s"
    return (
        f"{found.name} (bar {found.bar}): {verdict}, {found.rating:.1f} "
        f"from {found.ratings} rating{plural} ({jobs})"
    )


def words(text: str) -> set[str]:
    return {word.casefold() for word in _WORD.findall(text) if len(word) > 2}


def requirements_text(job_title: str, requirements: Sequence[Requirement]) -> str:
    """The job as one text for the embedding model: its title and its competencies."""
    names = "; ".join(r.name for r in requirements)
    return f"{job_title}. {names}" if names else job_title


def profile_text(member: PoolMember) -> str:
    """A person's file as one text for the embedding model: past job titles and the
    competencies they were rated well on. Only titles and competency names go in: never a
    name, an address or an interviewer's note, and nothing they were rated poorly on."""
    strong = sorted({e.competency.casefold() for e in member.evidence if e.average >= WELL_RATED})
    return ". ".join(part for part in ("; ".join(member.titles), "; ".join(strong)) if part)


def similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors, clipped to [0, 1]: opposite meaning earns nothing."""
    norms = math.hypot(*a) * math.hypot(*b)
    if norms == 0:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return max(0.0, min(1.0, dot / norms))


def competency_match(requirement: Requirement, evidence: Sequence[Evidence]) -> CompetencyMatch:
    """The person's evidence for one competency, matched by name (case aside), averaged."""
    wanted = requirement.name.casefold().strip()
    found = [e for e in evidence if e.competency.casefold().strip() == wanted]
    count = sum(e.ratings for e in found)
    if count == 0:
        return CompetencyMatch(requirement.name, requirement.bar, None, 0, ())
    average = sum(e.average * e.ratings for e in found) / count
    jobs = tuple(sorted({e.job_title for e in found}))
    return CompetencyMatch(requirement.name, requirement.bar, round(average, 2), count, jobs)


def match(
    member: PoolMember,
    job_title: str,
    requirements: Sequence[Requirement],
    semantic: float | None = None,
) -> Match:
    """One person against the job; ``semantic`` is their similarity in meaning, if computed."""
    competencies = tuple(competency_match(r, member.evidence) for r in requirements)
    shared = words(job_title) & set().union(*(words(t) for t in member.titles))
    title_words = words(job_title)
    title_similarity = len(shared) / len(title_words) if title_words else 0.0
    if semantic is not None:
        semantic = round(semantic, 4)
    score = _score(competencies, title_similarity, semantic)
    return Match(
        member.person_id, score, competencies, tuple(sorted(shared)), title_similarity, semantic
    )


def _score(
    competencies: Sequence[CompetencyMatch], title_similarity: float, semantic: float | None
) -> float:
    met = sum(1 for c in competencies if c.met)
    steps = sum(max(-2.0, min(2.0, c.rating - c.bar)) for c in competencies if c.rating is not None)
    total = met + STEP_WEIGHT * steps + TITLE_WEIGHT * title_similarity
    if semantic is not None:
        total += SEMANTIC_WEIGHT * semantic
    return round(total, 4)


def rank(
    members: Sequence[PoolMember],
    job_title: str,
    requirements: Sequence[Requirement],
    semantic: Mapping[int, float] | None = None,
) -> list[Match]:
    """Everyone, best match first; equal scores by time on file, each told who they tie with.

    ``semantic`` maps person id to similarity in meaning; None: ranked without it, exactly
    as before it existed.
    """
    matches = [
        match(m, job_title, requirements, None if semantic is None else semantic[m.person_id])
        for m in members
    ]
    matches.sort(key=lambda m: (-m.score, m.person_id))
    by_score: dict[float, list[int]] = {}
    for found in matches:
        by_score.setdefault(found.score, []).append(found.person_id)
    return [_with_ties(found, by_score[found.score]) for found in matches]


def _with_ties(found: Match, same: list[int]) -> Match:
    others = tuple(p for p in same if p != found.person_id)
    if not others:
        return found
    return Match(
        found.person_id,
        found.score,
        found.competencies,
        found.shared_words,
        found.title_similarity,
        found.semantic,
        others,
    )
