"""The dispatcher: plans reminders, claims due reminders and pushes, sends them, records.

One pass: expire what is overdue (which queues its pushes), plan reminders for deadlines
entering the horizon, then claim batches until nothing is due. Each message is sent under
the rate limiter and its sender waits, still holding its concurrency slot, until the send is
recorded. Records are written in groups (every send answered while the previous group was
being written goes into the next), one transaction a group instead of one a message, so a
crash still leaves unmarked at most the messages in flight, never more than
``reminder_concurrency`` (see ``core.reminders`` for why that side was chosen).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.flows.types import DeliveryStatus, Notifier
from bot.reminders.limiter import RateLimiter, build_limiter
from bot.reminders.settings import ReminderSettings
from bot.texts.notify import render
from core import reminders as r
from core.bootstrap import Core

log = logging.getLogger(__name__)

MAX_FLOOD_RETRIES = 5


@dataclass
class PassStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    postponed: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    planned: int = 0

    def add(self, other: PassStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class SentLedger:
    """Writes "sent" for many rows in one transaction: group commit for the send records.

    ``record`` returns only once its row is written, so a caller that holds a concurrency slot
    until then keeps the number of sent-but-unrecorded messages within the concurrency.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        worker: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._worker = worker
        self._clock = clock
        self._waiting: list[tuple[tuple[str, int], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, queue: str, row_id: int) -> bool:
        """Mark one row sent; False when its lease had passed to another worker."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append(((queue, row_id), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                marked = await r.mark_all_sent(
                    self._sessions, [key for key, _ in group], self._worker, self._clock()
                )
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for key, done in group:
                if not done.done():
                    done.set_result(key in marked)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


class ReminderWorker:
    def __init__(
        self,
        core: Core,
        notifier: Notifier,
        settings: ReminderSettings,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] | None = None,
        name: str | None = None,
    ) -> None:
        self._core = core
        self._notifier = notifier
        self._settings = settings
        self._schedule = settings.schedule()
        self._limiter = limiter or build_limiter(settings)
        self._clock = clock or core.service.now
        self.name = name or worker_name()
        self._planned_at: float | None = None
        self._unreachable: set[int] = set()
        self._ledger = SentLedger(core.sessions, self.name, self._clock)

    async def run_pass(self) -> PassStats:
        """Everything due as of now, then return."""
        stats = PassStats()
        sessions = self._core.sessions
        if self._settings.reminder_run_expiry:
            await self._core.service.expire_due(self._clock())
        if (
            self._planned_at is None
            or time.monotonic() - self._planned_at >= self._settings.reminder_plan_interval_s
        ):
            stats.planned = await r.plan_reminders(sessions, self._schedule, self._clock())
            self._planned_at = time.monotonic()
        self._unreachable.clear()
        # The next batch is claimed and checked while the current one is being sent, so the
        # limiter's slots are not left idle between batches.
        sending: asyncio.Task[PassStats] | None = None
        try:
            while True:
                now = self._clock()
                items: list[r.Claimed] = []
                for queue in ("event", "reminder"):
                    items += await r.claim(
                        sessions,
                        queue,
                        self.name,
                        now,
                        lease=self._settings.lease,
                        limit=self._settings.reminder_batch_size,
                    )
                if not items:
                    break
                ready, prepared = await self._prepare(items, now)
                stats.add(prepared)
                if sending is not None:
                    stats.add(await sending)
                sending = asyncio.create_task(self._send_all(ready))
            if sending is not None:
                stats.add(await sending)
                sending = None
        finally:
            if sending is not None:
                sending.cancel()
        return stats

    async def _prepare(
        self, items: list[r.Claimed], now: datetime
    ) -> tuple[list[r.Verdict], PassStats]:
        stats = PassStats(claimed=len(items))
        sessions = self._core.sessions
        verdicts = await r.prepare(sessions, items, self._schedule, now)
        skips = [(v.item, r.SKIPPED, v.skip) for v in verdicts if v.skip]
        await r.finish(sessions, skips, self.name)
        stats.skipped += len(skips)
        for v in verdicts:
            if v.postpone_to is not None:
                await r.release(sessions, v.item, self.name, v.postpone_to)
                stats.postponed += 1
        return [v for v in verdicts if v.notice is not None], stats

    async def _send_all(self, ready: list[r.Verdict]) -> PassStats:
        stats = PassStats()
        gate = asyncio.Semaphore(self._settings.reminder_concurrency)

        by_chat: dict[int, list[r.Verdict]] = {}
        for v in ready:
            by_chat.setdefault(v.notice.chat_id, []).append(v)  # type: ignore[union-attr]

        async def in_order(queue: list[r.Verdict]) -> list[str]:
            # One chat's messages go one after another, in the order they fell due, so a
            # graduate never reads 第 7 版 before 第 3 版. Different chats go concurrently.
            outcomes = []
            for v in queue:
                async with gate:
                    notice = v.notice
                    assert notice is not None  # prepared verdicts always carry one
                    outcomes.append(await self._deliver(v.item, notice))
            return outcomes

        for outcomes in await asyncio.gather(*(in_order(q) for q in by_chat.values())):
            for outcome in outcomes:
                setattr(stats, outcome, getattr(stats, outcome) + 1)
        if ready:
            log.info("worker %s: %d sent of %d", self.name, stats.sent, len(ready))
        return stats

    async def _deliver(self, item: r.Claimed, notice: r.Notice) -> str:
        sessions = self._core.sessions
        for _ in range(MAX_FLOOD_RETRIES):
            if item.graduate_id in self._unreachable:
                await r.finish(sessions, [(item, r.SKIPPED, "unreachable")], self.name)
                return "skipped"
            await self._limiter.acquire(notice.chat_id)
            reply = render(notice, self._clock())
            delivery = await self._notifier.push(notice.chat_id, reply)
            await self._limiter.sent(notice.chat_id)
            if delivery.status is DeliveryStatus.SENT:
                # A crash here, between Telegram's answer and the write of this mark's group,
                # is the one place a message can go twice: the lease runs out and another
                # pass resends it. The slot is held until the write, which bounds the count.
                await self._ledger.record(item.queue, item.id)
                return "sent"
            if delivery.status is DeliveryStatus.DEFERRED:
                # The transport cannot reach this chat now (not Telegram's flood control):
                # the row waits, and nobody else is held back.
                due = self._clock() + timedelta(seconds=max(delivery.retry_after_s, 1.0))
                await r.release(sessions, item, self.name, due)
                return "postponed"
            if delivery.status is DeliveryStatus.RETRY_AFTER:
                wait = max(delivery.retry_after_s, 1.0)
                log.warning("429 for %s %d, waiting %.0f s", item.queue, item.id, wait)
                await self._limiter.penalize(notice.chat_id, wait)
                if wait > self._settings.reminder_max_inline_wait_s:
                    due = self._clock() + timedelta(seconds=wait)
                    await r.release(sessions, item, self.name, due)
                    return "retried"
                continue
            if delivery.status is DeliveryStatus.BLOCKED:
                self._unreachable.add(item.graduate_id)
                await r.mark_unreachable(sessions, item.graduate_id, self._clock())
                await r.finish(sessions, [(item, r.BLOCKED, delivery.error)], self.name)
                return "blocked"
            return await self._failed(item, delivery.error)
        return await self._failed(item, "flood wait repeated")

    async def _failed(self, item: r.Claimed, error: str) -> str:
        sessions = self._core.sessions
        attempts = item.attempts + 1
        log.warning("%s %d failed (attempt %d): %s", item.queue, item.id, attempts, error)
        if attempts >= self._settings.reminder_max_attempts:
            await r.finish(sessions, [(item, r.FAILED, error)], self.name)
            return "failed"
        backoff = self._settings.reminder_backoff_s * 2 ** (attempts - 1)
        due = self._clock() + timedelta(seconds=min(backoff, 3600.0))
        await r.release(sessions, item, self.name, due, failed_attempt=True, error=error)
        return "retried"

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Passes until ``stop`` is set; a failing pass is logged and tried again."""
        log.info("reminder worker %s started", self.name)
        while not stop.is_set():
            try:
                stats = await self.run_pass()
            except Exception:
                log.exception("reminder pass failed; retrying")
                stats = PassStats()
            if stats.claimed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.reminder_poll_s)
        log.info("reminder worker %s stopped", self.name)


async def run_worker(
    core: Core,
    notifier: Notifier,
    settings: ReminderSettings,
    *,
    stop: asyncio.Event,
    limiter: RateLimiter | None = None,
) -> None:
    """Run the dispatcher until ``stop`` is set: for the bot process's embedded default."""
    redis = None
    if limiter is None and settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        limiter = build_limiter(settings, redis)
    try:
        await ReminderWorker(core, notifier, settings, limiter=limiter).run_forever(stop)
    finally:
        if redis is not None:
            await redis.aclose()
