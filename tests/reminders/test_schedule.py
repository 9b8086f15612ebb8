"""When reminders fire: offsets, quiet hours across midnight, catch-up, readable times."""

from datetime import UTC, datetime, timedelta

from bot.reminders.settings import parse_offsets
from bot.texts.timefmt import deadline_line, remaining
from core.reminders import QuietHours, Schedule
from tests.reminders.conftest import beijing

H = timedelta(hours=1)
QUIET = QuietHours()


def test_a_daytime_deadline_gets_reminders_72_24_and_2_hours_before():
    deadline = beijing("2026-06-10 15:00")
    fires = [QUIET.fire_time(deadline, o * H) for o in (72, 24, 2)]
    assert fires == [
        beijing("2026-06-07 15:00"),
        beijing("2026-06-09 15:00"),
        beijing("2026-06-10 13:00"),
    ]


def test_a_reminder_in_the_night_waits_for_8_am():
    # 2 h before 09:00 is 07:00, inside quiet hours; the deadline is after 08:00.
    assert QUIET.fire_time(beijing("2026-06-10 09:00"), 2 * H) == beijing("2026-06-10 08:00")
    # 24 h before 23:30 is 23:30 the day before: quiet, and the deadline is far after 08:00.
    assert QUIET.fire_time(beijing("2026-06-10 23:30"), 24 * H) == beijing("2026-06-10 08:00")


def test_a_deadline_before_8_am_is_reminded_the_evening_before():
    # 2 h before 07:00 is 05:00; waiting until 08:00 would be too late.
    assert QUIET.fire_time(beijing("2026-06-10 07:00"), 2 * H) == beijing("2026-06-09 21:30")
    # Across midnight: 2 h before 00:30 is 22:30 the day before.
    assert QUIET.fire_time(beijing("2026-06-10 00:30"), 2 * H) == beijing("2026-06-09 21:30")


def test_a_reminder_just_before_quiet_hours_is_not_moved():
    assert QUIET.fire_time(beijing("2026-06-10 23:30"), 2 * H) == beijing("2026-06-10 21:30")


def test_quiet_hours_can_be_switched_off():
    off = QuietHours.parse("off")
    assert off.fire_time(beijing("2026-06-10 07:00"), 2 * H) == beijing("2026-06-10 05:00")


def test_a_deadline_set_late_skips_the_offsets_already_past():
    schedule = Schedule()
    now = beijing("2026-06-10 10:00")
    plan = schedule.plan(now + 10 * H, set_at=now, now=now)
    assert [(m // 60, reason) for m, _, reason in plan] == [
        (72, "set_late"),
        (24, "set_late"),
        (2, None),
    ]


def test_a_late_worker_sends_one_catch_up_not_three():
    schedule = Schedule()
    set_at = beijing("2026-06-01 10:00")
    now = beijing("2026-06-10 12:00")
    plan = schedule.plan(beijing("2026-06-10 15:00"), set_at=set_at, now=now)
    assert [(m // 60, reason) for m, _, reason in plan] == [
        (72, "superseded"),
        (24, None),
        (2, None),
    ]


def test_offsets_setting_parses_hours():
    assert parse_offsets("2, 72,24") == (72 * H, 24 * H, 2 * H)
    assert parse_offsets("0.5") == (timedelta(minutes=30),)


def test_deadlines_are_written_in_beijing_time_with_the_time_left():
    at = datetime(2025, 12, 6, 10, 0, tzinfo=UTC)  # 18:00 in Beijing, a Saturday
    now = at - timedelta(days=1, hours=3, minutes=20)
    assert deadline_line(at, now) == "12月6日(周六) 18:00 截止，还剩 1 天 3 小时"
    assert remaining(at, at - timedelta(minutes=45)) == "45 分钟"
    assert remaining(at, at - timedelta(hours=2)) == "2 小时"
