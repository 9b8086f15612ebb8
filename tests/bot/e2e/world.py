"""The world an end-to-end test runs in: core on a real database, an SMS gateway on
127.0.0.1 that the core's WebhookSms really calls, the real flows, and the reminder worker
for pushes. The university and the employer act through the core service.
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
from core.bootstrap import Core, open_core
from core.domain.actors import Actor
from core.domain.states import DocumentKind
from core.domain.terms import Terms
from core.domain.validators import credit_check_char, id_check_char
from tests.bot.e2e.harness import bot_settings
from tests.conftest import FakeClock
from tests.fakes.botapi import FakeBotApi, parse_html

UNIVERSITY = "华东示范大学"
EMPLOYER = "星河软件&数据有限公司"  # an & that must be escaped
# Employer-written text with markup in it: the fake refuses unescaped HTML with a 400.
CLAUSES = '<b>保密</b> & 竞业限制 <script>alert("x")</script> 服务期内离职须 a<b 赔偿'
JPEG = b"\xff\xd8\xff\xe0" + b"id-card-photo" * 20 + b"\xff\xd9"
PDF = b"%PDF-1.7\n" + b"student card" * 20 + b"\n%%EOF\n"
PDF2 = b"%PDF-1.4\n" + b"transcript" * 20 + b"\n%%EOF\n"


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


async def approved_graduate(
    world: World,
    telegram_user_id: int,
    *,
    phone: str,
    student_no: str,
    id_first17: str,
) -> int:
    """A graduate registered and approved through the service, bound to a Telegram user."""
    service = world.core.service
    view = await service.begin_registration(telegram_user_id, telegram_user_id, consent=True)
    me = Actor.graduate(view.id)
    fields = {
        "name": "王五",
        "id_number": id_first17 + id_check_char(id_first17),
        "phone": phone,
        "university": UNIVERSITY,
        "student_no": student_no,
        "faculty": "经济学院",
        "major": "金融学",
        "education_level": "硕士研究生",
        "graduation_year": "2026",
        "industries": "金融",
        "cities": "上海",
        "expected_salary": "12000",
    }
    for name, raw in fields.items():
        await service.save_field(me, name, raw)
    await service.request_phone_code(me)
    await service.verify_phone(me, world.sms.last_code(phone))
    for kind in DocumentKind:
        await service.add_document(me, kind, f"{kind.value}.jpg", "image/jpeg", JPEG)
    await service.submit_registration(me)
    await service.approve_registration(Actor.university(world.university_id), view.id)
    return view.id


async def invite(world: World, graduate_id: int, **changes: object) -> int:
    employer = Actor.employer(world.employer_id)
    respond_by = world.clock.now + timedelta(days=5)
    view = await world.core.service.invite(employer, graduate_id, terms(**changes), respond_by)
    return view.id
