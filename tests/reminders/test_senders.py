"""The notifiers map Telegram's answers, and the Redis limiter paces several workers as one."""

import os
import time
import uuid

import pytest
from redis.asyncio import Redis

from bot.flows.types import Button, DeliveryStatus, Reply
from bot.reminders.limiter import RedisRateLimiter
from bot.reminders.senders import AiogramNotifier, PtbNotifier
from tests.fakes.botapi import FakeBotApi, make_aiogram_bot, make_ptb_bot

REPLY = Reply("⏰ <b>截止提醒</b>", ((Button("查看邀请", "inv:open:1"),),))


async def outcomes(api: FakeBotApi, notifier) -> list[tuple[DeliveryStatus, float]]:
    api.blocked_users.add(2)
    got = [await notifier.push(1, REPLY), await notifier.push(2, REPLY)]
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    got.append(await notifier.push(1, REPLY))
    api.fail_next("sendMessage", 400, "Bad Request: chat not found")
    got.append(await notifier.push(1, REPLY))
    return [(d.status, d.retry_after_s) for d in got]


EXPECTED = [
    (DeliveryStatus.SENT, 0.0),
    (DeliveryStatus.BLOCKED, 0.0),
    (DeliveryStatus.RETRY_AFTER, 7.0),
    (DeliveryStatus.FAILED, 0.0),
]


async def test_aiogram_notifier_reports_sent_blocked_retry_after_and_failed(
    fake_botapi: FakeBotApi,
):
    bot = make_aiogram_bot(fake_botapi)
    try:
        assert await outcomes(fake_botapi, AiogramNotifier(bot)) == EXPECTED
    finally:
        await bot.session.close()
    assert fake_botapi.buttons(1) == [("查看邀请", "inv:open:1")]


async def test_ptb_notifier_reports_sent_blocked_retry_after_and_failed(fake_botapi: FakeBotApi):
    async with make_ptb_bot(fake_botapi) as bot:
        assert await outcomes(fake_botapi, PtbNotifier(bot)) == EXPECTED
    assert fake_botapi.buttons(1) == [("查看邀请", "inv:open:1")]


@pytest.mark.redis
async def test_two_workers_sharing_redis_keep_one_rate():
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await redis.ping()
    except OSError:
        if os.environ.get("CI"):
            raise  # CI starts Redis; a skip there would hide the shared limiter's test
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    prefix = f"wq:test:{uuid.uuid4().hex}"
    try:
        one = RedisRateLimiter(redis, 100.0, 10.0, prefix=prefix)
        two = RedisRateLimiter(redis, 100.0, 10.0, prefix=prefix)
        start = time.monotonic()
        for chat in range(25):
            await one.acquire(chat)
            await two.acquire(1000 + chat)
        # 50 slots at 100 a second: the first is free, the last 0.49 s later.
        assert time.monotonic() - start >= 0.47

        start = time.monotonic()
        for limiter in (one, two, one):
            await limiter.acquire(7)  # one chat, 10 a second
        assert time.monotonic() - start >= 0.2

        await one.penalize(8, 0.3)
        start = time.monotonic()
        await two.acquire(9)
        assert time.monotonic() - start >= 0.25, "a 429 holds every worker back"
    finally:
        await redis.delete(*[k async for k in redis.scan_iter(f"{prefix}:*")])
        await redis.aclose()
