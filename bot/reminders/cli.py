"""``python -m bot reminders [--once] [--now ISO8601]``: the reminder and push dispatcher.

Without ``--once`` it runs until SIGTERM or SIGINT. With ``--once`` it makes one pass as of
now (or as of ``--now``), prints what it did as one JSON object, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict

from pydantic import ValidationError
from redis.asyncio import Redis

from bot.flows.types import Notifier
from bot.reminders.limiter import build_limiter
from bot.reminders.senders import AiogramNotifier, PtbNotifier
from bot.reminders.settings import PUBLIC_API_URL, ReminderSettings
from bot.reminders.worker import ReminderWorker
from core.bootstrap import open_core, quiet_noisy_loggers
from core.cli import parse_time
from core.config import ConfigError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot reminders", description=__doc__)
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--now", type=parse_time, help="with --once: the time the pass runs as of")
    return p


@contextlib.asynccontextmanager
async def open_notifier(settings: ReminderSettings) -> AsyncIterator[Notifier]:
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    custom = settings.telegram_api_url != PUBLIC_API_URL
    if settings.bot_framework == "ptb":
        import telegram

        urls = {}
        if custom:
            urls = {
                "base_url": f"{settings.telegram_api_url}/bot",
                "base_file_url": f"{settings.telegram_api_url}/file/bot",
            }
        async with telegram.Bot(token, **urls) as bot:
            yield PtbNotifier(bot)
        return
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url) if custom else None
    )
    bot = Bot(token, session=session)
    try:
        yield AiogramNotifier(bot)
    finally:
        await bot.session.close()


async def run(args: argparse.Namespace, settings: ReminderSettings) -> dict[str, object]:
    clock = (lambda: args.now) if args.now else None
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        async with open_core(settings) as core, open_notifier(settings) as notifier:
            worker = ReminderWorker(
                core,
                notifier,
                settings,
                limiter=build_limiter(settings, redis),
                clock=clock,
            )
            if args.once:
                return {"ok": True, "worker": worker.name, **asdict(await worker.run_pass())}
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await worker.run_forever(stop)
            return {"ok": True, "worker": worker.name}
    finally:
        if redis is not None:
            await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_noisy_loggers()
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.now and not args.once:
        print("--now only makes sense with --once", file=sys.stderr)
        return 2
    try:
        settings = ReminderSettings()
    except ValidationError as exc:
        print(f"bad settings: {exc}", file=sys.stderr)
        return 2
    if settings.telegram_bot_token is None:
        print(
            "TELEGRAM_BOT_TOKEN is not set: the dispatcher has nobody to send as", file=sys.stderr
        )
        return 2
    try:
        result = asyncio.run(run(args, settings))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.once:
        print(json.dumps(result))
    return 0
