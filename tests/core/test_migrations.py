"""Alembic's upgrade on an empty database builds exactly the schema the models declare."""

import uuid

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import core.storage.all_models  # noqa: F401  (every table on the metadata)
from core.storage.base import Base
from core.storage.db import create_engine, migrate
from tests.conftest import PG_ADMIN_DSN, _pg_url


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def _check(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        # Running it again on an up-to-date database changes nothing.
        await migrate(engine)
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_from_empty_matches_the_models(tmp_path):
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.postgres
async def test_postgresql_upgrade_from_empty_matches_the_models(pg_available):
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"wq_mig_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        await _check(_pg_url(name))
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
