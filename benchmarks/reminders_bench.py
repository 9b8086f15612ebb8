"""Reminder dispatcher benchmark: messages a second against the fake Bot API, and the time of
the due query with 1,000,000 open deadlines in PostgreSQL.

Usage: scripts/dev bench reminders_bench [--rate 30]
       [--reminders 4000] [--deadlines 1000000] [--skip-send] [--skip-query]

Each part runs in a throwaway PostgreSQL database on 127.0.0.1 that is dropped at the end.
Rows are generated set-based (INSERT ... SELECT generate_series). The defaults take about
four minutes. The issue's figure is 20,000 reminders: ``--reminders 20000`` takes about
11 minutes at 30 a second, or 3.5 at ``--rate 100``, which raises both the fake's and the
worker's limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg

from bot.reminders.limiter import LocalRateLimiter
from bot.reminders.senders import AiogramNotifier
from bot.reminders.settings import ReminderSettings
from bot.reminders.worker import ReminderWorker
from core import reminders as r
from core.bootstrap import open_core
from core.storage.db import create_engine, migrate
from tests.fakes.botapi import FakeBotApi, make_aiogram_bot

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "benchmark-secret-key-0123456789abcdef-0123"
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing: outside quiet hours


@contextlib.asynccontextmanager
async def throwaway_db() -> AsyncIterator[str]:
    name = f"wq_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield name
    finally:
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(
    name: str, graduates: int, deadline_span: str, planned_due: bool, first: str = "0 hours"
) -> None:
    """One university and employer; ``graduates`` approved graduates bound to chats, each with
    one invitation whose deadline falls within ``deadline_span`` from NOW."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        await conn.execute(
            "INSERT INTO universities (id, name, office_contact) VALUES (1, '示例大学', '')"
        )
        await conn.execute(
            "INSERT INTO employers (id, name, credit_code, credit_check_overridden, created_at)"
            " VALUES (1, '示例科技有限公司', '91110108MA01ABCD0X', false, $1)",
            NOW,
        )
        await conn.execute(
            """
            INSERT INTO graduates (id, status, university_id, student_no, phone_verified,
                                   reminders_enabled, created_at, updated_at)
            SELECT i, 'approved', 1, 'S' || i, true, true, $1, $1
            FROM generate_series(1, $2) AS i
            """,
            NOW - timedelta(days=30),
            graduates,
        )
        await conn.execute(
            """
            INSERT INTO telegram_bindings (telegram_user_id, graduate_id, chat_id, created_at)
            SELECT 100000 + i, i, 100000 + i, $1 FROM generate_series(1, $2) AS i
            """,
            NOW,
            graduates,
        )
        await conn.execute(
            f"""
            INSERT INTO agreements (id, token, graduate_id, employer_id, state, version, digest,
                                    respond_by, created_at, updated_at)
            SELECT i, 't' || i, i, 1, 'invited', 1, repeat('0', 64),
                   $1::timestamptz + interval '{first}'
                       + (i::float / $2) * interval '{deadline_span}',
                   $3, $3
            FROM generate_series(1, $2) AS i
            """,
            NOW,
            graduates,
            NOW - timedelta(days=30),
        )
        if planned_due:
            await conn.execute(
                """
                INSERT INTO planned_reminders (deadline_key, deadline_at, offset_minutes,
                    graduate_id, agreement_id, status, due_at, attempts, created_at)
                SELECT 'respond:' || a.id, a.respond_by, 4320, a.graduate_id, a.id, 'pending',
                       $1, 0, $1
                FROM agreements a
                """,
                NOW,
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def bench_send(rate: float, count: int) -> None:
    print(f"== dispatch: {count} due reminders, limit {rate:g}/s per bot, 1/s per chat")
    async with (
        throwaway_db() as name,
        FakeBotApi(rate_limits=True, global_rate=rate, global_burst=rate) as api,
    ):
        # Deadlines 80 h out: their 72 h reminders are due; planning is switched off.
        await seed(name, count, "1 hour", planned_due=True, first="80 hours")
        settings = ReminderSettings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            secret_key=SECRET,
            telegram_bot_token=api.token,
            telegram_api_url=api.base_url,
            telegram_global_rate=rate,
            reminder_plan_interval_s=3600,
            reminder_run_expiry=False,
            _env_file=None,
        )
        bot = make_aiogram_bot(api)
        async with open_core(settings, clock=lambda: NOW + timedelta(minutes=1)) as core:
            worker = ReminderWorker(
                core,
                AiogramNotifier(bot),
                settings,
                limiter=LocalRateLimiter(rate, settings.telegram_chat_rate),
            )
            worker._planned_at = time.monotonic()  # the rows are seeded: skip planning
            start = time.monotonic()
            stats = await worker.run_pass()
            elapsed = time.monotonic() - start
        await bot.session.close()
        times = sorted(api.send_times())
        steady = [t for t in times if times[0] + 1.0 <= t <= times[-1] - 1.0]
        steady_rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
        print(f"sent {stats.sent} in {elapsed:.1f} s: {stats.sent / elapsed:.1f} msg/s overall")
        print(
            f"steady state {steady_rate:.1f} msg/s = {100 * steady_rate / rate:.1f}% of the limit;"
            f" 429 answers: {api.rate_limited_count}"
        )


async def analyze(name: str) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
    await conn.execute("ANALYZE")
    await conn.close()


async def bench_query(deadlines: int) -> None:
    print(f"== due query: {deadlines} open deadlines over 90 days")
    async with throwaway_db() as name:
        t0 = time.monotonic()
        await seed(name, deadlines, "90 days", planned_due=False)
        print(f"seeded in {time.monotonic() - t0:.1f} s")
        settings = ReminderSettings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            secret_key=SECRET,
            _env_file=None,
        )
        schedule = settings.schedule()
        async with open_core(settings, migrate_schema=False) as core:
            t0 = time.monotonic()
            planned = await r.plan_reminders(core.sessions, schedule, NOW)
            print(f"first planner pass: {planned} deadlines in {time.monotonic() - t0:.2f} s")
            idle = []
            for _ in range(5):
                t0 = time.monotonic()
                await r.plan_reminders(core.sessions, schedule, NOW)
                idle.append((time.monotonic() - t0) * 1000)
            print(f"planner pass with nothing new: median {statistics.median(idle):.0f} ms")
            await analyze(name)
            later = NOW + timedelta(hours=30)  # many 72 h and 24 h reminders are now due
            batches = []
            for i in range(210):
                t0 = time.monotonic()
                got = await r.claim(
                    core.sessions, "reminder", "bench", later, lease=settings.lease, limit=100
                )
                batches.append((time.monotonic() - t0) * 1000)
                assert len(got) == 100, f"batch {i} found only {len(got)}"
                # As the dispatcher would, once they are sent.
                sends = [("reminder", item.id) for item in got]
                await r.mark_all_sent(core.sessions, sends, "bench", later)
            warm = sorted(batches[10:])
            print(
                f"claim of 100 due reminders (query + lease, one transaction), warm: median "
                f"{statistics.median(warm):.1f} ms, p95 {warm[int(len(warm) * 0.95)]:.1f} ms,"
                f" max {warm[-1]:.1f} ms; first batch {batches[0]:.1f} ms"
            )
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
        # The claim's own statement, rolled back so that the plan leaves no lease behind.
        rollback = conn.transaction()
        await rollback.start()
        plan = await conn.fetch(
            "EXPLAIN ANALYZE UPDATE planned_reminders SET claimed_by = 'explain',"
            " claimed_until = $1 WHERE id IN (SELECT id FROM planned_reminders"
            " WHERE status = 'pending' AND due_at <= $1"
            " AND (claimed_until IS NULL OR claimed_until < $1)"
            " ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, graduate_id, due_at, attempts, deadline_key, deadline_at,"
            " offset_minutes, agreement_id",
            later,
        )
        await rollback.rollback()
        await conn.close()
        print("\n".join("  " + row[0] for row in plan))


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=float, default=30.0)
    p.add_argument("--reminders", type=int, default=4_000)
    p.add_argument("--deadlines", type=int, default=1_000_000)
    p.add_argument("--skip-send", action="store_true")
    p.add_argument("--skip-query", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.skip_query:
        await bench_query(args.deadlines)
    if not args.skip_send:
        await bench_send(args.rate, args.reminders)


if __name__ == "__main__":
    asyncio.run(main())
