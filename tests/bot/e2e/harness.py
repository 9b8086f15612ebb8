"""Helpers for end-to-end tests: run a framework's ``run_polling`` against the fake Bot API
and talk to it as a Telegram user would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.config import BotSettings
from bot.flows.types import Conversation
from bot.handlers import aiogram_app, ptb_app
from tests.conftest import TEST_SECRET
from tests.fakes.botapi import FakeBotApi

RUNNERS = {"aiogram": aiogram_app.run_polling, "ptb": ptb_app.run_polling}


def bot_settings(fake: FakeBotApi, framework: str, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "telegram_bot_token": fake.token,
        "telegram_api_url": fake.base_url,
        "bot_framework": framework,
        "secret_key": TEST_SECRET,
        # Conversations in tests run faster than anyone types; the pacing tests set
        # Telegram's own rate of one message a second per chat.
        "telegram_chat_rate": 100.0,
        **overrides,
    }
    return BotSettings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def polling(
    framework: str,
    settings: BotSettings,
    conversation: Conversation,
    fake: FakeBotApi,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the framework's ``run_polling`` until the block ends; pushes inside it are
    answered because the block starts once a getUpdates is held open."""
    stop = asyncio.Event()
    task = asyncio.create_task(RUNNERS[framework](settings, conversation, stop=stop))
    waiter = asyncio.create_task(fake.wait_polling(timeout=10))
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        await task
        raise RuntimeError("polling ended before its first getUpdates")
    await waiter
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until ``check()`` holds, polling briefly."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110  (the fake's state has no event to wait on)
            await asyncio.sleep(0.02)


class Settled(logging.Handler):
    """Knows which updates the pipeline has finished: its one INFO line per update is the
    signal, so a test waits for exactly the work it caused and not a moment longer."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.done: set[int] = set()
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "bot.handlers.pipeline" and record.levelno == logging.INFO:
            assert isinstance(record.args, tuple)
            self.done.add(int(record.args[0]))
            self._changed.set()

    async def wait(self, update_id: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while update_id not in self.done:
                self._changed.clear()
                await self._changed.wait()


class Chat:
    """One simulated Telegram user talking to the bot through the fake Bot API."""

    def __init__(self, api: FakeBotApi, settled: Settled, user_id: int) -> None:
        self.api = api
        self.settled = settled
        self.user_id = user_id

    async def send(self, text: str, **kwargs: Any) -> None:
        await self.settled.wait(self.api.push_message(self.user_id, text, **kwargs))

    async def upload(self, content: bytes, file_name: str) -> None:
        await self.settled.wait(self.api.push_document(self.user_id, content, file_name))

    async def photo(self, content: bytes) -> None:
        await self.settled.wait(self.api.push_photo(self.user_id, content))

    async def sticker(self) -> None:
        await self.settled.wait(self.api.push_sticker(self.user_id))

    def button(self, prefix: str) -> tuple[int, str]:
        """(message id, data) of the newest button whose callback data starts with prefix."""
        for message in reversed(self.api.sent_to(self.user_id)):
            if message.deleted:
                continue
            for _, data in message.buttons:
                if data is not None and data.startswith(prefix):
                    return message.message_id, data
        raise AssertionError(f"no button {prefix!r}; last text: {self.text!r}")

    async def press(self, prefix: str) -> str:
        """Press the newest button whose data starts with ``prefix``; return its data."""
        message_id, data = self.button(prefix)
        await self.settled.wait(self.api.push_callback(self.user_id, data, message_id))
        return data

    async def press_exact(self, data: str, message_id: int, *, forged: bool = False) -> None:
        update_id = self.api.push_callback(self.user_id, data, message_id, strict=not forged)
        await self.settled.wait(update_id)

    @property
    def text(self) -> str:
        return self.api.last_text(self.user_id) or ""

    def texts(self) -> list[str]:
        return [message.text or "" for message in self.api.sent_to(self.user_id)]
