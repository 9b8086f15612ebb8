"""Alembic environment: runs on the connection handed in by core.storage.db.migrate."""

from __future__ import annotations

from alembic import context

import core.storage.all_models  # noqa: F401  (registers every table on the metadata)
from core.storage.base import Base
from core.storage.types import UTCDateTime

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through core.storage.db.migrate or `python -m core init`")


def render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    # Our TypeDecorators are plain SQL types underneath; migrations must not import them.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    render_item=render_item,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
