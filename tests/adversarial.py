"""An adversarial roster of about 200 people in two jobs, and what each of them must receive.

Made to trip a letter system up: look-alike and nested names (Ann Lee, Anne Lee, Mary Ann
Lee, whose address holds Ann Lee's), namesakes, diacritics, other scripts, an internationalised
domain, case-different duplicate rows with different stages, a referral beside an own
application, referred and sourced people whose ``applied_at`` is filled (as every ATS export
has it), people hired, holding an offer, withdrawn or rejected before the import, and one
person referred for one job who applied for the other.

Deterministic: the same roster every run. What each person must get is written down here by
hand for every case, never computed with Fairwell's own code, so the end-to-end test checks
Fairwell against an independent statement of the rules.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from fairwell.demo.data import HEADER

ANALYST = "Data Analyst"
DESIGNER = "Designer"
REJECTION, REFERRAL = "rejection", "referral_closed"


@dataclass
class Entry:
    """One application (one person, one job) and the rows the file gives for it.

    ``letter`` is the kind of letter it must get (None: none at all); ``applied`` whether the
    person applied for this job themselves.
    """

    email: str  # as the person's address is spelt in their first row
    first: str
    last: str
    job: str
    rows: list[dict[str, str]]
    letter: str | None
    applied: bool

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Roster:
    entries: list[Entry] = field(default_factory=list)

    def rows(self) -> list[dict[str, str]]:
        """Every row, in a fixed shuffled order (duplicates are not next to each other)."""
        rows = [row for entry in self.entries for row in entry.rows]
        random.Random(14).shuffle(rows)
        return rows

    def write(self, path: Path) -> Path:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(self.rows())
        return path

    def people(self) -> dict[str, tuple[str, set[str]]]:
        """Each person by lower-case address: their full name and every spelling of the address."""
        found: dict[str, tuple[str, set[str]]] = {}
        for entry in self.entries:
            key = entry.email.lower()
            spellings = {row["email"].lower() for row in entry.rows}
            name, known = found.get(key, (entry.full_name, set()))
            found[key] = (name, known | spellings)
        return found


def row(email: str, first: str, last: str, job: str = ANALYST, **fields: str) -> dict[str, str]:
    values = {
        "email": email,
        "first_name": first,
        "last_name": last,
        "job": job,
        "stage": "screen",
        "source": "applied",
        "referred_by": "",
        "referral_aware": "",
        "locale": "en",
        "country": "GB",
        "timezone": "Europe/London",
        "applied_at": "2026-10-01",  # every record is dated, referred and sourced ones too
        "last_interview_at": "",
        "region": "",
    }
    values.update(fields)
    return values


GERMAN = {"locale": "de", "country": "DE", "timezone": "Europe/Berlin"}
INTERVIEWED = {"last_interview_at": "2026-10-20T14:00:00Z"}


def _single(roster: Roster, email: str, first: str, last: str, job: str = ANALYST,
            letter: str | None = REJECTION, **fields: str) -> None:  # fmt: skip
    source = fields.get("source", "applied")
    roster.entries.append(
        Entry(
            email,
            first,
            last,
            job,
            [row(email, first, last, job, **fields)],
            letter,
            source == "applied",
        )
    )


# People whose names and addresses are made to confuse: nested, alike, namesakes, scripts.
LOOK_ALIKES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("ann.lee@example.com", "Ann", "Lee", {}),
    ("anne.lee@example.com", "Anne", "Lee", {"stage": "phone", **INTERVIEWED}),
    ("mary.ann.lee@example.com", "Mary Ann", "Lee", GERMAN),
    ("lee.ann@example.org", "Lee", "Ann", {}),
    ("ann.leeds@example.org", "Ann", "Leeds", {"stage": "onsite", **INTERVIEWED}),
    ("jo.ann.lee-smith@example.org", "Jo Ann", "Lee-Smith", {}),
    ("li@example.net", "Li", "Li", {}),
    ("lin.li@example.net", "Lin", "Li", GERMAN),
    ("maria.garcia@example.com", "Maria", "Garcia", {}),
    ("m.garcia@example.org", "Maria", "Garcia", {"stage": "phone", **INTERVIEWED}),
    ("max.mueller@example.de", "Max", "Müller", GERMAN),
    ("max.muller@example.com", "Max", "Muller", {}),
    ("maxi.mueller@example.de", "Maxi", "Müller", GERMAN),
    ("zoe@example.com", "Zoë", "Ångström", {}),
    ("jose@example.es", "José", "Núñez", {}),
    ("lukasz@example.pl", "Łukasz", "Żółć", {}),
    ("soren@example.dk", "Søren", "Kierkegård", GERMAN),
    ("dorde@example.rs", "Đorđe", "Đokić", {}),
    ("ayse@example.com.tr", "Ayşe", "Yılmaz", {"stage": "onsite", **INTERVIEWED}),
    ("wang@example.cn", "小明", "王", {}),
    ("sato@example.jp", "花子", "佐藤", {}),
    ("dmitri@example.ru", "Дмитрий", "Иванов", {}),
    ("nikos@example.gr", "Νίκος", "Παπαδόπουλος", GERMAN),
    ("mohammed@example.ae", "محمد", "علي", {}),
    ("priya@example.in", "प्रिया", "शर्मा", {}),
    ("user@bücher.example", "Bettina", "Bücher", GERMAN),
    ("ana@café.example", "Ana", "Café", {}),
)


def _duplicates(roster: Roster) -> None:
    """Case-different rows of one application, disagreeing; the letter is written by hand."""
    cases: list[tuple[str, str, str, list[dict[str, str]], str | None, bool]] = [
        ("dup.screen@example.com", "Dana", "Dupont",
         [{"stage": "screen"}, {"stage": "onsite", **INTERVIEWED}], REJECTION, True),
        ("dup.closed@example.com", "Dirk", "Dorn",
         [{"stage": "rejected"}, {"stage": "phone", **INTERVIEWED}], REJECTION, True),
        ("dup.withdrawn@example.com", "Wanda", "Weiss",
         [{"stage": "onsite", **INTERVIEWED}, {"stage": "withdrawn"}], None, True),
        ("dup.hired@example.com", "Hugo", "Hart",
         [{"stage": "screen"}, {"stage": "hired"}, {"stage": "rejected"}], None, True),
        ("dup.offer@example.com", "Olga", "Ort",
         [{"stage": "withdrawn"}, {"stage": "offer"}], None, True),
        ("dup.rejected@example.com", "Rene", "Roth",
         [{"stage": "rejected"}, {"stage": "rejected"}], None, True),
        ("dup.referral@example.com", "Rita", "Rausch",
         [{"source": "referred", "referred_by": "Carol Chen", "applied_at": "2026-09-01"},
          {"source": "applied"}], REJECTION, True),
        ("dup.both.referred@example.com", "Ben", "Bauer",
         [{"source": "referred", "referred_by": "Carol Chen", "referral_aware": "yes"},
          {"source": "referred", "referred_by": "Dan Dole", "referral_aware": "no"}],
         REFERRAL, False),
        ("dup.sourced@example.com", "Sven", "Stahl",
         [{"source": "sourced"}, {"source": "referred", "referred_by": "Carol Chen"}],
         REFERRAL, False),
        ("dup.names@example.com", "Zoë", "Quill",
         [{"first_name": "Zoe", "stage": "screen", "locale": "de"},
          {"stage": "onsite", **INTERVIEWED}], REJECTION, True),
        ("dup.triple@example.com", "Tara", "Tell",
         [{"stage": "applied"}, {"stage": "phone", **INTERVIEWED}, {"stage": "screen"}],
         REJECTION, True),
        ("dup.german@example.de", "Günther", "Groß",
         [{**GERMAN, "stage": "phone", **INTERVIEWED}, {"stage": "screen", "locale": "en"}],
         REJECTION, True),
    ]  # fmt: skip
    for email, first, last, variants, letter, applied in cases:
        spellings = [email, email.upper(), email.title()]
        rows = [
            row(spellings[n % 3], variant.get("first_name", first), last, **variant)
            for n, variant in enumerate(variants)
        ]
        roster.entries.append(Entry(email, first, last, ANALYST, rows, letter, applied))


FIRST = ("Pat", "Sam", "Alex", "Kim", "Noa", "Ira", "Eli", "Robin", "Jules", "Toni")
LAST = ("Doe", "Roe", "Poe", "Moe", "Lowe", "Shaw", "Ng", "Ito", "Oda", "Abe")


def _fillers(roster: Roster, job: str, count: int, start: int) -> None:
    """Ordinary applicants at every live stage; each name is unique (a number in it)."""
    rng = random.Random(start)
    for n in range(start, start + count):
        first, last = FIRST[n % len(FIRST)], f"{LAST[(n // 10) % len(LAST)]}{n}"
        stage = rng.choice(("applied", "screen", "screen", "phone", "onsite"))
        extra = INTERVIEWED if stage in ("phone", "onsite") else {}
        german = GERMAN if n % 5 == 0 else {}
        _single(roster, f"p{n}@example.com", first, last, job, stage=stage, **extra, **german)


def _referred_and_sourced(roster: Roster) -> None:
    """Never applied, every one of them with applied_at filled."""
    for n in range(15):
        aware = ("yes", "no", "")[n % 3]
        german = GERMAN if n % 4 == 0 else {}
        _single(roster, f"ref{n}@example.org", "Rafa", f"Referred{n}", letter=REFERRAL,
                source="referred", referred_by=f"Employee {n % 4}", referral_aware=aware,
                applied_at=f"2026-09-{n + 1:02d}", **german)  # fmt: skip
    for n in range(8):
        german = GERMAN if n % 3 == 0 else {}
        stage = ("applied", "screen", "phone")[n % 3]
        extra = INTERVIEWED if stage == "phone" else {}
        _single(roster, f"src{n}@example.net", "Sol", f"Sourced{n}", letter=REFERRAL,
                source="sourced", stage=stage, applied_at=f"2026-08-{n + 10:02d}",
                **extra, **german)  # fmt: skip


def _protected(roster: Roster) -> None:
    _single(roster, "hired@example.com", "Hana", "Hired", letter=None, stage="hired")
    _single(roster, "offer1@example.com", "Otto", "Offer", letter=None, stage="offer")
    _single(roster, "offer2@example.com", "Ola", "Offer", letter=None, stage="offer", **GERMAN)
    for n in range(3):
        _single(roster, f"withdrawn{n}@example.com", "Willa", f"Withdrawn{n}", letter=None,
                stage="withdrawn")  # fmt: skip
    for n in range(2):
        _single(roster, f"told{n}@example.com", "Tom", f"Told{n}", letter=None, stage="rejected")


def _designer(roster: Roster) -> None:
    """The second job: its own people, a cross-job look-alike, and one person in both jobs."""
    _fillers(roster, DESIGNER, 22, 500)
    _single(roster, "anne.lee@example.org", "Anne", "Lee", DESIGNER)  # Anne Lee's namesake
    _single(roster, "ann.lea@example.com", "Ann", "Lea", DESIGNER, **GERMAN)
    for n in range(3):
        _single(roster, f"dref{n}@example.org", "Dora", f"Designref{n}", DESIGNER,
                letter=REFERRAL, source="referred", referred_by="Employee 9")  # fmt: skip
    # Referred for the analyst job, applied for the designer job: one letter of each kind.
    _single(roster, "both.jobs@example.com", "Bea", "Both", ANALYST, letter=REFERRAL,
            source="referred", referred_by="Employee 1", referral_aware="no")  # fmt: skip
    _single(roster, "BOTH.JOBS@example.com", "Bea", "Both", DESIGNER)


def adversarial_roster() -> Roster:
    """About 200 people: the same every run."""
    roster = Roster()
    for email, first, last, fields in LOOK_ALIKES:
        _single(roster, email, first, last, **fields)
    _duplicates(roster)
    _fillers(roster, ANALYST, 100, 0)
    _referred_and_sourced(roster)
    _protected(roster)
    _designer(roster)
    return roster
