"""The terminal console: a newcomer signs the demo invitation through `python -m bot console`."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from pathlib import Path

from bot.config import BotSettings
from bot.console import Console, plain
from bot.flows.types import Answer, Button, Event, EventKind, Reply
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"验证码 (\d{6})")


async def _read_until(stream: asyncio.StreamReader, pattern: re.Pattern[str]) -> re.Match[str]:
    while True:
        line = await asyncio.wait_for(stream.readline(), timeout=30)
        assert line, "the console ended before printing what the test waits for"
        match = pattern.search(line.decode())
        if match:
            return match


async def test_a_newcomer_signs_the_demo_invitation_in_the_terminal(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_BOT_TOKEN": "",
        "REDIS_URL": "",
        "SMS_WEBHOOK_URL": "",
        "CONSOLE_USER_ID": "42",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr
    for line in ("/invitations", "1. 示例科技有限公司", "接受并签约", "确认签约，发送验证码"):
        process.stdin.write(f"{line}\n".encode())
    await process.stdin.drain()
    code = (await _read_until(process.stderr, CODE)).group(1)
    process.stdin.write(f"{code[:3]} {code[3:]}\n/agreement\n/quit\n".encode())
    await process.stdin.drain()
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    text = out.decode()

    assert process.returncode == 0, err.decode()[-2000:]
    assert "[1] 1. 示例科技有限公司" in text
    assert "验证码已发送到 138****8000" in text
    assert "签约成功（第 1 版）" in text
    assert "已签约，待单位盖章" in text
    assert "<b>" not in text and "Traceback" not in err.decode()
    assert code not in text


class Echo:
    """A conversation that answers with one button and records what it was sent."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def handle(self, event: Event) -> Answer:
        self.events.append(event)
        return Answer((Reply("<b>好</b> &amp; 行", ((Button("同意", "x:ok"),),)),))


async def test_console_presses_buttons_by_number_or_label_and_ends_on_eof():
    echo = Echo()
    out = io.StringIO()
    console = Console(echo, user_id=7, out=out)
    await console.run(io.StringIO("1\n同意\n你好\n/faq 问题\n"))

    kinds = [(e.kind, e.callback_data or e.command or e.text) for e in echo.events]
    assert kinds == [
        (EventKind.COMMAND, "start"),
        (EventKind.CALLBACK, "x:ok"),
        (EventKind.CALLBACK, "x:ok"),
        (EventKind.TEXT, "你好"),
        (EventKind.COMMAND, "faq"),
    ]
    assert echo.events[-1].args == "问题"
    assert "好 & 行" in out.getvalue() and "[1] 同意" in out.getvalue()
    assert out.getvalue().rstrip().endswith("再见。")


def test_plain_drops_tags_and_decodes_entities():
    assert plain("<b>A&lt;B</b> <code>x</code>") == "A<B x"


def test_bot_settings_treat_an_empty_token_as_none():
    settings = BotSettings(telegram_bot_token="", _env_file=None)
    assert not settings.has_token
    assert settings.telegram_api_url == "https://api.telegram.org"
