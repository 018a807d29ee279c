"""About 200 people made to trip letters up (tests/adversarial.py) go through the real CLI:
import, reject, feedback approved by a named hiring manager, send to the embedded SMTP sink.
Every letter is then checked from the sink with code that shares nothing with Fairwell's guard:
one recipient, nobody else on file mentioned, nobody thanked for applying who did not apply,
each application written to once and only those that should be. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fairwell.cli import app
from fairwell.delivery.sink import MailSink, SinkMessage, read_sink
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import applications, jobs, outbox
from tests.adversarial import ANALYST, DESIGNER, REFERRAL, REJECTION, Roster, adversarial_roster
from tests.helpers import add_cli_user

# Words that tell a reader they applied, in both languages.
APPLICANT_WORDS = (
    "for applying",
    "your application",
    "this application",
    "you applied",
    "ihre bewerbung",
    "ihrer bewerbung",
    "dieser bewerbung",
    "beworben haben",
)
# Scorecards: one note for the candidate names another candidate of the same job (Ann Leeds's
# letter must be held), one is harmless (Anne Lee's letter carries it).
CARDS = (
    "email,job,interviewer,competency,rating,internal_note,note_for_candidate\n"
    "ann.leeds@example.org,Data Analyst,Ivan,SQL,2,,"
    "Ayşe Yılmaz structured the same case study more clearly.\n"
    "anne.lee@example.com,Data Analyst,Ivan,SQL,2,weak joins,Practise window functions.\n"
)
HELD = "ann.leeds@example.org"


def ascii_address(address: str) -> str:
    """The address as it goes on the wire: the domain IDNA-encoded, all lower case."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}".lower()


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def env(database_url: str, tmp_path: Path, sink: MailSink) -> Iterator[dict[str, str]]:
    environment = {
        "FAIRWELL_DATABASE_URL": database_url,
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_ORG_NAME": "Acme",
        "COLUMNS": "200",
    }
    run(environment, "init")
    add_cli_user(environment, tmp_path, "rita", "recruiter")
    add_cli_user(environment, tmp_path, "hank", "hiring_manager")
    yield environment


def import_reject_and_send(env: dict[str, str], tmp_path: Path, cards: str) -> dict[str, object]:
    """The whole flow through the CLI; returns the analyst job's plan as sent."""
    roster = adversarial_roster()
    summary = json.loads(run(env, "import", str(roster.write(tmp_path / "ats.csv")), "--json"))
    run(env, "competency", "add", "--job", ANALYST, "--name", "SQL", "--bar", "3")
    (tmp_path / "cards.csv").write_text(cards, encoding="utf-8")
    run(env, "import-scorecards", str(tmp_path / "cards.csv"))
    run(env, "users", "assign", "--username", "hank", "--job", ANALYST)
    for job in (ANALYST, DESIGNER):
        run(
            env,
            "reject",
            "--job",
            job,
            "--all-except-hired",
            "--reason",
            "role-closed",
            "--as",
            "rita",
        )
    run(env, "feedback", "approve", "--job", ANALYST, "--as", "hank")
    plan = json.loads(run(env, "plan", "--job", ANALYST, "--json"))
    for job in (ANALYST, DESIGNER):
        run(env, "send", "--job", job, "--yes", "--processes", "1")
    return {"import": summary, "plan": plan}


def letters_by_message_id(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each sent letter's Message-ID with its job and kind, as Fairwell's outbox recorded them."""
    engine = make_engine(env["FAIRWELL_DATABASE_URL"])
    query = (
        select(outbox.c.message_id, jobs.c.title, outbox.c.kind)
        .join(applications, applications.c.id == outbox.c.application_id)
        .join(jobs, jobs.c.id == applications.c.job_id)
    )
    try:
        with engine.begin() as conn:
            return {mid: (title, kind) for mid, title, kind in conn.execute(query).tuples()}
    finally:
        engine.dispose()


def refs_by_address(env: dict[str, str]) -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {}
    for job in (ANALYST, DESIGNER):
        for person in json.loads(run(env, "applicants", "--job", job, "--json")):
            refs.setdefault(person["email"], set()).add(person["ref"].casefold())
    return refs


# --- reading a message without Fairwell's code ---------------------------------------------


def readable(message: SinkMessage) -> tuple[str, list[str], list[str], str]:
    """All text a reader could see (headers decoded, parts decoded, NFC, case-folded), the To
    addresses, any copy headers, and the Message-ID."""
    parsed = message_from_bytes(message.data, policy=compat32)
    texts = [str(make_header(decode_header(value))) for value in parsed.values()]
    for part in parsed.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    text = unicodedata.normalize("NFC", "\n".join(texts)).casefold()
    to = [address.lower() for _, address in getaddresses(parsed.get_all("To", []))]
    copies = [name for name in ("Cc", "Bcc") if parsed.get_all(name)]
    return text, to, copies, str(parsed["Message-ID"]).strip()


def spans(text: str, needle: str) -> list[tuple[int, int]]:
    found, start = [], text.find(needle)
    while needle and start != -1:
        found.append((start, start + len(needle)))
        start = text.find(needle, start + 1)
    return found


def mentions_of_others(text: str, own: set[str], others: set[str]) -> list[str]:
    """Identifiers of other people that occur outside the addressee's own name and address
    ("ann lee" inside "mary ann lee" is Mary's name; "li@example.net" inside
    "lin.li@example.net" is Lin's address)."""
    covered = [span for identifier in own for span in spans(text, identifier)]
    return sorted(
        needle
        for needle in others - own
        if any(not any(a <= s and e <= b for a, b in covered) for s, e in spans(text, needle))
    )


def identifiers(roster: Roster, refs: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every person's names, addresses (wire and Unicode spelling) and references."""
    found: dict[str, set[str]] = {}
    for entry in roster.entries:
        key = ascii_address(entry.email)
        mine = found.setdefault(key, set())
        for row in entry.rows:
            name = f"{row['first_name']} {row['last_name']}"
            mine |= {unicodedata.normalize("NFC", name).casefold(), row["email"].casefold()}
        mine |= {key, entry.email.casefold()} | refs.get(key, set())
    return found


# --- the test ------------------------------------------------------------------------------


def check_every_letter(
    env: dict[str, str], sink: MailSink, roster: Roster
) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Check each received letter; return letters per (address, job) and every problem."""
    sent = letters_by_message_id(env)
    people = identifiers(roster, refs_by_address(env))
    everyone = set().union(*people.values())
    expected = {(ascii_address(e.email), e.job): e for e in roster.entries}
    counts: Counter[tuple[str, str]] = Counter()
    problems: list[str] = []
    for message in read_sink(sink.directory):
        text, to, copies, message_id = readable(message)
        if len(message.rcpt_tos) != 1 or copies or to != [message.rcpt_tos[0].lower()]:
            problems.append(f"message {message.number}: not one recipient")
            continue
        recipient = message.rcpt_tos[0].lower()
        job, kind = sent[message_id]
        counts[(recipient, job)] += 1
        entry = expected.get((recipient, job))
        if entry is None:
            problems.append(f"{recipient} ({job}): no letter was due")
            continue
        if kind != entry.letter:
            problems.append(f"{recipient} ({job}): a {kind} letter, not {entry.letter}")
        said = [words for words in APPLICANT_WORDS if words in text]
        if bool(said) is not entry.applied:
            problems.append(f"{recipient} ({job}): applied={entry.applied} but reads {said}")
        named = mentions_of_others(text, people[recipient], everyone)
        if named:
            problems.append(f"{recipient} ({job}): mentions {named}")
    return counts, problems


def test_an_adversarial_roster_gets_exactly_the_right_private_letters(
    env: dict[str, str], tmp_path: Path, sink: MailSink
) -> None:
    roster = adversarial_roster()
    assert 190 <= len({ascii_address(e.email) for e in roster.entries}) <= 210
    assert sum(len(e.rows) > 1 for e in roster.entries) == 12, "twelve duplicated applications"

    flow = import_reject_and_send(env, tmp_path, CARDS)

    summary = flow["import"]
    assert isinstance(summary, dict)
    assert summary["duplicate_rows_merged"] == sum(len(e.rows) - 1 for e in roster.entries)
    plan = flow["plan"]
    assert isinstance(plan, dict)
    assert [b["email"] for b in plan["blocked"]] == [HELD], "the note names another candidate"
    assert len(plan["merges"]) >= 12

    counts, problems = check_every_letter(env, sink, roster)
    assert problems == []
    due = {
        (ascii_address(e.email), e.job)
        for e in roster.entries
        if e.letter is not None and ascii_address(e.email) != HELD
    }
    assert set(counts) == due, "everyone due a letter got one, nobody else did"
    assert set(counts.values()) == {1}, "each application, duplicated or not, written to once"
    kinds = Counter(e.letter for e in roster.entries if (ascii_address(e.email), e.job) in due)
    assert kinds[REFERRAL] == 15 + 8 + 2 + 3 + 1, "every referred or sourced person"
    assert kinds[REJECTION] > 100


def test_a_note_naming_a_candidate_of_the_other_job_is_held_too(
    env: dict[str, str], tmp_path: Path, sink: MailSink
) -> None:
    cross_job = CARDS.replace(
        "Ayşe Yılmaz structured the same case study more clearly.",
        "Dora Designref0 structured the same case study more clearly.",
    )
    flow = import_reject_and_send(env, tmp_path, cross_job)
    plan = flow["plan"]
    assert isinstance(plan, dict)
    _, problems = check_every_letter(env, sink, adversarial_roster())
    assert problems == []
    assert [b["email"] for b in plan["blocked"]] == [HELD]
