"""The aiogram 3 transport: long polling with a Dispatcher, replies through ``render``.

aiogram handles updates as concurrent tasks; the shared ``Pipeline`` puts one user's
updates in line while different users proceed at once. aiogram's own FSM is off: the
conversation keeps its state in our storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bot.config import BotSettings
from bot.flows.types import Attachment, Conversation
from bot.handlers.events import ALLOWED_UPDATES, event_from_update
from bot.handlers.pipeline import Pipeline, protected_logs
from bot.handlers.render import Keyboard, SendError, SendErrorKind, classify
from bot.reminders.limiter import RateLimiter, build_limiter
from bot.texts.transport import COMMANDS

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except TelegramRetryAfter as error:
        raise classify(429, error.message, float(error.retry_after)) from None
    except TelegramForbiddenError as error:
        raise classify(403, error.message) from None
    except TelegramBadRequest as error:
        raise classify(400, error.message) from None
    except TelegramAPIError as error:
        raise SendError(SendErrorKind.OTHER, 0) from error


def _markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    rows = [
        [
            InlineKeyboardButton(text=button.text, url=button.url)
            if button.url
            else InlineKeyboardButton(text=button.text, callback_data=button.data)
            for button in row
        ]
        for row in keyboard
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class AiogramPort:
    """``BotPort`` over an aiogram ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_text(self, chat_id: int, text: str, keyboard: Keyboard, *, html: bool) -> int:
        with _translated():
            message = await self._bot.send_message(
                chat_id,
                text,
                parse_mode="HTML" if html else None,
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
                text=text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode="HTML" if html else None,
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
        upload = BufferedInputFile(attachment.content, filename=attachment.file_name)
        with _translated():
            message = await self._bot.send_document(
                chat_id,
                upload,
                caption=caption or None,
                parse_mode="HTML" if html and caption else None,
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
            if file.file_path is None:
                raise SendError(SendErrorKind.OTHER, 0)
            buffer = await bot.download_file(file.file_path)
            return b"" if buffer is None else buffer.read()

        return fetch

    return for_file


def build_bot(settings: BotSettings) -> Bot:
    """A Bot aimed at ``settings.telegram_api_url``; close it with ``bot.session.close()``."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.telegram_bot_token.get_secret_value(), session=session)


def build_dispatcher(
    conversation: Conversation,
    bot: Bot,
    bot_username: str,
    limiter: RateLimiter | None = None,
) -> Dispatcher:
    """A Dispatcher that hands every message and button press to ``conversation`` and
    paces the replies through ``limiter``."""
    pipeline = Pipeline(conversation, AiogramPort(bot), limiter=limiter)
    fetcher = _fetcher(bot)
    dispatcher = Dispatcher(disable_fsm=True)

    def start(update: Update, callback_id: str | None) -> Awaitable[None] | None:
        raw: dict[str, Any] = update.model_dump(mode="json", by_alias=True, exclude_none=True)
        event = event_from_update(raw, fetcher, bot_username)
        if event is None:
            return None
        return pipeline.process(event, callback_id=callback_id)

    async def on_message(message: Message, event_update: Update) -> None:
        work = start(event_update, None)
        if work is not None:
            await work

    async def on_callback(query: CallbackQuery, event_update: Update) -> None:
        work = start(event_update, query.id)
        if work is not None:
            await work

    dispatcher.message.register(on_message)
    dispatcher.callback_query.register(on_callback)
    dispatcher["pipeline"] = pipeline
    return dispatcher


async def set_commands(bot: Bot) -> None:
    commands = [BotCommand(command=name, description=text) for name, text in COMMANDS]
    try:
        await bot.set_my_commands(commands)
    except TelegramAPIError as error:
        log.warning("setMyCommands failed: %s", type(error).__name__)


async def run_polling(
    settings: BotSettings,
    conversation: Conversation,
    *,
    stop: asyncio.Event | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Poll until ``stop`` is set (or, without one, until SIGINT/SIGTERM). Replies are paced
    by ``limiter``, or by one of this process's own built from ``settings``."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    with protected_logs(settings.telegram_bot_token.get_secret_value()):
        bot = build_bot(settings)
        try:
            me = await bot.me()
            await set_commands(bot)
            dispatcher = build_dispatcher(
                conversation, bot, me.username or "", limiter or build_limiter(settings)
            )
            polling = asyncio.create_task(
                dispatcher.start_polling(
                    bot,
                    allowed_updates=ALLOWED_UPDATES,
                    handle_signals=stop is None,
                    close_bot_session=False,
                )
            )
            log.info("aiogram polling started for bot id %d", me.id)
            if stop is not None:
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({polling, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not polling.done():
                    with contextlib.suppress(RuntimeError):
                        await dispatcher.stop_polling()
            await polling
            await dispatcher["pipeline"].close()
        finally:
            await bot.session.close()
            log.info("aiogram polling stopped")
