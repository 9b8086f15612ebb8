"""Alembic environment: runs on the connection handed in by core.storage.db.migrate."""

from __future__ import annotations

from alembic import context

import core.storage.all_models  # noqa: F401  (registers every table on the metadata)
from core.storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through core.storage.db.migrate or `python -m core init`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
