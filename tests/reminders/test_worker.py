"""The dispatcher against the fake Bot API, on SQLite and PostgreSQL."""

from datetime import timedelta

from sqlalchemy import select

from bot.reminders.settings import ReminderSettings
from core.domain.actors import Actor
from core.storage.models import Graduate
from core.storage.reminder_models import PlannedReminder
from tests.conftest import TEST_SECRET
from tests.reminders.conftest import HOUR, TERMS, World, beijing, reminder_settings


async def test_reminders_go_once_at_each_offset_with_a_button_to_the_invitation(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    deadline = beijing("2026-06-06 15:00")
    agreement = await world.invite(g, deadline)

    await world.run_at(beijing("2026-06-01 10:00"))
    assert world.reminders(chat) == []
    assert "签约邀请" in world.texts(chat)[0]  # the invitation push

    for fire in ("2026-06-03 15:00", "2026-06-05 15:00", "2026-06-06 13:00"):
        await world.run_at(beijing(fire) - timedelta(minutes=1))
        await world.run_at(beijing(fire))
        await world.run_at(beijing(fire) + timedelta(minutes=5))
    reminders = world.reminders(chat)
    assert len(reminders) == 3
    assert "6月6日(周六) 15:00 截止，还剩 3 天" in reminders[0]
    assert "还剩 1 天" in reminders[1]
    assert "还剩 2 小时" in reminders[2]
    assert world.api.buttons(chat)[-1] == ("查看邀请", f"inv:open:{agreement}")


async def test_a_revised_deadline_moves_its_reminders(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    first = beijing("2026-06-06 15:00")
    agreement = await world.invite(g, first)
    await world.run_at(beijing("2026-06-01 10:00"))

    later = first + 48 * HOUR
    await world.core.service.revise(world.employer, agreement, TERMS, later)
    await world.run_at(first - 72 * HOUR)
    assert world.reminders(chat) == []

    await world.run_at(later - 72 * HOUR)
    assert len(world.reminders(chat)) == 1
    assert "6月8日(周一) 15:00 截止" in world.reminders(chat)[0]


async def test_a_closed_step_sends_no_reminder(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    deadline = beijing("2026-06-06 15:00")
    agreement = await world.invite(g, deadline)
    await world.run_at(beijing("2026-06-03 14:00"))  # planned, not yet due
    await world.core.service.decline(Actor.graduate(g), agreement)

    for fire in ("2026-06-03 15:00", "2026-06-05 15:00", "2026-06-06 13:00"):
        await world.run_at(beijing(fire))
    assert world.reminders(chat) == []


async def test_muted_deadlines_and_disabled_reminders_send_nothing_but_events_still_arrive(
    world: World,
):
    muted, disabled = await world.graduate(), await world.graduate()
    deadline = beijing("2026-06-06 15:00")
    await world.invite(muted, deadline)
    await world.invite(disabled, deadline)
    deadlines = await world.core.service.deadlines(Actor.graduate(muted))
    await world.core.service.mute_deadline(Actor.graduate(muted), deadlines[0].key)
    await world.core.service.set_reminders(Actor.graduate(disabled), False)

    for fire in ("2026-06-01 10:00", "2026-06-03 15:00", "2026-06-05 15:00", "2026-06-06 13:00"):
        await world.run_at(beijing(fire))
    for g in (muted, disabled):
        chat = await world.chat_of(g)
        assert world.reminders(chat) == []
        assert len(world.texts(chat)) == 1  # the invitation push


async def test_a_night_deadline_is_reminded_the_evening_before_not_in_the_night(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    await world.invite(g, beijing("2026-06-06 07:00"))
    await world.run_at(beijing("2026-06-05 21:00"))
    before = len(world.reminders(chat))
    await world.run_at(beijing("2026-06-05 21:30"))
    assert len(world.reminders(chat)) == before + 1
    assert "还剩 9 小时 30 分钟" in world.reminders(chat)[-1]
    for night in ("2026-06-05 23:00", "2026-06-06 02:00", "2026-06-06 05:00"):
        await world.run_at(beijing(night))
    assert len(world.reminders(chat)) == before + 1


async def test_a_reminder_claimed_late_in_the_night_waits_for_the_morning(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    await world.invite(g, beijing("2026-06-06 15:00"))
    await world.run_at(beijing("2026-06-01 10:00"))
    # The worker was down from before the 72 h reminder and comes back at 23:00, inside
    # quiet hours; the deadline is after 08:00, so the catch-up waits for the morning.
    await world.run_at(beijing("2026-06-05 23:00"))
    assert world.reminders(chat) == []
    await world.run_at(beijing("2026-06-06 08:00"))
    assert len(world.reminders(chat)) == 1
    assert "还剩 7 小时" in world.reminders(chat)[-1]


async def test_a_blocked_user_is_marked_unreachable_and_gets_nothing_more(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    world.api.blocked_users.add(chat)
    await world.invite(g, beijing("2026-06-06 15:00"))
    await world.run_at(beijing("2026-06-01 10:00"))
    async with world.core.sessions() as s:
        assert (await s.get_one(Graduate, g)).unreachable_at is not None

    world.api.blocked_users.clear()
    for fire in ("2026-06-03 15:00", "2026-06-05 15:00"):
        await world.run_at(beijing(fire))
    assert world.texts(chat) == []
    async with world.core.sessions() as s:
        rows = (
            await s.execute(select(PlannedReminder.offset_minutes, PlannedReminder.last_error))
        ).all()
    assert sorted(rows) == [(120, None), (1440, "unreachable"), (4320, "unreachable")]


async def test_a_429_is_obeyed_and_the_message_still_arrives(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    await world.invite(g, beijing("2026-06-06 15:00"))
    world.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await world.run_at(beijing("2026-06-01 10:00"))
    calls = world.api.calls_to("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.95
    assert len(world.texts(chat)) == 1


async def test_other_failures_are_retried_with_back_off_then_recorded(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    await world.invite(g, beijing("2026-06-06 15:00"))
    world.api.fail_next("sendMessage", 500, "Internal Server Error", count=2)
    start = beijing("2026-06-01 10:00")
    await world.run_at(start)
    await world.run_at(start + timedelta(seconds=10))  # back-off not over: nothing
    assert len(world.api.calls_to("sendMessage")) == 1
    await world.run_at(start + timedelta(seconds=31))
    await world.run_at(start + timedelta(seconds=92))
    assert len(world.texts(chat)) == 1

    world.api.fail_next("sendMessage", 500, "Internal Server Error", count=10)
    at = beijing("2026-06-03 15:00")
    for step in range(6):
        await world.run_at(at + timedelta(hours=step))
    async with world.core.sessions() as s:
        row = await s.scalar(
            select(PlannedReminder).where(PlannedReminder.offset_minutes == 72 * 60)
        )
    assert row is not None and row.status == "failed" and row.attempts == 4
    assert world.reminders(chat) == []


async def test_events_carry_a_button_to_the_step(world: World):
    g = await world.graduate()
    chat = await world.chat_of(g)
    agreement = await world.invite(g, beijing("2026-06-06 15:00"))
    await world.core.service.withdraw(world.employer, agreement)
    await world.run_at(beijing("2026-06-01 10:00"))
    texts = world.texts(chat)
    assert "示例科技有限公司" in texts[0] and "6月6日(周六) 15:00" in texts[0]
    assert "撤回" in texts[1]
    buttons = [m.buttons for m in world.api.sent_to(chat)]
    assert buttons == [[("查看邀请", f"inv:open:{agreement}")], [("查看我的状态", "st")]]


async def test_sends_stay_under_the_rate_limits(world: World, database_url: str):
    api = world.api
    api.rate_limits = True
    api.global_rate, api.global_burst = 40.0, 10.0
    api.per_chat_rate, api.per_chat_burst = 2.0, 1.0
    settings = reminder_settings(
        database_url, api, telegram_global_rate=40.0, telegram_chat_rate=2.0
    )
    graduates = [await world.graduate() for _ in range(10)]
    for g in graduates:
        for day in range(3):  # three invitations each: three messages to each chat
            await world.invite(g, beijing("2026-06-06 15:00") + timedelta(days=day))
    await world.worker(settings=settings).run_pass()
    assert len(api.accepted_sends) == 30
    assert api.rate_limited_count == 0
    for g in graduates:
        times = api.send_times(await world.chat_of(g))
        assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.45


def test_settings_refuse_nonsense_at_start_up():
    import pytest
    from pydantic import ValidationError

    for bad in ({"reminder_offsets_hours": "soon"}, {"quiet_hours": "late"}):
        with pytest.raises(ValidationError):
            ReminderSettings(secret_key=TEST_SECRET, _env_file=None, **bad)


async def test_one_chats_pushes_arrive_in_the_order_they_happened(world: World, database_url):
    g = await world.graduate()
    chat = await world.chat_of(g)
    agreement = await world.invite(g, beijing("2026-06-10 15:00"))
    for penalty in (4000, 3000, 2000, 1000, 500, 0):
        world.clock.advance(seconds=1)
        terms = TERMS.__class__(**{**TERMS.to_dict(), "penalty_yuan": penalty})
        await world.core.service.revise(world.employer, agreement, terms)

    settings = reminder_settings(database_url, world.api, telegram_chat_rate=20.0)
    world.clock.advance(seconds=1)
    await world.worker(settings=settings).run_pass()

    versions = [int(t.split("第 ")[1].split(" 版")[0]) for t in world.texts(chat) if "第 " in t]
    assert versions == [2, 3, 4, 5, 6, 7]


async def test_a_chat_the_transport_cannot_reach_now_waits_without_holding_others_back(
    world: World, database_url
):
    from bot.flows.types import Delivery, DeliveryStatus, Reply
    from bot.reminders.worker import ReminderWorker

    away, here = await world.graduate(), await world.graduate()
    away_chat, here_chat = await world.chat_of(away), await world.chat_of(here)
    delivered: list[int] = []

    class OnlyHere:
        async def push(self, chat_id: int, reply: Reply) -> Delivery:
            if chat_id != here_chat:
                return Delivery(DeliveryStatus.DEFERRED, retry_after_s=600)
            delivered.append(chat_id)
            return Delivery(DeliveryStatus.SENT)

    await world.invite(away, beijing("2026-06-10 15:00"))
    await world.invite(here, beijing("2026-06-10 15:00"))
    worker = ReminderWorker(world.core, OnlyHere(), world.settings)
    started = world.clock.now
    await worker.run_pass()
    assert delivered == [here_chat]

    await world.invite(here, beijing("2026-06-11 15:00"))
    await worker.run_pass()  # not held back by the other chat's deferral
    assert delivered == [here_chat, here_chat]

    world.clock.now = started + timedelta(minutes=11)
    await world.worker().run_pass()
    assert any("签约邀请" in t for t in world.texts(away_chat))
