"""``Notifier`` for aiogram and for python-telegram-bot: one send, its outcome as a ``Delivery``.

Errors are reduced to their class and Telegram's description, which name no user and carry
no message text; a 429 keeps its retry_after.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.flows.types import MAX_MESSAGE_CHARS, Delivery, DeliveryStatus, Reply

if TYPE_CHECKING:
    import telegram
    from aiogram import Bot

# Reminders and pushes are a few lines; one longer than a message is cut, not split.
TRUNCATED = "…"


def _text(reply: Reply) -> str:
    if len(reply.text) <= MAX_MESSAGE_CHARS:
        return reply.text
    return reply.text[: MAX_MESSAGE_CHARS - 1] + TRUNCATED


class AiogramNotifier:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def push(self, chat_id: int, reply: Reply) -> Delivery:
        from aiogram.exceptions import (
            TelegramAPIError,
            TelegramForbiddenError,
            TelegramNetworkError,
            TelegramRetryAfter,
        )
        from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(text=b.text, url=b.url)
                        if b.url
                        else InlineKeyboardButton(text=b.text, callback_data=b.data)
                        for b in row
                    ]
                    for row in reply.buttons
                ]
            )
        try:
            await self._bot.send_message(
                chat_id, _text(reply), parse_mode="HTML", reply_markup=markup
            )
        except TelegramRetryAfter as exc:
            return Delivery(DeliveryStatus.RETRY_AFTER, float(exc.retry_after), "429")
        except TelegramForbiddenError as exc:
            return Delivery(DeliveryStatus.BLOCKED, error=_error(exc, exc.message))
        except TelegramNetworkError as exc:
            return Delivery(DeliveryStatus.FAILED, error=_error(exc, ""))
        except TelegramAPIError as exc:
            return Delivery(DeliveryStatus.FAILED, error=_error(exc, exc.message))
        return Delivery(DeliveryStatus.SENT)


class PtbNotifier:
    def __init__(self, bot: telegram.Bot) -> None:
        self._bot = bot

    async def push(self, chat_id: int, reply: Reply) -> Delivery:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.constants import ParseMode
        from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError

        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(b.text, url=b.url)
                        if b.url
                        else InlineKeyboardButton(b.text, callback_data=b.data)
                        for b in row
                    ]
                    for row in reply.buttons
                ]
            )
        try:
            await self._bot.send_message(
                chat_id, _text(reply), parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except RetryAfter as exc:
            return Delivery(DeliveryStatus.RETRY_AFTER, _ptb_retry_after(exc), "429")
        except Forbidden as exc:
            return Delivery(DeliveryStatus.BLOCKED, error=_error(exc, exc.message))
        except NetworkError as exc:
            return Delivery(DeliveryStatus.FAILED, error=_error(exc, exc.message))
        except TelegramError as exc:
            return Delivery(DeliveryStatus.FAILED, error=_error(exc, exc.message))
        return Delivery(DeliveryStatus.SENT)


def _ptb_retry_after(exc: object) -> float:
    # PTB 22 warns on reading an int retry_after unless PTB_TIMEDELTA is set; either way
    # we want seconds. Remove the guard when PTB makes timedelta the only form.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after  # type: ignore[attr-defined]
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _error(exc: Exception, description: str) -> str:
    return f"{type(exc).__name__}: {description}"[:300]
