"""The python-telegram-bot 22 transport: an Application polling, replies through ``render``.

PTB processes updates one by one unless told otherwise; here updates run concurrently and
the shared ``Pipeline`` keeps one user's updates in order, as with aiogram. PTB's own
conversation and persistence machinery is not used: our storage keeps the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.config import BotSettings
from bot.flows.types import Attachment, Conversation
from bot.handlers.events import ALLOWED_UPDATES, event_from_update
from bot.handlers.pipeline import Pipeline, protected_logs
from bot.handlers.render import Keyboard, SendError, SendErrorKind, classify
from bot.reminders.limiter import RateLimiter, build_limiter
from bot.texts.transport import COMMANDS

log = logging.getLogger(__name__)

# How many updates may be in progress at once, across all users.
MAX_CONCURRENT_UPDATES = 256

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def _retry_after_s(error: RetryAfter) -> float:
    # PTB 22 warns when retry_after is read as an int; both shapes are accepted here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except RetryAfter as error:
        raise classify(429, error.message, _retry_after_s(error)) from None
    except Forbidden as error:
        raise classify(403, error.message) from None
    except BadRequest as error:
        raise classify(400, error.message) from None
    except TelegramError as error:
        raise SendError(SendErrorKind.OTHER, 0) from error


def _markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(button.text, url=button.url)
                if button.url
                else InlineKeyboardButton(button.text, callback_data=button.data)
                for button in row
            ]
            for row in keyboard
        ]
    )


class PtbPort:
    """``BotPort`` over a PTB ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard, *, html: bool) -> int:
        with _translated():
            message = await self._bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML if html else None,
                reply_markup=_markup(keyboard),
            )
        return message.message_id

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        keyboard: Keyboard,
        *,
        html: bool,
    ) -> None:
        with _translated():
            await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML if html else None,
                reply_markup=_markup(keyboard),
            )

    async def send_document(
        self,
        chat_id: int,
        attachment: Attachment,
        caption: str,
        keyboard: Keyboard,
        *,
        html: bool,
    ) -> int:
        with _translated():
            message = await self._bot.send_document(
                chat_id,
                attachment.content,
                filename=attachment.file_name,
                caption=caption or None,
                parse_mode=ParseMode.HTML if html and caption else None,
                reply_markup=_markup(keyboard),
            )
        return message.message_id

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        with _translated():
            await self._bot.answer_callback_query(
                callback_id,
                text=text or None,
                show_alert=alert,
            )


def _fetcher(bot: Bot) -> Callable[[str], Callable[[], Awaitable[bytes]]]:
    def for_file(file_id: str) -> Callable[[], Awaitable[bytes]]:
        async def fetch() -> bytes:
            file = await bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

        return fetch

    return for_file


def build_application(
    settings: BotSettings,
    conversation: Conversation,
    limiter: RateLimiter | None = None,
) -> AnyApplication:
    """An Application aimed at ``settings.telegram_api_url`` that hands every message and
    button press to ``conversation``, replies paced by ``limiter`` (or one of its own);
    use it as ``async with``, then start polling."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_url
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .build()
    )
    pipeline = Pipeline(
        conversation, PtbPort(application.bot), limiter=limiter or build_limiter(settings)
    )
    fetcher = _fetcher(application.bot)

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Bot.username is known once the application is initialised (getMe).
        event = event_from_update(update.to_dict(), fetcher, context.bot.username or "")
        if event is None:
            return
        query = update.callback_query
        await pipeline.process(event, callback_id=query.id if query else None)

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # PTB would log the exception's text, which may quote the user.
        log.error("handler failed: %s", type(context.error).__name__)

    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    application.bot_data["pipeline"] = pipeline
    return application


async def set_commands(bot: Bot) -> None:
    commands = [BotCommand(name, text) for name, text in COMMANDS]
    try:
        await bot.set_my_commands(commands)
    except TelegramError as error:
        log.warning("setMyCommands failed: %s", type(error).__name__)


def _polling_error(error: TelegramError) -> None:
    log.warning("getUpdates failed: %s; PTB retries", type(error).__name__)


async def run_polling(
    settings: BotSettings,
    conversation: Conversation,
    *,
    stop: asyncio.Event | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Poll until ``stop`` is set (or, without one, until the task is cancelled)."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    stop = stop or asyncio.Event()
    # Entered before building: PTB logs its URLs, token included, at DEBUG while building.
    with protected_logs(settings.telegram_bot_token.get_secret_value()):
        application = build_application(settings, conversation, limiter)
        async with application:
            await set_commands(application.bot)
            updater = application.updater
            assert updater is not None, "the builder always adds an updater"
            await updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                error_callback=_polling_error,
            )
            await application.start()
            log.info("PTB polling started for bot id %d", application.bot.id)
            try:
                await stop.wait()
            finally:
                if updater.running:
                    await updater.stop()
                await application.bot_data["pipeline"].close()
                if application.running:
                    await application.stop()
                log.info("PTB polling stopped")
