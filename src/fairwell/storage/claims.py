"""The statements a worker runs for every claim, built once per kind of database.

SQLAlchemy reuses compiled SQL, but to find it, it must first build the statement again and
walk it for a cache key: about 0.2 ms for a join with a few conditions, several times what
SQLite takes to run it. A claim runs six such statements for each 250 letters, so they are
built here once, with bound parameters for everything that changes between claims, and only
the cache look-up remains. A claim's ids are one bound value (IdList), not an expanding
IN that SQLAlchemy rewrites at every run. The statements of each commit of results go
further: compiled once and run as driver SQL (DriverStatement, Bookkeeping).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    String,
    Update,
    and_,
    any_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.types import TypeDecorator

from fairwell.domain.model import CLAIMABLE_STATES, DecisionState, LetterKind, OutboxState
from fairwell.storage.tables import (
    applications,
    audit_log,
    batches,
    consents,
    controls,
    decisions,
    letter_bodies,
    outbox,
    persons,
    roster_clock,
    suppressions,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, CursorResult, Dialect
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.expression import ClauseElement
    from sqlalchemy.types import TypeEngine

# Letters written only to people on file: dropped at send time once the consent has lapsed.
ON_FILE_KINDS = (LetterKind.ROLE_OPENED.value, LetterKind.CONSENT_RENEWAL.value)

_NOW = bindparam("claim_now", type_=outbox.c.next_attempt_at.type)


class IdList(TypeDecorator[list[int]]):
    """A claim's ids bound as one value: an array on PostgreSQL, a JSON array on SQLite (read
    back with json_each). An expanding IN is rewritten by SQLAlchemy with one parameter per
    id at every run, about 0.25 ms for a claim's 250 ids, three times a claim."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Integer()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        ids = [int(letter_id) for letter_id in value]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


def _in_ids(postgres: bool) -> Any:
    """``outbox.id`` is one of the ids bound as ``claim_ids`` (a list of ints)."""
    ids = bindparam("claim_ids", type_=IdList())
    if postgres:
        return outbox.c.id == any_(ids)
    listed = func.json_each(ids).table_valued("value")
    return outbox.c.id.in_(select(listed.c.value))


_LIMIT = bindparam("claim_limit", type_=Integer())


def in_state(state: OutboxState) -> Any:
    """``state = 'queued'`` with the state written into the SQL, not bound: the outbox's
    claim indexes are partial, one per state (0026), and a plan made without the value (a
    PostgreSQL generic plan of a prepared statement) cannot prove a bound state matches."""
    return outbox.c.state == literal(state.value, literal_execute=True)


def _waiting(state: OutboxState) -> Any:
    return and_(in_state(state), outbox.c.next_attempt_at <= _NOW)


def _abandoned() -> Any:
    """Claimed by a worker whose lease ran out: it died, or lost its database."""
    return and_(in_state(OutboxState.SENDING), outbox.c.lease_until < _NOW)


def _candidates(condition: Any, order: Any, postgres: bool) -> Select[Any]:
    """Ids matching one indexed condition, oldest first, at most ``claim_limit``.

    One query per state, each served by an index on (state, time), so a claim reads
    ``limit`` rows however long the queue is. An OR of the states would scan it all.
    """
    query = (
        select(outbox.c.id)
        .join(batches, batches.c.id == outbox.c.batch_id)
        .where(condition, batches.c.state == "active")
        .order_by(order)
        .limit(_LIMIT)
    )
    return query.with_for_update(skip_locked=True, of=outbox) if postgres else query


def _claim(postgres: bool) -> Update:
    """Take the candidates still claimable: losing a race to another worker is normal."""
    claimable = or_(*(_waiting(state) for state in sorted(CLAIMABLE_STATES)), _abandoned())
    return (
        update(outbox)
        .where(_in_ids(postgres), claimable)
        .values(
            state=OutboxState.SENDING.value,
            lease_owner=bindparam("claim_owner"),
            lease_until=bindparam("claim_lease_until", type_=outbox.c.lease_until.type),
            attempts=outbox.c.attempts + 1,
            handed=false(),
            updated_at=_NOW,
        )
        .returning(outbox.c.id)
    )


def _recover(postgres: bool) -> Update:
    """Count a possible duplicate on each abandoned letter its dead worker had handed (or was
    about to hand) to the relay; the rest of its claim never left and is not counted."""
    return (
        update(outbox)
        .where(_in_ids(postgres), _abandoned(), outbox.c.handed == true())
        .values(possible_duplicates=outbox.c.possible_duplicates + 1)
        .returning(outbox.c.id)
    )


def _handing() -> Update:
    """Mark a run of this worker's claimed letters (by id, the order they go in) as handed to
    the relay, before their data goes. A range, not a list: one fixed statement, cheap."""
    return (
        update(outbox)
        .where(
            outbox.c.id.between(bindparam("first_id"), bindparam("last_id")),
            outbox.c.lease_owner == bindparam("claim_owner"),
            outbox.c.state == OutboxState.SENDING.value,
        )
        .values(handed=true())
    )


def _load(postgres: bool) -> Select[Any]:
    """The claimed letters with their bytes, as plain rows in id order."""
    return (
        select(
            outbox.c.id,
            outbox.c.batch_id,
            outbox.c.application_id,
            outbox.c.sender,
            outbox.c.recipient,
            outbox.c.locale,
            outbox.c.planned_stage,
            outbox.c.attempts,
            outbox.c.created_at,
            letter_bodies.c.body,
            letter_bodies.c.guard_seal,
            applications.c.job_id,
            applications.c.person_id,
        )
        .join(applications, applications.c.id == outbox.c.application_id)
        .join(letter_bodies, letter_bodies.c.id == outbox.c.body_id)
        .where(_in_ids(postgres))
        .order_by(outbox.c.id)
    )


def _consented(at_time: bool) -> Any:
    """Whether the letter's person has a talent-pool consent not withdrawn (nor expired, when
    the facts are read ``at_time``)."""
    conditions = [
        consents.c.person_id == applications.c.person_id,
        consents.c.withdrawn_at.is_(None),
    ]
    if at_time:
        conditions.append(consents.c.until > _NOW)
    return select(consents.c.id).where(*conditions).exists()


def _facts(at_time: bool, postgres: bool) -> Select[Any]:
    """Fresh eligibility facts for each claimed letter: (id, kind, has a decision, sent,
    stage, source, erased, decision state, suppressed, decided, consented)."""
    # An alias: the outer query joins ``decisions`` itself (the letter's own decision).
    any_decision = decisions.alias("any_decision")
    decided = (
        select(any_decision.c.id)
        .where(
            any_decision.c.application_id == outbox.c.application_id,
            any_decision.c.state == DecisionState.ACTIVE.value,
        )
        .exists()
    )
    return (
        select(
            outbox.c.id,
            outbox.c.kind,
            # Whether each is set, not its value: the rows then hold only a few distinct
            # values (storage reads them once per distinct row), and no times to convert.
            outbox.c.decision_id.is_not(None).label("has_decision"),
            outbox.c.sent_at.is_not(None).label("sent"),
            applications.c.stage,
            applications.c.source,
            persons.c.erased_at.is_not(None).label("erased"),
            decisions.c.state,
            suppressions.c.email.is_not(None).label("suppressed"),
            # Each sub-query only for the letters it concerns: the database then never reads
            # every decision or consent of the job to answer a claim.
            case((outbox.c.kind == LetterKind.STATUS.value, decided), else_=false()).label(
                "decided"
            ),
            case((outbox.c.kind.in_(ON_FILE_KINDS), _consented(at_time)), else_=true()).label(
                "consented"
            ),
        )
        .join(applications, applications.c.id == outbox.c.application_id)
        .join(persons, persons.c.id == applications.c.person_id)
        .outerjoin(decisions, decisions.c.id == outbox.c.decision_id)
        .outerjoin(suppressions, suppressions.c.email == outbox.c.recipient)
        .where(_in_ids(postgres))
    )


@dataclass(frozen=True, slots=True)
class ClaimStatements:
    """Every statement of a claim and its send-time facts, for one kind of database."""

    paused: Select[Any]
    abandoned: Select[Any]
    waiting: tuple[Select[Any], ...]  # queued first, then retries
    claim: Update
    recover: Update
    handing: Update
    load: Select[Any]
    facts_at_time: Select[Any]
    facts_any_time: Select[Any]
    roster_version: Select[Any]

    def facts(self, at_time: bool) -> Select[Any]:
        return self.facts_at_time if at_time else self.facts_any_time


@functools.cache
def claim_statements(postgres: bool) -> ClaimStatements:
    """The statements, built on first use (PostgreSQL's skip the rows others have locked)."""
    return ClaimStatements(
        paused=select(controls.c.value).where(controls.c.name == "paused"),
        abandoned=_candidates(_abandoned(), outbox.c.lease_until, postgres),
        waiting=tuple(
            _candidates(_waiting(state), outbox.c.next_attempt_at, postgres)
            for state in (OutboxState.QUEUED, OutboxState.RETRY)
        ),
        claim=_claim(postgres),
        recover=_recover(postgres),
        handing=_handing(),
        load=_load(postgres),
        facts_at_time=_facts(at_time=True, postgres=postgres),
        facts_any_time=_facts(at_time=False, postgres=postgres),
        roster_version=select(roster_clock.c.version).where(roster_clock.c.id == 1),
    )


class DriverStatement:
    """A statement compiled once, by SQLAlchemy, for one database, and run as driver SQL.

    Even a statement SQLAlchemy has compiled and cached costs it about 40 us to run (an
    execution context, the parameters walked, a result set up), more than SQLite takes for a
    commit's 20 rows; a worker runs three for every commit of results. Run with
    ``exec_driver_sql`` the SQL and its values go to the driver as they are, still in the
    connection's transaction, with its error handling: so the values that need converting
    (times) go through their column type's own converter here.
    """

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast("SQLCompiler", statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # A value SQLAlchemy would write into the SQL only as it runs (literal_execute, an
        # expanding IN) is not in this SQL: such statements are not for here.
        assert "__[POSTCOMPILE_" not in self.sql, "no post-compile parameters"
        names = compiled.bind_names
        self._fixed: dict[str, Any] = {}
        self._convert: dict[str, Callable[[Any], Any]] = {}
        for bind, name in names.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if not bind.required:  # a literal of the statement: converted once, here
                value = bind.effective_value
                self._fixed[name] = value if convert is None else convert(value)
            elif convert is not None:
                self._convert[name] = convert
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def run(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        """Run in ``conn``'s transaction with ``values`` for every bound parameter."""
        params = {**self._fixed, **values}
        for name, convert in self._convert.items():
            params[name] = convert(params[name])
        if self._order is None:
            return conn.exec_driver_sql(self.sql, params)
        return conn.exec_driver_sql(self.sql, tuple(params[name] for name in self._order))


@functools.cache
def id_names(count: int) -> tuple[str, ...]:
    """The names of ``count`` id parameters of :func:`mark_sent` and :func:`audit_sent`."""
    return tuple(f"id_{index}" for index in range(count))


def _ids_in(count: int) -> Any:
    """``outbox.id IN (:id_0, ...)``: one parameter per id, so the SQL is fixed for a count
    (an expanding IN is rewritten by SQLAlchemy at every run)."""
    return outbox.c.id.in_([bindparam(name, type_=Integer()) for name in id_names(count)])


def mark_sent(count: int) -> Update:
    """Mark ``count`` letters sent, only while this worker holds their lease: one UPDATE for
    all the letters of a commit, not one per letter."""
    return (
        update(outbox)
        .where(_ids_in(count), outbox.c.lease_owner == bindparam("b_owner"))
        .values(
            state=OutboxState.SENT.value,
            lease_owner=None,
            lease_until=None,
            updated_at=bindparam("b_now"),
            sent_at=bindparam("b_now"),
            last_code=None,
            last_error=None,
            held_rule=None,
        )
    )


def audit_sent(count: int) -> Any:
    """The ``count`` letters' audit rows, written by the database from their ids."""
    return insert(audit_log).from_select(
        ["at", "actor", "action", "entity", "entity_id", "detail"],
        select(
            bindparam("b_now", type_=audit_log.c.at.type),
            bindparam("b_owner", type_=audit_log.c.actor.type),
            literal("letter.sent", audit_log.c.action.type),
            literal("outbox", audit_log.c.entity.type),
            outbox.c.id,
            literal("{}", audit_log.c.detail.type),
        )
        .where(_ids_in(count))
        .order_by(outbox.c.id),
    )


class Bookkeeping:
    """A worker's statements for every commit of results, as driver SQL for one database:
    the letters sent (one statement per count of letters, made on first use) and the next
    letters marked handed."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._sent: dict[int, tuple[DriverStatement, DriverStatement]] = {}

    @functools.cached_property
    def handing(self) -> DriverStatement:
        """Compiled on first use: every command opens the store, only workers deliver."""
        return DriverStatement(_handing(), self._dialect)

    def sent(self, count: int) -> tuple[DriverStatement, DriverStatement]:
        """The UPDATE and the audit INSERT for ``count`` letters sent."""
        statements = self._sent.get(count)
        if statements is None:
            statements = self._sent[count] = (
                DriverStatement(mark_sent(count), self._dialect),
                DriverStatement(audit_sent(count), self._dialect),
            )
        return statements
