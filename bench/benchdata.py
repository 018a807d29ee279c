"""Inputs for bench/send.py: N synthetic applicants, as a fairwell CSV and as mailmerge files.

Every person is distinct (the address carries the row number) and uses example.com. Names come
from the demo's lists, so, as in real data, many people share a full name and some names have
non-ASCII letters. Everyone applied for one job and none is hired, so rejecting "all except
hired" decides all N and all N get a rejection letter.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import platform
import random
import secrets
import sqlite3
import string
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fairwell
from fairwell.demo.data import FIRST, HEADER, LAST
from fairwell.domain.reasons import reason_for

JOB_TITLE = "Bench Analyst"
ORG_NAME = "Bench Corp"
FROM_ADDRESS = "careers@bench.example.com"
REASON = "position-filled"
SEED = 2026
GERMAN_SHARE = 0.18
# (stage, weight); phone and onsite people have had interviews.
STAGES = (("applied", 10), ("screen", 45), ("phone", 30), ("onsite", 15))
INTERVIEWED = frozenset({"phone", "onsite"})


def applicant_rows(n: int, seed: int = SEED) -> list[dict[str, str]]:
    """Return N rows in fairwell's import format, the same rows for the same N and seed."""
    return list(iter_applicant_rows(n, seed))


def iter_applicant_rows(n: int, seed: int = SEED, start: int = 0) -> Iterator[dict[str, str]]:
    """The rows of :func:`applicant_rows` one at a time (a million rows are 1 GB as a list).

    ``start`` numbers the people (and their addresses) from there: rows that never meet
    the people of another call with a different range.
    """
    rng = random.Random(seed + start)
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    stages = [stage for stage, _ in STAGES]
    weights = [weight for _, weight in STAGES]
    for index in range(start, start + n):
        stage = rng.choices(stages, weights)[0]
        yield _row(index, rng, when, stage)


PER_PAST_JOB = 100  # people on file per past job
ON_FILE_CHUNK = 10_000


def put_on_file(engine: Any, n: int) -> None:
    """N people on file before the bench's job, each with one application for one of N / 100
    past jobs: the people of :func:`iter_applicant_rows` (so the roster's names, addresses
    and references look like a real one's), written with plain INSERTs in chunks, as fast
    as the database takes them; the roster triggers run as on any import."""
    from sqlalchemy import insert

    from fairwell.storage.tables import applications, jobs, persons

    rows = iter_applicant_rows(n, seed=SEED + 1)
    with engine.begin() as conn:
        for first in range(0, n, ON_FILE_CHUNK):
            chunk = list(itertools.islice(rows, ON_FILE_CHUNK))
            numbers = range(first, first + len(chunk))
            titles = [_past_job(i) for i in numbers if i % PER_PAST_JOB == 0]
            if titles:
                conn.execute(insert(jobs), titles)
            people = [_on_file(i, row) for i, row in zip(numbers, chunk, strict=True)]
            conn.execute(insert(persons), people)
            conn.execute(insert(applications), [_past_application(i) for i in numbers])


ON_FILE_SINCE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _past_job(i: int) -> dict[str, Any]:
    number = i // PER_PAST_JOB
    return {"id": number + 1, "title": f"Past job {number}", "created_at": ON_FILE_SINCE}


def _on_file(i: int, row: dict[str, str]) -> dict[str, Any]:
    names = ("email", "first_name", "last_name", "locale", "country", "timezone")
    when = {"created_at": ON_FILE_SINCE, "updated_at": ON_FILE_SINCE}
    return {"id": i + 1, **{name: row[name] for name in names}, **when}


def _past_application(i: int) -> dict[str, Any]:
    return {
        "ref": f"FW-P{i:09d}",
        "job_id": i // PER_PAST_JOB + 1,
        "person_id": i + 1,
        "stage": "screen",
        "source": "applied",
        "created_at": ON_FILE_SINCE,
        "updated_at": ON_FILE_SINCE,
    }


def _row(index: int, rng: random.Random, when: datetime, stage: str) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    german = rng.random() < GERMAN_SHARE
    slug = f"{first}.{last}".lower().replace(" ", "-").encode("ascii", "ignore").decode()
    interview = when - timedelta(days=rng.randint(1, 20))
    return {
        "email": f"{slug}.{index}@example.com",
        "first_name": first,
        "last_name": last,
        "job": JOB_TITLE,
        "stage": stage,
        "source": "applied",
        "referred_by": "",
        "referral_aware": "",
        "locale": "de" if german else "en",
        "country": "DE" if german else "GB",
        "timezone": "Europe/Berlin" if german else "Europe/London",
        "applied_at": (when - timedelta(days=rng.randint(25, 60))).date().isoformat(),
        "last_interview_at": interview.isoformat() if stage in INTERVIEWED else "",
    }


def write_applicants_csv(path: Path, rows: Iterable[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


def application_refs(database: Path) -> dict[str, str]:
    """Email -> application reference, as fairwell stored them (empty when no database)."""
    if not database.exists():
        return {}
    query = (
        "SELECT persons.email, applications.ref FROM applications "
        "JOIN persons ON persons.id = applications.person_id"
    )
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return dict(connection.execute(query).fetchall())


def _synthetic_ref(rng: random.Random) -> str:
    # The same shape as fairwell's references, for a run without a fairwell database.
    return "FW-" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(10))


# One template for both languages. The body is rendered once and used for both parts, and the
# HTML part is made from its paragraphs, as fairwell does; the wording is fairwell's own.
MAILMERGE_TEMPLATE = """\
{% set subject %}{% if locale == "de" %}Ihre Bewerbung als {{ job_title }} bei {{ org_name }}\
{% else %}Your application for {{ job_title }} at {{ org_name }}{% endif %}{% endset %}\
{% set body %}{% if locale == "de" %}Guten Tag {{ first_name }} {{ last_name }},

vielen Dank für Ihre Bewerbung als {{ job_title }} bei {{ org_name }}{% if interviewed %} \
und für die Zeit, die Sie sich für die Gespräche mit uns genommen haben{% endif %}.

Wir haben uns entschieden, Ihre Bewerbung nicht weiter zu berücksichtigen, weil {{ reason }}.

Wir wissen, dass Sie sich eine andere Nachricht gewünscht haben, und danken Ihnen für Ihr \
Interesse an {{ org_name }}.

Mit freundlichen Grüßen
{{ sender_name }}

Ihre Referenz: {{ application_ref }}{% else %}Dear {{ first_name }},

thank you for applying for the {{ job_title }} role at {{ org_name }}{% if interviewed %}, \
and for the time you spent in interviews with us{% endif %}.

We have decided not to move forward with your application, because {{ reason }}.

We know this is not the news you hoped for, and we are grateful for your interest in \
{{ org_name }}.

Kind regards,
{{ sender_name }}

Your reference: {{ application_ref }}{% endif %}{% endset %}\
TO: {{ full_name }} <{{ email }}>
FROM: {{ org_name }} <{{ from_address }}>
SUBJECT: {{ subject }}
MIME-Version: 1.0
Content-Language: {{ locale }}
Content-Type: multipart/alternative; boundary="=_mm_bench"

--=_mm_bench
Content-Type: text/plain; charset=utf-8

{{ body }}

--=_mm_bench
Content-Type: text/html; charset=utf-8

<!DOCTYPE html>
<html lang="{{ locale }}">
<head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em;">
{% for paragraph in body.split("\\n\\n") %}<p>{{ paragraph.replace("\\n", "<br>\\n") }}</p>
{% endfor %}</body>
</html>

--=_mm_bench--
"""

MAILMERGE_COLUMNS = (
    "email",
    "full_name",
    "first_name",
    "last_name",
    "job_title",
    "org_name",
    "from_address",
    "sender_name",
    "reason",
    "application_ref",
    "interviewed",
    "locale",
)


def write_mailmerge_inputs(
    directory: Path, rows: list[dict[str, str]], refs: dict[str, str], host: str, port: int
) -> dict[str, Path]:
    """Write mailmerge's template, CSV database and server config; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "template": directory / "mailmerge_template.txt",
        "database": directory / "mailmerge_database.csv",
        "config": directory / "mailmerge_server.conf",
    }
    paths["template"].write_text(MAILMERGE_TEMPLATE, encoding="utf-8")
    rng = random.Random(secrets.randbits(32))
    with paths["database"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MAILMERGE_COLUMNS, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        for row in rows:
            writer.writerow(_mailmerge_row(row, refs.get(row["email"]) or _synthetic_ref(rng)))
    # No security, no username (so no password prompt), no rate limit (ratelimit = 0).
    paths["config"].write_text(
        f"[smtp_server]\nhost = {host}\nport = {port}\nratelimit = 0\n", encoding="utf-8"
    )
    return paths


def _mailmerge_row(row: dict[str, str], ref: str) -> dict[str, str]:
    locale = row["locale"]
    return {
        "email": row["email"],
        "full_name": f"{row['first_name']} {row['last_name']}",
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "job_title": row["job"],
        "org_name": ORG_NAME,
        "from_address": FROM_ADDRESS,
        "sender_name": ORG_NAME,
        "reason": reason_for(REASON).for_locale(locale),
        "application_ref": ref,
        "interviewed": "yes" if row["stage"] in INTERVIEWED or row["last_interview_at"] else "",
        "locale": locale,
    }


def with_bytecode(env: dict[str, str]) -> dict[str, str]:
    """``env``, with Fairwell's modules compiled to bytecode first, as an install has them.

    pip compiles every module of a package it installs. An editable checkout has only what
    earlier runs left in its ``__pycache__`` folders, and none at all under
    PYTHONDONTWRITEBYTECODE (set on these machines): every process the bench starts would
    compile Fairwell's modules again, some 40 ms and more a process. So they are compiled
    here once, untimed, next to the sources (``__pycache__`` is ignored by git), and every
    step reads them, as it reads the installed libraries' own.
    """
    package = Path(fairwell.__file__).parent
    compile_all = [sys.executable, "-m", "compileall", "-q", str(package)]
    writing = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(compile_all, env=writing, check=True, stdout=subprocess.DEVNULL)
    return env


def run_facts(n: int, sink: str) -> dict[str, Any]:
    """What every report starts with: the day, the size and the machine it ran on."""
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "n": n,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sink": sink,
    }


def finish(
    report: Any, as_json: bool, print_table: Callable[[Any], None], problems: list[str]
) -> int:
    """Print the figures (one JSON object, or the table) and any warnings; the exit status."""
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    for problem in problems:
        print(f"WARNING: {problem}", file=sys.stderr, flush=True)
    return 1 if problems else 0


def sqlite_settings(directory: Path, port: int) -> Any:
    """fairwell's settings for a bench: a SQLite file in ``directory``, the sink on ``port``.

    Every letter goes at once whatever the hour: send windows would hold them for the
    candidates' business hours, and the benches measure sending, not waiting.
    """
    from fairwell.config import load_settings

    return load_settings(
        database_url=f"sqlite:///{directory / 'fairwell.db'}",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        from_address=FROM_ADDRESS,
        org_name=ORG_NAME,
        send_windows="off",
    )
