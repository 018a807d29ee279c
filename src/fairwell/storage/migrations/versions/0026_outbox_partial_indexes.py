"""The outbox's claim indexes hold only letters still to go (partial indexes).

``ix_outbox_state_next_attempt`` and ``ix_outbox_state_lease_until`` indexed every letter
ever written, sent ones included, and a claim moved each letter's entry in both (and its
result moved them again). Now ``ix_outbox_queued_due`` and ``ix_outbox_retry_due`` index the
due time of queued and retried letters, and ``ix_outbox_sending_lease`` the lease of claimed
ones: each stays the size of the queue, and a state change moves one entry. At 100,000
letters in the outbox a claim's UPDATE went from ~19 ms to ~1.2 ms (bench/README.md).

Indexes only: no table is rebuilt, no trigger is touched.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_PARTIAL = {
    "ix_outbox_queued_due": ("next_attempt_at", "queued"),
    "ix_outbox_retry_due": ("next_attempt_at", "retry"),
    "ix_outbox_sending_lease": ("lease_until", "sending"),
}


def upgrade() -> None:
    op.drop_index("ix_outbox_state_next_attempt", table_name="outbox")
    op.drop_index("ix_outbox_state_lease_until", table_name="outbox")
    for name, (column, state) in _PARTIAL.items():
        where = sa.text(f"state = '{state}'")
        op.create_index(name, "outbox", [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name in _PARTIAL:
        op.drop_index(name, table_name="outbox")
    op.create_index("ix_outbox_state_next_attempt", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_state_lease_until", "outbox", ["state", "lease_until"])
