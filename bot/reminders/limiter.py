"""Pacing sends under Telegram's flood limits: one rate per bot, one per chat.

Both limiters hand out send slots the same way: a message may go once its chat's next slot
has come; it then takes the bot's next free slot, and the chat's next slot is set one chat
interval after that. Slots are reserved, not polled for, so senders wait in order and the
bot's rate is used evenly, which is what keeps Telegram from answering 429 in steady state.
A 429 pushes both the chat's and the bot's next slot back by its retry_after.

A chat may also be allowed a short burst (``chat_burst`` messages at once, then one per
interval): the chat's "next slot" is then a theoretical time that may run up to
``chat_burst - 1`` intervals ahead of now before a sender has to wait. The bot's rate has
no burst: its slots stay evenly spaced.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis

from bot.config import BotSettings

# Sends to one chat are spaced this much wider than the limit: the gap Telegram measures is
# between arrivals, and network jitter would otherwise eat into it.
CHAT_MARGIN = 1.05


class RateLimiter(Protocol):
    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may be sent."""

    async def penalize(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait: hold this chat and the bot back."""

    async def sent(self, chat_id: int) -> None:
        """A send to ``chat_id`` has just been answered: its next one waits a full interval
        from now, since Telegram measures the gap between arrivals, not between our slots."""


# Missing: groups are paced like private chats; Telegram allows only about 20 a minute there.
class LocalRateLimiter:
    """For one worker process."""

    def __init__(self, global_rate: float, chat_rate: float, chat_burst: int = 1) -> None:
        self._global_interval = 1.0 / global_rate
        self._chat_interval = CHAT_MARGIN / chat_rate
        self._chat_ahead = (chat_burst - 1) * self._chat_interval
        self._global_next = 0.0
        self._chat_next: dict[int, float] = {}

    def _reserve(self, chat_id: int, now: float) -> tuple[float, bool]:
        """(seconds to wait, whether a slot was taken)."""
        chat_next = self._chat_next.get(chat_id, 0.0)
        chat_ready = chat_next - self._chat_ahead
        if chat_ready > now:
            return chat_ready - now, False
        slot = max(now, self._global_next)
        self._global_next = slot + self._global_interval
        self._chat_next[chat_id] = max(chat_next, slot) + self._chat_interval
        if len(self._chat_next) > 10_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return slot - now, True

    async def acquire(self, chat_id: int) -> None:
        while True:
            wait, taken = self._reserve(chat_id, time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            if taken:
                return

    async def sent(self, chat_id: int) -> None:
        until = time.monotonic() + self._chat_interval
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)

    async def penalize(self, chat_id: int, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._global_next = max(self._global_next, until)
        # Held back for the whole pause, and without a burst right after it.
        held = until + self._chat_ahead
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), held)


# KEYS: bot key, chat key. ARGV: bot interval, chat interval, how far the chat's next slot
# may run ahead of now (its burst; microseconds).
# Returns {microseconds to wait, 1 if a slot was taken}. Time comes from the Redis server, so
# workers on several machines share one clock.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local global_interval = tonumber(ARGV[1])
local chat_interval = tonumber(ARGV[2])
local chat_ahead = tonumber(ARGV[3])
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
local chat_ready = chat_next - chat_ahead
if chat_ready > now then
  return {chat_ready - now, 0}
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local new_chat = math.max(chat_next, slot) + chat_interval
local keep = math.ceil((new_chat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', slot + global_interval), 'PX', keep)
redis.call('SET', KEYS[2], string.format('%.0f', new_chat), 'PX', keep)
return {slot - now, 1}
"""

# KEYS: keys to hold back (bot and chat, or the chat alone). ARGV: microseconds.
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untill = now + tonumber(ARGV[1])
local keep = math.ceil(tonumber(ARGV[1]) / 1000) + 1000
for _, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  if current < untill then
    redis.call('SET', key, string.format('%.0f', untill), 'PX', keep)
  end
end
return 1
"""


class RedisRateLimiter:
    """Shared by every worker that uses the same Redis and prefix (one prefix per bot)."""

    def __init__(
        self,
        redis: Redis,
        global_rate: float,
        chat_rate: float,
        chat_burst: int = 1,
        *,
        prefix: str = "wq:rate",
    ) -> None:
        self._redis = redis
        self._global_interval = round(1_000_000 / global_rate)
        self._chat_interval = round(1_000_000 * CHAT_MARGIN / chat_rate)
        self._chat_ahead = (chat_burst - 1) * self._chat_interval
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._penalize = redis.register_script(_PENALIZE)

    def _keys(self, chat_id: int) -> list[str]:
        return [f"{self._prefix}:bot", f"{self._prefix}:chat:{chat_id}"]

    async def acquire(self, chat_id: int) -> None:
        while True:
            wait_us, taken = await self._reserve(
                keys=self._keys(chat_id),
                args=[self._global_interval, self._chat_interval, self._chat_ahead],
            )
            if wait_us > 0:
                await asyncio.sleep(int(wait_us) / 1_000_000)
            if int(taken):
                return

    async def sent(self, chat_id: int) -> None:
        await self._penalize(keys=self._keys(chat_id)[1:], args=[self._chat_interval])

    async def penalize(self, chat_id: int, seconds: float) -> None:
        bot, chat = self._keys(chat_id)
        pause = round(seconds * 1_000_000)
        await self._penalize(keys=[bot], args=[pause])
        await self._penalize(keys=[chat], args=[pause + self._chat_ahead])


class Unlimited:
    """No pacing: for tests of rendering and transports that have no flood limits."""

    async def acquire(self, chat_id: int) -> None:
        return None

    async def penalize(self, chat_id: int, seconds: float) -> None:
        return None

    async def sent(self, chat_id: int) -> None:
        return None


def build_limiter(settings: BotSettings, redis: Redis | None = None) -> RateLimiter:
    """Shared through Redis when one is given, so several processes keep one budget."""
    if redis is not None:
        return RedisRateLimiter(
            redis,
            settings.telegram_global_rate,
            settings.telegram_chat_rate,
            settings.telegram_chat_burst,
        )
    return LocalRateLimiter(
        settings.telegram_global_rate,
        settings.telegram_chat_rate,
        settings.telegram_chat_burst,
    )
