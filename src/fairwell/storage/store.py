"""SqlStore: every seam store of one engine as one object, while code moves to the seams.

The stores are split by seam: :class:`~fairwell.storage.pipeline_store.SqlPipeline` (jobs,
applicants and decisions), :class:`~fairwell.storage.outbox_store.SqlOutbox` (batches, claims,
outcomes and controls), :class:`~fairwell.storage.roster_store.SqlRoster` (everyone on file)
and :class:`~fairwell.storage.audit_store.SqlAudit`. The runtime builds each of them; this
union serves the ``Store`` port (fairwell.ports.store) to the code that still takes it whole.
"""

from __future__ import annotations

from fairwell.storage.audit_store import SqlAudit
from fairwell.storage.outbox_store import SqlOutbox
from fairwell.storage.pipeline_store import SqlPipeline
from fairwell.storage.plans_store import SqlPlans
from fairwell.storage.roster_store import SqlRoster


class SqlStore(SqlPipeline, SqlOutbox, SqlPlans, SqlRoster, SqlAudit):
    """The Store port over one SQLAlchemy engine (SQLite or PostgreSQL)."""
