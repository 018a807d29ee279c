"""On SQLite, the decision and feedback triggers of 0022 run only while some plan is open.

``fairwell reject`` inserts a decision per application; on SQLite 0022's per-row trigger then
joins the application and looks for an open plan of its job, for every row, even when no plan
of any job is open (most of the time). 0029 gives the six triggers of ``decisions`` and
``feedback`` a trigger-level ``WHEN``: is any plan composing or staged? When none is, the body
is skipped. The body is 0022's, unchanged, and still asks for an open plan of the row's own
job, so the triggers note exactly what they noted before: the ``WHEN`` is implied by the
body's own condition.

SQLite evaluates a trigger's ``WHEN`` for every row (an uncorrelated subquery is not kept
from one row to the next), and ``plans`` keeps every plan released or superseded, so the
test must not scan it: ``ix_plans_state`` lets each state be one index seek. (Without it,
100,000 decisions with 1,000 old plans on file took 4.9 s instead of 0.55 s.) It is asked as
two ``EXISTS`` of one state each, not ``state IN (...)``: over an index SQLite builds the
``IN`` list again for every row, which costs about as much as the body it would skip.

PostgreSQL's triggers run once per statement and are not touched; the index is made there
too, so one schema (tables.py) describes both.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# A reject writes decisions by the thousand, an erasure deletes a person's decisions and
# feedback; feedback's triggers join one table more than the decisions' ones, and the same
# WHEN is as safe for them. The other triggers of 0022 fire on writes made a row at a time.
TABLES = ("decisions", "feedback")
ANY_PLAN_OPEN = (
    "EXISTS (SELECT 1 FROM plans WHERE state = 'composing') "
    "OR EXISTS (SELECT 1 FROM plans WHERE state = 'staged')"
)


def upgrade() -> None:
    op.create_index("ix_plans_state", "plans", ["state"])
    if _postgres():
        return
    plans = _revision_0022()
    for change in _changes(plans):
        op.execute(f"DROP TRIGGER {change.name}")
        op.execute(_create(plans, change, when=f" WHEN {ANY_PLAN_OPEN}"))


def downgrade() -> None:
    if not _postgres():
        plans = _revision_0022()
        for change in _changes(plans):
            op.execute(f"DROP TRIGGER {change.name}")
            op.execute(_create(plans, change))
    op.drop_index("ix_plans_state", "plans")


def _changes(plans: ModuleType) -> Iterator[Any]:
    return (change for change in plans.CHANGES if change.table in TABLES)


def _create(plans: ModuleType, change: Any, when: str = "") -> str:
    """0022's SQLite trigger, with ``when`` between its event and its body."""
    return (
        f"CREATE TRIGGER {change.name} AFTER {change.event} ON {change.table}{when} "
        f"BEGIN {plans._sql(change, False)}; END"
    )


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _revision_0022() -> ModuleType:
    """0022's own definitions of the plan triggers, to change or restore them exactly."""
    path = Path(__file__).with_name("0022_staged_plans.py")
    spec = importlib.util.spec_from_file_location("fairwell_migration_0022", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
