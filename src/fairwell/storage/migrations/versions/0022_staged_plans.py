"""Staged plans: the plan is the batch. ``plans``, ``staged_letters`` and ``plan_changes``.

Making a plan composes, guards and stores every letter once (``staged_letters``: the outbox
row and bytes each becomes); confirming copies them to the outbox in one transaction, with
nothing composed again.

``plan_changes`` says what changed since a plan was composed. Triggers write it, so no writer
(the web, the CLI, an import, an ATS pull, a hand-run UPDATE) can change what a letter would
say and leave the staged letter standing: a stage or another field of an application a letter
reads, a decision, feedback, a person's name, address or erasure, a suppression, an applicant
deleted (per application); a job's title or signer (per job); a template or a reason's
wording (every job). Per-application and per-job rows are written only while a plan of that
job is composing or staged, so a bulk reject with no plan writes none. On SQLite the triggers
fire per row; on PostgreSQL once per statement, over its transition tables.

Any later migration that rebuilds one of these tables on SQLite (batch mode) drops its
triggers and must create them again.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

# Every SQL string below is built from this file's own constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

INSERT = "INSERT INTO plan_changes (job_id, application_id, reason) "
# A typed NULL: PostgreSQL will not guess the type of a bare NULL in every SELECT.
NO_ID = "CAST(NULL AS INTEGER)"


def _live(job: str | None) -> str:
    """While a plan of the job (or, for a change of every job, any plan) is open."""
    of_job = f" AND p.job_id = {job}" if job else ""
    return f"EXISTS (SELECT 1 FROM plans p WHERE p.state IN ('composing', 'staged'){of_job})"


class Change(NamedTuple):
    """One trigger: on ``event`` of ``table``, note the rows ``select`` finds.

    In ``select``, ``{r}`` is the changed row (NEW or OLD, or the transition table's row on
    PostgreSQL), ``{o}``/``{n}`` the old and new row of an update, and ``{rows}`` the FROM
    items that bring them in (nothing on SQLite, where the row needs no FROM).
    """

    name: str
    table: str
    event: str  # INSERT, UPDATE or DELETE
    select: str


APPLICATION_FIELDS = (
    "stage",
    "source",
    "referred_by",
    "referral_aware",
    "last_interview_at",
    "ref",
    "person_id",
)
PERSON_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "locale",
    "country",
    "region",
    "timezone",
    "erased_at",
)
JOB_FIELDS = ("title", "sender_name")


def _differs(fields: tuple[str, ...], postgres: bool) -> str:
    op_ = "IS DISTINCT FROM" if postgres else "IS NOT"
    o, n = ("o", "n") if postgres else ("OLD", "NEW")
    return "(" + " OR ".join(f"{o}.{f} {op_} {n}.{f}" for f in fields) + ")"


def _by_decision(reason: str) -> str:
    return (
        f"SELECT a.job_id, a.id, '{reason}' FROM applications a, decisions d{{rows}} "
        f"WHERE d.id = {{r}}.decision_id AND a.id = d.application_id AND {_live('a.job_id')}"
    )


def _by_email(reason: str) -> str:
    return (
        f"SELECT a.job_id, a.id, '{reason}' FROM applications a, persons pe{{rows}} "
        f"WHERE pe.email = {{r}}.email AND a.person_id = pe.id AND {_live('a.job_id')}"
    )


def _everything(reason: str) -> str:
    return f"SELECT {NO_ID}, {NO_ID}, '{reason}' WHERE {_live(None)}"


CHANGES = [
    Change(
        "plan_application_changed",
        "applications",
        "UPDATE",
        "SELECT {n}.job_id, {n}.id, CASE WHEN {o}.stage <> {n}.stage THEN 'a stage changed' "
        "ELSE 'an application changed' END {from_both} WHERE {differs} AND " + _live("{n}.job_id"),
    ),
    Change(
        "plan_application_removed",
        "applications",
        "DELETE",
        "SELECT {r}.job_id, {r}.id, 'an applicant was deleted' {from_rows} WHERE "
        + _live("{r}.job_id"),
    ),
    *(
        Change(
            f"plan_decision_{event.lower()}",
            "decisions",
            event,
            "SELECT a.job_id, a.id, 'a decision changed' FROM applications a{rows} "
            "WHERE a.id = {r}.application_id AND " + _live("a.job_id"),
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
    *(
        Change(
            f"plan_feedback_{event.lower()}", "feedback", event, _by_decision("feedback changed")
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
    Change(
        "plan_person_changed",
        "persons",
        "UPDATE",
        "SELECT a.job_id, a.id, CASE WHEN {n}.erased_at IS NOT NULL AND {o}.erased_at IS NULL "
        "THEN 'an applicant was erased' ELSE 'an applicant''s details changed' END "
        "FROM applications a{both} WHERE a.person_id = {n}.id AND {differs} AND "
        + _live("a.job_id"),
    ),
    Change(
        "plan_suppression_added",
        "suppressions",
        "INSERT",
        _by_email("an address was suppressed"),
    ),
    Change(
        "plan_suppression_removed",
        "suppressions",
        "DELETE",
        _by_email("a suppression was lifted"),
    ),
    Change(
        "plan_job_changed",
        "jobs",
        "UPDATE",
        "SELECT {n}.id, " + NO_ID + ", 'the job''s letter settings changed' {from_both} "
        "WHERE {differs} AND " + _live("{n}.id"),
    ),
    *(
        Change(
            f"plan_template_{event.lower()}",
            "template_overrides",
            event,
            _everything("a template changed"),
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
    *(
        Change(
            f"plan_wording_{event.lower()}",
            "reason_wordings",
            event,
            _everything("a reason's wording changed".replace("'", "''")),
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
]

FIELDS = {"applications": APPLICATION_FIELDS, "persons": PERSON_FIELDS, "jobs": JOB_FIELDS}


def _sql(change: Change, postgres: bool) -> str:
    """The change's INSERT ... SELECT for one dialect."""
    single = "new_rows" if change.event == "INSERT" else "old_rows"
    if change.event == "UPDATE":
        single = "new_rows"
    both = "old_rows o JOIN new_rows n ON n.id = o.id"
    values = {
        "r": ("r" if postgres else ("OLD" if change.event == "DELETE" else "NEW")),
        "o": "o" if postgres else "OLD",
        "n": "n" if postgres else "NEW",
        "rows": f", {single} r" if postgres else "",
        "from_rows": f"FROM {single} r" if postgres else "",
        "both": f", {both}" if postgres else "",
        "from_both": f"FROM {both}" if postgres else "",
        "differs": _differs(FIELDS.get(change.table, ()), postgres),
    }
    return INSERT + change.select.format(**values)


def _transition(change: Change) -> str:
    if change.event == "INSERT":
        return "REFERENCING NEW TABLE AS new_rows"
    if change.event == "DELETE":
        return "REFERENCING OLD TABLE AS old_rows"
    return "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"


def upgrade() -> None:
    _create_tables()
    if _postgres():
        for change in CHANGES:
            op.execute(
                f"CREATE FUNCTION {change.name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {_sql(change, True)}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {change.name} AFTER {change.event} ON {change.table} "
                f"{_transition(change)} FOR EACH STATEMENT EXECUTE FUNCTION {change.name}()"
            )
    else:
        for change in CHANGES:
            op.execute(
                f"CREATE TRIGGER {change.name} AFTER {change.event} ON {change.table} "
                f"BEGIN {_sql(change, False)}; END"
            )


def downgrade() -> None:
    for change in CHANGES:
        if _postgres():
            op.execute(f"DROP TRIGGER {change.name} ON {change.table}")
            op.execute(f"DROP FUNCTION {change.name}()")
        else:
            op.execute(f"DROP TRIGGER {change.name}")
    op.drop_table("plan_changes")
    op.drop_table("staged_letters")
    op.drop_table("plans")


def _create_tables() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("send_now", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("change_mark", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.Integer()),
        sa.Column("released_at", sa.DateTime()),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_plans_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_plans_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index("ix_plans_job_id_state", "plans", ["job_id", "state"])
    op.create_table(
        "staged_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer()),
        sa.Column("letter_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("planned_stage", sa.String(16), nullable=False),
        sa.Column("not_before", sa.DateTime()),
        sa.Column("keep_until", sa.Date()),
        sa.Column("decide_by", sa.Date()),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("later_reason", sa.String(200)),
        sa.Column("findings", sa.Text()),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("with_feedback", sa.Boolean(), nullable=False),
        sa.Column("feedback_waiting", sa.Boolean(), nullable=False),
        sa.Column("approved_despite_findings", sa.Boolean(), nullable=False),
        sa.Column("contradicts", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_staged_letters_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_letters")),
    )
    op.create_index(
        "ix_staged_letters_plan_id_application_id",
        "staged_letters",
        ["plan_id", "application_id"],
    )
    op.create_index("ix_staged_letters_decision_id", "staged_letters", ["decision_id"])
    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer()),
        sa.Column("application_id", sa.Integer()),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_plan_changes_job_id_id", "plan_changes", ["job_id", "id"])


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")
