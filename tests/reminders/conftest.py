"""A small world for the reminder tests: approved graduates bound to chats, one employer,
the fake Bot API, and a worker wired to both through the real aiogram client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from aiogram import Bot

from bot.reminders.limiter import LocalRateLimiter
from bot.reminders.senders import AiogramNotifier
from bot.reminders.settings import ReminderSettings
from bot.reminders.worker import ReminderWorker
from core.bootstrap import Core
from core.demo import demo_credit_code
from core.domain.actors import Actor
from core.domain.states import RegistrationStatus
from core.domain.terms import Terms
from core.storage.models import Graduate, TelegramBinding
from tests.conftest import TEST_SECRET, FakeClock
from tests.fakes.botapi import (  # noqa: F401  (fixtures are found by name)
    FakeBotApi,
    aiogram_bot,
    fake_botapi,
    forbid_non_loopback,
    make_aiogram_bot,
)

TERMS = Terms(
    position="软件开发工程师",
    city="北京",
    salary_yuan=15000,
    probation_months=3,
    service_years=3,
    penalty_yuan=5000,
)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_non_loopback(monkeypatch)
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def reminder_settings(database_url: str, api: FakeBotApi, **changes: object) -> ReminderSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "telegram_bot_token": api.token,
        "telegram_api_url": api.base_url,
        "reminder_plan_interval_s": 0,
        "telegram_global_rate": 200.0,
        "telegram_chat_rate": 50.0,
        "_env_file": None,
    }
    values.update(changes)
    return ReminderSettings(**values)  # type: ignore[arg-type]


@dataclass
class World:
    core: Core
    clock: FakeClock
    api: FakeBotApi
    bot: Bot
    settings: ReminderSettings
    university_id: int = 0
    employer: Actor = field(default_factory=lambda: Actor.employer(0))
    _next_chat: int = 5000

    async def setup(self) -> None:
        svc = self.core.service
        self.university_id = await svc.register_university("示例大学", office_contact="101 室")
        employer_id = await svc.register_employer("示例科技有限公司", demo_credit_code())
        self.employer = Actor.employer(employer_id)

    async def graduate(self, *, status: RegistrationStatus = RegistrationStatus.APPROVED) -> int:
        """An approved graduate bound to a fresh chat; returns the graduate id."""
        self._next_chat += 1
        chat = self._next_chat
        now = self.clock.now
        async with self.core.sessions() as s, s.begin():
            g = Graduate(
                status=status.value,
                consent_at=now,
                university_id=self.university_id,
                student_no=f"S{chat}",
                name="测试",
                phone_verified=True,
                reminders_enabled=True,
                created_at=now,
                updated_at=now,
            )
            s.add(g)
            await s.flush()
            s.add(
                TelegramBinding(
                    telegram_user_id=chat, graduate_id=g.id, chat_id=chat, created_at=now
                )
            )
            return g.id

    async def chat_of(self, graduate_id: int) -> int:
        chat = await self.core.service.chat_for_graduate(graduate_id)
        assert chat is not None
        return chat

    async def invite(self, graduate_id: int, respond_by: datetime) -> int:
        view = await self.core.service.invite(self.employer, graduate_id, TERMS, respond_by)
        return view.id

    def worker(self, **kwargs: object) -> ReminderWorker:
        settings = kwargs.pop("settings", self.settings)
        return ReminderWorker(
            self.core,
            AiogramNotifier(self.bot),
            settings,  # type: ignore[arg-type]
            limiter=LocalRateLimiter(
                settings.telegram_global_rate,  # type: ignore[attr-defined]
                settings.telegram_chat_rate,  # type: ignore[attr-defined]
            ),
            **kwargs,  # type: ignore[arg-type]
        )

    async def run_at(self, when: datetime) -> None:
        self.clock.now = when
        await self.worker().run_pass()

    def texts(self, chat: int) -> list[str]:
        return [m.text or "" for m in self.api.sent_to(chat)]

    def reminders(self, chat: int) -> list[str]:
        return [t for t in self.texts(chat) if t.startswith("⏰")]


@pytest.fixture
async def world(
    core: Core,
    clock: FakeClock,
    fake_botapi: FakeBotApi,  # noqa: F811  (the fixture, by name)
    database_url: str,
) -> AsyncIterator[World]:
    bot = make_aiogram_bot(fake_botapi)
    try:
        w = World(core, clock, fake_botapi, bot, reminder_settings(database_url, fake_botapi))
        await w.setup()
        yield w
    finally:
        await bot.session.close()


def beijing(text: str) -> datetime:
    """``"2026-06-05 18:00"`` in Beijing time, as an aware datetime."""
    return datetime.fromisoformat(text + "+08:00")


HOUR = timedelta(hours=1)
