"""SqlAudit: the audit log (the AuditLog port): ids, counts and codes, never personal data."""

from __future__ import annotations

from datetime import datetime

from fairwell.storage.base import SqlBase
from fairwell.storage.rows import audit


class SqlAudit(SqlBase):
    """The AuditLog port."""

    def audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: dict[str, object],
        now: datetime,
    ) -> None:
        with self._write() as conn:
            audit(conn, actor, action, entity, entity_id, detail, now)
