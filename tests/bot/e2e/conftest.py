"""Fixtures for end-to-end tests: the real aiogram and PTB polling against the fake Bot API.

``framework`` runs a test once per framework; ``polling`` starts the adapter's own
``run_polling`` (the production entry point) as a task and stops it when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.config import BotSettings
from bot.flows.types import Conversation
from bot.handlers import aiogram_app, ptb_app
from tests.conftest import TEST_SECRET
from tests.fakes.botapi import (  # noqa: F401  (fixtures are found by name)
    FakeBotApi,
    fake_botapi,
    forbid_non_loopback,
)

RUNNERS = {"aiogram": aiogram_app.run_polling, "ptb": ptb_app.run_polling}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here fails loudly if a library tries to reach a real host."""
    forbid_non_loopback(monkeypatch)
    # PTB warns when its RetryAfter is built unless timedeltas are opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture(params=["aiogram", "ptb"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def bot_settings(fake: FakeBotApi, framework: str, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "telegram_bot_token": fake.token,
        "telegram_api_url": fake.base_url,
        "bot_framework": framework,
        "secret_key": TEST_SECRET,
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
