"""Shared fixtures: real SQLite files and real PostgreSQL databases, a settable clock.

``database_url`` is parametrised over both back ends; PostgreSQL tests are skipped only
when no server answers on 127.0.0.1:5432 (CI always has one). Each test gets a fresh
database: SQLite copies a migrated template file, PostgreSQL clones a migrated template
database, so migrations run once per session per back end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from core.bootstrap import Core, open_core
from core.config import CoreSettings
from core.storage.db import create_engine, migrate

# PTB 22 warns on RetryAfter.retry_after unless timedeltas are opted into; warnings are errors.
os.environ.setdefault("PTB_TIMEDELTA", "1")

PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"


class FakeClock:
    """A clock the test moves by hand; always timezone-aware UTC."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 6, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


class RecordingSms:
    """SMS backend for tests: keeps what would have been sent; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = False

    async def send(self, phone: str, text: str) -> bool:
        if self.fail:
            return False
        self.sent.append((phone, text))
        return True

    def last_code(self) -> str:
        import re

        match = re.search(r"验证码 (\d{6})", self.sent[-1][1])
        assert match, "no code in the last SMS"
        return match.group(1)


def _pg_available() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_available() -> bool:
    available = _pg_available()
    if not available and os.environ.get("CI"):
        # CI must exercise PostgreSQL; a silent skip there would hide half the suite.
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 in CI")
    return available


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def pg_template(pg_available: bool) -> Iterator[str | None]:
    if not pg_available:
        yield None
        return
    name = f"wq_tmpl_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        engine = create_engine(_pg_url(name))
        await migrate(engine)
        await engine.dispose()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create())
    yield name
    asyncio.run(drop())


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_template: str | None,
) -> AsyncIterator[str]:
    """A fresh, migrated database of each back end."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if pg_template is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"wq_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    await conn.close()
    yield _pg_url(name)
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@pytest.fixture
async def pg_url(database_url: str) -> str:
    """Alias for tests that only make sense on PostgreSQL; skips the SQLite run."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    return database_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def settings(database_url: str) -> CoreSettings:
    return CoreSettings(database_url=database_url, secret_key=TEST_SECRET, _env_file=None)


@pytest.fixture
async def core(settings: CoreSettings, clock: FakeClock, sms: RecordingSms) -> AsyncIterator[Core]:
    async with open_core(settings, clock=clock, sms=sms, migrate_schema=False) as built:
        yield built
