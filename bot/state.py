"""Where conversation state lives between messages: SQL by default, Redis when configured.

Both stores keep one JSON document per key, so a restart (or a switch between the aiogram
and python-telegram-bot adapters) resumes every conversation where it stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.storage.models import ConversationState

log = logging.getLogger(__name__)

# A graduate may come back weeks later; a month of silence ends the conversation.
REDIS_TTL = timedelta(days=30)
MAX_KEY_LENGTH = 80


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"state key must be 1..{MAX_KEY_LENGTH} characters")
    return key


class SqlStateStore:
    """State in the ``conversation_states`` table; each call is its own short transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def load(self, key: str) -> dict[str, object] | None:
        async with self._sessions() as s:
            row = await s.get(ConversationState, _check_key(key))
            return dict(row.data) if row is not None else None

    async def save(self, key: str, data: dict[str, object]) -> None:
        try:
            await self._save(key, data)
        except IntegrityError:
            # Another process inserted the same key first: the row exists now, update it.
            await self._save(key, data)

    async def _save(self, key: str, data: dict[str, object]) -> None:
        async with self._sessions() as s, s.begin():
            row = await s.get(ConversationState, _check_key(key), with_for_update=True)
            if row is None:
                s.add(ConversationState(key=key, data=data, updated_at=self._clock()))
            else:
                row.data = data
                row.updated_at = self._clock()

    async def clear(self, key: str) -> None:
        async with self._sessions() as s, s.begin():
            await s.execute(delete(ConversationState).where(ConversationState.key == key))

    async def keys(self) -> list[str]:
        async with self._sessions() as s:
            return list(await s.scalars(select(ConversationState.key)))


class RedisStateStore:
    """State in Redis under ``<prefix><key>``, expiring after a month of silence."""

    def __init__(self, redis: Redis, *, prefix: str = "wq:conv:") -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "wq:conv:") -> RedisStateStore:
        return cls(Redis.from_url(url), prefix=prefix)

    async def load(self, key: str) -> dict[str, object] | None:
        raw = await self._redis.get(self._prefix + _check_key(key))
        if raw is None:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    async def save(self, key: str, data: dict[str, object]) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        await self._redis.set(self._prefix + _check_key(key), payload, ex=REDIS_TTL)

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + _check_key(key))

    async def close(self) -> None:
        await self._redis.aclose()
