"""Synthetic applicants for the demo: one opening, 186 rows, every situation a recruiter meets.

Names are made up; addresses use the reserved example.com and example.org domains. Some names
are deliberately alike (Ann Lee, Anne Lee, Mary Ann Lee) so the privacy guard has work to do.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fairwell.services.applicant_file import COLUMNS
from fairwell.services.scorecard_file import ScorecardRow

JOB_TITLE = "Business Product Manager"
HEADER = list(COLUMNS)
FIRST = [
    "Ann",
    "Anne",
    "Mary",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Farah",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Jürgen",
    "Amélie",
]
LAST = [
    "Lee",
    "Okafor",
    "Novak",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Haddad",
    "Kowalski",
    "Silva",
    "Nguyen",
    "Moreau",
    "Eriksen",
    "Popescu",
    "Dubois",
    "Weber",
    "Costa",
    "Ivanova",
    "Brennan",
    "Yilmaz",
    "Müller",
]
# (stage, how many, has interviews)
APPLICANT_STAGES = (
    ("applied", 20, False),
    ("screen", 70, False),
    ("phone", 45, True),
    ("onsite", 23, True),
)


def _person(index: int, rng: random.Random) -> tuple[str, str]:
    look_alikes = {10: ("Ann", "Lee"), 11: ("Anne", "Lee"), 12: ("Mary Ann", "Lee")}
    if index in look_alikes:
        return look_alikes[index]
    return rng.choice(FIRST), rng.choice(LAST)


# Some candidates are where statutory rules differ by province or state (ISO 3166-2), chosen
# by their row number so the names drawn stay the same: Ontario's 45-day notice and three-year
# retention, other provinces' and states' own public holidays.
_ABROAD = {1: ("CA", "CA-ON", "America/Toronto"), 4: ("CA", "CA-BC", "America/Vancouver")}
_ABROAD[7] = ("US", "US-CA", "America/Los_Angeles")
# Ontario's interviewed candidates last met us 33 days ago: past the day-30 alert, before the
# 45-day deadline, so the demo sends them a status letter before their decision.
ONTARIO_INTERVIEW_DAYS = 33


def _place(index: int, german: bool) -> dict[str, str]:
    if german:
        region = "DE-BY" if index % 2 == 0 else ""
        return {"country": "DE", "region": region, "timezone": "Europe/Berlin"}
    country, region, zone = _ABROAD.get(index % 9, ("GB", "", "Europe/London"))
    return {"country": country, "region": region, "timezone": zone}


def _row(
    index: int,
    first: str,
    last: str,
    stage: str,
    source: str,
    when: datetime,
    rng: random.Random,
    interviewed: bool,
) -> dict[str, str]:
    german = rng.random() < 0.18
    slug = f"{first}.{last}".lower().replace(" ", "-")
    slug = slug.encode("ascii", "ignore").decode() or "person"
    # As ATS exports do, every record has a date, referred and sourced people's too: it is
    # the day the record was made, not an application of theirs.
    applied = (when - timedelta(days=30 + index % 7)).date().isoformat()
    place = _place(index, german)
    ago = ONTARIO_INTERVIEW_DAYS if place["region"] == "CA-ON" else 3
    return {
        "email": f"{slug}.{index}@example.{'org' if index % 3 else 'com'}",
        "first_name": first,
        "last_name": last,
        "job": JOB_TITLE,
        "stage": stage,
        "source": source,
        "referred_by": "",
        "referral_aware": "",
        "locale": "de" if german else "en",
        **place,
        "applied_at": applied,
        "last_interview_at": (when - timedelta(days=ago)).isoformat() if interviewed else "",
    }


def demo_rows(seed: int = 7, now: datetime | None = None) -> list[dict[str, str]]:
    """Return the 186 rows: 1 hired, 1 offer, 2 withdrawn, 158 applicants to reject,
    20 referred or sourced people who never applied (with dates, as ATS exports have them),
    and 4 duplicate rows that disagree with the rows they repeat (see :func:`_duplicates`)."""
    rng = random.Random(seed)
    when = now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    rows: list[dict[str, str]] = []
    plan = [("hired", 1, True), ("offer", 1, True), ("withdrawn", 2, False), *APPLICANT_STAGES]
    for stage, count, interviewed in plan:
        for _ in range(count):
            first, last = _person(len(rows), rng)
            rows.append(_row(len(rows), first, last, stage, "applied", when, rng, interviewed))
    for number in range(20):
        first, last = _person(len(rows), rng)
        sourced = number % 5 == 4  # found by a recruiter, not recommended
        row = _row(len(rows), first, last, "applied", "sourced" if sourced else "referred", when,
                   rng, False)  # fmt: skip
        if not sourced:
            row.update(
                referred_by=f"Employee {number % 5 + 1}",
                referral_aware="yes" if number % 2 else "no",
            )
        rows.append(row)
    rows.extend(_duplicates(rows, rng, when))
    return rows


def _duplicates(
    rows: list[dict[str, str]], rng: random.Random, when: datetime
) -> list[dict[str, str]]:
    """Four duplicate profiles, as ATS exports have them, each disagreeing with its original:

    * a second profile, the address in capitals, that got further (screen, then a phone
      interview) and was made later;
    * a profile the team closed as a duplicate (rejected) beside one still at onsite;
    * a colleague's referral, made before the person applied themselves;
    * an older profile at screen, the name typed without accents and in the other language,
      beside one at phone.
    """

    def picked(stage: str) -> dict[str, str]:
        return rng.choice([row for row in rows[4:150] if row["stage"] == stage])

    interview = (when - timedelta(days=2)).isoformat()
    later = (when - timedelta(days=12)).date().isoformat()
    earlier = (when - timedelta(days=45)).date().isoformat()
    further = picked("screen")
    closed = picked("onsite")
    referred = picked("applied")
    accented = next(
        row for row in rows[4:150] if row["stage"] == "phone" and not row["first_name"].isascii()
    )
    plain_name = "".join(
        char for char in unicodedata.normalize("NFKD", accented["first_name"]) if char.isascii()
    )
    other_language = "de" if accented["locale"] == "en" else "en"
    return [
        {**further, "email": further["email"].upper(), "stage": "phone", "applied_at": later,
         "last_interview_at": interview},
        {**closed, "stage": "rejected", "applied_at": later},
        {**referred, "source": "referred", "referred_by": "Employee 2", "referral_aware": "no",
         "applied_at": earlier},
        {**accented, "email": accented["email"].upper(), "first_name": plain_name,
         "stage": "screen", "locale": other_language, "last_interview_at": "",
         "applied_at": earlier},
    ]  # fmt: skip


def write_demo_csv(path: Path, seed: int = 7, now: datetime | None = None) -> int:
    """Write the rows; ``now`` dates them (interviews, applications) back from that moment."""
    rows = demo_rows(seed, now)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


COMPETENCIES = (
    ("Product sense", 3),
    ("SQL", 3),
    ("Stakeholder communication", 3),
    ("Roadmapping", 2),
)
# Checked by a screener against the application, before any interview.
REQUIREMENTS = (("Product management experience", 3),)
NOTES_FOR_CANDIDATES = (
    "Your case study structure was clear; quantify the impact of each option next time.",
    "Bring one example where your data changed a product decision.",
)


# The served demo's second opening writes its own wording (demo/web.py): competencies the
# built-in library knows nothing about. Statistics has no German wording yet, so German
# candidates below the bar on it wait for the hiring manager to write it in the browser.
SECOND_COMPETENCIES = (("SQL", 3), ("Data visualisation", 3), ("Statistics", 3))
SECOND_REQUIREMENTS = (("Analytics experience", 3),)
SECOND_WORDING = {
    "en": {
        "SQL": (
            "Your queries answered the questions, but the case needed joins across several "
            "tables that were not finished in the time.",
            "Practise queries that join three or more tables and check the row counts at each "
            "step.",
            "Your SQL was correct and easy to read.",
        ),
        "Data visualisation": (
            "Your charts showed the data, but the main finding was hard to see at a glance.",
            "For each chart you make, write the one sentence it should prove, then remove "
            "everything that does not help prove it.",
            "Your charts made the main finding clear at a glance.",
        ),
        "Statistics": (
            "In the A/B test question, the conclusion did not yet account for the sample size.",
            "Work through a few A/B test write-ups and compute the confidence interval for each "
            "result yourself.",
            "You chose sound statistical methods and explained why.",
        ),
        "Analytics experience": (
            "The role asks for analysis work that informed business decisions; your "
            "application described reporting without the decisions it informed.",
            "If you apply again, describe one analysis and the decision it changed.",
            "Your application showed analysis work that changed business decisions.",
        ),
    },
    "de": {
        "SQL": (
            "Ihre Abfragen beantworteten die Fragen, aber die Fallstudie verlangte Joins über "
            "mehrere Tabellen, die in der Zeit nicht fertig wurden.",
            "Üben Sie Abfragen, die drei oder mehr Tabellen verbinden, und prüfen Sie nach "
            "jedem Schritt die Zeilenzahl.",
            "Ihr SQL war korrekt und gut lesbar.",
        ),
        "Data visualisation": (
            "Ihre Diagramme zeigten die Daten, aber die wichtigste Erkenntnis war nicht auf "
            "einen Blick zu sehen.",
            "Schreiben Sie für jedes Diagramm den einen Satz auf, den es belegen soll, und "
            "entfernen Sie alles, was dabei nicht hilft.",
            "Ihre Diagramme machten die wichtigste Erkenntnis auf einen Blick deutlich.",
        ),
        "Analytics experience": (
            "Die Stelle verlangt Analysen, die Geschäftsentscheidungen beeinflusst haben; Ihre "
            "Bewerbung beschrieb Berichte ohne die Entscheidungen, die darauf folgten.",
            "Wenn Sie sich erneut bewerben, beschreiben Sie eine Analyse und die Entscheidung, "
            "die sie verändert hat.",
            "Ihre Bewerbung zeigte Analysen, die Geschäftsentscheidungen verändert haben.",
        ),
    },
}


def demo_scorecards(
    rows: list[dict[str, str]],
    seed: int = 11,
    competencies: tuple[tuple[str, int], ...] = COMPETENCIES,
    requirements: tuple[tuple[str, int], ...] = REQUIREMENTS,
) -> list[ScorecardRow]:
    """Two interviewers rate every competency of each interviewed applicant; a screener rates
    the requirements of about half the people rejected at screening."""
    rng = random.Random(seed)
    interviewed = {
        row["email"].lower(): row
        for row in rows
        if row["stage"] in ("phone", "onsite") and row["last_interview_at"]
    }
    cards: list[ScorecardRow] = []
    for email in sorted(interviewed):
        for interviewer in ("Interviewer 1", "Interviewer 2"):
            for competency, _ in competencies:
                note = rng.choice(NOTES_FOR_CANDIDATES) if rng.random() < 0.05 else ""
                cards.append(
                    ScorecardRow(
                        row=len(cards) + 2,
                        email=email,
                        job=row_job(interviewed[email]),
                        interviewer=interviewer,
                        competency=competency,
                        rating=rng.choice((1, 2, 2, 3, 3, 4)),
                        internal_note="Internal: calibrate with the panel.",
                        note_for_candidate=note,
                    )
                )
    for row in rows:
        if (
            row["stage"] == "screen"
            and row["email"].lower() not in interviewed
            and rng.random() < 0.5
        ):
            for requirement, _ in requirements:
                cards.append(
                    ScorecardRow(
                        row=len(cards) + 2,
                        email=row["email"].lower(),
                        job=row_job(row),
                        interviewer="Screener",
                        competency=requirement,
                        rating=rng.choice((1, 2)),
                        internal_note="Internal: short tenure.",
                        note_for_candidate="",
                    )
                )
    return _first_of_each(cards)


def row_job(row: dict[str, str]) -> str:
    return row.get("job") or JOB_TITLE


def _first_of_each(cards: list[ScorecardRow]) -> list[ScorecardRow]:
    """The demo file repeats a few people (duplicate rows); each rating is recorded once."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for card in cards:
        key = (card.email, card.interviewer, card.competency)
        if key not in seen:
            seen.add(key)
            unique.append(card)
    return unique
