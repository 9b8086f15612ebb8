"""Feedback counts and unanswered questions on real SQLite and PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.faq import FaqEngine, FaqService, Outcome, UnknownTopicError
from core.storage.base import Base
from core.storage.faq import FAQ_TABLES, SqlFeedbackStore

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
FIXED_NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL unreachable: {error}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlFeedbackStore]:
    database = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'faq.db'}"
    else:
        admin = await _pg_admin()
        database = f"faqtest_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all, tables=list(FAQ_TABLES))
    yield SqlFeedbackStore(engine, clock=lambda: FIXED_NOW)
    await engine.dispose()
    if database is not None:
        admin = await _pg_admin()
        await admin.execute(f'DROP DATABASE "{database}"')
        await admin.close()


async def test_votes_are_counted_per_topic(store: SqlFeedbackStore) -> None:
    await store.record("breach.penalty", helpful=True)
    await store.record("breach.penalty", helpful=False)
    await store.record("breach.penalty", helpful=True)
    await store.record("signing.otp", helpful=False)

    assert await store.counts() == [("breach.penalty", 2, 1), ("signing.otp", 0, 1)]


async def test_concurrent_votes_are_all_counted(store: SqlFeedbackStore) -> None:
    votes = [store.record("signing.otp", helpful=n % 3 != 0) for n in range(30)]

    await asyncio.gather(*votes)

    assert await store.counts() == [("signing.otp", 20, 10)]


async def test_unanswered_questions_are_kept_masked_and_without_identity(
    store: SqlFeedbackStore,
) -> None:
    service = FaqService(FaqEngine.load(), store)

    result = await service.ask("我的手机13812345678今天天气怎么样")

    assert result.outcome is Outcome.UNKNOWN
    assert await store.recent_unanswered() == [(FIXED_NOW, "我的手机***********今天天气怎么样")]


async def test_feedback_for_a_stale_topic_id_is_refused(store: SqlFeedbackStore) -> None:
    service = FaqService(FaqEngine.load(), store)

    with pytest.raises(UnknownTopicError):
        await service.feedback("no.such.topic", helpful=True)
    await service.feedback("breach.process", helpful=True)

    assert await store.counts() == [("breach.process", 1, 0)]
