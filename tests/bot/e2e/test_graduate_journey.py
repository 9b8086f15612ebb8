"""The graduate's journey of issue 3, end to end, on aiogram and on python-telegram-bot.

Real polling against the fake Bot API, the real flows and core on a real database, one-time
codes caught from the SMS webhook the core really calls, and pushes sent by the reminder
worker's one-shot pass. The university and the employer act through the core service.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web

from bot.config import BotSettings
from bot.faq import FaqEngine, FaqService, InMemoryFeedbackStore
from bot.flows.router import FlowConversation
from bot.reminders.cli import open_notifier
from bot.reminders.settings import ReminderSettings
from bot.reminders.worker import ReminderWorker
from bot.state import SqlStateStore
from bot.texts import flows as t
from core.bootstrap import Core, open_core
from core.domain.actors import Actor
from core.domain.states import AgreementState, RegistrationStatus
from core.domain.terms import Terms
from core.domain.validators import credit_check_char, id_check_char
from tests.bot.e2e.conftest import Chat, Settled, bot_settings, polling
from tests.conftest import FakeClock
from tests.fakes.botapi import FakeBotApi, parse_html

GRADUATE = 7001
STRANGER = 7002
UNIVERSITY = "华东示范大学"
EMPLOYER = "星河软件&数据有限公司"  # an & that must be escaped
# Employer-written text with markup in it: the fake refuses unescaped HTML with a 400.
CLAUSES = '<b>保密</b> & 竞业限制 <script>alert("x")</script> 服务期内离职须 a<b 赔偿'
JPEG = b"\xff\xd8\xff\xe0" + b"id-card-photo" * 20
PDF = b"%PDF-1.7\n" + b"student card" * 20
PDF2 = b"%PDF-1.4\n" + b"transcript" * 20


def visible(html_text: str) -> str:
    return parse_html(html_text)[0]


class SmsGateway:
    """The SMS provider's webhook, on 127.0.0.1: records what the core POSTs."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/sms", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/sms"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.json_response({"ok": True})

    def last_code(self, phone: str) -> str:
        for message in reversed(self.received):
            if message["phone"] == phone:
                match = re.search(r"\b(\d{6})\b", message["text"])
                assert match, "no code in the SMS"
                return match.group(1)
        raise AssertionError("no SMS to that phone")


@dataclass
class World:
    api: FakeBotApi
    core: Core
    clock: FakeClock
    sms: SmsGateway
    settings: BotSettings
    conversation: FlowConversation
    framework: str
    university_id: int
    employer_id: int

    async def push_pass(self) -> None:
        """One pass of the reminder worker: what the core queued reaches Telegram."""
        values = self.settings.model_dump()
        values.pop("telegram_bot_token")
        reminder_settings = ReminderSettings(
            _env_file=None,
            telegram_bot_token=self.settings.telegram_bot_token,
            **{k: v for k, v in values.items() if k in ReminderSettings.model_fields},
        )
        async with open_notifier(reminder_settings) as notifier:
            worker = ReminderWorker(self.core, notifier, reminder_settings, clock=self.clock)
            await worker.run_pass()


@pytest.fixture
async def world(
    fake_botapi: FakeBotApi,
    framework: str,
    database_url: str,
) -> AsyncIterator[World]:
    sms = SmsGateway()
    await sms.start()
    clock = FakeClock()
    settings = bot_settings(fake_botapi, framework, database_url=database_url)
    settings = settings.model_copy(update={"sms_webhook_url": sms.url})
    try:
        async with open_core(settings, clock=clock, migrate_schema=False) as core:
            university_id = await core.service.register_university(
                UNIVERSITY, office_contact="就业指导中心 101 室"
            )
            first17 = "91310000MA1FL0000"
            employer_id = await core.service.register_employer(
                EMPLOYER, first17 + credit_check_char(first17)
            )
            faq = FaqService(FaqEngine.load(), InMemoryFeedbackStore())
            conversation = FlowConversation(core.service, faq, SqlStateStore(core.sessions))
            yield World(
                fake_botapi,
                core,
                clock,
                sms,
                settings,
                conversation,
                framework,
                university_id,
                employer_id,
            )
    finally:
        await sms.stop()


def terms(**changes: object) -> Terms:
    values: dict[str, object] = {
        "position": "后端开发工程师",
        "city": "上海",
        "salary_yuan": 15000,
        "probation_months": 3,
        "service_years": 3,
        "penalty_yuan": 20000,
        "insurance": True,
        "insurance_notes": "按上海标准缴纳",
        "other_clauses": CLAUSES,
    }
    values.update(changes)
    return Terms(**values)  # type: ignore[arg-type]


async def register_through_the_bot(world: World, chat: Chat, phone: str) -> None:
    """Consent, every field, the phone code, documents as photo and PDF, summary, submit."""
    await chat.send("/register")
    assert "个人信息处理说明" in chat.text
    await chat.press("reg:agree")
    assert "第 1/12 步" in chat.text

    # A sticker where the name is expected gets a hint and the same question again.
    await chat.sticker()
    assert visible(t.NOT_TEXT_IN_STEP.format(what="姓名")) in chat.texts()[-2]
    assert "第 1/12 步" in chat.text

    await chat.send("李四")
    first17 = "31010120040506001"
    await chat.send(first17 + id_check_char(first17))
    await chat.send(phone)
    assert "验证码已发送到" in chat.text
    await chat.send(world.sms.last_code(phone))
    assert visible(t.PHONE_VERIFIED) in chat.texts()[-2]
    university = next(data for text, data in world.api.buttons(chat.user_id) if text == UNIVERSITY)
    await chat.press(university)
    await chat.send("2026123456")
    await chat.send("计算机学院")
    await chat.send("软件工程")
    await chat.press("reg:e:1")
    await chat.send("2026")
    await chat.send("互联网、金融")
    await chat.send("上海、杭州")
    await chat.send("15000")

    await chat.photo(JPEG)
    assert "已收到身份证" in chat.texts()[-2]
    await chat.upload(PDF, "学生证.pdf")
    assert "已收到学生证：学生证.pdf" in chat.texts()[-2]
    await chat.upload(PDF2, "成绩单.pdf")
    await chat.press("reg:dd")
    assert "李四" in chat.text and "139****" in chat.text
    await chat.press("reg:sub")
    assert chat.text == visible(t.SUBMITTED)


async def test_a_graduate_registers_negotiates_signs_and_sees_the_seal(
    world: World,
    settled: Settled,
) -> None:
    api, service, clock = world.api, world.core.service, world.clock
    chat = Chat(api, settled, GRADUATE)
    phone = "13912345678"
    async with polling(world.framework, world.settings, world.conversation, api):
        await chat.send("/start")
        assert "网签助手" in chat.text

        await register_through_the_bot(world, chat, phone)
        graduate = await service.graduate_for_telegram(GRADUATE)
        assert graduate is not None and graduate.status is RegistrationStatus.SUBMITTED
        assert len(graduate.documents) == 3

        university = Actor.university(world.university_id)
        await service.approve_registration(university, graduate.id)
        employer = Actor.employer(world.employer_id)
        invited = await service.invite(
            employer, graduate.id, terms(), clock.now + timedelta(days=5)
        )
        await world.push_pass()
        assert "向你发来签约邀请" in chat.text

        # The card shows the employer's markup as text, escaped, in the message itself.
        await chat.send("/invitations")
        await chat.press(f"inv:v:{invited.id}")
        assert '<script>alert("x")</script>' in chat.text
        assert "a<b 赔偿" in chat.text
        assert EMPLOYER in chat.text

        await chat.press("inv:chg:")
        await chat.send("希望违约金降到 5000 元")
        assert chat.text == t.CHANGE_SENT.format(employer=EMPLOYER)
        view = await service.agreement(employer, invited.id)
        assert view.state is AgreementState.CHANGES_REQUESTED

        clock.advance(hours=2)
        await service.revise(employer, invited.id, terms(penalty_yuan=5000))
        await world.push_pass()
        assert "修改了签约条款（第 2 版）" in chat.text

        # The push's own button is not routed by the flows yet (see the xfail below).
        await chat.send("/invitations")
        await chat.press(f"inv:v:{invited.id}")
        assert "5,000" in chat.text or "5000" in chat.text
        await chat.press("inv:acc:")
        await chat.press("inv:sign:")
        assert "验证码已发送到 139****5678" in chat.text
        code = world.sms.last_code(phone)
        wrong = "000000" if code != "000000" else "111111"
        await chat.send(wrong)
        assert "验证码不对" in chat.text
        await chat.send(code)
        assert "签约成功（第 2 版）" in chat.text

        clock.advance(hours=3)
        await service.seal(employer, invited.id)
        await world.push_pass()
        assert "已盖章，就业协议书生效" in chat.text

    every_call = [call for call in api.calls if call.method != "getUpdates"]
    assert [
        call for call in every_call if call.status == 400 and call.method != "editMessageText"
    ] == []
