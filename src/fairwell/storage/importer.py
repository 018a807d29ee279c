"""Writing an imported applicant file: people, jobs and applications, in the caller's transaction.

Rows that match what is stored are left alone, so importing the same file twice changes
nothing. Changes are audited by field name, never by value.
"""

from __future__ import annotations

import itertools
import json
import secrets
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update

from fairwell.domain.duplicates import Merge, MergeChoice
from fairwell.domain.model import ApplicantRow
from fairwell.ports import ImportCounts, StoredMerge
from fairwell.storage.base import INSERT_CHUNK as INSERT_CHUNK  # re-exported for the stores
from fairwell.storage.bulk import BulkInsert
from fairwell.storage.rows import audit
from fairwell.storage.tables import (
    applications,
    import_merges,
    jobs,
    persons,
    roster_bulk_writes,
    roster_clock,
)

_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
assert len(_REF_ALPHABET) == 32  # new_application_ref takes 5 bits a letter
_APPLICATION_FIELDS = (
    "stage",
    "source",
    "referred_by",
    "referral_aware",
    "applied_at",
    "last_interview_at",
)
_PERSON_FIELDS = ("first_name", "last_name", "locale", "country", "region", "timezone")
# The values of a new row, in the order the writer gives them.
_NEW_PERSON_COLUMNS = ("email", *_PERSON_FIELDS, "created_at", "updated_at")
_NEW_APPLICATION_COLUMNS = (
    "job_id",
    "person_id",
    "ref",
    *_APPLICATION_FIELDS,
    "created_at",
    "updated_at",
    "stage_changed_at",
)
_person_values = attrgetter(*_PERSON_FIELDS)


def _chunks(rows: Iterable[ApplicantRow], size: int) -> Iterator[list[ApplicantRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# Every two letters of a reference, by the 10 bits they stand for: five look-ups a reference.
_REF_PAIRS = tuple(first + second for first in _REF_ALPHABET for second in _REF_ALPHABET)


def new_application_ref() -> str:
    """A public reference for letters: random, so it says nothing about volume or order."""
    # 32 letters, 5 bits each: ten independent choices drawn from 50 random bits at once
    # (one read of the system's randomness, not ten: an import of 100,000 rows made 10^6).
    return application_ref(secrets.randbits(50))


_REF_BYTES = 7  # 56 random bits a reference, of which the highest 50 are used


def new_application_refs(count: int) -> Iterator[str]:
    """Up to ``count`` references as :func:`new_application_ref` makes them, from one read of
    the system's randomness for all of them, not one a reference (a chunk of an import)."""
    pool = secrets.token_bytes(_REF_BYTES * count)
    for start in range(0, len(pool), _REF_BYTES):
        chunk = pool[start : start + _REF_BYTES]
        yield application_ref(int.from_bytes(chunk, "big") >> (8 * _REF_BYTES - 50))


def application_ref(bits: int) -> str:
    """The reference of 50 bits: ten letters, the first from the highest 5 bits."""
    pairs = _REF_PAIRS
    return (
        f"FW-{pairs[bits >> 40 & 1023]}{pairs[bits >> 30 & 1023]}{pairs[bits >> 20 & 1023]}"
        f"{pairs[bits >> 10 & 1023]}{pairs[bits & 1023]}"
    )


def _application_values(row: ApplicantRow) -> tuple[Any, ...]:
    """The row's values of _APPLICATION_FIELDS, as stored."""
    return (
        row.stage.value,
        row.source.value,
        row.referred_by,
        row.referral_aware,
        row.applied_at,
        row.last_interview_at,
    )


_BUMP = (
    update(roster_clock)
    .where(roster_clock.c.id == 1)
    .values(version=roster_clock.c.version + 1)
    .returning(roster_clock.c.version)
)
# What migration 0015's triggers write for one person, for many at once; {} the driver's mark.
_NOTE = (
    "INSERT INTO roster_changes (person_id, version) VALUES ({0}, {0}) "
    "ON CONFLICT (person_id) DO UPDATE SET version = excluded.version"
)


class RosterNotes:
    """Notes the people a bulk write adds to the roster, a chunk at a time (migration 0028).

    While this transaction holds a row in ``roster_bulk_writes``, the INSERT triggers of
    persons and applications stand aside (on SQLite they bumped the clock and noted a person
    once a row, half the cost of inserting them); each chunk's people are noted here instead,
    at one new version, as PostgreSQL's statement triggers note a statement. Every other
    change (a rename, an erasure, a deletion) is still noted by the triggers.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # The rows go straight to the driver's executemany, as tuples (BulkInsert's reason).
        self._note = _NOTE.format("?" if conn.dialect.paramstyle == "qmark" else "%s")
        row = conn.execute(insert(roster_bulk_writes)).inserted_primary_key
        assert row is not None
        self._row: int = row[0]

    def note(self, person_ids: Collection[int]) -> None:
        """The people whose persons or applications were just inserted: at a new version."""
        if not person_ids:
            return
        version = self.conn.execute(_BUMP).scalar_one()
        self.conn.exec_driver_sql(self._note, [(pid, version) for pid in sorted(person_ids)])

    def close(self) -> None:
        """The triggers note inserts again (committing with the row would silence them)."""
        self.conn.execute(delete(roster_bulk_writes).where(roster_bulk_writes.c.id == self._row))


class ApplicantWriter:
    """Writes one import inside an open transaction."""

    def __init__(self, conn: Connection, now: datetime, actor: str) -> None:
        self.conn, self.now, self.actor = conn, now, actor
        self.counts = {"people": 0, "apps": 0, "updated": 0, "unchanged": 0, "jobs": 0}
        self.new_jobs: list[str] = []
        # People the chunk being written created: they have no stored application to look up.
        self.created_people: set[int] = set()
        # People given an application by the chunk being written.
        self.applied_people: set[int] = set()
        self._insert_people = BulkInsert(conn, persons, _NEW_PERSON_COLUMNS)
        self._insert_applications = BulkInsert(conn, applications, _NEW_APPLICATION_COLUMNS)

    def write(
        self,
        rows: Iterable[ApplicantRow],
        merges: Sequence[Merge] = (),
        source_file: str = "",
        job_titles: Collection[str] | None = None,
    ) -> ImportCounts:
        """Write the rows a chunk at a time, keeping of each only what the merges need."""
        job_ids = self._ensure_jobs(set(job_titles or ()))
        merged = {(merge.email, merge.job) for merge in merges}
        keys: dict[tuple[str, str], tuple[int, int]] = {}
        touched = array("q")  # ids of the applications that existed, 8 bytes each
        roster = RosterNotes(self.conn)
        for chunk in _chunks(rows, INSERT_CHUNK):
            if not job_ids.keys() >= {row.job for row in chunk}:
                job_ids = self._ensure_jobs({row.job for row in chunk})
            person_ids = self._ensure_people(chunk)
            touched.extend(self._ensure_applications(chunk, job_ids, person_ids))
            roster.note(self.created_people | self.applied_people)
            for row in chunk:
                if (row.email, row.job) in merged:
                    keys[(row.email, row.job)] = (job_ids[row.job], person_ids[row.email])
        roster.close()
        MergeWriter(self.conn, self.now, self.actor).write(merges, keys, touched, source_file)
        detail: dict[str, object] = {**self.counts, "merged": len(merges)}
        audit(self.conn, self.actor, "import", "import", None, detail, self.now)
        return ImportCounts(
            people_created=self.counts["people"],
            applications_created=self.counts["apps"],
            applications_updated=self.counts["updated"],
            unchanged=self.counts["unchanged"],
            jobs_created=self.counts["jobs"],
            new_jobs=tuple(self.new_jobs),
        )

    def _ensure_jobs(self, titles: set[str]) -> dict[str, int]:
        conn, now, counts = self.conn, self.now, self.counts
        existing = dict(conn.execute(select(jobs.c.title, jobs.c.id)).tuples().all())
        for title in sorted(titles - set(existing)):
            job_id = conn.execute(
                insert(jobs).values(title=title, created_at=now)
            ).inserted_primary_key
            assert job_id is not None
            existing[title] = job_id[0]
            counts["jobs"] += 1
            self.new_jobs.append(title)
            audit(conn, self.actor, "job.created", "job", job_id[0], {}, now)
        return existing

    def _ensure_people(self, rows: Sequence[ApplicantRow]) -> dict[str, int]:
        conn, now, counts = self.conn, self.now, self.counts
        ids: dict[str, int] = {}
        self.created_people = set()
        by_email = {row.email: row for row in rows}
        emails = list(by_email)
        for start in range(0, len(emails), INSERT_CHUNK):
            chunk = emails[start : start + INSERT_CHUNK]
            for found in conn.execute(select(persons).where(persons.c.email.in_(chunk))):
                ids[found.email] = found.id
                wanted = {name: getattr(by_email[found.email], name) for name in _PERSON_FIELDS}
                if any(getattr(found, name) != value for name, value in wanted.items()):
                    conn.execute(
                        update(persons)
                        .where(persons.c.id == found.id)
                        .values(**wanted, updated_at=now)
                    )
        new_emails = [email for email in by_email if email not in ids]
        self._insert_people(
            (email, *_person_values(by_email[email]), now, now) for email in new_emails
        )
        if new_emails:
            counts["people"] += len(new_emails)
            for start in range(0, len(new_emails), INSERT_CHUNK):
                chunk = new_emails[start : start + INSERT_CHUNK]
                query = select(persons.c.email, persons.c.id).where(persons.c.email.in_(chunk))
                created = dict(conn.execute(query).tuples().all())
                ids.update(created)
                self.created_people.update(created.values())
        return ids

    def _existing_applications(
        self, rows: Sequence[ApplicantRow], job_ids: dict[str, int], person_ids: dict[str, int]
    ) -> dict[tuple[int, int], Any]:
        """The stored applications of the rows' people for the rows' jobs; a person this
        import created has none (most people on a first import: no query at all)."""
        people = {person_ids[row.email] for row in rows} - self.created_people
        if not people:
            return {}
        query = select(applications).where(
            applications.c.person_id.in_(people),
            applications.c.job_id.in_({job_ids[row.job] for row in rows}),
        )
        return {(found.job_id, found.person_id): found for found in self.conn.execute(query)}

    def _ensure_applications(
        self, rows: Sequence[ApplicantRow], job_ids: dict[str, int], person_ids: dict[str, int]
    ) -> list[int]:
        """Create or update each row's application; return the ids of those that existed."""
        now, counts = self.now, self.counts
        existing = self._existing_applications(rows, job_ids, person_ids)
        new_rows: list[tuple[Any, ...]] = []
        touched: list[int] = []
        refs = new_application_refs(len(rows))  # one a row at most
        for row in rows:
            key = (job_ids[row.job], person_ids[row.email])
            values = _application_values(row)
            found = existing.get(key)
            if found is None:
                new_rows.append((*key, next(refs), *values, now, now, now))
                continue
            touched.append(found.id)
            wanted = dict(zip(_APPLICATION_FIELDS, values, strict=True))
            if all(getattr(found, name) == wanted[name] for name in _APPLICATION_FIELDS):
                counts["unchanged"] += 1
            else:
                self._update_application(found, wanted)
        self._insert_applications(new_rows)
        self.applied_people = {values[1] for values in new_rows}
        counts["apps"] += len(new_rows)
        return touched

    def _update_application(self, found: Any, wanted: dict[str, Any]) -> None:
        """Store the file's values of a stored application, audited by field name."""
        conn, now = self.conn, self.now
        # The stage's last change starts the retention clock of the states an
        # application can end in (withdrawn, declined, hired, still open).
        moved = {"stage_changed_at": now} if found.stage != wanted["stage"] else {}
        conn.execute(
            update(applications)
            .where(applications.c.id == found.id)
            .values(**wanted, **moved, updated_at=now)
        )
        self.counts["updated"] += 1
        changed = sorted(n for n in _APPLICATION_FIELDS if getattr(found, n) != wanted[n])
        detail: dict[str, object] = {"fields": changed, "stage": wanted["stage"]}
        audit(conn, self.actor, "application.updated", "application", found.id, detail, now)


class MergeWriter:
    """Keeps an import's merges for the plan: one row per merged application.

    An application this import touches loses the merge an earlier import recorded for it (its
    values now come from this file), unless this import merged it the same way from a file of
    the same name: importing a file again changes nothing. Each new merge is audited with its
    row numbers and the fields decided, never their values.
    """

    def __init__(self, conn: Connection, now: datetime, actor: str) -> None:
        self.conn, self.now, self.actor = conn, now, actor

    def write(
        self,
        merges: Sequence[Merge],
        keys: dict[tuple[str, str], tuple[int, int]],
        touched: Sequence[int],
        source_file: str,
    ) -> None:
        ids = self._application_ids([keys[(merge.email, merge.job)] for merge in merges])
        wanted = {ids[keys[(merge.email, merge.job)]]: merge for merge in merges}
        records = {
            application_id: _merge_record(application_id, merge, source_file, self.now, self.actor)
            for application_id, merge in wanted.items()
        }
        kept = self._unchanged(touched, records)
        stale = [application_id for application_id in touched if application_id not in kept]
        for start in range(0, len(stale), INSERT_CHUNK):
            chunk = stale[start : start + INSERT_CHUNK]
            self.conn.execute(
                delete(import_merges).where(import_merges.c.application_id.in_(chunk))
            )
        new = [record for application_id, record in records.items() if application_id not in kept]
        for start in range(0, len(new), INSERT_CHUNK):
            self.conn.execute(insert(import_merges), new[start : start + INSERT_CHUNK])
        for application_id, merge in wanted.items():
            if application_id not in kept:
                self._audit(application_id, merge)

    def _unchanged(self, touched: Sequence[int], records: dict[int, dict[str, Any]]) -> set[int]:
        """The touched applications whose stored merge is the one this import would write."""
        same: set[int] = set()
        compared = ("source_file", "row_numbers", "choices")
        candidates = [application_id for application_id in touched if application_id in records]
        for start in range(0, len(candidates), INSERT_CHUNK):
            chunk = candidates[start : start + INSERT_CHUNK]
            query = select(import_merges).where(import_merges.c.application_id.in_(chunk))
            for found in self.conn.execute(query):
                wanted = records[found.application_id]
                if all(getattr(found, name) == wanted[name] for name in compared):
                    same.add(found.application_id)
        return same

    def _audit(self, application_id: int, merge: Merge) -> None:
        detail: dict[str, object] = {
            "rows": list(merge.rows),
            "fields": [choice.field for choice in merge.choices],
        }
        audit(
            self.conn,
            self.actor,
            "application.merged",
            "application",
            application_id,
            detail,
            self.now,
        )

    def _application_ids(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
        found: dict[tuple[int, int], int] = {}
        pair = tuple_(applications.c.job_id, applications.c.person_id)
        for start in range(0, len(keys), INSERT_CHUNK):
            chunk = keys[start : start + INSERT_CHUNK]
            query = select(applications.c.job_id, applications.c.person_id, applications.c.id)
            for job_id, person_id, application_id in self.conn.execute(
                query.where(pair.in_(chunk))
            ):
                found[(job_id, person_id)] = application_id
        return found


def _merge_record(
    application_id: int, merge: Merge, source_file: str, now: datetime, actor: str
) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "source_file": source_file[:255],
        "row_numbers": json.dumps(list(merge.rows)),
        "choices": json.dumps([_choice_value(choice) for choice in merge.choices]),
        "imported_at": now,
        "actor": actor,
    }


def _choice_value(choice: MergeChoice) -> dict[str, Any]:
    return {
        "field": choice.field,
        "kept": choice.kept,
        "from_row": choice.from_row,
        "rule": choice.rule,
        "others": [list(other) for other in choice.others],
    }


def _choice_from(value: dict[str, Any]) -> MergeChoice:
    others = tuple((int(row), shown) for row, shown in value["others"])
    return MergeChoice(value["field"], value["kept"], int(value["from_row"]), value["rule"], others)


def read_merges(conn: Connection, job_id: int, limit: int | None = None) -> list[StoredMerge]:
    """The job's stored merges (the first ``limit`` by application), by file and first row."""
    query = (
        select(import_merges, persons.c.email)
        .join(applications, applications.c.id == import_merges.c.application_id)
        .join(persons, persons.c.id == applications.c.person_id)
        .where(applications.c.job_id == job_id)
        .order_by(import_merges.c.application_id)
        .limit(limit)
    )
    merges = [_stored(row) for row in conn.execute(query)]
    return sorted(merges, key=lambda merge: (merge.source_file, merge.rows))


def count_merges(conn: Connection, job_id: int) -> int:
    query = (
        select(func.count())
        .select_from(import_merges)
        .join(applications, applications.c.id == import_merges.c.application_id)
        .where(applications.c.job_id == job_id)
    )
    return int(conn.execute(query).scalar_one())


def _stored(row: Any) -> StoredMerge:
    choices: Iterable[dict[str, Any]] = json.loads(row.choices)
    return StoredMerge(
        application_id=row.application_id,
        email=row.email,
        source_file=row.source_file,
        rows=tuple(json.loads(row.row_numbers)),
        choices=tuple(_choice_from(value) for value in choices),
        imported_at=row.imported_at,
        actor=row.actor,
    )
