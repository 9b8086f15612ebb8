"""`bot.app.run_telegram`, the production entry point, wired end to end on each framework."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import run_telegram
from bot.config import BotSettings
from core.bootstrap import open_core
from core.demo import seed_demo
from tests.conftest import TEST_SECRET
from tests.fakes.botapi import FakeBotApi


async def test_the_bot_answers_and_pushes_with_its_in_process_worker(
    framework: str, fake_botapi: FakeBotApi, database_url: str, clock
):
    if database_url.startswith("postgresql"):
        pytest.skip("one back end is enough to prove the wiring")
    settings = BotSettings(
        _env_file=None,
        database_url=database_url,
        secret_key=TEST_SECRET,
        telegram_bot_token=fake_botapi.token,
        telegram_api_url=fake_botapi.base_url,
        bot_framework=framework,
        bot_run_worker=True,
        reminder_poll_s=0.05,
    )
    async with open_core(settings, migrate_schema=False) as core:
        await seed_demo(core, telegram_user_id=5001, now=core.service.now())

    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(settings, stop=stop))
    try:
        commands = await fake_botapi.wait_for("setMyCommands", timeout=15)
        assert any(c["description"] == "签约邀请" for c in commands.params["commands"])

        # The demo invitation was written to the outbox: the worker pushes it.
        push = await fake_botapi.wait_for(
            lambda call: call.method == "sendMessage" and call.params["chat_id"] == 5001,
            timeout=15,
        )
        assert "示例科技有限公司" in push.params["text"]

        fake_botapi.push_message(5001, "/status")
        reply = await fake_botapi.wait_for(
            lambda call: call.method == "sendMessage" and "已通过审核" in call.params["text"],
            timeout=15,
        )
        assert reply.params["chat_id"] == 5001
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
