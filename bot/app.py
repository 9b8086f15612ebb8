"""Composition root of the bot: settings → core → FAQ → state store → conversation → transport.

Nothing here runs at import time. ``run`` picks the transport: the terminal console when no
TELEGRAM_BOT_TOKEN is set (or when asked for), otherwise the framework BOT_FRAMEWORK names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TextIO

from redis.asyncio import Redis

from bot.config import BotSettings
from bot.faq import FaqEngine, FaqService
from bot.flows.router import FlowConversation, state_key
from bot.flows.types import Notifier, StateStore
from bot.reminders.limiter import RateLimiter, build_limiter
from bot.state import RedisStateStore, SqlStateStore
from bot.texts import flows as t
from core.bootstrap import Core, open_core, quiet_noisy_loggers, utc_now
from core.demo import seed_demo
from core.service import Clock
from core.sms import SmsSender
from core.storage.faq import SqlFeedbackStore

log = logging.getLogger(__name__)

# The console user the demo graduate belongs to; any other CONSOLE_USER_ID starts unregistered.
DEMO_CONSOLE_USER = 1


@dataclass
class BotApp:
    settings: BotSettings
    core: Core
    store: StateStore
    conversation: FlowConversation


@contextlib.asynccontextmanager
async def open_state_store(settings: BotSettings, core: Core) -> AsyncIterator[StateStore]:
    """Redis when REDIS_URL is set, else the database's conversation_states table."""
    if not settings.redis_url:
        yield SqlStateStore(core.sessions, core.service.now)
        return
    store = RedisStateStore.from_url(settings.redis_url)
    try:
        yield store
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def open_app(
    settings: BotSettings,
    *,
    channel: str = "telegram",
    clock: Clock = utc_now,
    sms: SmsSender | None = None,
) -> AsyncIterator[BotApp]:
    async with open_core(settings, clock=clock, sms=sms) as core:
        faq = FaqService(FaqEngine.load(), SqlFeedbackStore(core.engine))
        async with open_state_store(settings, core) as store:
            conversation = FlowConversation(core.service, faq, store, channel=channel)
            yield BotApp(settings, core, store, conversation)


@contextlib.asynccontextmanager
async def open_rate_limiter(settings: BotSettings) -> AsyncIterator[RateLimiter]:
    """The one flood budget of this bot: replies and pushes take their slots from it.
    Shared through Redis when REDIS_URL is set, so the worker process and every poller
    keep to one budget; else this process's own."""
    if not settings.redis_url:
        yield build_limiter(settings)
        return
    redis = Redis.from_url(settings.redis_url)
    try:
        yield build_limiter(settings, redis)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def background_worker(
    app: BotApp, notifier: Notifier, limiter: RateLimiter | None = None
) -> AsyncIterator[None]:
    """Run the reminder and push worker beside the transport, stopping it on exit."""
    from bot.reminders.worker import run_worker

    stop = asyncio.Event()

    async def supervised() -> None:
        try:
            await run_worker(app.core, notifier, app.settings, stop=stop, limiter=limiter)
        except Exception:
            log.exception("reminder worker stopped with an error")

    task = asyncio.create_task(supervised())
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


async def fresh_console_user(app: BotApp, first: int = 1000) -> int:
    """A console user id nobody has used yet: no registration and no conversation state."""
    user_id = first
    while (
        await app.core.service.graduate_for_telegram(user_id) is not None
        or await app.store.load(state_key(user_id)) is not None
    ):
        user_id += 1
    return user_id


async def run_console(
    settings: BotSettings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    worker: bool = True,
    new_user: bool = False,
) -> None:
    """Chat in the terminal as CONSOLE_USER_ID (or, with ``new_user``, an unused id).

    CONSOLE_USER_ID 1 (the default) is the approved demo graduate with an invitation to
    sign; any other id is a newcomer who registers from scratch, choosing 示例大学.
    """
    from bot.console import Console

    out = stdout or sys.stdout
    async with open_app(settings, channel="console") as app:
        # The demo graduate belongs to the demo user, whoever runs the console; seed_demo
        # makes the demo invitation only once, so a restart keeps an ended one's history.
        await seed_demo(app.core, telegram_user_id=DEMO_CONSOLE_USER, now=utc_now())
        user_id = settings.console_user_id
        if new_user:
            user_id = await fresh_console_user(app)
            print(t.CONSOLE_NEW_USER.format(user_id=user_id), file=out, flush=True)
        console = Console(app.conversation, user_id=user_id, out=out)
        if worker:
            async with background_worker(app, console):
                await console.run(stdin or sys.stdin)
        else:
            await console.run(stdin or sys.stdin)


async def run_telegram(settings: BotSettings, *, stop: asyncio.Event | None = None) -> None:
    """Poll Telegram with the framework BOT_FRAMEWORK names, pushes running alongside."""
    if settings.bot_framework == "ptb":
        from bot.handlers.ptb_app import run_polling
    else:
        from bot.handlers.aiogram_app import run_polling
    async with open_app(settings) as app, open_rate_limiter(settings) as limiter:
        if not settings.worker_in_bot_process:
            # Production runs the Procfile's worker process; this one only answers updates.
            await run_polling(settings, app.conversation, stop=stop, limiter=limiter)
            return
        from bot.reminders.cli import open_notifier

        async with open_notifier(settings) as notifier:
            async with background_worker(app, notifier, limiter):
                await run_polling(settings, app.conversation, stop=stop, limiter=limiter)


def configure_logging(*, console: bool) -> None:
    # In the console, stdout is the chat and stderr carries the SMS codes: keep both quiet.
    level = logging.WARNING if console else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_noisy_loggers()
