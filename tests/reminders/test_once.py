"""Once-only: two workers, a crash between send and mark, a worker killed mid-batch."""

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.flows.types import Delivery, Reply
from bot.reminders.senders import AiogramNotifier
from bot.reminders.worker import ReminderWorker
from core.bootstrap import open_core
from core.domain.actors import Actor
from tests.conftest import TEST_SECRET
from tests.reminders.conftest import World, beijing, reminder_settings

ROOT = Path(__file__).resolve().parents[2]


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


class CrashAfter:
    """Sends for real, then dies right after the n-th send has been accepted."""

    def __init__(self, inner: AiogramNotifier, n: int) -> None:
        self.inner = inner
        self.n = n

    async def push(self, chat_id: int, reply: Reply) -> Delivery:
        if self.n == 0:  # dead: the other tasks of the batch die with the process
            raise Crash
        delivery = await self.inner.push(chat_id, reply)
        self.n -= 1
        if self.n == 0:
            raise Crash
        return delivery


def per_chat(world: World) -> Counter[int]:
    return Counter(chat for _, chat in world.api.accepted_sends)


async def invite_many(world: World, count: int) -> list[int]:
    chats = []
    for _ in range(count):
        g = await world.graduate()
        await world.invite(g, beijing("2026-06-06 15:00"))
        chats.append(await world.chat_of(g))
    return chats


async def test_two_workers_on_postgres_send_each_message_exactly_once(world: World, pg_url: str):
    chats = await invite_many(world, 40)
    world.clock.now = beijing("2026-06-03 15:00")  # each: the invitation and the 72 h reminder
    settings = reminder_settings(pg_url, world.api, reminder_batch_size=5)
    async with (
        open_core(settings, clock=world.clock, migrate_schema=False) as one,
        open_core(settings, clock=world.clock, migrate_schema=False) as two,
    ):
        workers = [
            ReminderWorker(c, AiogramNotifier(world.bot), settings, name=f"w{i}")
            for i, c in enumerate((one, two))
        ]
        stats = await asyncio.gather(*(w.run_pass() for w in workers))
    assert per_chat(world) == {chat: 2 for chat in chats}
    assert all(s.sent > 0 for s in stats), "both workers took part"
    assert sum(s.sent for s in stats) == 80


async def test_a_crash_between_send_and_mark_sends_that_one_message_again_after_the_lease(
    world: World,
):
    """The promise: no loss, and at most one duplicate per message in flight at the crash."""
    chats = await invite_many(world, 6)
    world.clock.now = beijing("2026-06-01 10:00")
    settings = reminder_settings(world.settings.database_url, world.api, reminder_concurrency=1)
    crashing = ReminderWorker(
        world.core, CrashAfter(AiogramNotifier(world.bot), 3), settings, name="dies"
    )
    try:
        await crashing.run_pass()
    except Crash:
        pass
    assert len(world.api.accepted_sends) == 3
    in_flight = world.api.accepted_sends[-1][1]

    # Its lease still holds: a second worker leaves the claimed batch alone.
    await world.worker(name="second").run_pass()
    assert len(world.api.accepted_sends) == 3

    world.clock.now += settings.lease + timedelta(seconds=1)
    await world.worker(name="third").run_pass()
    counts = per_chat(world)
    assert set(counts) == set(chats), "nothing lost"
    assert {chat for chat, n in counts.items() if n > 1} == {in_flight}
    assert counts[in_flight] == 2


async def test_a_worker_killed_mid_batch_loses_nothing_after_restart(world: World, pg_url: str):
    chats = await invite_many(world, 30)
    now = beijing("2026-06-01 10:00")
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_BOT_TOKEN": world.api.token,
        "TELEGRAM_API_URL": world.api.base_url,
        "TELEGRAM_GLOBAL_RATE": "20",
        "REMINDER_CONCURRENCY": "1",
        "REDIS_URL": "",
        "PTB_TIMEDELTA": "1",
    }

    async def start(at: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.reminders",
            "--once",
            "--now",
            at,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    first = await start(now.isoformat())
    for _ in range(300):
        if len(world.api.accepted_sends) >= 8:
            break
        await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_after = len(world.api.accepted_sends)
    assert 8 <= killed_after < 30, "killed in the middle of the batch"

    second = await start((now + timedelta(seconds=301)).isoformat())
    out, err = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 0, err.decode()[-2000:]
    counts = per_chat(world)
    assert set(counts) == set(chats), "nothing lost"
    assert sum(counts.values()) - len(chats) <= 1, "at most the one message in flight twice"
    assert json.loads(out)["ok"] is True


async def test_the_office_lists_unreachable_graduates_with_a_deadline_coming(world: World):
    reachable, gone = await world.graduate(), await world.graduate()
    for g in (reachable, gone):
        await world.invite(g, beijing("2026-06-03 15:00"))
    world.api.blocked_users.add(await world.chat_of(gone))
    await world.run_at(beijing("2026-06-01 10:00"))
    await world.core.service.decline(Actor.graduate(reachable), 1)

    async def listing(within: int) -> list[dict[str, object]]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "core",
            "unreachable",
            "--json",
            "--within",
            str(within),
            "--now",
            beijing("2026-06-01 11:00").isoformat(),
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": world.settings.database_url,
                "SECRET_KEY": TEST_SECRET,
            },
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        return json.loads(out)["graduates"]

    rows = await listing(72)
    assert [(r["graduate_id"], r["deadline_key"]) for r in rows] == [(gone, "respond:2")]
    assert await listing(24) == []


async def test_sends_recorded_in_groups_still_lose_nothing_and_repeat_at_most_those_in_flight(
    world: World,
):
    """Records are written a group at a time; a sender keeps its slot until its group is in,
    so a crash repeats at most ``reminder_concurrency`` messages."""
    chats = await invite_many(world, 24)
    world.clock.now = beijing("2026-06-01 10:00")
    settings = reminder_settings(world.settings.database_url, world.api, reminder_concurrency=4)
    crashing = ReminderWorker(
        world.core, CrashAfter(AiogramNotifier(world.bot), 10), settings, name="dies"
    )
    try:
        await crashing.run_pass()
    except Crash:
        pass
    assert len(world.api.accepted_sends) == 10

    world.clock.now += settings.lease + timedelta(seconds=1)
    await world.worker(name="after").run_pass()
    counts = per_chat(world)
    assert set(counts) == set(chats), "nothing lost"
    assert sum(counts.values()) - len(chats) <= 4
