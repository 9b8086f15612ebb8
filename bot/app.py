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

from bot.config import BotSettings
from bot.faq import FaqEngine, FaqService
from bot.flows.router import FlowConversation
from bot.flows.types import Notifier, StateStore
from bot.state import RedisStateStore, SqlStateStore
from core.bootstrap import Core, open_core, quiet_noisy_loggers, utc_now
from core.demo import seed_demo
from core.service import Clock
from core.sms import SmsSender
from core.storage.faq import SqlFeedbackStore

log = logging.getLogger(__name__)


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
async def background_worker(app: BotApp, notifier: Notifier) -> AsyncIterator[None]:
    """Run the reminder and push worker beside the transport, stopping it on exit."""
    from bot.reminders.worker import run_worker

    stop = asyncio.Event()

    async def supervised() -> None:
        try:
            await run_worker(app.core, notifier, app.settings, stop=stop)
        except Exception:
            log.exception("reminder worker stopped with an error")

    task = asyncio.create_task(supervised())
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


async def run_console(
    settings: BotSettings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    worker: bool = True,
) -> None:
    """Chat in the terminal as CONSOLE_USER_ID, with the demo data bound to that user."""
    from bot.console import Console

    async with open_app(settings, channel="console") as app:
        # The console is a try-it-out tool: it always has the demo invitation to sign.
        await seed_demo(app.core, telegram_user_id=settings.console_user_id, now=utc_now())
        console = Console(
            app.conversation, user_id=settings.console_user_id, out=stdout or sys.stdout
        )
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
    async with open_app(settings) as app:
        if not settings.worker_in_bot_process:
            # Production runs the Procfile's worker process; this one only answers updates.
            await run_polling(settings, app.conversation, stop=stop)
            return
        from bot.reminders.cli import open_notifier

        async with open_notifier(settings) as notifier:
            async with background_worker(app, notifier):
                await run_polling(settings, app.conversation, stop=stop)


def configure_logging(*, console: bool) -> None:
    # In the console, stdout is the chat and stderr carries the SMS codes: keep both quiet.
    level = logging.WARNING if console else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_noisy_loggers()
