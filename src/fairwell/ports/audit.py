"""The audit log: every state change of a decision, letter, consent or erasure, without
personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log row; ``detail`` is the stored JSON of ids, counts and codes."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    detail: str


class AuditLog(Protocol):
    """The audit log (storage/audit_store.py): ids, counts and codes, never personal data."""

    def audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: dict[str, object],
        now: datetime,
    ) -> None: ...
