"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    # When the search ended: applications no letter reached are kept from here (0017).
    Column("closed_at", UtcDateTime),
    # Who signs the job's letters; None: FAIRWELL_SENDER_NAME, else the organisation (0017).
    Column("sender_name", String(200)),
    # Who turned on the job's auto-send rule; None: every plan waits for a person (0024).
    Column("auto_send_by", String(64)),
)

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("country", String(2)),
    Column("timezone", String(64)),
    # ISO 3166-2 subdivision within country ("CA-ON"): jurisdiction is by where the person is.
    Column("region", String(8)),
    Column("erased_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(32), nullable=False, unique=True),
    Column("job_id", ForeignKey("jobs.id"), nullable=False),
    Column("person_id", ForeignKey("persons.id"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("referred_by", String(200)),
    Column("referral_aware", Boolean),
    Column("applied_at", UtcDateTime),
    Column("last_interview_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # When the stage last changed: the retention clock of withdrawn, declined, hired and
    # still-open applications (0017; older rows start from their updated_at).
    Column("stage_changed_at", UtcDateTime),
    UniqueConstraint("job_id", "person_id", name="uq_applications_job_person"),
    # A job's applications page by page in id order (plans, queues): 0012.
    Index("ix_applications_job_id_id", "job_id", "id"),
    # A person's applications, e.g. their references on the roster: 0013.
    Index("ix_applications_person_id", "person_id"),
)

# How an import made one application of several rows (domain/duplicates.py): the file, its
# rows and, for each field they disagreed on, the value kept, its row and the rule. The plan
# lists these long after the import. Row numbers, field names, stages, sources, languages and
# dates only: never a name, an address or a referrer. One row per application, replaced by
# the next import that touches it, gone with the application.
import_merges = Table(
    "import_merges",
    metadata,
    Column("application_id", ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True),
    Column("source_file", String(255), nullable=False),
    Column("row_numbers", Text, nullable=False),  # JSON list of ints
    Column("choices", Text, nullable=False),  # JSON list of objects, see storage/importer.py
    Column("imported_at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
)

# --- The organisation's roster, kept up to date by database triggers (migrations 0015, 0028) ---

# One row: the roster's version, bumped by every change to who is on file.
roster_clock = Table(
    "roster_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

# Each person whose identifiers ever changed (added, renamed, erased, an application added or
# removed), with the clock's value at their latest change: what a process applies to the
# roster it built at an older version.
roster_changes = Table(
    "roster_changes",
    metadata,
    Column("person_id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False, index=True),
)

# A row while a bulk writer's transaction notes the people it adds itself (migration 0028):
# the per-row INSERT triggers of persons and applications stand aside. Never seen committed.
roster_bulk_writes = Table(
    "roster_bulk_writes",
    metadata,
    Column("id", Integer, primary_key=True),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("reason_code", String(64), nullable=False),
    Column("note", Text),
    Column("state", String(16), nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    # True when the recruiter chose the reason for this person (by address), not for a stage
    # or everyone: only then does the letter keep it over the basis of approved feedback.
    Column("reason_chosen", Boolean, nullable=False, server_default=false()),
)

competencies = Table(
    "competencies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", ForeignKey("jobs.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("bar", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # "competency" (rated in interviews) or "requirement" (checked by a screener).
    Column("kind", String(16), nullable=False, server_default=text("'competency'")),
    UniqueConstraint("job_id", "name", name="uq_competencies_job_name"),
)

# The hiring team's own words for one competency in one language: how a gap is named, one
# concrete next step, how a strength is named. The only source of a feedback line.
competency_wording = Table(
    "competency_wording",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("competency_id", ForeignKey("competencies.id"), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("gap", Text, nullable=False),
    Column("next_step", Text, nullable=False),
    Column("strength", Text, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("competency_id", "locale", name="uq_competency_wording_locale"),
)

scorecards = Table(
    "scorecards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("competency_id", ForeignKey("competencies.id"), nullable=False),
    Column("interviewer", String(200), nullable=False),
    Column("rating", Integer, nullable=False),
    # Never shown to the candidate; only the note written for them can reach a letter.
    Column("internal_note", Text, nullable=False),
    Column("note_for_candidate", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "application_id", "competency_id", "interviewer", name="uq_scorecards_one_rating"
    ),
)

# The feedback a candidate will read, per decision: drafted, then approved by a hiring manager
# (or downgraded to a plain letter). Only approved feedback is ever put in a letter.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", ForeignKey("decisions.id"), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("next_steps", Text, nullable=False),
    Column("lint_findings", Integer, nullable=False),
    Column("override_reason", Text),
    # Why the draft cannot be approved yet, one reason a line ("needs wording for Spark");
    # empty when nothing holds it. The evidence it rests on: "skills" or "requirements".
    Column("holds", Text, nullable=False, server_default=text("''")),
    Column("basis", String(16)),
    Column("reviewed_by", String(64)),
    Column("reviewed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", ForeignKey("jobs.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rate_per_second", Integer),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", ForeignKey("batches.id"), nullable=False, index=True),
    # None for a status letter: it says that nothing has been decided yet.
    Column("decision_id", ForeignKey("decisions.id"), index=True),
    # What the letter is for: "decision:<id>" for the letter that tells a decision,
    # "request:<id>" for an answer to a feedback request, "status:<application_id>:<n>" for
    # a status letter, "rediscovery:<job_id>:<person_id>" for a role that may fit. Unique, so
    # the database itself refuses a second letter for the same thing.
    Column("letter_key", String(64), nullable=False, unique=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("planned_stage", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("last_code", Integer),
    Column("last_error", Text),
    Column("held_rule", String(64)),
    Column("possible_duplicates", Integer, nullable=False, default=0),
    # Handed (or about to be) to the relay under the current claim: if the worker dies, the
    # letter comes back as a possible duplicate; unmarked letters of its claim do not (0023).
    Column("handed", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # The day a decision letter promises to keep the application until, fixed when the letter
    # was written: a later change of policy must not make the run delete before that day.
    Column("keep_until", Date),
    # The day a status letter promised a decision by ("we will tell you by ..."): 0017.
    Column("decide_by", Date),
    # The letter's bytes (letter_bodies.id); None or no such row: erased. Not a foreign key:
    # SQLite adds one only by rebuilding the outbox, and dropping the old table fails once
    # bounces point at it. Body ids are never reused, so a stale id points at nothing.
    Column("body_id", Integer),
    # Partial indexes (0026): only letters still to go are in them, one per state a claim
    # reads. A letter leaves them as it is sent, so they stay the size of the queue however
    # long the history grows, and a claim or a result moves an entry of one index, not two.
    # Queries say the state in their SQL (claims.in_state). The migration makes them partial
    # on PostgreSQL too; only SQLite's predicate is named here, as naming PostgreSQL's would
    # load its dialect in every process (tests/test_cli_lean_start.py).
    *(
        Index(f"ix_outbox_{state}_due", "next_attempt_at", sqlite_where=text(f"state = '{state}'"))
        for state in ("queued", "retry")
    ),
    Index("ix_outbox_sending_lease", "lease_until", sqlite_where=text("state = 'sending'")),
    Index("ix_outbox_body_id", "body_id", unique=True),  # one letter a body
)

# A candidate's request for more feedback: tracked until a hiring manager's answer is queued.
feedback_requests = Table(
    "feedback_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", ForeignKey("decisions.id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("question", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("answer", Text),
    Column("answered_by", String(64)),
    Column("answered_at", UtcDateTime),
)

# A letter's final bytes live apart from the row that says where it is: state changes then
# rewrite a small row, not a page full of letter text, and erasing a letter's text is one
# delete. A plan's staged letter points at its body, and so does the outbox row its release
# makes (0027): confirming a plan moves no letter's bytes, and deletes none.
letter_bodies = Table(
    "letter_bodies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", LargeBinary, nullable=False),
    # The guard's seal on the body (guard/seal.py), kept and erased with it; None: unsealed.
    Column("guard_seal", String(32)),
    # An id is never given twice (SQLite would reuse the highest after a delete): an outbox
    # row's body_id can only ever point at its own letter's bytes.
    sqlite_autoincrement=True,
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("reason", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

controls = Table(
    "controls",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Integer),
    # Ids, counts, codes and rule names only: never names, addresses or letter text.
    Column("detail", Text, nullable=False, default="{}"),
)

# Local accounts for the web app. The hash is argon2id (PHC string, about 100 characters);
# session_version goes up to end every session of the user at once (see domain/users.py).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("session_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Which hiring managers look after which jobs: they see those jobs and nothing else.
job_managers = Table(
    "job_managers",
    metadata,
    Column("job_id", ForeignKey("jobs.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)

# Which interviewers interview which applications: an interviewer sees those applicants and
# enters scorecards for them, and sees nothing else.
interview_assignments = Table(
    "interview_assignments",
    metadata,
    Column("application_id", ForeignKey("applications.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
)

# Letter wording edited in the settings pages. A row here wins over the built-in wording of a
# reason code (domain/reasons.py) or the packaged letter template of a kind and locale.
reason_wordings = Table(
    "reason_wordings",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("locale", String(16), primary_key=True),
    Column("wording", Text, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

template_overrides = Table(
    "template_overrides",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("source", Text, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# --- The candidate portal and data-protection requests (migration 0009) ---

# Form nonces the portal has accepted. A portal form carries a signed, random nonce; the POST
# that uses it inserts it here, so the same form sent twice is refused. GETs write nothing.
portal_nonces = Table(
    "portal_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("application_id", ForeignKey("applications.id"), index=True),
    Column("used_at", UtcDateTime, nullable=False),
)

# The "what you could do next" steps a candidate ticked, stored only when they save them.
portal_checklists = Table(
    "portal_checklists",
    metadata,
    Column("application_id", ForeignKey("applications.id"), primary_key=True),
    Column("ticked", String(200), nullable=False),  # step numbers, comma separated
    Column("saved_at", UtcDateTime, nullable=False),
)

# "Keep me on file": what the candidate agreed to and exactly until when.
consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    Column("until", UtcDateTime, nullable=False),
    Column("withdrawn_at", UtcDateTime),
)

# Access (export) and erasure requests, due one month after they arrive. After an erasure the
# row stays as evidence with person_id cleared: kind, dates and state are no personal data.
privacy_requests = Table(
    "privacy_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("person_id", ForeignKey("persons.id"), index=True),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
)

# A legal hold (e.g. a pending claim) blocks erasure of one person until it is released.
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("released_by", String(64)),
    Column("released_at", UtcDateTime),
)

# Evidence that an erasure happened: when, by whom, and how many rows of each kind went.
# Deliberately no personal data and no link to the erased person.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", ForeignKey("privacy_requests.id")),
    Column("erased_at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("counts", Text, nullable=False),
)

# --- Mail that comes back (migration 0019) ---

# Every inbound message handled, once each (``digest``: its Message-ID or bytes, hashed), so a
# message read again after a crash is recognised. Auto-replies, bounces and replies to an
# erased person's letter keep only the digest, the kind and the time; replies and unmatched
# mail keep what a person needs to read them: the sender, the subject, the candidate's own
# words (never the quoted letter or an attachment) and what threads the answer.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("application_id", ForeignKey("applications.id"), index=True),
    Column("request_id", ForeignKey("feedback_requests.id"), index=True),
    Column("outbox_id", ForeignKey("outbox.id")),
    Column("sender", String(320), index=True),
    Column("subject", Text),
    Column("message_id", Text),
    Column("thread_references", Text),
    Column("text", Text),
    Column("attachments", Integer, nullable=False, server_default=text("0")),
    Column("note", String(200)),
)

# Delivery reports about our letters: a permanent one marked the letter bounced and
# suppressed the address; a temporary one is only recorded.
bounces = Table(
    "bounces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", ForeignKey("outbox.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("permanent", Boolean, nullable=False),
    Column("diagnostic", String(200), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# The Message-IDs (hashed) of letters an erasure deleted: a later reply to one is recognised,
# counted and deleted unread. A hash of a random id, tied to nobody.
erased_letters = Table(
    "erased_letters",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
)


# --- Applicant tracking systems and outgoing webhooks (migration 0020) ---

# Where a pulled application came from: the ATS's own ids, for write-back and for pulling the
# same job again without duplicates. Erasing or deleting the application removes its link.
ats_links = Table(
    "ats_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", String(32), nullable=False),
    Column("ats_application_id", String(64), nullable=False),
    Column("ats_candidate_id", String(64)),
    Column("ats_job_id", String(64), nullable=False),
    Column(
        "application_id",
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("vendor", "ats_application_id", name="uq_ats_links_vendor_application"),
    Index("ix_ats_links_vendor_job", "vendor", "ats_job_id"),
)

# One row per ATS job ever pulled: the page to fetch next when a pull stopped half-way, so the
# next `fairwell ats pull` resumes there. Pages are committed one at a time with this row.
ats_pulls = Table(
    "ats_pulls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", String(32), nullable=False),
    Column("ats_job_id", String(64), nullable=False),
    Column("job_title", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("cursor", Text),
    Column("pages", Integer, nullable=False),
    Column("applications", Integer, nullable=False),
    Column("last_error", Text),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("vendor", "ats_job_id", name="uq_ats_pulls_vendor_job"),
)

# Decisions to write back to the ATS once their letter went: claimed like the outbox (a
# conditional UPDATE and a lease), retried with backoff, failed only for a reason that will
# not change (the application was deleted in the ATS). One row per decision: never twice.
ats_writebacks = Table(
    "ats_writebacks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "decision_id",
        ForeignKey("decisions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("application_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("outbox_id", Integer, nullable=False),
    Column("vendor", String(32), nullable=False),
    Column("ats_application_id", String(64), nullable=False),
    Column("reason_code", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_ats_writebacks_state_next_attempt", "state", "next_attempt_at"),
)

# Signed webhooks the ATSs sent us, each once (the vendor's delivery id), and what came of it.
# Ids, event names and stage names only: never the payload, which carries personal data.
ats_events = Table(
    "ats_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor", String(32), nullable=False),
    Column("delivery_key", String(128), nullable=False),
    Column("event", String(64), nullable=False),
    Column("ats_application_id", String(64)),
    Column("ats_job_id", String(64)),
    Column("application_id", ForeignKey("applications.id", ondelete="SET NULL"), index=True),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("vendor", "delivery_key", name="uq_ats_events_vendor_delivery"),
)

# URLs an organisation subscribed to Fairwell's events; ``events`` is a comma-separated list.
# The secret signs every delivery (HMAC-SHA256); it is never shown after it was set.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("events", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One event for one subscription. Rows are written by database triggers in the transaction
# that sends a letter or records a feedback request (0020), so none is lost or made twice;
# ``payload`` is fixed at the first attempt, so every retry sends the same body.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscription_id",
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event", String(64), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("payload", Text),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint(
        "subscription_id", "event", "entity_id", name="uq_webhook_deliveries_one_event"
    ),
    Index("ix_webhook_deliveries_state_next_attempt", "state", "next_attempt_at"),
)


# --- The web app's server-side sessions, sign-in limits and API tokens (migration 0021) ---

# Signed-in browser sessions, kept on the server so they can be ended: signing out, changing
# the password and "sign out everywhere" end them at once, whatever a saved cookie says. The
# cookie holds a random token; only its SHA-256 is stored here.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("session_version", Integer, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
)

# Failed sign-ins (and portal fresh-link requests), one row each, by key: the normalised
# username, the client address, or a hashed email address. Shared by every web process.
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_signin_failures_key_at", "key", "at"),
)

# API bearer tokens: each one named, revocable on its own, optionally read-only. The token is
# shown once; only its SHA-256 is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("read_only", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

# --- Staged plans: the plan is the batch (migration 0022) ---

# A job's send plan, composed once: its letters wait in ``staged_letters`` until the user
# confirms (released: copied to the outbox in one transaction) or a newer plan replaces it.
plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    # composing, staged, released or superseded.
    Column("state", String(16), nullable=False),
    Column("made_at", UtcDateTime, nullable=False),
    Column("made_by", String(64), nullable=False),
    Column("send_now", Boolean, nullable=False),
    # What the letters were composed with, besides the data: send windows and sender.
    Column("fingerprint", String(64), nullable=False),
    # The highest ``plan_changes`` id when composing began: a later one for this job (or for
    # every job) makes the plan stale.
    Column("change_mark", BigInteger, nullable=False),
    Column("batch_id", ForeignKey("batches.id")),
    Column("released_at", UtcDateTime),
    Index("ix_plans_job_id_state", "job_id", "state"),
    # Whether any plan is open, asked by SQLite's decision and feedback triggers (0029).
    Index("ix_plans_state", "state"),
)

# One composed letter of a staged plan: exactly the outbox row and bytes it becomes, plus what
# the plan's summary counts (ready or blocked, its schedule group, its feedback).
staged_letters = Table(
    "staged_letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("application_id", Integer, nullable=False),
    Column("decision_id", Integer),
    Column("letter_key", String(64), nullable=False),
    # ready (released on confirm) or blocked (by the privacy guard; never released).
    Column("status", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("planned_stage", String(16), nullable=False),
    Column("not_before", UtcDateTime),
    Column("keep_until", Date),
    Column("decide_by", Date),
    # The letter's bytes and seal (letter_bodies): on release the outbox row points at them.
    Column("body_id", ForeignKey("letter_bodies.id", ondelete="CASCADE"), nullable=False),
    # Why the letter waits for a later send window (None: it goes at once).
    Column("later_reason", String(200)),
    # The guard's findings of a blocked letter: JSON [{rule, description, detail}].
    Column("findings", Text),
    Column("reason_code", String(64)),
    Column("with_feedback", Boolean, nullable=False),
    Column("feedback_waiting", Boolean, nullable=False),
    Column("approved_despite_findings", Boolean, nullable=False),
    Column("contradicts", Boolean, nullable=False),
    Index("ix_staged_letters_plan_id_application_id", "plan_id", "application_id"),
    Index("ix_staged_letters_decision_id", "decision_id"),
    Index("ix_staged_letters_body_id", "body_id"),
)

# What changed since a plan was composed, written by database triggers (0022) while a plan of
# the job is composing or staged: per application, per job, or for every job (job_id None).
plan_changes = Table(
    "plan_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer),
    Column("application_id", Integer),
    Column("reason", String(64), nullable=False),
    Index("ix_plan_changes_job_id_id", "job_id", "id"),
    # Ids only grow, even after old changes are pruned (SQLite would reuse the highest).
    sqlite_autoincrement=True,
)
