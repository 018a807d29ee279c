"""Alembic environment: runs migrations on the connection that fairwell.storage.migrate passes."""

from __future__ import annotations

from alembic import context

from fairwell.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `fairwell init`, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
