"""Store: every seam SqlStore served, in one protocol, while the send path moves to the seams.

New code takes the seam it needs (PipelineStore, OutboxStore or one of its parts, AuditLog,
RosterStore); this union is what ``Runtime.store`` still offers the code that takes it whole.
"""

from __future__ import annotations

from typing import Protocol

from fairwell.ports.audit import AuditLog
from fairwell.ports.outbox import OutboxStore
from fairwell.ports.pipeline import PipelineStore
from fairwell.ports.plans import PlanStore
from fairwell.ports.privacy import RosterStore


class Store(PipelineStore, OutboxStore, PlanStore, AuditLog, RosterStore, Protocol):
    """Persistence for the use cases. Every method is one transaction."""
