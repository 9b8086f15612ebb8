"""The terminal console: a newcomer signs the demo invitation through `python -m bot console`."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
from pathlib import Path

from bot.app import run_console
from bot.config import BotSettings
from bot.console import Console, plain
from bot.flows.types import Answer, Button, DeliveryStatus, Event, EventKind, Reply
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


async def test_the_demo_user_signs_the_demo_invitation_in_the_terminal(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_BOT_TOKEN": "",
        "REDIS_URL": "",
        "SMS_WEBHOOK_URL": "",
        "CONSOLE_USER_ID": "1",
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


# ---------------------------------------------------------------- issue 3: a new user's console


def _settings(tmp_path: Path, user_id: int) -> BotSettings:
    return BotSettings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        secret_key=TEST_SECRET,
        telegram_bot_token="",
        redis_url="",
        sms_webhook_url="",
        console_user_id=user_id,
    )


async def _chat(settings: BotSettings, lines: str, **options: bool) -> str:
    out = io.StringIO()
    await run_console(settings, stdin=io.StringIO(lines), stdout=out, worker=False, **options)
    return out.getvalue()


async def test_any_other_console_user_registers_from_scratch_and_can_pick_the_demo_university(
    tmp_path,
):
    await _chat(_settings(tmp_path, 1), "/status\n")  # the demo user was here first
    text = await _chat(_settings(tmp_path, 42), "/register\n同意并继续\n王五\n")

    assert "已经通过学校审核" not in text
    assert "个人信息处理说明" in text
    assert "请输入身份证号" in text or "身份证号" in text
    demo = await _chat(_settings(tmp_path, 1), "/register\n")
    assert "你的信息已经通过学校审核" in demo


async def test_console_new_user_option_starts_an_unused_account(tmp_path):
    await _chat(_settings(tmp_path, 1), "/quit\n")
    first = await _chat(_settings(tmp_path, 1), "/register\n同意并继续\n", new_user=True)
    second = await _chat(_settings(tmp_path, 1), "/status\n", new_user=True)

    assert "个人信息处理说明" in first and "你是新用户（编号 1000）" in first
    assert "你是新用户（编号 1001）" in second and "还没有做信息确认" in second


async def test_a_restart_after_the_demo_agreement_ended_does_not_invite_again(tmp_path):
    settings = _settings(tmp_path, 1)
    await _chat(settings, "/invitations\n1. 示例科技有限公司\n拒绝\n确定拒绝\n")
    text = await _chat(settings, "/invitations\n")

    assert "共 1 份" in text
    assert "已拒绝" in text


async def test_ctrl_c_ends_the_console_at_once_while_it_waits_for_a_line(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_BOT_TOKEN": "",
        "REDIS_URL": "",
        "SMS_WEBHOOK_URL": "",
        "PYTHONPATH": str(ROOT),
    }
    for use_tty in (False, True):
        primary, secondary = os.openpty() if use_tty else os.pipe()[::-1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "console",
            cwd=tmp_path,
            env=env,
            stdin=secondary,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        os.close(secondary)
        assert process.stdout
        await _read_until(process.stdout, re.compile("请选择要做的事"))
        await asyncio.sleep(0.3)  # the console is now waiting for a line nobody types
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=10)
        os.close(primary)

        assert "再见。" in out.decode(), use_tty
        assert "Traceback" not in err.decode()
        assert process.returncode == 0


async def test_only_one_or_two_digits_press_a_button():
    echo = Echo()
    out = io.StringIO()
    console = Console(echo, user_id=7, out=out)
    await console.run(io.StringIO("000001\n01\n１\n9\n"))

    kinds = [(e.kind, e.callback_data or e.text) for e in echo.events[1:]]
    assert kinds == [
        (EventKind.TEXT, "000001"),
        (EventKind.CALLBACK, "x:ok"),
        (EventKind.CALLBACK, "x:ok"),
    ]
    assert "没有这个选项" in out.getvalue()
    assert out.getvalue().count("[1] 同意") == 5  # four answers and the reminder after 9


async def test_an_empty_line_and_a_bare_upload_get_a_hint():
    echo = Echo()
    out = io.StringIO()
    await Console(echo, user_id=7, out=out).run(io.StringIO("\n/upload\n"), greet=False)

    assert len(echo.events) == 0
    assert "请输入文字" in out.getvalue()
    assert "用法：/upload 文件路径" in out.getvalue()
    assert "找不到这个文件" not in out.getvalue()


async def test_pushes_for_another_console_user_are_not_shown_here():
    out = io.StringIO()
    console = Console(Echo(), user_id=42, out=out)
    elsewhere = await console.push(1, Reply("📩 给演示用户的邀请"))
    mine = await console.push(42, Reply("📩 给你的邀请"))

    assert elsewhere.status is DeliveryStatus.DEFERRED
    assert mine.status is DeliveryStatus.SENT
    assert "给你的邀请" in out.getvalue() and "演示用户" not in out.getvalue()


async def test_a_push_arriving_after_the_goodbye_waits_for_the_next_session():
    out = io.StringIO()
    console = Console(Echo(), user_id=7, out=out)
    await console.run(io.StringIO(""))
    late = await console.push(7, Reply("📩 新邀请"))
    assert late.status is DeliveryStatus.DEFERRED
    assert "新邀请" not in out.getvalue()
