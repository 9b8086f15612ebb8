"""FAQ feedback counts and unanswered questions, stored for knowledge-base maintainers.

Neither table holds a user identity: feedback is a pair of counters per topic, and an
unanswered question is kept only as text with its digits masked.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.base import Base
from core.storage.types import UTCDateTime

logger = logging.getLogger(__name__)

MAX_UNANSWERED_CHARS = 500


class FaqFeedback(Base):
    __tablename__ = "faq_feedback"

    topic_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    helpful: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unhelpful: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FaqUnanswered(Base):
    __tablename__ = "faq_unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(MAX_UNANSWERED_CHARS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


FAQ_TABLES = (FaqFeedback.__table__, FaqUnanswered.__table__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlFeedbackStore:
    """`bot.faq.FeedbackStore` on SQLAlchemy async; works on SQLite and PostgreSQL.

    Each call is its own short transaction: a button press is one independent fact.
    """

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = _utc_now) -> None:
        self._engine = engine
        self._clock = clock
        dialect = engine.dialect.name
        if dialect == "postgresql":
            self._insert = postgresql.insert
        elif dialect == "sqlite":
            self._insert = sqlite.insert
        else:
            raise ValueError(f"unsupported database dialect {dialect}")

    async def record(self, topic_id: str, helpful: bool) -> None:
        """Count one vote; a single INSERT ... ON CONFLICT DO UPDATE, safe under concurrency."""
        column = "helpful" if helpful else "unhelpful"
        table = FaqFeedback.__table__
        statement = self._insert(table).values(
            topic_id=topic_id,
            helpful=int(helpful),
            unhelpful=int(not helpful),
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.topic_id],
            set_={column: table.c[column] + 1},
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        logger.debug("faq feedback recorded topic=%s helpful=%s", topic_id, helpful)

    async def counts(self) -> list[tuple[str, int, int]]:
        """(topic_id, helpful, unhelpful) for every topic that got a vote, by topic id."""
        statement = select(
            FaqFeedback.topic_id, FaqFeedback.helpful, FaqFeedback.unhelpful
        ).order_by(FaqFeedback.topic_id)
        async with self._engine.connect() as connection:
            rows = await connection.execute(statement)
            return [(row.topic_id, row.helpful, row.unhelpful) for row in rows]

    async def log_unanswered(self, masked_text: str) -> None:
        """Keep a question the bot could not answer; the caller has masked its digits."""
        statement = FaqUnanswered.__table__.insert().values(
            text=masked_text[:MAX_UNANSWERED_CHARS],
            created_at=self._clock(),
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def recent_unanswered(self, limit: int = 20) -> list[tuple[datetime, str]]:
        """The latest unanswered questions, newest first, for the maintainers' report."""
        statement = (
            select(FaqUnanswered.created_at, FaqUnanswered.text)
            .order_by(FaqUnanswered.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(statement)
            return [(row.created_at, row.text) for row in rows]
